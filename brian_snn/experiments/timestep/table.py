"""Rows of the sweep: counts priced by hwmodel, seeds aggregated, the policy applied, the Markdown table."""
from __future__ import annotations


import numpy as np

from ..energy import JETSON

from .policy import BUDGETS, check_tolerance, check_weights, choose, explain, ratios
from .windows import TOPSPARK_HEADLINE, VARIANTS, steps_per_presentation


# ------------------------------------------------------------------------------------------
# table: price the counts, aggregate seeds, ratios, policy
# ------------------------------------------------------------------------------------------
def price(counts_dict, target=JETSON):
    from hwmodel.counts import Counts
    from ..energy import estimate
    return estimate(Counts.from_dict(counts_dict), target)


def _sum_counts(dicts):
    from hwmodel.counts import Counts
    total = None
    for d in dicts:
        c = Counts.from_dict(d)
        total = c if total is None else total + c
    return total.to_dict()


def _with_kernels(counts_dict, result):
    """A stored counts record with ``kernels_per_step``: results stored before counts records
    carried it have the job's count beside them (``kernels``)."""
    if "kernels_per_step" in counts_dict or result.get("kernels") is None:
        return counts_dict
    return dict(counts_dict, kernels_per_step=result["kernels"])


def build_rows(jobs, results, target=JETSON) -> list:
    """One row per (model, N, variant, windows): accuracy averaged over seeds, counts summed over
    seeds and priced per sample.  Inference-only rows carry the training cost of their state."""
    groups = {}
    for j in jobs:
        g = (j["model"], j["n_exc"], j["variant"], j["train_window_ms"], j["infer_window_ms"])
        groups.setdefault(g, []).append(j)
    rows = []
    for (model, n, variant, tw, iw), js in groups.items():
        rs = [results[j["key"]] for j in js]
        train_src = [results[j["after"]] if j.get("after") else results[j["key"]] for j in js]
        tc = _sum_counts([_with_kernels(r["train_counts"], r) for r in train_src])
        ic = _sum_counts([_with_kernels(r["infer_counts"], r) for r in rs])
        kern_i = ic.get("kernels_per_step")
        et, ei = price(tc, target), price(ic, target)
        acc = np.array([r["accuracy"] for r in rs])
        dt = js[0]["config"]["dt_ms"]
        row = {"model": model, "n_exc": n, "variant": variant, "train_window_ms": tw, "infer_window_ms": iw,
               "timesteps": int(round(iw / dt)),
               "steps_per_presentation": steps_per_presentation(iw, dt, js[0]["config"]["rest_ratio"]),
               "accuracy": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
               "seeds": [j["seed"] for j in js],
               "latency_s": ei.get("latency_s_per_sample"), "latency_train_s": et.get("latency_s_per_sample"),
               "energy_train_j": et.get("energy_j_per_sample"), "energy_inference_j": ei.get("energy_j_per_sample"),
               "target": ei.get("target"), "evidence": ei.get("evidence"),
               "price_error": ei.get("error") or et.get("error"),
               "steps_per_test_sample": ic["steps"] / max(ic["samples"], 1),
               "presentations_per_train_sample": sum(r["train_presentations"] for r in train_src)
               / max(sum(r["train_samples"] for r in train_src), 1),
               "presentations_per_test_sample": sum(r["infer_presentations"] for r in rs)
               / max(sum(r["test_samples"] for r in rs), 1),
               "spikes_per_test_sample": float(np.mean([r["spikes_per_test_sample"] for r in rs])),
               "cpu_ms_per_train_sample": 1e3 * sum(r["train_wall_s"] for r in train_src)
               / max(sum(r["train_samples"] for r in train_src), 1),
               "cpu_ms_per_test_sample": 1e3 * sum(r["infer_wall_s"] for r in rs)
               / max(sum(r["test_samples"] for r in rs), 1),
               "kernels_per_step": kern_i,
               "settings": js[0]["infer_settings"] if variant != "enhanced" else js[0]["train_settings"]}
        rows.append(row)
    order = {m: i for i, m in enumerate(dict.fromkeys(j["model"] for j in jobs))}
    rows.sort(key=lambda r: (order[r["model"]], r["n_exc"], -r["infer_window_ms"], VARIANTS.index(r["variant"])))
    return rows


