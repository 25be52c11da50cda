"""TopSpark (issue 5): windows, enhancement rules, policy, table and CLI -- no simulation."""
import json
import math
from pathlib import Path
import numpy as np

import pytest

from brian_snn.experiments import timestep as ts
from brian_snn.jobs import groups_in_order

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


# ------------------------------------------------------------------------------------------
# windows
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "abc", None, True])
def test_bad_window_is_a_value_error(bad):
    with pytest.raises(ValueError):
        ts.check_window(bad, 0.5)


def test_window_must_be_a_multiple_of_dt():
    assert ts.check_window(20, 0.5) == 20.0
    assert ts.check_window(21, 1.0) == 21.0
    with pytest.raises(ValueError, match="not a multiple of dt"):
        ts.check_window(33.3, 0.5)
    with pytest.raises(ValueError, match="not a multiple of dt"):
        ts.check_window(20.5, 1.0)
    with pytest.raises(ValueError, match="dt"):
        ts.check_window(20, 0)
    with pytest.raises(ValueError, match="repeat"):
        ts.check_windows([350, 100, 100], 0.5)
    assert ts.check_windows([50, 350, 100], 0.5) == [350, 100, 50]


def test_rest_scales_with_the_window_in_whole_steps():
    assert ts.rest_ms(350, 0.5) == 150.0                      # Diehl & Cook's 350 + 150 ms
    assert ts.steps_per_presentation(350, 0.5) == 1000
    # 50 * 150/350 = 21.43 ms = 42.86 steps -> 43 steps = 21.5 ms
    assert ts.rest_ms(50, 0.5) == 21.5
    assert ts.steps_per_presentation(50, 0.5) == 100 + 43
    assert ts.steps_per_presentation(50, 1.0) == 50 + 21
    assert ts.rest_ms(20, 0.5, rest_ratio=0) == 0.5          # at least one step
    with pytest.raises(ValueError):
        ts.rest_ms(20, 0.5, rest_ratio=-1)


# ------------------------------------------------------------------------------------------
# enhancement: a pure function of the window
# ------------------------------------------------------------------------------------------
def test_enhancement_is_identity_at_the_full_window():
    for model in ts.MODELS:
        s = ts.enhance(model, 350, 350, 0.5, {"intensity": 1, "eta": 0.5, "theta_plus": 1})
        base = ts.base_params(model)
        assert s.intensity0 == ts.BASE_INTENSITY and s.theta_shift_mV == 0 and not s.capped
        for k, v in s.params.items():
            assert v == pytest.approx(base[k])


def test_enhancement_values_computed_by_hand():
    # T0/T = 350/87.5 = 4; sqrt(4) = 2
    s = ts.enhance("diehl-cook", 87.5, 350, 0.5, {"intensity": 0.5, "eta": 0.5, "theta_plus": 1,
                                                  "inhibition": -0.5, "tau_m": 1, "reset": -1, "threshold": -0.5,
                                                  "norm": 0.5})
    assert s.intensity0 == pytest.approx(4.0)                     # 2 * 2
    assert s.params["nu_pre"] == pytest.approx(2e-4)              # 1e-4 * 2
    assert s.params["nu_post"] == pytest.approx(2e-2)             # 1e-2 * 2
    assert s.params["theta_plus_mV"] == pytest.approx(0.2)        # 0.05 * 4
    assert s.params["w_ie"] == pytest.approx(8.5)                 # 17 / 2
    assert s.params["tau_e_ms"] == pytest.approx(400.0)           # 100 * 4
    assert s.params["reset_gap_mV"] == pytest.approx(3.25)        # 13 / 4
    assert s.theta_shift_mV == pytest.approx(13 * (0.5 - 1))      # gap 13 mV -> 6.5 mV
    assert s.params["norm"] == pytest.approx(156.0)               # 78 * 2
    sd = ts.enhance("spikedyn", 87.5, 350, 0.5, {"eta": 1, "inhibition": 1})
    assert sd.params["nu_post"] == pytest.approx(8e-3) and "nu_pre" not in sd.params
    assert sd.params["w_lat"] == pytest.approx(68.0)


def test_enhancement_is_a_pure_function_of_the_window_ratio():
    rules = {"intensity": 0.5, "eta": 0.5, "threshold": -0.5}
    a = ts.enhance("spikedyn", 50, 350, 0.5, rules)
    assert ts.enhance("spikedyn", 50, 350, 0.5, rules) == a          # same input, same output
    assert ts.enhance("spikedyn", 25, 175, 0.5, rules) == a          # depends on T0/T only
    assert ts.enhance("spikedyn", 100, 350, 0.5, rules) != a
    # monotone: the shorter the window, the higher the input rate and learning rate
    vals = [ts.enhance("spikedyn", w, 350, 0.5, rules) for w in (350, 200, 100, 50, 25)]
    assert all(x.intensity0 < y.intensity0 for x, y in zip(vals, vals[1:]))
    assert all(x.params["nu_post"] < y.params["nu_post"] for x, y in zip(vals, vals[1:]))


def test_boost_rule_criterion_scales_and_rounds():
    assert ts.enhance("spikedyn", 350, 350, 0.5, {"min_spikes": -1}).min_spikes == 5
    assert ts.enhance("spikedyn", 50, 350, 0.5, {"min_spikes": -1}).min_spikes == 1       # 5/7 = 0.71
    assert ts.enhance("spikedyn", 50, 350, 0.5, {"min_spikes": -0.5}).min_spikes == 2     # 5/2.65 = 1.89
    assert ts.enhance("spikedyn", 50, 350, 0.5, {"eta": 1}).min_spikes is None             # untouched
    s = ts.enhance("spikedyn", 50, 350, 0.5, {"min_spikes": -1})
    assert ts.Settings.from_dict(s.to_dict()) == s
    assert "min_spikes" not in ts.Settings().to_dict()          # old job keys stay valid


