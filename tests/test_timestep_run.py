"""TopSpark (issue 5): one tiny compiled window -- runs with other parameters reuse its build, the
counts hold exactly the simulated steps, and run-time values reach the binary."""
import numpy as np
import pytest

from brian_snn.experiments import timestep as ts

DATA = {"dataset": "embedded", "n_train": 30, "n_test": 20}


def _job(variant, train_settings, infer_settings, state=None, window=10.0):
    cfg = ts.TimestepConfig(models=("spikedyn",), neurons=(10,), windows_ms=(20.0, window), data=DATA,
                            chunk_slots=40, n_val=0)        # the mechanics: train 30, test 20 as given
    job = dict(model="spikedyn", n_exc=10, seed=3, variant=variant, train_window_ms=window,
               infer_window_ms=window, train_settings=train_settings.to_dict(),
               infer_settings=infer_settings.to_dict(), config=ts._cfg_dict(cfg))
    if state is not None:
        job["input"] = {"state": state}          # the job runner passes a dependency's result
    return job


def _input_spikes_per_step(counts):
    pop = next(p for p in counts["populations"] if p["name"] == "input")
    return pop["spikes"] / counts["steps"]


def test_one_build_serves_every_setting_at_a_window():
    pytest.importorskip("brian2")
    from brian_snn.backend import check_compiler
    try:
        check_compiler()
    except Exception as e:                      # pragma: no cover
        pytest.skip(str(e))
    base = ts.Settings()
    enh = ts.enhance("spikedyn", 10, 20, 0.5, {"intensity": 1, "eta": 1})     # x2 input rate, x2 learning rate
    a = ts.evaluate(_job("baseline", base, base))
    b = ts.evaluate(_job("enhanced", enh, enh))
    c = ts.evaluate(_job("inference-only-enhanced", base, ts.inference_part(enh, "spikedyn"), state=a["state"]))
    assert b["build_s"] == 0 and c["build_s"] == 0          # same window: no second build
    steps = ts.steps_per_presentation(10, 0.5)               # 20 on + 9 rest (10 * 3/7 = 4.29 ms -> 9 steps)
    assert steps == 29
    for r in (a, b):
        assert r["train_counts"]["steps"] == r["train_presentations"] * steps
        assert r["train_counts"]["samples"] == 30 and r["train_presentations"] >= 30
        assert 0.0 <= r["accuracy"] <= 1.0
    for r in (a, b, c):
        assert r["infer_counts"]["steps"] == r["infer_presentations"] * steps
        assert r["infer_counts"]["samples"] == 20 and r["infer_counts"]["phase"] == "inference"
        assert r["kernels"] > 0
    assert "train_counts" not in c                            # trained elsewhere: inference only
    # The doubled intensity reaches the compiled binary as a run-time value.  Quiet samples are
    # repeated with intensity + 1 (boost rule), so the ratio lies between (4+...+9)/(2+...+7) = 1.44
    # (every sample repeated 5 times) and 2 (no repeats); equal intensities would give 1 +- 0.02.
    for r in (b, c):
        assert _input_spikes_per_step(r["infer_counts"]) > 1.3 * _input_spikes_per_step(a["infer_counts"])
    assert np.isfinite(a["state"]["w"]).all() and a["state"]["w"].shape == (784 * 10,)


@pytest.mark.slow
def test_dask_sweep_equals_serial_sweep(tmp_path):
    """Two windows (one build): the Dask run (two worker processes, one task per binary) gives
    exactly the serial run's results, reports every job once, and the table/policy/plot come
    out of it."""
    cfg = ts.TimestepConfig(models=("spikedyn",), neurons=(10,), windows_ms=(20.0, 10.0), data=DATA,
                            chunk_slots=40, rules={"theta_plus": 0.5, "infer:intensity": 1})
    serial = ts.run_timestep(cfg, out_dir=tmp_path / "serial", serial=True, log=lambda *a: None)
    lines = []
    dask = ts.run_timestep(cfg, out_dir=tmp_path / "dask", workers=2, log=lines.append)
    reported = [line for line in lines if line.startswith("[")]
    assert len(reported) == len(dask["jobs"]) and reported[-1].startswith(f"[{len(dask['jobs'])}/")
    key = lambda r: (r["variant"], r["train_window_ms"], r["infer_window_ms"])
    a = {key(r): r for r in serial["rows"]}
    b = {key(r): r for r in dask["rows"]}
    assert set(a) == set(b) and len(a) == 1 + 4
    for k in a:
        assert a[k]["accuracy"] == b[k]["accuracy"]
        assert a[k]["steps_per_test_sample"] == b[k]["steps_per_test_sample"]
        assert a[k]["energy_train_j"] == pytest.approx(b[k]["energy_train_j"])
    ts.save(dask, tmp_path / "dask")
    assert (tmp_path / "dask" / "timestep.png").exists()
    assert "TopSpark" in ts.format_table(dask["rows"], dask["selection"])
