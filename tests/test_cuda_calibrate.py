"""hwmodel calibrate: recovers known GPU parameters from synthetic measurements (known values +
noise), reports held-out error, writes a target file that estimate() accepts; one-line errors."""
import json
import random

import pytest

import hwmodel
from hwmodel.calibrate import CalibrationError, calibrate, parse_measurements
from hwmodel.cli import main as hw_main
from hwmodel.counts import Counts, PathwayCounts, PopulationCounts

TRUE = dict(a=1.7, b=0.6, idle=61.0, light=101.0, heavy=211.0)   # the device vs the built-in model


def counts(n, steps, rate):
    """One population of n neurons (3 state words) and one n x n pathway, at a firing rate."""
    spikes = int(n * steps * rate)
    pops = [PopulationCounts("exc", n, spikes, n * steps, 3)]
    paths = [PathwayCounts("rec", "exc", "exc", n * n, spikes * n, 0, 32, False)]
    return Counts(5e-4, steps, 10, "inference", pops, paths, {"kernels_per_step": 6})


def device(c, a=TRUE["a"], b=TRUE["b"]):
    """(time, bandwidth-bound work) of the device for these counts: the built-in model's host side
    (launch floor, copies) scaled by a and GPU stream (kernel latencies, work) by b, overlapped by
    the model's smooth max (hwmodel.gpu, written out here); the bandwidth-bound work is the
    kernels' streaming share (their row walks wait on latency)."""
    e = hwmodel.estimate(c, "h100-sxm5")
    sp, p = e.time_split_s, e.prices["gpu.overlap"]["value"]
    host, stream = a * sp["launch_floor"], b * (sp["kernel_latency"] + sp["kernel_work"])
    return a * sp["host_copies"] + (host ** p + stream ** p) ** (1 / p), b * sp["kernel_streaming"]


def synthetic(noise=0.01, seed=3):
    """Measurements of a device that is TRUE['a'] x the built-in host side and TRUE['b'] x its GPU
    stream, drawing idle power, + launch-bound dynamic power outside kernel work and bandwidth-bound
    dynamic power during it (plus noise)."""
    rnd = random.Random(seed)
    runs = []
    for n, steps, rate in [(400, 20000, 0.01), (1000, 20000, 0.02), (4000, 10000, 0.01), (64000, 1000, 0.02),
                           (8000, 5000, 0.02), (2000, 40000, 0.005), (16000, 4000, 0.01),
                           (600, 60000, 0.03), (12000, 8000, 0.015), (3000, 30000, 0.02), (32000, 2000, 0.03)]:
        c = counts(n, steps, rate)
        t0, w = device(c)
        t = t0 * (1 + rnd.gauss(0, noise))
        e = (TRUE["idle"] * t0 + (TRUE["light"] - TRUE["idle"]) * (t0 - w)
             + (TRUE["heavy"] - TRUE["idle"]) * w) * (1 + rnd.gauss(0, noise))
        runs.append({"label": f"n{n}", "counts": c.to_dict(), "time_s": t, "energy_j": e})
    return {"schema": "hwmodel-measurements/1", "target": "h100-sxm5", "idle_w": TRUE["idle"],
            "power_scope": "GPU board (NVML)", "source": "synthetic test data", "runs": runs}


def test_recovers_known_parameters_and_reports_holdout_error(tmp_path):
    fit, text = calibrate(parse_measurements(synthetic()))
    assert fit.host_scale == pytest.approx(TRUE["a"], rel=0.05)
    assert fit.work_scale == pytest.approx(TRUE["b"], rel=0.05)
    assert fit.light_w == pytest.approx(TRUE["light"], rel=0.1)
    assert fit.heavy_w == pytest.approx(TRUE["heavy"], rel=0.1)
    assert len(fit.holdout_runs) == 3 and len(fit.fit_runs) == 8          # 11 runs: every 3rd held out
    assert fit.error["holdout"]["time_mean_abs_rel"] < 0.03
    assert fit.error["holdout"]["energy_mean_abs_rel"] < 0.04
    # the written target file extends the built-in one, overrides its fit and reproduces the device
    path = tmp_path / "cal.toml"
    path.write_text(text)
    c = counts(5000, 10000, 0.01)
    t, w = device(c, fit.host_scale, fit.work_scale)
    est = hwmodel.estimate(c, str(path))
    assert est.latency_s == pytest.approx(t, rel=1e-4)
    assert est.energy_j["total"] == pytest.approx(TRUE["idle"] * t + (fit.light_w - TRUE["idle"]) * (t - w)
                                                  + (fit.heavy_w - TRUE["idle"]) * w, rel=1e-4)
    assert est.prices["gpu.launch"]["evidence"] == "calibrated"
    assert est.prices["power.idle"]["evidence"] == "measured"
    assert est.power_scope == "GPU board (NVML)"


def test_noise_free_fit_is_exact():
    fit, _ = calibrate(parse_measurements(synthetic(noise=0.0)), holdout_every=0)
    assert fit.host_scale == pytest.approx(TRUE["a"], rel=1e-6)
    assert fit.work_scale == pytest.approx(TRUE["b"], rel=1e-6)
    assert fit.light_w == pytest.approx(TRUE["light"], rel=1e-6)
    assert fit.heavy_w == pytest.approx(TRUE["heavy"], rel=1e-6)


def test_cli_writes_target_and_json(tmp_path, capsys):
    m = tmp_path / "m.json"
    m.write_text(json.dumps(synthetic()))
    out = tmp_path / "h100-cal.toml"
    assert hw_main(["calibrate", str(m), "--out", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["target"] == "h100-sxm5-calibrated" and d["file"] == str(out)
    assert out.exists()
    assert hw_main(["estimate", _counts_file(tmp_path),
                    "--target-file", str(out), "--json"]) == 0


def _counts_file(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps(counts(1000, 1000, 0.01).to_dict()))
    return str(p)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(schema="x"), "field 'schema' must be 'hwmodel-measurements/1'"),
    (lambda d: d.update(runs=[]), "field 'runs' must be a non-empty list"),
    (lambda d: d["runs"][1].pop("time_s"), "runs[1]: field 'time_s' is missing"),
    (lambda d: d["runs"][0].update(time_s=-1.0), "runs[0]: field 'time_s' must be > 0"),
    (lambda d: d["runs"][2].pop("counts"), "runs[2]: field 'counts' (or 'counts_file') is missing"),
    (lambda d: d.update(target="loihi1"), "calibrate fits GPU targets"),
])
def test_bad_measurements_are_one_line_errors(tmp_path, capsys, mutate, message):
    d = synthetic()
    mutate(d)
    m = tmp_path / "m.json"
    m.write_text(json.dumps(d))
    assert hw_main(["calibrate", str(m), "--out", str(tmp_path / "x.toml")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_identical_runs_cannot_separate_host_side_from_kernel_time():
    d = synthetic()
    d["runs"] = [d["runs"][0]] * 3
    with pytest.raises(CalibrationError, match="same share of host-side and kernel time"):
        calibrate(parse_measurements(d), holdout_every=0)