def test_intensity_is_capped_at_half_a_spike_per_step():
    cap = 0.5 / (255 / 8 * 0.5e-3)                                   # 31.37 at dt 0.5 ms
    s = ts.enhance("spikedyn", 20, 350, 0.5, {"intensity": 1})       # 2 * 17.5 = 35 > cap
    assert s.intensity0 == pytest.approx(cap) and s.capped == ("intensity",)
    s = ts.enhance("spikedyn", 25, 350, 0.5, {"intensity": 1})       # 28 < cap
    assert s.intensity0 == pytest.approx(28.0) and not s.capped


def test_inference_part_drops_learning_knobs():
    s = ts.enhance("diehl-cook", 50, 350, 0.5, {"intensity": 0.5, "eta": 1, "theta_plus": 1, "norm": 1})
    i = ts.inference_part(s, "diehl-cook", 0.5)
    assert i.intensity0 == pytest.approx(s.intensity0)
    assert set(i.factors) == {"intensity"} and i.params == {}


@pytest.mark.parametrize("call, msg", [
    (lambda: ts.enhance("spikedyn", 400, 350), "longer than the full window"),
    (lambda: ts.enhance("spikedyn", 50, 350, 0.5, {"voltage": 1}), "unknown knob"),
    (lambda: ts.enhance("spikedyn", 33.3, 350), "multiple of dt"),
    (lambda: ts.enhance("spikedyn", float("nan"), 350), "finite"),
    (lambda: ts.enhance("no-such-model", 50, 350), "unknown model"),
    (lambda: ts.enhance("spikedyn", 50, 350, 0.5, {"eta": float("nan")}), "finite"),
    (lambda: ts.apply_factors("spikedyn", {"eta": -2}), "> 0"),
])
def test_enhancement_errors(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


def test_tuned_spec_only_when_compiled_knobs_change():
    from brian_snn.experiments.timestep.models import TunedSpikeDyn, tuned_spec
    from brian_snn.models.spikedyn import SpikeDyn
    plain = tuned_spec("spikedyn", 10, nu_post=0.004)
    assert type(plain) is SpikeDyn and plain.nu_post == 0.004
    t = tuned_spec("spikedyn", 10, tau_e_ms=50.0)
    assert type(t) is TunedSpikeDyn and t.structure()["tau_e_ms"] == 50.0
    assert t.structure() != plain.structure()          # a separate build key
    with pytest.raises(ValueError, match="unknown parameter"):
        tuned_spec("spikedyn", 10, bogus=1)
    with pytest.raises(ValueError, match="unknown model"):
        tuned_spec("nope", 10)


# ------------------------------------------------------------------------------------------
# the trade-off policy on a synthetic table
# ------------------------------------------------------------------------------------------
def _row(w, acc, lat, et, ei, variant="enhanced"):
    return {"infer_window_ms": w, "train_window_ms": w, "variant": variant, "accuracy": acc,
            "latency_s": lat, "energy_train_j": et, "energy_inference_j": ei}


REF = _row(350, 0.90, 0.100, 1.00, 0.80, "baseline")
TABLE = [REF, _row(200, 0.895, 0.060, 0.62, 0.47), _row(100, 0.885, 0.030, 0.30, 0.24),
         _row(50, 0.860, 0.016, 0.17, 0.13), _row(25, 0.700, 0.009, 0.09, 0.07)]


def _expected(rows, ref, tol, w, budget_lat=None):
    best, best_s = None, -math.inf
    for r in rows:
        if r["accuracy"] < ref["accuracy"] - tol / 100 - 1e-12:
            continue
        if budget_lat is not None and r["latency_s"] > budget_lat:
            continue
        s = (w[0] * r["accuracy"] / ref["accuracy"] - w[1] * r["latency_s"] / ref["latency_s"]
             - w[2] * r["energy_train_j"] / ref["energy_train_j"] - w[3] * r["energy_inference_j"] / ref["energy_inference_j"])
        if s > best_s:
            best, best_s = r, s
    return best


def test_policy_picks_the_cheapest_window_within_tolerance():
    best, scored = ts.choose(TABLE, REF)
    assert best["infer_window_ms"] == 100          # 50 ms loses 4 pp > 2 pp
    # score of the 100 ms row by hand: 0.885/0.9 - 0.3 - 0.3 - 0.3
    assert best["score"] == pytest.approx(0.885 / 0.9 - 0.3 - 0.30 - 0.3)
    assert [s["feasible"] for s in scored] == [True, True, True, False, False]


@pytest.mark.parametrize("tol, weights, budget", [
    (2, (1, 1, 1, 1), None), (5, (1, 1, 1, 1), None), (50, (1, 1, 1, 1), None), (0, (1, 1, 1, 1), None),
    (2, (100, 1, 1, 1), None), (5, (30, 1, 1, 1), None), (5, (1, 0, 0, 1), None), (50, (1, 1, 1, 1), 0.02),
    (2, (1, 1, 1, 1), 0.05),
])
def test_policy_matches_a_brute_force_choice(tol, weights, budget):
    w = dict(zip(("accuracy", "latency", "energy_train", "energy_inference"), weights))
    best, _ = ts.choose(TABLE, REF, tol, w, max_latency_s=budget)
    exp = _expected(TABLE, REF, tol, weights, budget)
    assert best["infer_window_ms"] == exp["infer_window_ms"]


def test_policy_accuracy_weight_and_budgets():
    best, _ = ts.choose(TABLE, REF, 5, {"accuracy": 1000})
    assert best["infer_window_ms"] == 350            # accuracy dominates: the full window
    best, _ = ts.choose(TABLE, REF, 5)
    assert best["infer_window_ms"] == 50             # 4 pp allowed now
    best, _ = ts.choose(TABLE, REF, 2, max_latency_s=0.001)
    assert best is None                              # nothing meets the budget


def test_policy_explains_every_exclusion_with_numbers():
    """--max-latency 20 on the synthetic table: every row excluded, each by what and how much."""
    best, scored = ts.choose(TABLE, REF, 2, max_latency_s=0.020)
    assert best is None
    why = {s["infer_window_ms"]: s for s in scored}
    for r in TABLE:                               # the numbers, computed here from the table
        s = why[r["infer_window_ms"]]
        lat_ms, d_pp = 1e3 * r["latency_s"], 100 * (r["accuracy"] - REF["accuracy"])
        kinds = [v["constraint"] for v in s["violations"]]
        assert ("latency_s" in kinds) == (lat_ms > 20) and ("accuracy" in kinds) == (d_pp < -2)
        assert not s["feasible"] and s["reason"] == "; ".join(v["text"] for v in s["violations"])
        if lat_ms > 20:
            v = next(v for v in s["violations"] if v["constraint"] == "latency_s")
            assert v["value"] == pytest.approx(lat_ms) and v["limit"] == 20
            assert v["excess"] == pytest.approx(lat_ms - 20)
            assert f"latency {lat_ms:.1f} ms/sample > max 20 ms (+{lat_ms - 20:.1f} ms" in v["text"]
        if d_pp < -2:
            v = next(v for v in s["violations"] if v["constraint"] == "accuracy")
            assert v["excess"] == pytest.approx(-2 - d_pp)
            assert f"accuracy {d_pp:+.1f} pp vs the full window < -2 pp allowed ({-2 - d_pp:.1f} pp short)" in v["text"]
    # 350/200/100 ms break the latency budget only; 50 and 25 ms the accuracy tolerance only
    assert [len(why[w]["violations"]) for w in (350, 200, 100, 50, 25)] == [1, 1, 1, 1, 1]
    ex = ts.explain(scored)
    assert ex["candidates"] == 5 and len(ex["excluded"]) == 5
    assert ex["counts"] == {"latency_s": 3, "accuracy": 2}
    # nearest by the sum of relative misses: 350: 80/20, 200: 40/20, 100: 10/20, 50: 2/88, 25: 18/88
    rel = {350: 80 / 20, 200: 40 / 20, 100: 10 / 20, 50: 2 / 88, 25: 18 / 88}
    for w, x in rel.items():
        assert sum(v["relative"] for v in why[w]["violations"]) == pytest.approx(x)
    c = ex["closest"]
    assert c["infer_window_ms"] == min(rel, key=rel.get) == 50
    assert c["admit"] == {"tolerance_pp": pytest.approx(4.0)}
    assert c["text"].endswith("feasible with accuracy tolerance >= 4 pp")
    best, _ = ts.choose(TABLE, REF, 4.0 + 1e-9, max_latency_s=0.020)     # and it really is
    assert best["infer_window_ms"] == 50


def test_policy_explanation_in_the_table_and_selection():
    rows = [dict(r, model="spikedyn", n_exc=100) for r in TABLE]
    for r in rows:
        r["steps_per_test_sample"] = 3 * r["infer_window_ms"]
    sel = ts.select_all(rows, 2, max_latency_s=0.020, max_energy_inference_j=0.1)
    c = sel["configs"][0]
    assert c["selected"] is None
    ex = c["explanation"]
    assert [(e["infer_window_ms"], [v["constraint"] for v in e["violations"]]) for e in ex["excluded"]] == [
        (350, ["latency_s", "energy_inference_j"]), (200, ["latency_s", "energy_inference_j"]),
        (100, ["latency_s", "energy_inference_j"]), (50, ["accuracy", "energy_inference_j"]),
        (25, ["accuracy"])]
    assert ex["closest"]["infer_window_ms"] == 25         # 18/88 = 0.20 < 2/88 + 30/100 = 0.32
    text = ts.format_table(rows, sel)
    assert "budgets: latency <= 20 ms/sample, inference energy <= 100 mJ/sample" in text
    assert "spikedyn N=100: nothing feasible; each of the 5 candidates breaks a constraint:" in text
    assert ("✗ enhanced, train 50 ms / infer 50 ms: accuracy -4.0 pp vs the full window < -2 pp allowed "
            "(2.0 pp short); inference energy 130.0 mJ/sample > max 100 mJ (+30.0 mJ, 1.30× the budget)") in text
    assert "latency 100.0 ms/sample > max 20 ms (+80.0 ms, 5.00× the budget)" in text
    assert "closest: enhanced, train 25 ms / infer 25 ms" in text and "tolerance >= 20 pp" in text
    # table column: short reason per excluded row
    line = next(l for l in text.splitlines() if l.startswith("| spikedyn | 100 | enhanced ✗ | 100 |"))
    assert line.endswith("| latency 30.0 ms (max 20); inference energy 240.0 mJ (max 100) |")
    # with a feasible row: one summary line of what excluded the others
    sel = ts.select_all(rows, 2, max_latency_s=0.040)
    assert sel["configs"][0]["selected"]["infer_window_ms"] == 100
    text = ts.format_table(rows, sel)
    assert "excluded 4 of 5 candidates: latency 2, accuracy 2" in text


def test_policy_explanation_when_a_value_is_missing():
    rows = [REF, dict(_row(100, 0.9, None, 0.3, 0.2))]
    with pytest.raises(ValueError, match="the row enhanced, train 100 ms / infer 100 ms has no latency_s"):
        ts.choose(rows, REF, 2, max_latency_s=0.5)
    best, scored = ts.choose(rows, REF, 2, {"latency": 0}, max_latency_s=0.5)
    assert best["infer_window_ms"] == 350
    v = scored[1]["violations"]
    assert v[0]["constraint"] == "latency_s" and v[0]["value"] is None and "n/a" in v[0]["text"]


@pytest.mark.parametrize("weights, msg", [
    ({"latency": -1}, ">= 0"), ({"accuracy": float("nan")}, "finite"), ({"speed": 1}, "unknown weight"),
    ({"accuracy": 0, "latency": 0, "energy_train": 0, "energy_inference": 0}, "at least one"),
])
def test_policy_rejects_bad_weights(weights, msg):
    with pytest.raises(ValueError, match=msg):
        ts.choose(TABLE, REF, 2, weights)


def test_policy_rejects_bad_tolerance():
    for bad in (-1, float("nan"), "x"):
        with pytest.raises(ValueError):
            ts.choose(TABLE, REF, bad)


def test_ratios():
    q = ts.ratios(TABLE[2], REF)
    assert q["latency"] == pytest.approx(0.1 / 0.03)
    assert q["energy_train"] == pytest.approx(1 / 0.3)
    assert q["energy_inference"] == pytest.approx(0.8 / 0.24)
    assert q["accuracy_pp"] == pytest.approx(-1.5)


def test_select_all_averages_ratios_over_configurations():
    rows = [dict(r, model="spikedyn", n_exc=100) for r in TABLE]
    ref2 = dict(REF, model="diehl-cook", n_exc=100, latency_s=0.2)
    rows += [ref2, dict(_row(100, 0.90, 0.05, 0.25, 0.2), model="diehl-cook", n_exc=100)]
    sel = ts.select_all(rows)
    picks = {c["model"]: c["selected"]["infer_window_ms"] for c in sel["configs"]}
    assert picks == {"spikedyn": 100, "diehl-cook": 100}
    assert sel["headline"]["latency"] == pytest.approx(((0.1 / 0.03) + (0.2 / 0.05)) / 2)
    assert sel["headline"]["energy_train"] == pytest.approx(((1 / 0.3) + (1 / 0.25)) / 2)
    assert sel["headline"]["accuracy_pp"] == pytest.approx((-1.5 + 0) / 2)
    assert sum(r["selected"] for r in rows) == 2


# ------------------------------------------------------------------------------------------
# table from stored results (no simulation): pricing and the --from path
# ------------------------------------------------------------------------------------------
def _counts(phase, samples, steps_per_sample, n=100):
    return {"schema": "hwmodel-counts/1", "dt_s": 5e-4, "steps": samples * steps_per_sample, "samples": samples,
            "phase": phase,
            "populations": [{"name": "input", "n": 784, "spikes": 20 * samples, "neuron_updates": 784 * samples * steps_per_sample},
                            {"name": "exc", "n": n, "spikes": 10 * samples, "neuron_updates": n * samples * steps_per_sample}],
            "pathways": [{"name": "input_exc", "pre": "input", "post": "exc", "n_synapses": 784 * n,
                          "synaptic_events": 20 * n * samples, "plasticity_updates": 0}]}


def fake_results(cfg, accuracy):
    """A results dict in the format run_timestep() returns, with synthetic counts."""
    from dataclasses import asdict
    jobs = ts.plan_jobs(cfg)
    results = {}
    for j in jobs:
        st = ts.steps_per_presentation(j["infer_window_ms"], cfg.dt_ms, cfg.rest_ratio)
        sttr = ts.steps_per_presentation(j["train_window_ms"], cfg.dt_ms, cfg.rest_ratio)
        results[j["key"]] = {"accuracy": accuracy(j), "train_counts": _counts("training", 100, sttr),
                             "infer_counts": _counts("inference", 50, st), "train_wall_s": 1.0,
                             "infer_wall_s": 0.5, "train_presentations": 100, "infer_presentations": 50,
                             "train_samples": 100, "test_samples": 50, "spikes_per_test_sample": 10.0,
                             "kernels": 20, "build_s": 0.0, "wall_s": 1.0}
    return {"schema": "brian-snn-timestep/1", "config": asdict(cfg), "target": ts.JETSON,
            "jobs": [{k: v for k, v in j.items() if k != "config"} for j in jobs], "results": results}


def _acc(j):
    return {350: 0.80, 200: 0.795, 100: 0.79, 50: 0.70}[j["infer_window_ms"]] + (0.005 if j["variant"] == "enhanced" else 0)


def test_table_prices_exact_counts_and_picks_a_window(tmp_path):
    import hwmodel
    from hwmodel.counts import Counts
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 200, 100, 50), rules={"intensity": 0.5})
    res = ts.tabulate(fake_results(cfg, _acc))
    rows = res["rows"]
    assert len(rows) == 1 + 3 * 4
    # without a knob that acts in inference, inference-only-enhanced would repeat inference-only
    plain = ts.plan_jobs(ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 100), rules={"eta": 1}))
    assert sorted(j["variant"] for j in plain) == ["baseline", "baseline", "enhanced", "inference-only"]
    assert len({j["config"]["code"] for j in plain}) == 1 and len(plain[0]["config"]["code"]) == 12
    r100 = next(r for r in rows if r["variant"] == "enhanced" and r["infer_window_ms"] == 100)
    # the stored results predate kernels in the counts: their "kernels" (20) is put into the record
    inf = dict(_counts("inference", 50, ts.steps_per_presentation(100, 0.5)), kernels_per_step=20)
    exp = hwmodel.estimate(Counts.from_dict(inf), "jetson-nano")
    assert r100["target"] == "jetson-nano" and r100["kernels_per_step"] == 20
    assert r100["latency_s"] == pytest.approx(exp.per_sample["latency_s"])
    assert r100["steps_per_test_sample"] == 200 + 86
    ref = rows[0]
    # launch-bound target: latency ratio ~ ratio of steps (1000 / 286) up to the tiny roofline term
    assert r100["ratios"]["latency"] == pytest.approx(1000 / 286, rel=0.02)
    sel = res["selection"]["configs"][0]["selected"]
    assert (sel["variant"], sel["infer_window_ms"]) == ("enhanced", 100)   # 50 ms loses 10 pp
    assert ref["ratios"]["latency"] == 1.0
    # inference-only rows keep the full window's training cost
    io = next(r for r in rows if r["variant"] == "inference-only" and r["infer_window_ms"] == 100)
    assert io["energy_train_j"] == pytest.approx(ref["energy_train_j"])
    text = ts.format_table(rows, res["selection"])
    assert "TopSpark" in text and "3.9×" in text and "◀" in text
    ts.save(res, tmp_path)
    assert (tmp_path / "timestep.png").stat().st_size > 1000
    again = ts.load(tmp_path)
    assert again["selection"]["configs"][0]["selected"] == sel


