"""hwmodel calibrate: recovers known GPU parameters from synthetic measurements (known values +
noise), reports held-out error, writes a target file that estimate() accepts; one-line errors."""
import json
import random

import pytest

import hwmodel
from hwmodel.calibrate import CalibrationError, calibrate, parse_measurements
from hwmodel.cli import main as hw_main
from hwmodel.counts import Counts, PathwayCounts, PopulationCounts

PEAK, BW = 67e12, 3.35e12            # h100-sxm5.toml (fp32 peak, memory bandwidth)
TRUE = dict(overhead=14e-6, eff=0.25, power=182.0, idle=61.0)


def counts(n, steps, rate):
    """One population of n neurons (3 state words) and one n x n pathway, at a firing rate."""
    spikes = int(n * steps * rate)
    pops = [PopulationCounts("exc", n, spikes, n * steps, 3)]
    paths = [PathwayCounts("rec", "exc", "exc", n * n, spikes * n, 0, 32, False)]
    return Counts(5e-4, steps, 10, "inference", pops, paths)


def true_time(c):
    """The GPU model by hand: F = 2 per event + 4 per neuron update; B = (32 + 2x32)/8 per event +
    3 words x 2 x 4 bytes per neuron update; t = steps x overhead + max(F/peak, B/BW) / eff."""
    ev, up = c.pathways[0].synaptic_events, c.populations[0].neuron_updates
    F = 2 * ev + 4 * up
    B = ev * 12 + up * 3 * 2 * 4
    return c.steps * TRUE["overhead"] + max(F / PEAK, B / BW) / TRUE["eff"]


def synthetic(noise=0.01, seed=3):
    rnd = random.Random(seed)
    runs = []
    for k, (n, steps, rate) in enumerate([(400, 20000, 0.01), (1000, 20000, 0.02), (4000, 10000, 0.01),
                                           (8000, 5000, 0.02), (2000, 40000, 0.005), (16000, 4000, 0.01),
                                           (600, 60000, 0.03), (12000, 8000, 0.015), (3000, 30000, 0.02)]):
        c = counts(n, steps, rate)
        t = true_time(c) * (1 + rnd.gauss(0, noise))
        e = TRUE["power"] * t * (1 + rnd.gauss(0, noise))
        runs.append({"label": f"n{n}", "counts": c.to_dict(), "time_s": t, "energy_j": e})
    return {"schema": "hwmodel-measurements/1", "target": "h100-sxm5", "idle_w": TRUE["idle"],
            "source": "synthetic test data", "runs": runs}


def test_recovers_known_parameters_and_reports_holdout_error(tmp_path):
    data = synthetic()
    fit, text = calibrate(parse_measurements(data))
    assert fit.per_step_overhead_s == pytest.approx(TRUE["overhead"], rel=0.05)
    assert fit.efficiency == pytest.approx(TRUE["eff"], rel=0.05)
    assert fit.power_w == pytest.approx(TRUE["power"], rel=0.02)
    assert len(fit.holdout_runs) == 3 and len(fit.fit_runs) == 6          # every 3rd run held out
    assert fit.error["holdout"]["time_mean_abs_rel"] < 0.03
    assert fit.error["holdout"]["energy_mean_abs_rel"] < 0.04
    # the written target file is a valid extension of the built-in one and reproduces the fit
    path = tmp_path / "cal.toml"
    path.write_text(text)
    c = counts(5000, 10000, 0.01)
    est = hwmodel.estimate(c, str(path))
    expect_t = c.steps * fit.per_step_overhead_s + (true_time(c) - c.steps * TRUE["overhead"]) * TRUE["eff"] / fit.efficiency
    assert est.latency_s == pytest.approx(expect_t, rel=1e-4)
    assert est.energy_j["total"] == pytest.approx(fit.power_w * est.latency_s, rel=1e-4)
    assert est.energy_j["static"] == pytest.approx(TRUE["idle"] * est.latency_s, rel=1e-4)
    assert est.prices["gpu.per_step_overhead"]["evidence"] == "calibrated"
    assert est.prices["static.idle"]["evidence"] == "measured"
    assert est.evidence == "datasheet"           # peak and bandwidth are still datasheet numbers


def test_noise_free_fit_is_exact():
    fit, _ = calibrate(parse_measurements(synthetic(noise=0.0)), holdout_every=0)
    assert fit.per_step_overhead_s == pytest.approx(TRUE["overhead"], rel=1e-4)
    assert fit.efficiency == pytest.approx(TRUE["eff"], rel=1e-4)
    assert fit.power_w == pytest.approx(TRUE["power"], rel=1e-6)


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


def test_identical_runs_cannot_separate_overhead_from_efficiency():
    d = synthetic()
    d["runs"] = [d["runs"][0]] * 3
    with pytest.raises(CalibrationError, match="same steps and work"):
        calibrate(parse_measurements(d), holdout_every=0)
