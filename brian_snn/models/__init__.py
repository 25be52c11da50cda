"""Network models as Brian2 equations: one module per network, registered here by name."""
from .asp import Asp
from .base import BuiltModel, ModelSpec
from .diehl_cook import AspDecay, DiehlCook
from .spikedyn import SpikeDyn

MODELS = {"diehl-cook": DiehlCook, "asp": Asp, "asp-decay": AspDecay, "spikedyn": SpikeDyn}
MODEL_NAMES = tuple(MODELS)


def model_class(name: str) -> type:
    """The ModelSpec class of a built-in model name, or of ``FILE.py:CLASS`` (a user's model file)."""
    if is_model_file(name):
        return load_model_file(name)
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}, or FILE.py:CLASS")
    return MODELS[name]


def is_model_file(name) -> bool:
    """Whether ``name`` names a user's model as ``path/to/file.py:ClassName``."""
    return isinstance(name, str) and ":" in name and name.rsplit(":", 1)[0].endswith(".py")


_LOADED: dict = {}


def load_model_file(ref: str) -> type:
    """The class ``CLASS`` of ``FILE.py:CLASS``: a frozen dataclass subclass of :class:`ModelSpec` with a
    ``build(images, order, presentation, builder=None) -> BuiltModel`` (write it with
    :class:`brian_snn.copies.Builder`, or subclass a built-in model; ``examples/own_model.py``).  Its
    ``NAME`` becomes ``<CLASS>-<hash of the file>``: compiled builds are reused only for the same file
    content (edits to modules it imports are not seen: change the file, or clear the build cache).
    One-line ValueError when the file, the class or its kind is wrong."""
    import hashlib
    import importlib.util
    import sys
    from dataclasses import is_dataclass
    from pathlib import Path
    path, cls_name = ref.rsplit(":", 1)
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"model {ref}: no file {path}")
    data = p.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:10]
    key = (str(p.resolve()), cls_name, digest)
    if key in _LOADED:
        return _LOADED[key]
    mod_name = f"brian_snn_user_model_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, p)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module          # (dataclasses look their module up while the class is made)
    try:
        spec.loader.exec_module(module)
    except Exception as e:                  # the user's code: any error, as one line
        sys.modules.pop(mod_name, None)
        raise ValueError(f"model {ref}: importing {path} failed: {type(e).__name__}: {e}") from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        names = [n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, ModelSpec)
                 and v.__module__ == mod_name]
        raise ValueError(f"model {ref}: {path} defines no {cls_name!r}"
                         + (f" (its ModelSpec classes: {', '.join(names)})" if names else ""))
    if not (isinstance(cls, type) and issubclass(cls, ModelSpec) and is_dataclass(cls)):
        raise ValueError(f"model {ref}: {cls_name} must be a @dataclass(frozen=True) subclass of "
                         "brian_snn.models.ModelSpec (or of a built-in model)")
    if not callable(getattr(cls, "build", None)):
        raise ValueError(f"model {ref}: {cls_name} has no build(images, order, presentation, builder=None) method")
    cls.NAME = f"{cls_name}-{digest}"
    _LOADED[key] = cls
    return cls


def get_model_spec(name: str, **params) -> ModelSpec:
    cls = model_class(name)
    unknown = sorted(set(params) - set(cls.__dataclass_fields__))
    if unknown:                 # not the dataclass's TypeError
        raise ValueError(f"{name}: unknown parameter {unknown[0]!r}; valid: {', '.join(cls.__dataclass_fields__)}")
    return cls(**params)


__all__ = ["ModelSpec", "BuiltModel", "MODELS", "MODEL_NAMES", "model_class", "get_model_spec", "is_model_file",
           "load_model_file"]