def test_plot_x_axis_is_the_tables_window_column(tmp_path):
    """The plot's x values are the table's 'infer ms' column (not window/dt), every axis says what
    it shows and in which unit, and the reductions at the shortest window are written out."""
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 200, 100, 50), rules={"intensity": 0.5})
    res = ts.tabulate(fake_results(cfg, _acc))
    fig = ts.timestep_figure(res)
    acc_ax, cost_ax = fig.axes[:2]
    table = ts.format_table(res["rows"], res["selection"])
    infer_ms = {float(l.split("|")[5]) for l in table.splitlines() if l.startswith("| spikedyn |")}
    for ax in (acc_ax, cost_ax):
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert {float(t) for t in ticks} == infer_ms == {350, 200, 100, 50}
        assert "700" not in ticks and "100" in ticks                   # not window / dt
        assert "window per test sample, ms" in ax.get_xlabel() and "infer ms" in ax.get_xlabel()
        xs = {x for line in ax.get_lines() if not line.get_label().startswith("tolerance")
              for x in line.get_xdata()}                                # (the tolerance line spans the axes)
        assert xs == infer_ms
    assert acc_ax.get_title() == "spikedyn, N = 100: test accuracy" and acc_ax.get_ylabel() == "test accuracy (%)"
    assert cost_ax.get_ylabel() == "× lower than at the full window (350 ms)"
    assert cost_ax.get_title() == "spikedyn, N = 100: cost per sample (jetson-nano)"
    legend = [t.get_text() for t in cost_ax.get_legend().get_texts()]
    e50 = next(r for r in res["rows"] if r["variant"] == "enhanced" and r["infer_window_ms"] == 50)
    assert f"enhanced: latency, {e50['ratios']['latency']:.1f}× at 50 ms" in legend
    assert f"enhanced: training energy, {e50['ratios']['energy_train']:.1f}× at 50 ms" in legend
    sel = next(r for r in res["rows"] if r["selected"])
    assert f"selected: {sel['variant']}, {sel['infer_window_ms']:g} ms, {100 * sel['accuracy']:.1f} %" in [
        t.get_text() for t in acc_ax.texts]
    assert "tolerance: full window − 2 pp" in [t.get_text() for t in acc_ax.get_legend().get_texts()]
    assert "dt 0.5 ms" in fig._suptitle.get_text()
    # nothing feasible: the panel says so
    none = ts.tabulate(fake_results(cfg, _acc), max_latency_s=1e-9)
    fig = ts.timestep_figure(none)
    assert "nothing feasible" in fig.axes[0].get_title()
    assert ts.plot_timestep(none, tmp_path / "t.png") == tmp_path / "t.png"
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
def _parser():
    from brian_snn.cli import _Parser
    from brian_snn.commands.timestep import register
    p = _Parser(prog="brian-snn")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    register(sub)
    return p