def select_all(rows, tolerance_pp=2.0, weights=None, variants=None, **budgets) -> dict:
    """Reference, ratios, policy choice per (model, N) with the reasons for every exclusion
    (``explanation``, :func:`explain`); headline averaged over them."""
    configs, chosen = [], []
    for key in dict.fromkeys((r["model"], r["n_exc"]) for r in rows):
        rs = [r for r in rows if (r["model"], r["n_exc"]) == key]
        ref = next(r for r in rs if r["variant"] == "baseline" and r["train_window_ms"] == r["infer_window_ms"]
                   and r["infer_window_ms"] == max(x["infer_window_ms"] for x in rs))
        for r in rs:
            r["ratios"] = ratios(r, ref)
        cand = [r for r in rs if variants is None or r["variant"] in variants or r is ref]
        best, scored = choose(cand, ref, tolerance_pp, weights, **budgets)
        for r in rs:
            r["selected"] = False
        for r, s in zip(cand, scored):
            r.update(score=s["score"], feasible=s["feasible"], violations=s["violations"], reason=s["reason"],
                     selected=s is best)
        configs.append({"model": key[0], "n_exc": key[1], "reference_accuracy": ref["accuracy"],
                        "selected": None if best is None else {k: best[k] for k in (
                            "variant", "train_window_ms", "infer_window_ms", "accuracy")},
                        "ratios": None if best is None else best["ratios"],
                        "explanation": explain(scored)})
        if best is not None:
            chosen.append(best["ratios"])
    head = {}
    if chosen:
        for k in ("latency", "energy_train", "energy_inference", "accuracy_pp"):
            vals = [c[k] for c in chosen if c[k] is not None]
            head[k] = float(np.mean(vals)) if vals else None
    return {"configs": configs, "headline": head, "tolerance_pp": check_tolerance(tolerance_pp),
            "weights": check_weights(weights), "budgets": budgets,
            "variants": list(variants) if variants else None}


def _f(x, fmt):
    return "n/a" if x is None else format(x, fmt)


def format_budgets(budgets) -> str:
    """``latency <= 20 ms/sample, training energy <= 500 mJ/sample`` (or '')."""
    parts = []
    for key, (name, unit, f) in BUDGETS.items():
        v = (budgets or {}).get(f"max_{key}")
        if v is not None:
            parts.append(f"{name} <= {f * float(v):g} {unit}/sample")
    return ", ".join(parts)


