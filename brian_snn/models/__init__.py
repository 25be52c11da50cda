"""Network models as Brian2 equations: one module per network, registered here by name."""
from .asp import Asp
from .base import BuiltModel, ModelSpec
from .diehl_cook import AspDecay, DiehlCook
from .spikedyn import SpikeDyn

MODELS = {"diehl-cook": DiehlCook, "asp": Asp, "asp-decay": AspDecay, "spikedyn": SpikeDyn}
MODEL_NAMES = tuple(MODELS)


def model_class(name: str) -> type:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


def get_model_spec(name: str, **params) -> ModelSpec:
    cls = model_class(name)
    unknown = sorted(set(params) - set(cls.__dataclass_fields__))
    if unknown:                 # not the dataclass's TypeError
        raise ValueError(f"{name}: unknown parameter {unknown[0]!r}; valid: {', '.join(cls.__dataclass_fields__)}")
    return cls(**params)


__all__ = ["ModelSpec", "BuiltModel", "MODELS", "MODEL_NAMES", "model_class", "get_model_spec"]