def test_cli_registers_timestep_with_defaults():
    args = _parser().parse_args(["timestep"])
    assert args.command == "timestep" and callable(args.func)
    assert args.model == ["spikedyn", "diehl-cook"] and args.neurons == [100]
    assert args.windows == [350, 200, 100, 50, 25] and args.tolerance == 2.0
    assert args.enhance == ts.check_rules(ts.DEFAULT_RULES) and args.weights == ts.DEFAULT_WEIGHTS
    args = _parser().parse_args(["timestep", "--enhance", "intensity=1,threshold=-0.5", "--weights", "latency=3"])
    assert args.enhance["spikedyn"] == args.enhance["diehl-cook"] == {"intensity": 1.0, "threshold": -0.5}
    assert args.weights["latency"] == 3.0
    assert _parser().parse_args(["timestep", "--enhance", "none"]).enhance == {m: {} for m in ts.MODELS}
    per = _parser().parse_args(["timestep", "--enhance", "spikedyn.eta=0.5,diehl-cook.theta_plus=1"]).enhance
    assert per == {"spikedyn": {"eta": 0.5}, "diehl-cook": {"theta_plus": 1.0}}
    files = "from:" + "+".join(str(BENCH / f) for f in ts.SENSITIVITY_FILES)
    assert _parser().parse_args(["timestep", "--enhance", files]).enhance == ts.check_rules(ts.DEFAULT_RULES)


