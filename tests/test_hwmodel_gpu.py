"""GPU time and energy model (hwmodel.gpu, docs/targets.md §3.3) against hand computations, the
published power readings themselves, and a second method (recovering known parameters from
synthetic measurements)."""
import json
import math

import numpy as np
import pytest

from hwmodel import Counts, estimate, gpu
from hwmodel import gpu_validation as gv
from hwmodel.cli import main as hw_main

NANO_BW, NANO_L2 = 25.6e9, 262144          # jetson-nano.toml


def counts(kernels=None, simulator=None, copies=None, steps=1000, events=800_000, samples=2, phase="inference",
           plast=0, n_syn=313_600 // 2, float_bits=None):
    """784 inputs -> 400 neurons; n_syn < 784 x 400: a sparse pathway (8 B per synapse)."""
    d = {"schema": "hwmodel-counts/1", "dt_s": 5e-4, "steps": steps, "samples": samples, "phase": phase,
         "populations": [{"name": "in", "n": 784, "spikes": max(2000, math.ceil(events / 400)),
                          "neuron_updates": 784 * steps},
                         {"name": "exc", "n": 400, "spikes": 20, "neuron_updates": 400 * steps}],
         "pathways": [{"name": "in_exc", "pre": "in", "post": "exc", "n_synapses": n_syn,
                       "synaptic_events": events, "plasticity_updates": plast}]}
    for k, v in (("kernels_per_step", kernels), ("simulator", simulator), ("host_copies_per_step", copies),
                 ("float_bits", float_bits)):
        if v is not None:
            d[k] = v
    return Counts.from_dict(d)


def by_hand(p, steps, K, C, events, updates, footprint, dense=False, float64=False, family="jetson",
            bw=NANO_BW, l2=NANO_L2, fp64_ratio=1 / 32, sim="brian2cuda", rows=0.0, targets=400, writes=None):
    """The time model written out from docs/targets.md §3.3 (rows: presynaptic spikes walked; each
    event streams its synapse's bytes and updates one of ``targets`` float inputs, or ``writes``
    updates in all)."""
    h = p["h_jetson"] if family == "jetson" else 1.0
    floor = h * (p[f"s_{sim}"] + K * p["t_launch"])
    hit = min(1.0, l2 / footprint)
    hit_t = min(1.0, l2 / (targets * (8 if float64 else 4)))
    stream_bytes = events * (4 if dense else 8) * (hit / p["r_l2"] + 1 - hit)
    target_bytes = (events if writes is None else writes) * p["b_target"] * (hit_t / p["r_rmw"] + 1 - hit_t)
    word = 8 if float64 else 4                      # one state word per neuron (the counts' default), read and written
    upd = p["b_fp64"] if float64 and fp64_ratio <= 1 / 16 else p["f_update"] * 2 * word
    t_row = p[f"t_row_{sim}"] * p[f"tau_{family}"] / p["tau_desktop"]
    work = (rows * t_row + (stream_bytes + target_bytes + updates * upd) / bw) / steps
    stream = K * p[f"tau_{family}"] + work
    step = C * p[f"t_copy_{family}"] + (floor ** p["p"] + stream ** p["p"]) ** (1 / p["p"])
    return steps * step, steps * floor, steps * work


def test_time_formula_by_hand():
    p = gpu.fitted()
    U = (784 + 400) * 1000
    e = estimate(counts(kernels=12, copies=1), "jetson-nano")
    rows = 800_000 * 784 / (313_600 // 2)            # events x n_pre / synapses: the input spikes
    t, floor, work = by_hand(p, 1000, 12, 1, 800_000, U, 313_600 // 2 * 8, rows=rows)
    assert e.latency_s == pytest.approx(t, rel=1e-12)
    assert e.time_split_s["launch_floor"] == pytest.approx(floor, rel=1e-12)
    assert e.time_split_s["kernel_work"] == pytest.approx(work, rel=1e-12)
    assert e.per_sample["latency_s"] == pytest.approx(t / 2)
    # a GeNN record: GeNN's own per-step cost; plasticity updates cost an event each
    g = estimate(counts(kernels=12, copies=0, simulator="genn-4", plast=50_000, phase="training"), "jetson-nano")
    assert g.latency_s == pytest.approx(by_hand(p, 1000, 12, 0, 850_000, U, 313_600 // 2 * 8, sim="genn",
                                                        rows=rows)[0],
                                        rel=1e-12)
    # all-to-all (784 x 400 synapses): dense, 4 B per synapse; float64 updates on a slow-FP64 device
    d = estimate(counts(kernels=12, copies=1, n_syn=313_600, float_bits=64), "jetson-nano")
    assert d.latency_s == pytest.approx(by_hand(p, 1000, 12, 1, 800_000, U, 313_600 * 4, dense=True,
                                                float64=True, rows=800_000 * 784 / 313_600)[0], rel=1e-12)


def test_genn_dense_writes_each_target_once_per_step():
    # GeNN's postsynaptic-parallel kernel over a dense matrix sums a step's spikes per target in a
    # register: 1000 steps x 400 targets writes instead of 800,000 (one per event); brian2cuda's
    # dense pathway (and a sparse GeNN one) still update the target at every event
    p = gpu.fitted()
    U, rows = (784 + 400) * 1000, 800_000 * 784 / 313_600
    g = estimate(counts(kernels=3, copies=0, simulator="genn-5", n_syn=313_600), "jetson-nano")
    t, _, work = by_hand(p, 1000, 3, 0, 800_000, U, 313_600 * 4, dense=True, sim="genn", rows=rows,
                         writes=1000 * 400)
    assert g.latency_s == pytest.approx(t, rel=1e-12)
    assert g.time_split_s["kernel_work"] == pytest.approx(work, rel=1e-12)
    b = estimate(counts(kernels=3, copies=0, n_syn=313_600), "jetson-nano")
    assert b.time_split_s["kernel_work"] == pytest.approx(
        by_hand(p, 1000, 3, 0, 800_000, U, 313_600 * 4, dense=True, rows=rows)[2], rel=1e-12)
    # fewer events than targets x steps: never more writes than events
    few = estimate(counts(kernels=3, copies=0, simulator="genn-5", n_syn=313_600, events=1000), "jetson-nano")
    assert few.time_split_s["kernel_work"] == pytest.approx(
        by_hand(p, 1000, 3, 0, 1000, U, 313_600 * 4, dense=True, sim="genn", rows=1000 * 784 / 313_600)[2],
        rel=1e-12)


def test_launch_bound_time_is_flat_and_bandwidth_bound_time_grows_with_events():
    small = [estimate(counts(kernels=14, events=ev), "orin-nano-8gb") for ev in (1e4, 1e5, 1e6)]
    assert {e.gpu_regime for e in small} == {"launch-bound"}
    # flat: 100x the events move the time by their kernel work only, under 1 % of the step's fixed cost
    grow = small[-1].latency_s - small[0].latency_s
    assert grow == pytest.approx(small[-1].time_split_s["kernel_work"] - small[0].time_split_s["kernel_work"],
                                 rel=1e-6)
    assert grow < 0.01 * small[0].latency_s
    p = gpu.fitted()
    big = [estimate(counts(kernels=4, events=ev, steps=10**7), "jetson-nano") for ev in (1e12, 3e12)]
    assert {e.gpu_regime for e in big} == {"bandwidth-bound"}
    # linear: each further event costs its bytes over the bandwidth (part of them from L2), nothing hides it
    hit = NANO_L2 / (313_600 // 2 * 8)
    per_event = (8 * (hit / p["r_l2"] + 1 - hit) + p["b_target"] / p["r_rmw"]) / NANO_BW    # 400 targets fit L2
    per_event += 784 / (313_600 // 2) * p["t_row_brian2cuda"] * p["tau_jetson"] / p["tau_desktop"]   # its row walk
    assert big[1].latency_s - big[0].latency_s == pytest.approx(2e12 * per_event, rel=1e-3)


def test_kernels_20_vs_37_in_the_launch_bound_regime_differ_by_17_launches():
    p = gpu.fitted()
    launch = p["h_jetson"] * p["t_launch"]
    per_kernel = max(launch, p["tau_jetson"])    # the host's issue time or the kernel's start-up, whichever is longer
    a, b = estimate(counts(kernels=20, copies=0), "jetson-nano"), estimate(counts(kernels=37, copies=0), "jetson-nano")
    assert b.latency_s - a.latency_s == pytest.approx(1000 * 17 * per_kernel, rel=2e-3)
    assert a.prices["gpu.launch"]["value"] == pytest.approx(launch)
    assert a.prices["gpu.launch"]["evidence"] == "transferred"      # the Nano has no rows of its own


def test_a_pathway_that_fits_l2_pays_the_l2_price():
    p = gpu.fitted()
    assert p["r_l2"] > 1
    steps = 10**7
    big = estimate(counts(kernels=14, events=1e10, n_syn=100_000, steps=steps), "orin-nano-8gb")   # 800 kB < 2 MB L2
    huge = estimate(counts(kernels=14, events=1e10, n_syn=300_000, steps=steps), "orin-nano-8gb")  # 2.4 MB > 2 MB
    t_row = p["t_row_brian2cuda"] * p["tau_jetson"] / p["tau_desktop"]
    syn_work = lambda e, n_syn: (e.time_split_s["kernel_work"] - p["f_update"] * 8 * 1184 * steps / 68e9  # noqa: E731
                                 - 1e10 * 784 / n_syn * t_row)                                       # row walk
    target = p["b_target"] / p["r_rmw"]                  # 400 float32 targets: in L2 either way
    assert syn_work(big, 100_000) == pytest.approx(1e10 * (8 / p["r_l2"] + target) / 68e9, rel=1e-9)
    hit = 2097152 / 2.4e6
    assert syn_work(huge, 300_000) == pytest.approx(1e10 * (8 * (hit / p["r_l2"] + 1 - hit) + target) / 68e9,
                                                    rel=1e-9)


def _geo(xs):
    return math.exp(np.mean(np.log(xs)))


def test_orin_module_power_is_its_published_readings():
    """idle = geometric mean of the published VDD_IN idle readings (not the ratio-only ones);
    launch-bound and bandwidth-bound power are the published busy readings; E = t x P(u)."""
    data = json.load(open(gpu.POWER_PATH))["devices"]["orin-nano-8gb"]["readings"]
    pick = lambda st: [r["watts"] for r in data if r["scope"] == "module" and r["state"] == st   # noqa: E731
                       and r.get("use") != "ratio-only"]
    idle, light, heavy = _geo(pick("idle")), _geo(pick("busy-light")), _geo(pick("busy-heavy"))
    assert 3 < idle < 6 and light == 7.142 and heavy == 12.479
    e = estimate(counts(kernels=14, copies=1), "orin-nano-8gb", power_scope="module")
    u = e.time_split_s["kernel_streaming"] / e.latency_s
    assert e.energy_j["total"] == pytest.approx(e.latency_s * (idle + (1 - u) * (light - idle) + u * (heavy - idle)))
    assert e.energy_j["static"] == pytest.approx(idle * e.latency_s)
    assert sum(e.energy_j["breakdown"].values()) == pytest.approx(e.energy_j["total"])
    assert e.power_scope.startswith("module") and e.prices["power.idle"]["evidence"] == "measured"
    assert estimate(counts(kernels=14), "orin-nano-8gb").power_scope.startswith("module")      # the default


@pytest.mark.parametrize("target", ["jetson-nano", "jetson-tx2", "xavier-nx", "orin-nano-8gb", "agx-orin-64gb"])
def test_every_jetson_prices_three_scopes_soc_below_module_below_wall(target, capsys, tmp_path):
    e = {s: estimate(counts(kernels=14), target, power_scope=s) for s in gpu.SCOPES}
    assert e["soc"].energy_j["total"] < e["module"].energy_j["total"] < e["wall"].energy_j["total"]
    assert {s: e[s].power_scope.split()[0] for s in e} == {s: s for s in gpu.SCOPES}
    assert len({e[s].latency_s for s in e}) == 1                  # the scope changes the power only
    f = tmp_path / "c.json"
    f.write_text(json.dumps(counts(kernels=14).to_dict()))
    assert hw_main(["estimate", str(f), "--target", target, "--power-scope", "soc", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["power_scope"].startswith("soc")


def test_a_desktop_gpu_has_only_the_wall_scope(tmp_path, capsys):
    assert estimate(counts(kernels=14), "gtx-1080ti").power_scope.startswith("wall")
    f = tmp_path / "c.json"
    f.write_text(json.dumps(counts(kernels=14).to_dict()))
    assert hw_main(["estimate", str(f), "--target", "gtx-1080ti", "--power-scope", "module"]) == 2
    err = capsys.readouterr().err
    assert "no published 'module'-scope power for desktop GPUs" in err and err.count("\n") == 1
    assert hw_main(["estimate", str(f), "--target", "loihi1", "--power-scope", "soc"]) == 2
    assert "applies to GPU targets" in capsys.readouterr().err


def test_intervals_are_the_regimes_leave_out_errors():
    """The printed interval = the range of measured / predicted of the fitted rows in the
    estimate's regime when refitted without their sweep (and, for a device without rows of its
    own, without their device), recomputed here."""
    cal, p = gpu.calibration_set(), gpu.fitted()
    rows = {r["id"]: r for r in gpu.timed_runs("fit")}
    for target, own, ev in (("jetson-nano", False, 1e5), ("xavier-nx", True, 1e5), ("jetson-nano", False, 1e12)):
        e = estimate(counts(kernels=14, events=ev, steps=10**7), target)
        res = [gpu.loo_residuals("sweep")] + ([] if own else [gpu.loo_residuals("device")])
        mine = [v for d in res for k, v in d.items() if gpu.run_regime(p, rows[k], cal["devices"]) == e.gpu_regime]
        assert len(mine) >= 5 * len(res)
        assert e.latency_interval_s == pytest.approx([e.latency_s * math.exp(min(min(mine), 0)),
                                                      e.latency_s * math.exp(max(max(mine), 0))], rel=1e-9)
        assert e.energy_j["interval"][0] <= e.energy_j["total"] <= e.energy_j["interval"][1]


def test_fit_recovers_known_parameters_from_synthetic_runs():
    cal = gpu.calibration_set()
    true = dict(gpu.fitted(), h_jetson=2.5, s_genn=3e-6, t_launch=4e-6,
                tau_desktop=2e-6, tau_jetson=6e-6, t_copy_desktop=12e-6, t_copy_jetson=4e-6, b_target=150.0,
                f_update=2.5, f_genn3=2.0, b_fp64=700.0, p=3.0)
    runs = []
    for r in cal["runs"]:
        if r.get("energy_only") or r.get("excluded") or r.get("split", "fit") != "fit":
            continue
        r = dict(r)
        for q in ("time_s", "neuron_kernel_s", "synapse_kernel_s", "launch_api_s"):
            if q in r:
                r[q] = gpu.predict(true, r, q, cal["devices"])
        if "neuron_kernel_s" in r:     # a consistent split: total = overhead + kernels
            r["time_s"] = gpu.predict(true, r, "time_s", cal["devices"])
        r.pop("exclude_total", None)
        runs.append(r)
    got = gpu.fit(runs)
    for r in runs:                     # the synthetic data are reproduced ...
        if "time_s" in r:
            assert gpu.predict(got, r, "time_s", cal["devices"]) == pytest.approx(r["time_s"], rel=1e-3), r["id"]
    for k in ("h_jetson", "t_launch", "tau_jetson", "b_target", "f_update", "b_fp64", "f_genn3"):
        assert got[k] == pytest.approx(true[k], rel=0.05), k       # ... by the parameters that made them


def test_every_gpu_target_estimates_out_of_the_box():
    from hwmodel import list_targets, load_target
    gpus = [t for t in list_targets() if load_target(t).model == "gpu_time_power"]
    assert {"jetson-nano", "jetson-tx2", "xavier-nx", "orin-nano-8gb", "agx-orin-64gb"} <= set(gpus)
    for t in gpus:
        e = estimate(counts(kernels=20), t)
        assert e.energy_j["total"] > 0 and e.latency_s > 0 and e.evidence and e.power_scope and e.gpu_regime
        assert e.energy_j["interval"][0] <= e.energy_j["total"] <= e.energy_j["interval"][1]


def test_cli_estimate_prints_interval_regime_and_scope(tmp_path, capsys):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(counts(kernels=20).to_dict()))
    assert hw_main(["estimate", str(f), "--target", "jetson-nano", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["energy_j"]["interval"]) == 2 and len(d["latency_interval_s"]) == 2
    assert d["evidence"] == "transferred" and d["gpu_regime"] == "launch-bound"
    assert hw_main(["estimate", str(f), "--target", "jetson-nano", "--power-scope", "wall"]) == 0
    out = capsys.readouterr().out
    assert "power scope: wall" in out and "(launch-bound)" in out


def test_validate_summary_is_computed_from_its_rows(capsys):
    assert hw_main(["validate", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rows = d["time"]
    held = [r for r in rows if r["split"] == "heldout"]
    fit = [r for r in rows if r["split"] == "fit"]
    assert held and len(fit) >= 30
    assert d["summary"]["heldout"]["all"]["median_abs_error"] == pytest.approx(np.median([abs(r["error"]) for r in held]))
    assert d["summary"]["heldout"]["all"]["coverage"] == pytest.approx(np.mean([r["covered"] for r in held]))
    for r in held:                   # a held-out row's error is the full fit's, and it never saw the row
        assert r["predicted_s"] / r["measured_s"] - 1 == pytest.approx(r["error"])
        lo, hi = r["interval_s"]
        assert r["covered"] == (lo <= r["measured_s"] <= hi)
    times = {r["id"]: r for r in rows}
    for pw in d["power"]:            # in the row's own scope; held-out readings are not the power model's data
        assert pw["in_sample"] == (times.get(pw["id"], {"split": "fit"})["split"] == "fit")
        if "energy_error" in pw:     # energy = power x time: its error combines the two
            t = times[pw["id"]]
            assert 1 + pw["energy_error"] == pytest.approx((1 + pw["error"]) * t["predicted_s"] / t["measured_s"])
    assert {pw["scope"] for pw in d["power"]} >= {"wall", "soc"}
    assert hw_main(["validate", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| rows | regime / family")


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


def test_a_copy_of_a_batch_pays_its_share_of_the_host_side_and_of_the_row_walks():
    # the copies run side by side in each kernel: a copy pays 1/4 of the launches and of its rows'
    # walk latency, and all of its streamed bytes
    p = gpu.fitted()
    one = estimate(counts(kernels=20, simulator="genn-4"), "jetson-nano")
    d = counts(kernels=20, simulator="genn-4").to_dict()
    d["batch"] = 4
    four = estimate(Counts.from_dict(d), "jetson-nano")
    assert four.time_split_s["launch_floor"] == pytest.approx(one.time_split_s["launch_floor"] / 4)
    walk = 800_000 * 784 / (313_600 // 2) * p["t_row_genn"] * p["tau_jetson"] / p["tau_desktop"]
    assert walk > 0.1 * one.time_split_s["kernel_work"]                # a term this test can see
    assert four.time_split_s["kernel_work"] == pytest.approx(one.time_split_s["kernel_work"] - 0.75 * walk, rel=1e-9)
    assert four.time_split_s["kernel_streaming"] == pytest.approx(one.time_split_s["kernel_streaming"], rel=1e-12)


def test_validation_record_plot(tmp_path):
    rec = gv.record()
    gv.plot_sweeps(rec, str(tmp_path / "s.png"))
    assert (tmp_path / "s.png").stat().st_size > 10_000


def test_the_stored_fit_is_current_and_is_the_fit():
    """hwmodel/data/gpu_fit.json was made from the present calibration set and gpu.py (else every
    process refits for minutes: run `hwmodel validate --refit`), and a fresh fit agrees with it."""
    stored = gpu.stored_fit()
    assert stored is not None, "hwmodel/data/gpu_fit.json is stale: run `hwmodel validate --refit`"
    fresh = gpu.fit()
    # Compared by what the fit decides -- its residual and every row's predicted time -- not by each
    # parameter: a direction the data leave flat (h_jetson, while every Jetson row's host floor hides
    # under its kernels' latency) lands at machine-dependent values with identical predictions.
    cal = gpu.calibration_set()
    obs = gpu._observations(cal["runs"])

    def ssr(p):
        return sum((w * math.log(gpu.predict(p, r, q, cal["devices"]) / m)) ** 2 for r, q, m, w in obs)
    assert ssr(fresh) == pytest.approx(ssr(stored["parameters"]), rel=1e-6)
    for r in gpu.timed_runs():
        assert gpu.predict(fresh, r, "time_s", cal["devices"]) == pytest.approx(
            gpu.predict(stored["parameters"], r, "time_s", cal["devices"]), rel=1e-3), r["id"]
    assert set(stored["loo"]["sweep"]) == {r["id"] for r in gpu.timed_runs("fit")}


def test_a_target_with_its_own_idle_power_keeps_the_published_busy_powers(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('extends = "orin-nano-8gb"\nid = "orin-mine"\n[sources]\nmine = "my tegrastats"\n[power]\n'
                 'scope = "module"\nidle = { value = 3.0, unit = "W", evidence = "measured", source = "mine" }\n')
    mine, pub = estimate(counts(kernels=14), str(f)), estimate(counts(kernels=14), "orin-nano-8gb")
    u = mine.time_split_s["kernel_streaming"] / mine.latency_s
    light, heavy = (pub.prices[f"power.{k}"]["value"] for k in ("light", "heavy"))
    assert mine.energy_j["total"] == pytest.approx(mine.latency_s * (3.0 + (1 - u) * (light - 3.0) + u * (heavy - 3.0)))
    assert mine.prices["power.idle"]["evidence"] == "measured" and mine.power_scope.startswith("module")
    f.write_text(f.read_text().replace('scope = "module"', 'scope = "my bench"'))
    with pytest.raises(Exception, match="is not one of wall, module, soc"):
        estimate(counts(kernels=14), str(f))


def test_a_neuron_update_streams_its_counted_state_words():
    # each state word of a population is read and written once per update, at f_update achieved
    # bytes per counted byte: 2 more float32 words for 400 neurons x 1000 steps cost 16 B x 400,000
    p = gpu.fitted()
    d = counts(kernels=12, copies=1).to_dict()
    base = estimate(Counts.from_dict(d), "orin-nano-8gb")
    d["populations"][1]["state_vars"] = 3
    more = estimate(Counts.from_dict(d), "orin-nano-8gb")
    extra = p["f_update"] * 2 * 2 * 4 * 400 * 1000 / 68e9
    assert more.time_split_s["kernel_work"] - base.time_split_s["kernel_work"] == pytest.approx(extra, rel=1e-9)
    assert more.time_split_s["kernel_streaming"] - base.time_split_s["kernel_streaming"] == pytest.approx(extra,
                                                                                                          rel=1e-9)


def test_every_timed_calibration_row_counts_its_neuron_bytes():
    for r in gpu.timed_runs():
        if gpu.workload_of(r).updates:
            assert r["neuron_bytes"] > 0 and r["neuron_bytes_from"], r["id"]
    # the SHD classifier's weighted mean, by hand: 700 inputs x 12 B, H hidden x 24 B, 20 readouts x 16 B
    shd = {r["id"]: r for r in gpu.timed_runs()}["mlgenn-shd-orin-1024"]
    assert shd["neuron_bytes"] == pytest.approx((700 * 12 + 1024 * 24 + 20 * 16) / 1744, abs=1e-3)


def test_row_walks_draw_launch_bound_power():
    # a GeNN run walks rows (latency) and streams bytes: only the streaming share draws the
    # bandwidth-bound power
    e = estimate(counts(kernels=3, copies=0, simulator="genn-5"), "orin-nano-8gb", power_scope="soc")
    sp = e.time_split_s
    assert 0 < sp["kernel_streaming"] < sp["kernel_work"]
    u = sp["kernel_streaming"] / e.latency_s
    idle, light, heavy = (e.prices[f"power.{k}"]["value"] for k in ("idle", "light", "heavy"))
    assert e.energy_j["total"] == pytest.approx(e.latency_s * (idle + (1 - u) * (light - idle) + u * (heavy - idle)))
