"""GPU time and energy model (hwmodel.gpu, docs/targets.md §3.3) against hand computations and a
second method (recovering known parameters from synthetic measurements)."""
import json
import math

import pytest

from hwmodel import Counts, estimate, gpu
from hwmodel.cli import main as hw_main


def counts(kernels=None, simulator=None, copies=None, steps=1000, events=800_000, samples=2, phase="inference",
           plast=0):
    d = {"schema": "hwmodel-counts/1", "dt_s": 5e-4, "steps": steps, "samples": samples, "phase": phase,
         "populations": [{"name": "in", "n": 784, "spikes": 2000, "neuron_updates": 784 * steps},
                         {"name": "exc", "n": 400, "spikes": 20, "neuron_updates": 400 * steps}],
         "pathways": [{"name": "in_exc", "pre": "in", "post": "exc", "n_synapses": 313_600,
                       "synaptic_events": events, "plasticity_updates": plast}]}
    for k, v in (("kernels_per_step", kernels), ("simulator", simulator), ("host_copies_per_step", copies)):
        if v is not None:
            d[k] = v
    return Counts.from_dict(d)


def test_kernels_per_step_3_vs_20_differ_by_17_launches():
    p = gpu.fitted()
    launch = p["h_jetson"] * p["t_launch"]                  # a Jetson launch: family factor x desktop launch
    a, b = estimate(counts(kernels=3), "jetson-nano"), estimate(counts(kernels=20), "jetson-nano")
    assert b.latency_s - a.latency_s == pytest.approx(1000 * 17 * launch, rel=1e-9)
    assert a.prices["gpu.launch"]["value"] == pytest.approx(launch)
    assert a.prices["gpu.launch"]["evidence"] == "transferred"      # the Nano has no runs of its own


def test_time_formula_by_hand():
    p = gpu.fitted()
    steps, K, C, E, U = 1000, 12, 1, 800_000, (784 + 400) * 1000
    host = steps * (p["h_jetson"] * (p["s_brian2cuda"] + K * p["t_launch"]) + C * p["t_copy_jetson"])
    work = (p["b_event"] * E + p["b_update"] * U) / 25.6e9          # Nano: 25.6 GB/s
    e = estimate(counts(kernels=K), "jetson-nano")
    assert e.latency_s == pytest.approx(host + work, rel=1e-12)
    assert e.time_split_s == pytest.approx({"host_overhead": host, "kernel_work": work}, rel=1e-12)
    assert e.per_sample["latency_s"] == pytest.approx((host + work) / 2)
    # a GeNN record: its own per-step cost, and no spike-count copies unless it says so
    g = estimate(counts(kernels=K, simulator="genn-4"), "jetson-nano")
    assert g.latency_s == pytest.approx(steps * p["h_jetson"] * (p["s_genn"] + K * p["t_launch"]) + work, rel=1e-12)
    # plasticity updates cost an event's bytes
    t = estimate(counts(kernels=K, plast=50_000, phase="training"), "jetson-nano")
    assert t.latency_s - e.latency_s == pytest.approx(p["b_event"] * 50_000 / 25.6e9, rel=1e-9)


def test_power_fractions_by_hand_and_energy():
    # TX1 (Blouw 2019): 2.64 W idle, 4.98 W running, 10 W module; TX2 (Knight & Nowotny 2018):
    # 5.39 W idle, 10.57 W mean, 15 W, kernels 99.57 + 155.284 s of 258.35 s
    idle = math.sqrt(2.64 / 10 * 5.39 / 15)
    host = (4.98 - 2.64) / 10
    u = (99.57 + 155.284) / 258.35
    busy = ((10.57 - 5.39) / 15 - host * (1 - u)) / u
    pw = gpu.power_params("jetson", 10.0)
    assert pw["idle"][:3] == pytest.approx((10 * idle, 2.64, 5.39 / 15 * 10))
    assert pw["busy"][0] == pytest.approx(10 * busy) and pw["host"][0] == pytest.approx(10 * host)
    e = estimate(counts(kernels=12), "jetson-nano")
    sp = e.time_split_s
    total = e.latency_s
    assert e.energy_j["total"] == pytest.approx(10 * (idle * total + busy * sp["kernel_work"] + host * sp["host_overhead"]))
    assert e.energy_j["static"] == pytest.approx(10 * idle * total)
    assert sum(e.energy_j["breakdown"].values()) == pytest.approx(e.energy_j["total"])
    assert "wall" in e.power_scope
    tx2 = estimate(counts(kernels=12), "jetson-tx2")                 # its own measured idle power
    assert tx2.energy_j["static"] == pytest.approx(5.39 * tx2.latency_s)
    assert tx2.prices["power.idle"]["evidence"] == "measured"
    assert tx2.prices["power.busy"]["evidence"] == "calibrated"