@pytest.mark.parametrize("argv", [
    ["--windows", "350,-50"], ["--windows", "350,nan"], ["--windows", "abc"], ["--model", "lstm"],
    ["--weights", "latency=-1"], ["--weights", "speed=1"], ["--tolerance", "-2"], ["--enhance", "voltage=1"],
    ["--neurons", "0"], ["--dt", "0"], ["--refine", "voltage=1/2"], ["--refine", "threshold=a"],
    ["--enhance", "spikedyn.eta=1,theta_plus=1"], ["--enhance", "from:/nonexistent.json"],
    ["--enhance", "lstm.eta=1"],
])
def test_cli_bad_arguments_one_line_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        _parser().parse_args(["timestep", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "error:" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv, msg", [
    (["--windows", "350,33.3"], "not a multiple of dt"),
    (["--windows", "350,20", "--dt", "1.5"], "not a multiple of dt"),
    (["--windows", "350,350"], "repeat"),
    (["--from", "/nonexistent/timestep.json"], "no such file"),
])
def test_cli_semantic_errors_one_line_exit_2(argv, msg, capsys):
    p = _parser()
    args = p.parse_args(["timestep", *argv])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brian-snn: error:") and msg in err and len(err.splitlines()) == 1


def test_cli_from_reselects_without_simulation(tmp_path, capsys):
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 200, 100, 50))
    ts.save(ts.tabulate(fake_results(cfg, _acc)), tmp_path / "run", plot=False)
    p = _parser()
    args = p.parse_args(["timestep", "--from", str(tmp_path / "run"), "--tolerance", "20", "--json",
                         "--plot", str(tmp_path / "p.png")])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["selection"]["configs"][0]["selected"]["infer_window_ms"] == 50   # 10 pp allowed now
    assert (tmp_path / "p.png").exists()
    args = p.parse_args(["timestep", "--from", str(tmp_path / "run"), "--target", "toaster"])
    assert args.func(args) == 2                        # an unknown target cannot price: one-line error
    assert capsys.readouterr().err.startswith("brian-snn: error:")


