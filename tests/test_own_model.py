"""``brian-snn train --model FILE.py:CLASS``: a user's ModelSpec subclass from a file of their own
(examples/own_model.py), trained and evaluated like a built-in model; bad files are one line."""
import json

import pytest

from brian_snn.cli import main
from brian_snn.models import get_model_spec, is_model_file, load_model_file, model_class
from brian_snn.models.diehl_cook import DiehlCook

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_model.py"
REF = f"{EXAMPLE}:SoftBoundDC"


def test_a_model_file_loads_as_a_model_class():
    assert is_model_file(REF) and not is_model_file("diehl-cook") and not is_model_file("a:b")
    cls = model_class(REF)
    assert issubclass(cls, DiehlCook) and "mu" in cls.__dataclass_fields__ and "mu" in cls.RUNTIME
    assert cls.NAME.startswith("SoftBoundDC-") and cls.NAME != DiehlCook.NAME    # its own compiled builds
    assert load_model_file(REF) is cls                                           # loaded once
    assert get_model_spec(REF, n_exc=3, mu=0.2).mu == 0.2


@pytest.mark.parametrize("source, message", [
    (None, "no file"),
    ("x = 1\n", "defines no 'Net'"),
    ("class Net:\n    pass\n", "must be a @dataclass(frozen=True) subclass of brian_snn.models.ModelSpec"),
    ("import no_such_module\n", "failed: ModuleNotFoundError: No module named 'no_such_module'"),
])
def test_a_bad_model_file_is_one_line(tmp_path, capsys, source, message):
    if source is not None:
        (tmp_path / "m.py").write_text(source)
    ref = f"{tmp_path}/m.py:Net"
    rc = main(["train", "--model", ref, "--neurons", "3"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_train_and_evaluate_a_model_file(tmp_path, capsys, monkeypatch):
    """Runtime backend (no C++ build), a few samples: trained, stored under its FILE.py:CLASS name,
    evaluated again from the results file with the same predictions."""
    monkeypatch.chdir(tmp_path)
    rc = main(["train", "--model", REF, "--backend", "runtime", "--neurons", "5", "--train-samples", "10",
               "--test-samples", "5", "--chunk", "12", "--param", "mu=0.2", "--out", "own.h5", "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert 0.0 <= json.loads(out)["accuracy"] <= 1.0
    import h5py
    with h5py.File(tmp_path / "own.h5") as f:               # stored under the name it was given
        assert json.loads(f.attrs["config"])["model"] == REF
    rc = main(["evaluate", "own.h5", "--backend", "runtime"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "reproduces the stored test predictions exactly" in out