def test_intervals_come_from_leave_one_out_errors():
    e = estimate(counts(kernels=12), "jetson-nano")             # no own runs: leave-one-device-out
    res = gpu.loo_residuals("device").values()
    lo, hi = e.latency_interval_s
    assert lo == pytest.approx(e.latency_s * math.exp(min(res)))
    assert hi == pytest.approx(e.latency_s * math.exp(max(res)))
    assert e.energy_j["interval"][0] < e.energy_j["total"] < e.energy_j["interval"][1]
    nx = estimate(counts(kernels=12), "xavier-nx")              # own runs: leave-one-run-out
    res = gpu.loo_residuals("run").values()
    assert nx.latency_interval_s[1] == pytest.approx(nx.latency_s * math.exp(max(res)))


def test_fit_recovers_known_parameters_from_synthetic_runs():
    cal = gpu.calibration_set()
    true = {"h_jetson": 3.0, "s_genn": 4e-6, "s_brian2cuda": 9e-6, "t_launch": 3e-6, "t_copy_desktop": 12e-6,
            "t_copy_jetson": 4e-6, "b_event": 150.0, "b_update": 250.0, "f_genn3": 2.0}
    runs = []
    for r in cal["runs"]:
        if r.get("energy_only"):
            continue
        r = dict(r)
        for q in ("time_s", "neuron_kernel_s", "synapse_kernel_s", "launch_api_s"):
            if q in r:
                r[q] = gpu.predict(true, r, q, cal["devices"])
        if "neuron_kernel_s" in r:     # a consistent split: total = host side + kernels
            r["time_s"] = gpu.predict(true, r, "time_s", cal["devices"])
        r.pop("exclude_total", None)
        runs.append(r)
    got = gpu.fit(runs)
    for k, v in true.items():
        assert got[k] == pytest.approx(v, rel=1e-3), k


def test_every_gpu_target_estimates_out_of_the_box():
    from hwmodel import list_targets, load_target
    gpus = [t for t in list_targets() if load_target(t).model == "gpu_time_power"]
    assert {"jetson-nano", "jetson-tx2", "xavier-nx", "orin-nano-8gb", "agx-orin-64gb"} <= set(gpus)
    for t in gpus:
        e = estimate(counts(kernels=20), t)
        assert e.energy_j["total"] > 0 and e.latency_s > 0 and e.evidence and e.power_scope
        assert e.energy_j["interval"][0] <= e.energy_j["total"] <= e.energy_j["interval"][1]


def test_cli_estimate_prints_interval_and_json_fields(tmp_path, capsys):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(counts(kernels=20).to_dict()))
    assert hw_main(["estimate", str(f), "--target", "jetson-nano", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["energy_j"]["interval"]) == 2 and len(d["latency_interval_s"]) == 2
    assert d["evidence"] == "transferred" and d["energy_j"]["total"] > 0
    assert hw_main(["estimate", str(f), "--target", "jetson-nano"]) == 0
    out = capsys.readouterr().out
    assert "power scope: wall" in out and "[" in out.splitlines()[2]


def test_validate_table(capsys):
    assert hw_main(["validate", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rows = d["time"]
    assert len(rows) == d["summary"]["runs"] >= 15
    errs = sorted(abs(r["loo_error"]) for r in rows)
    assert d["summary"]["worst_abs_loo_error"] == errs[-1]
    for r in rows:                                   # the leave-one-out prediction is the error's own
        assert r["loo_predicted_s"] / r["measured_s"] - 1 == pytest.approx(r["loo_error"])
    assert hw_main(["validate", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| run | device")


def test_counts_without_kernels_get_brian2cuda_structure_and_a_note():
    e = estimate(counts(), "jetson-nano")
    assert any("no kernels_per_step" in n and "assumed 11" in n for n in e.notes)
    assert e.latency_s == pytest.approx(estimate(counts(kernels=11), "jetson-nano").latency_s)


@pytest.mark.parametrize("field,value,msg", [("kernels_per_step", 0, "must be >= 1"),
                                             ("kernels_per_step", 2.5, "must be an integer"),
                                             ("host_copies_per_step", -1, "must be >= 0"),
                                             ("simulator", 3, "must be a non-empty string")])
def test_bad_gpu_structure_fields_are_refused(field, value, msg):
    from hwmodel import CountsError
    d = counts().to_dict()
    d[field] = value
    with pytest.raises(CountsError, match=f"field '{field}' {msg}"):
        Counts.from_dict(d, "c.json")


def test_a_copy_of_a_batch_pays_its_share_of_the_host_side():
    one = estimate(counts(kernels=20), "jetson-nano")
    d = counts(kernels=20).to_dict()
    d["batch"] = 4
    four = estimate(Counts.from_dict(d), "jetson-nano")
    assert four.time_split_s["host_overhead"] == pytest.approx(one.time_split_s["host_overhead"] / 4)
    assert four.time_split_s["kernel_work"] == pytest.approx(one.time_split_s["kernel_work"])