# ------------------------------------------------------------------------------------------
# sensitivity: plan and ranking (synthetic results)
# ------------------------------------------------------------------------------------------
def test_sensitivity_plan_and_ranking():
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 50), seeds=(0, 1))
    jobs = ts.plan_sensitivity(cfg, 50, knobs=["intensity", "theta_plus"], alphas=(-0.5, 0.5))
    assert len(jobs) == 2 * (2 + 2 * 2)
    ji = next(j for j in jobs if j["knob"] == "intensity" and j["alpha"] == 0.5)
    assert ji["train_settings"]["intensity0"] == pytest.approx(2 * 7 ** 0.5)
    jt = next(j for j in jobs if j["knob"] == "theta_plus" and j["alpha"] == -0.5)
    assert jt["train_settings"]["params"]["theta_plus_mV"] == pytest.approx(0.05 / 7 ** 0.5)
    acc = {("full-window", 0.0): 0.80, ("none", 0.0): 0.60, ("intensity", -0.5): 0.55, ("intensity", 0.5): 0.62,
           ("theta_plus", -0.5): 0.50, ("theta_plus", 0.5): 0.75}
    results = {j["key"]: {"accuracy": acc[(j["knob"], j["alpha"])] + (0.01 if j["seed"] else -0.01),
                          "train_presentations": 200 if j["knob"] == "none" else 100, "train_samples": 100,
                          "infer_presentations": 50, "test_samples": 50} for j in jobs}
    rows = ts.summarise_sensitivity(jobs, results)
    assert [r["knob"] for r in rows] == ["theta_plus", "intensity"]
    assert rows[0]["best_alpha"] == 0.5 and rows[0]["gain_pp"] == pytest.approx(15.0)
    assert rows[1]["best_alpha"] == 0.5 and rows[1]["gain_pp"] == pytest.approx(2.0)
    assert rows[0]["unenhanced_presentations"] == [2.0, 1.0]
    assert "theta_plus" in ts.format_sensitivity(rows, 50, 350)
    more = ts.plan_sensitivity(cfg, 50, knobs=["intensity"], alphas=(0.5,), extra_alphas={"threshold": [-0.1, 0.1]})
    assert sorted((j["knob"], j["alpha"]) for j in more if j["seed"] == 0) == [
        ("full-window", 0.0), ("intensity", 0.5), ("none", 0.0), ("threshold", -0.1), ("threshold", 0.1)]
    with pytest.raises(ValueError, match="shorter"):
        ts.plan_sensitivity(cfg, 350)
    with pytest.raises(ValueError, match="unknown knob"):
        ts.plan_sensitivity(cfg, 50, knobs=["voltage"])


