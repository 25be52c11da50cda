"""``brian-snn`` commands a new user meets first, without a build: ``doctor``, what ``evaluate``
prints, and a ``--data-dir`` holding the other data set than ``--dataset`` names."""
import argparse
import json

import numpy as np
import pytest

from brian_snn import checks
from brian_snn.cli import main
from brian_snn.data import DataError, add_data_arguments, dataset_from_args, load_embedded, write_idx
from brian_snn.data import mnist


# -- evaluate ----------------------------------------------------------------------------------------
def _evaluated(reproduced):
    note = ("reproduces the stored test predictions exactly" if reproduced else
            "differs from the stored accuracy: run on runtime, trained on cpp (each backend draws its own "
            "Poisson input)")
    return {"scalars": {"accuracy": 0.69 if not reproduced else 0.698, "n_test": 500, "stored_accuracy": 0.698,
                        "reproduced": reproduced, "note": note, "data": "embedded mnist_embedded.npz: real MNIST"},
            "timings": {"test_sim_s": 2.0, "build_s": 0.5, "test_samples_per_s": 250.0},
            "counts": {"inference": None}, "arrays": {}}


@pytest.mark.parametrize("reproduced", [True, False])
def test_evaluate_prints_accuracy_stored_accuracy_and_its_data(reproduced, monkeypatch, capsys):
    from brian_snn.experiments import train_eval
    monkeypatch.setattr(train_eval, "evaluate_file", lambda path, backend=None, progress=True: _evaluated(reproduced))
    assert main(["evaluate", "r.h5", "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"accuracy        {69.80 if reproduced else 69.00:.2f} % on 500 test samples"
    assert out[1].startswith("stored accuracy 69.80 % (at training): ")
    assert ("reproduces the stored test predictions exactly" in out[1]) == reproduced
    assert out[2] == "test data       embedded mnist_embedded.npz: real MNIST"
    assert out[3] == "throughput      test 250.0 samples/s (build 0.5 s)"            # only what it measured
    assert not any("train" in ln and "samples/s" in ln for ln in out)
    assert main(["evaluate", "r.h5", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["reproduced"] is reproduced and s["stored_accuracy"] == 0.698 and s["data"].startswith("embedded")
    assert "train_samples_per_s" not in s


def test_evaluate_refuses_a_bad_target_before_testing(monkeypatch, capsys):
    from brian_snn.experiments import train_eval
    monkeypatch.setattr(train_eval, "evaluate_file", lambda *a, **k: pytest.fail("tested anyway"))
    assert main(["evaluate", "r.h5", "--target", "jetson-nan"]) == 2
    assert "did you mean 'jetson-nano'" in capsys.readouterr().err


