"""SOLSA comparisons run on the job runner: Dask equals serial, finished runs are reused."""
import numpy as np
import pytest

from brian_snn.solsa.config import TrainConfig
from brian_snn.solsa.runner import Experiment, run_experiment


def _exp():
    return Experiment(tasks=["patterns"], methods=["bptt", "online-simple"], hidden=[6], engine="numpy",
                      n_train=12, n_test=8, repeats=2, cfg=TrainConfig().replace(epochs=2))


def _tests(out):
    return {m: d["per_seed"] for t in out["tasks"] for m, d in t["methods"].items()}


def test_dask_equals_serial_and_a_rerun_reuses_finished_runs(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed")
    serial = run_experiment(_exp(), tmp_path / "a")
    assert len(list((tmp_path / "a").glob("*.json"))) == 4            # 2 methods x 2 seeds
    dask = run_experiment(_exp(), tmp_path / "b", workers=2)
    assert _tests(dask) == _tests(serial)
    for m, d in serial["tasks"][0]["methods"].items():
        for w_s, w_d in zip(d["weights"], dask["tasks"][0]["methods"][m]["weights"]):
            np.testing.assert_array_equal(w_s, w_d)
    # a rerun trains nothing: every run comes from the cache
    from brian_snn.solsa import runner
    monkeypatch.setattr(runner, "train", lambda *a, **k: pytest.fail("trained again"))
    again = run_experiment(_exp(), tmp_path / "a")
    assert _tests(again) == _tests(serial)
    assert again["tasks"][0]["methods"]["bptt"]["history"] == serial["tasks"][0]["methods"]["bptt"]["history"]