def test_rules_from_sensitivity_skip_knobs_that_buy_accuracy_with_repeats():
    def row(knob, acc, slots, model="spikedyn"):
        return {"model": model, "knob": knob, "unenhanced": 0.50, "unenhanced_presentations": [4.0, 3.0],
                "accuracy_by_alpha": acc, "presentations_by_alpha": slots}
    rows = [row("min_spikes", {0.5: 0.70}, {0.5: [6.0, 5.0]}),          # +20 pp but 50 % more repeats
            row("theta_plus", {0.25: 0.58, 0.5: 0.60}, {0.25: [4.0, 3.0], 0.5: [4.5, 3.0]}),
            row("reset", {0.5: 0.65}, {0.5: [4.0, 3.0]}),               # compiled
            row("eta", {"1.0": 0.505}, {"1.0": [3.0, 3.0]}),           # < 1 pp gain (keys as read from JSON)
            row("eta", {1.0: 0.40}, {1.0: [3.0, 3.0]}, model="diehl-cook")]
    assert ts.rules_from_sensitivity(rows) == {"spikedyn": {"theta_plus": 0.5}, "diehl-cook": {}}
    assert ts.rules_from_sensitivity(rows, max_presentation_increase=0.1) == {"spikedyn": {"theta_plus": 0.25},
                                                                             "diehl-cook": {}}
    assert ts.rules_from_sensitivity(rows, allow_compiled=True)["spikedyn"] == {"reset": 0.5}
    assert ts.rules_from_sensitivity(rows, max_presentation_increase=1.0)["spikedyn"] == {"min_spikes": 0.5}


def test_default_rules_are_what_the_measured_sensitivity_gives():
    from brian_snn.commands.timestep import rules_from_files
    analyses = [ts.load_sensitivity(BENCH / f) for f in ts.SENSITIVITY_FILES]
    assert rules_from_files([BENCH / f for f in ts.SENSITIVITY_FILES]) == ts.check_rules(ts.DEFAULT_RULES)
    # each analysis ran on the rules of the one before it (a training round's rules include its base)
    for before, after in zip(analyses, analyses[1:]):
        assert ts.check_rules(after["rules"]) == ts.check_rules(ts.derived_rules(before))


def test_rules_normalisation():
    assert ts.check_rules({"eta": 1}) == {m: {"eta": 1.0} for m in ts.MODELS}
    assert ts.check_rules({"spikedyn": {"eta": 1}}) == {"spikedyn": {"eta": 1.0}, "diehl-cook": {}}
    with pytest.raises(ValueError, match="mix"):
        ts.check_rules({"spikedyn": {"eta": 1}, "eta": 1})
    # per-model rules act on their model only
    r = {"spikedyn": {"theta_plus": 1}, "diehl-cook": {}}
    assert ts.enhance("spikedyn", 175, 350, 0.5, r).params["theta_plus_mV"] == pytest.approx(0.1)
    assert ts.enhance("diehl-cook", 175, 350, 0.5, r).params == {}


# ------------------------------------------------------------------------------------------
# phases of a rule, inference sensitivity, job grouping
# ------------------------------------------------------------------------------------------
def test_phase_prefixes_split_training_and_inference():
    rules = {"theta_plus": 0.5, "threshold": 0.1, "train:eta": 1, "infer:intensity": 1}
    train, infer, infer_only = ts.phase_knobs(ts.check_rules(rules)["spikedyn"])
    assert train == {"theta_plus": 0.5, "threshold": 0.1, "eta": 1.0}
    assert infer == {"intensity": 1.0}                     # threshold shift is already in the learned theta
    assert infer_only == {"threshold": 0.1, "intensity": 1.0}
    t = ts.enhance("spikedyn", 50, 350, 0.5, rules, phase="train")
    i = ts.enhance("spikedyn", 50, 350, 0.5, rules, phase="infer")
    o = ts.enhance("spikedyn", 50, 350, 0.5, rules, phase="infer-only")
    assert t.intensity0 == 2.0 and t.params["nu_post"] == pytest.approx(0.014)
    assert i.intensity0 == pytest.approx(14.0) and i.theta_shift_mV == 0 and i.params == {}
    assert o.theta_shift_mV == pytest.approx(13 * (7 ** 0.1 - 1)) and o.intensity0 == pytest.approx(14.0)
    with pytest.raises(ValueError, match="learning off"):
        ts.check_rules({"infer:eta": 1})
    with pytest.raises(ValueError, match="phase"):
        ts.check_rules({"test:eta": 1})
    with pytest.raises(ValueError, match="phase"):
        ts.enhance("spikedyn", 50, 350, 0.5, rules, phase="both")


def test_inference_sensitivity_plan_and_rules():
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 50), rules={"theta_plus": 0.5})
    jobs = ts.plan_inference_sensitivity(cfg, 50, knobs=["intensity"], alphas=(0.5, 1.0))
    ref = next(j for j in jobs if j["knob"] == "none")
    assert ref["train_settings"]["params"]["theta_plus_mV"] == pytest.approx(0.05 * 7 ** 0.5)
    probes = [j for j in jobs if j["knob"] == "intensity"]
    assert all(j["after"] == ref["key"] for j in probes)
    assert sorted(j["infer_settings"]["intensity0"] for j in probes) == pytest.approx([2 * 7 ** 0.5, 14.0])
    groups = groups_in_order(ts.with_groups(jobs))
    # one binary for both windows (run-time window length); dependency order inside it
    assert [[j["knob"] for j in g] for g in groups] == [["full-window", "none", "intensity", "intensity"]]

    def row(model, acc, slots):
        return {"model": model, "knob": "intensity", "unenhanced": 0.60, "unenhanced_presentations": [4.0, 4.0],
                "accuracy_by_alpha": acc, "presentations_by_alpha": slots}
    rows = [row("spikedyn", {0.5: 0.61, 1.0: 0.595}, {0.5: [4.0, 2.5], 1.0: [4.0, 1.0]}),
            row("diehl-cook", {0.5: 0.50, 1.0: 0.45}, {0.5: [4.0, 1.5], 1.0: [4.0, 1.0]})]
    assert ts.inference_rules_from_sensitivity(rows) == {"spikedyn": {"infer:intensity": 1.0}, "diehl-cook": {}}
    assert ts.inference_rules_from_sensitivity(rows, max_loss_pp=0.1) == {"spikedyn": {"infer:intensity": 0.5},
                                                                          "diehl-cook": {}}