def format_table(rows, selection, target=JETSON) -> str:
    lines = [f"energy and latency per sample: hwmodel, target {target}; ratios vs the baseline at the full window",
             "| model | N | variant | train ms | infer ms | steps/sample | accuracy % | Δ pp | latency ms | "
             "E_train mJ | E_inf mJ | latency × | E_train × | E_inf × | score | excluded by |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        q = r.get("ratios", {})
        mark = " ◀" if r.get("selected") else ("" if r.get("feasible", True) else " ✗")
        why = ("not offered to the policy" if "feasible" not in r
               else "; ".join(v["short"] for v in r.get("violations") or []))
        lines.append(
            f"| {r['model']} | {r['n_exc']} | {r['variant']}{mark} | {r['train_window_ms']:g} | {r['infer_window_ms']:g} "
            f"| {r['steps_per_test_sample']:.0f} | {100 * r['accuracy']:.1f} | {_f(q.get('accuracy_pp'), '+.1f')} "
            f"| {_f(r['latency_s'] and 1e3 * r['latency_s'], '.1f')} | {_f(r['energy_train_j'] and 1e3 * r['energy_train_j'], '.1f')} "
            f"| {_f(r['energy_inference_j'] and 1e3 * r['energy_inference_j'], '.1f')} | {_f(q.get('latency'), '.2f')} "
            f"| {_f(q.get('energy_train'), '.2f')} | {_f(q.get('energy_inference'), '.2f')} | {_f(r.get('score'), '.3f')} "
            f"| {why} |")
    lines.append("◀ selected by the policy, ✗ excluded (the last column says by which constraint); "
                 "infer ms = input window per test sample (the plot's x-axis); steps/sample = simulated "
                 "steps per test sample: (window + rest) / dt, plus boost-rule repeats")
    lines.append("")
    w = selection["weights"]
    budgets = format_budgets(selection.get("budgets"))
    lines.append(f"policy: accuracy within {selection['tolerance_pp']:g} pp of the full window"
                 + (f"; budgets: {budgets}" if budgets else "") + "; maximise "
                 f"{w['accuracy']:g}·A/A0 − {w['latency']:g}·L/L0 − {w['energy_train']:g}·Et/Et0 − "
                 f"{w['energy_inference']:g}·Ei/Ei0")
    names = {"accuracy": "accuracy", **{k: v[0] for k, v in BUDGETS.items()}}
    for c in selection["configs"]:
        s, q, ex = c["selected"], c["ratios"], c.get("explanation")
        if s is None:
            lines.append(f"  {c['model']} N={c['n_exc']}: nothing feasible"
                         + (f"; each of the {ex['candidates']} candidates breaks a constraint:" if ex else ""))
            if ex:
                lines += [f"    ✗ {e['text']}" for e in ex["excluded"]]
                if ex.get("closest"):
                    lines.append(f"    closest: {ex['closest']['text']}")
            continue
        lines.append(f"  {c['model']} N={c['n_exc']}: {s['variant']}, train {s['train_window_ms']:g} ms / infer "
                     f"{s['infer_window_ms']:g} ms -> latency {_f(q['latency'], '.2f')}×, training energy "
                     f"{_f(q['energy_train'], '.2f')}×, inference energy {_f(q['energy_inference'], '.2f')}× lower, "
                     f"accuracy {q['accuracy_pp']:+.1f} pp")
        if ex and ex["excluded"]:
            lines.append(f"    excluded {len(ex['excluded'])} of {ex['candidates']} candidates: "
                         + ", ".join(f"{names[k]} {n}" for k, n in ex["counts"].items())
                         + " (a row may break several; see the last column)")
    h = selection["headline"]
    t = TOPSPARK_HEADLINE
    if h:
        lines.append(f"ours, this run (mean over {len([c for c in selection['configs'] if c['selected']])} configurations): "
                     f"latency {_f(h['latency'], '.2f')}×, training energy {_f(h['energy_train'], '.2f')}×, "
                     f"inference energy {_f(h['energy_inference'], '.2f')}× lower, accuracy {h['accuracy_pp']:+.1f} pp")
    lines.append(f"TopSpark (abstract, mean over its sizes/rules/workloads): latency {t['latency']}×, training energy "
                 f"{t['energy_train']}×, inference energy {t['energy_inference']}× lower, accuracy within {t['accuracy_pp']:g} %")
    return "\n".join(lines) + "\n"


def format_preview(res) -> str:
    """What this run is: the banner above the table of ``brian-snn timestep``."""
    cfg = res.get("config", {})
    lines = []
    if cfg.get("stop_lead"):
        lines.append(f"adaptive window: a presentation ends once the leading neuron has {cfg['stop_lead']} spikes and "
                     f"leads the runner-up by {cfg.get('stop_margin', 0)} (the window is its maximum); steps/sample "
                     f"are the steps each sample really took")
    if cfg.get("n_val"):
        lines.append(f"SMALL-SAMPLE PREVIEW ({cfg.get('data', {}).get('dataset', '?')} data, {len(cfg.get('seeds', []))} "
                     f"seed(s), N = {', '.join(map(str, cfg.get('neurons', [])))}): accuracies below are on "
                     f"{cfg['n_val']} validation images cut from the training images, where the policy chooses; "
                     "the test images are read once, after the choice (last lines).  It does not reproduce the "
                     "README's TopSpark table, which is measured under the protocol at scale (benchmarks/topspark.py: "
                     "5,000 training images, 3 seeds, intervals).")
    else:
        lines.append("NOT UNDER THE PROTOCOL (--val 0): the policy below chooses on the test images themselves.")
    return "\n".join(lines) + "\n"


def format_test(res) -> str:
    """The test split, read once for the selected rows and the full window."""
    if not res.get("test"):
        return ""
    lines = ["test split, read once after the choice (mean over seeds):"]
    for t in res["test"]:
        s = t["selected"]
        lines.append(f"  {t['model']} N={t['n_exc']}: selected {s['variant']} (train {s['train_window_ms']:g} ms / infer "
                     f"{s['infer_window_ms']:g} ms) {_f(t['test_accuracy'] and 100 * t['test_accuracy'], '.1f')} % vs "
                     f"full window {_f(t['full_window_test_accuracy'] and 100 * t['full_window_test_accuracy'], '.1f')} %; "
                     f"{_f(t['steps_per_test_sample'], '.0f')} steps per test sample")
    lines.append("(a preview: a few hundred images and seeds; differences of a few points are within noise)")
    return "\n".join(lines) + "\n"