def test_the_sweep_runs_on_the_job_runner_with_states_passed_and_cached(tmp_path, monkeypatch):
    seen = []

    def fake_evaluate(job):
        seen.append((job["variant"], job["infer_window_ms"],
                     None if "input" not in job else float(job["input"]["state"]["w"].sum())))
        return {"accuracy": 0.5, "wall_s": 0.0, "state": {"w": np.full(3, 2.0)}}

    monkeypatch.setattr(ts.sweep, "evaluate", fake_evaluate)       # what run_jobs hands to the runner
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 50), variants=("baseline", "inference-only"))
    jobs = ts.plan_jobs(cfg)
    first = ts.run_jobs(jobs, tmp_path, serial=True, log=lambda *a: None)
    # the inference-only job ran on the full-window job's trained state
    assert seen == [("baseline", 350, None), ("baseline", 50, None), ("inference-only", 50, 6.0)]
    assert all("state" not in r for r in first.values())
    assert sorted(p.name for p in (tmp_path / "jobs").iterdir()) == sorted(
        f"{j['key']}.{ext}" for j in jobs for ext in ("json", "npz"))
    seen.clear()
    again = ts.run_jobs(jobs, tmp_path, serial=True, log=lambda *a: None)     # restarted: nothing re-runs
    assert seen == [] and again.keys() == first.keys()


def test_next_greedy_round_probes_on_top_of_the_rules():
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 50), rules={"spikedyn": {"theta_plus": 0.5}})
    jobs = ts.plan_sensitivity(cfg, 50, knobs=["theta_plus", "intensity", "threshold"], alphas=(0.5,), on_top=True)
    by = {j["knob"]: j for j in jobs}
    r = 350 / 50
    assert by["full-window"]["train_settings"]["factors"] == {}
    assert by["none"]["train_settings"]["factors"] == pytest.approx({"theta_plus": r ** 0.5})
    assert by["theta_plus"]["train_settings"]["factors"] == pytest.approx({"theta_plus": r ** 1.0})   # exponents add
    assert by["intensity"]["train_settings"]["factors"] == pytest.approx({"theta_plus": r ** 0.5, "intensity": r ** 0.5})
    assert by["intensity"]["infer_settings"]["intensity0"] == pytest.approx(2 * r ** 0.5)     # acts in inference too
    assert by["threshold"]["infer_settings"]["theta_shift_mV"] == 0                          # already in the learned theta
    # round 1 (not on top) starts from nothing
    plain = {j["knob"]: j for j in ts.plan_sensitivity(cfg, 50, knobs=["intensity"], alphas=(0.5,))}
    assert plain["none"]["train_settings"]["factors"] == {}
    assert plain["intensity"]["train_settings"]["factors"] == pytest.approx({"intensity": r ** 0.5})


def test_rules_derived_from_a_round_on_top_add_to_its_base():
    def row(model, knob, acc):
        return {"model": model, "knob": knob, "unenhanced": 0.60, "unenhanced_presentations": [4.0, 4.0],
                "accuracy_by_alpha": {0.25: acc}, "presentations_by_alpha": {0.25: [4.0, 4.0]}}
    res = {"phase": "train", "rules": {"spikedyn": {"theta_plus": 0.5}, "diehl-cook": {"theta_plus": 0.25}},
           "rows": [row("spikedyn", "eta", 0.65), row("diehl-cook", "theta_plus", 0.66), row("diehl-cook", "eta", 0.605)]}
    assert ts.derived_rules(res) == {"spikedyn": {"theta_plus": 0.5, "eta": 0.25}, "diehl-cook": {"theta_plus": 0.5}}
    assert ts.derived_rules(dict(res, rules=None)) == {"spikedyn": {"eta": 0.25}, "diehl-cook": {"theta_plus": 0.25}}


def test_sensitivity_plot_of_a_stored_file(tmp_path):
    """Stored sensitivity results (exponents as JSON string keys) plot, with labelled axes."""
    res = ts.load_sensitivity(BENCH / "timestep_sensitivity.json")
    fig = ts.sensitivity_figure(res)
    ax = fig.axes[0]
    r0 = next(r for r in res["rows"] if (r["model"], r["n_exc"]) == (res["rows"][0]["model"], res["rows"][0]["n_exc"]))
    assert ax.get_title() == f"{r0['model']}, N = {r0['n_exc']}: knob × (350 ms / T)^α at T = {res['window_ms']:g} ms"
    assert ax.get_ylabel() == "test accuracy (%)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"unenhanced at {res['window_ms']:g} ms: {100 * r0['unenhanced']:.1f} %" in legend
    assert "α = 0.5" in legend
    assert ts.plot_sensitivity(res, tmp_path / "s.png").stat().st_size > 1000


def test_plot_title_fits_the_figure_above_the_panels():
    """One column of panels is narrower than the title: it is wrapped inside the figure's edges and
    sits above every panel title (it was cut at both edges)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    cfg = ts.TimestepConfig(models=("spikedyn",), windows_ms=(350, 200, 100, 50), rules={"intensity": 0.5})
    fig = ts.timestep_figure(ts.tabulate(fake_results(cfg, _acc)))
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    title = fig._suptitle
    box = title.get_window_extent(renderer)
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    assert "TopSpark sweep" in title.get_text() and "\n" in title.get_text()
    assert "rest of window" in title.get_text().replace("\n", " ")
    for ax in fig.axes:
        assert ax.title.get_window_extent(renderer).y1 <= box.y0            # no overlap with panel titles
