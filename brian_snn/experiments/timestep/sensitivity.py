"""Sensitivity analysis: which knobs matter at a short window (training and inference rounds)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ...jobs import job_key
from ...protocol import provenance
from .study import source_files

from .figures import plot_sensitivity
from .rules import (Settings, _knob_alphas, _points, apply_factors, check_rules, enhance,
                    rules_from_sensitivity, sensitivity_candidates)
from .sweep import (TimestepConfig, _cfg_dict, _git_head, _json_default, _stored_job, code_fingerprint,
                    read_results_json, run_jobs)
from .windows import COMPILED_KNOBS, INFERENCE_KNOBS, KNOBS, SENSITIVITY_ALPHAS, _number, check_window, steps_summary


# ------------------------------------------------------------------------------------------
# sensitivity analysis (which knobs matter at a short window)
# ------------------------------------------------------------------------------------------
def _probes(cfg, window_ms, knobs, alphas, extra_alphas, phase):
    """What a sensitivity analysis probes: ``{knob: [alpha, ...]}`` (``extra_alphas`` refine
    single knobs; ``phase`` "" or "infer:" for the knob check), the full and the probed window,
    and the job config."""
    for k in list(knobs) + list(extra_alphas or {}):
        _knob_alphas({f"{phase}{k}": 1.0})
    per_knob = {k: [_number("alpha", a) for a in alphas] for k in knobs}
    for k, extra in (extra_alphas or {}).items():
        per_knob.setdefault(k, [])
        per_knob[k] += [_number("alpha", a) for a in extra if _number("alpha", a) not in per_knob[k]]
    w0 = cfg.base_window_ms
    w = check_window(window_ms, cfg.dt_ms)
    if w >= w0:
        raise ValueError(f"sensitivity window {w:g} ms must be shorter than the full window {w0:g} ms")
    return per_knob, w0, w, _cfg_dict(cfg)


def plan_sensitivity(cfg: TimestepConfig, window_ms, knobs=None, alphas=SENSITIVITY_ALPHAS, extra_alphas=None,
                     on_top=False) -> list:
    """One-at-a-time: at ``window_ms``, each knob alone scaled by ``(T0/T)**alpha`` for every
    alpha (``extra_alphas``: {knob: [alpha, ...]} adds refinements for single knobs); plus the
    unenhanced short window and the full window (references).  ``on_top``: the next round of a
    greedy forward selection -- the reference ("none") and every probe start from ``cfg.rules``
    (a probed knob already in the rules gets its exponent increased by alpha)."""
    knobs = list(KNOBS) if knobs is None else list(knobs)
    per_knob, w0, w, c = _probes(cfg, window_ms, knobs, alphas, extra_alphas, "")
    jobs = []
    for model in cfg.models:
        for n in cfg.neurons:
            for seed in cfg.seeds:
                def job(win, settings, knob, alpha, infer=None):
                    j = dict(model=model, n_exc=n, seed=seed, variant="sensitivity", knob=knob, alpha=alpha,
                             train_window_ms=win, infer_window_ms=win, train_settings=settings.to_dict(),
                             infer_settings=(infer or settings).to_dict(), config=c)
                    j["key"] = job_key(j)
                    return j
                jobs.append(job(w0, Settings(), "full-window", 0.0))
                base_t, base_i = {}, {}
                if on_top:
                    rules = {model: check_rules(cfg.rules)[model]}
                    base_t = enhance(model, w, w0, cfg.dt_ms, rules, phase="train").factors
                    base_i = enhance(model, w, w0, cfg.dt_ms, rules, phase="infer").factors
                jobs.append(job(w, apply_factors(model, base_t, cfg.dt_ms), "none", 0.0,
                                apply_factors(model, base_i, cfg.dt_ms)))
                for k, als in per_knob.items():
                    for a in als:
                        f = (w0 / w) ** a
                        st = apply_factors(model, dict(base_t, **{k: base_t.get(k, 1.0) * f}), cfg.dt_ms)
                        inf = dict(base_i)
                        if k in INFERENCE_KNOBS and k != "threshold":   # its shift is in the learned theta
                            inf[k] = base_i.get(k, 1.0) * f
                        jobs.append(job(w, st, k, a, apply_factors(model, inf, cfg.dt_ms)))
    return jobs


def summarise_sensitivity(jobs, results) -> list:
    """Per (model, N, knob): accuracy per alpha (mean over seeds), presentations per training and
    per test sample (boost-rule repeats: they cost latency and energy), the best alpha and its
    gain over the unenhanced short window; sorted by gain (the ranking)."""
    acc, slots = {}, {}
    for j in jobs:
        k = (j["model"], j["n_exc"], j["knob"], j["alpha"])
        r = results[j["key"]]
        acc.setdefault(k, []).append(r["accuracy"])
        slots.setdefault(k, []).append((r["train_presentations"] / r["train_samples"] if "train_samples" in r
                                        else float("nan"), r["infer_presentations"] / r["test_samples"]))
    out = []
    for model, n in dict.fromkeys((j["model"], j["n_exc"]) for j in jobs):
        a_none = float(np.mean(acc[(model, n, "none", 0.0)]))
        a_full = float(np.mean(acc[(model, n, "full-window", 0.0)]))
        s_none = np.mean(slots[(model, n, "none", 0.0)], axis=0).tolist()
        s_full = np.mean(slots[(model, n, "full-window", 0.0)], axis=0).tolist()
        knobs = dict.fromkeys(j["knob"] for j in jobs if (j["model"], j["n_exc"]) == (model, n)
                              and j["knob"] not in ("none", "full-window"))
        rows = []
        for k in knobs:
            keys = [key for key in acc if key[:3] == (model, n, k)]
            per = {key[3]: float(np.mean(acc[key])) for key in keys}
            per_slots = {key[3]: np.mean(slots[key], axis=0).tolist() for key in keys}
            best = max(per, key=lambda a: (per[a], -abs(a)))
            rows.append({"model": model, "n_exc": n, "knob": k, "accuracy_by_alpha": per,
                         "presentations_by_alpha": per_slots, "best_alpha": best,
                         "gain_pp": 100 * (per[best] - a_none), "unenhanced": a_none, "full_window": a_full,
                         "unenhanced_presentations": s_none, "full_window_presentations": s_full,
                         "seeds": len(acc[keys[0]])})
        rows.sort(key=lambda r: -r["gain_pp"])
        for i, r in enumerate(rows):
            r["rank"] = i + 1
        out.extend(rows)
    return out


def format_sensitivity(rows, window_ms, base_window_ms, phase="train") -> str:
    if not rows:
        return "no sensitivity results\n"
    idx, what = (0, "training") if phase == "train" else (1, "test")
    alphas = sorted({a for r in rows for a in r["accuracy_by_alpha"]})
    head = ("one-at-a-time sensitivity" if phase == "train" else
            "inference sensitivity (network trained with the training rules, re-inferred)")
    lines = [f"{head} at {window_ms:g} ms (full window {base_window_ms:g} ms): knob × (T0/T)^α; "
             f"test accuracy % (presentations per {what} sample)",
             "| model | N | rank | knob | " + " | ".join(f"α={a:g}" for a in alphas) + " | best α | gain pp |",
             "|---|---|---|---|" + "---|" * len(alphas) + "---|---|"]
    for r in rows:
        cells = []
        for a in alphas:
            if a in r["accuracy_by_alpha"]:
                cells.append(f"{100 * r['accuracy_by_alpha'][a]:.1f} ({r['presentations_by_alpha'][a][idx]:.1f})")
            else:
                cells.append("")
        lines.append(f"| {r['model']} | {r['n_exc']} | {r['rank']} | {r['knob']} | {' | '.join(cells)} "
                     f"| {r['best_alpha']:g} | {r['gain_pp']:+.1f} |")
    for key in dict.fromkeys((r["model"], r["n_exc"]) for r in rows):
        r0 = next(r for r in rows if (r["model"], r["n_exc"]) == key)
        ref = "unenhanced" if phase == "train" else "trained with the rules, no inference knob"
        lines.append(f"{key[0]} N={key[1]} ({r0['seeds']} seed(s)): full window {100 * r0['full_window']:.1f} % "
                     f"({r0['full_window_presentations'][idx]:.2f} presentations per {what} sample), {ref} at "
                     f"{window_ms:g} ms {100 * r0['unenhanced']:.1f} % ({r0['unenhanced_presentations'][idx]:.2f})")
    return "\n".join(lines) + "\n"


def plan_inference_sensitivity(cfg: TimestepConfig, window_ms, knobs=None, alphas=SENSITIVITY_ALPHAS,
                               extra_alphas=None) -> list:
    """Inference knobs, one at a time, on the network trained at ``window_ms`` with the training
    part of ``cfg.rules``: knob "none" = that network inferred with the rules' own inference
    settings (the reference), every other job re-infers it with one more knob scaled by
    ``(T0/T)**alpha``.  Default knobs: the run-time inference knobs."""
    knobs = [k for k in INFERENCE_KNOBS if k not in COMPILED_KNOBS] if knobs is None else list(knobs)
    per_knob, w0, w, c = _probes(cfg, window_ms, knobs, alphas, extra_alphas, "infer:")
    jobs = []
    for model in cfg.models:
        rules = {model: check_rules(cfg.rules)[model]}
        train = enhance(model, w, w0, cfg.dt_ms, rules, phase="train")
        infer = enhance(model, w, w0, cfg.dt_ms, rules, phase="infer")
        for n in cfg.neurons:
            for seed in cfg.seeds:
                base = dict(model=model, n_exc=n, seed=seed, variant="inference-sensitivity",
                            train_window_ms=w, infer_window_ms=w, train_settings=train.to_dict(), config=c)
                full = dict(base, knob="full-window", alpha=0.0, train_window_ms=w0, infer_window_ms=w0,
                            train_settings=Settings().to_dict(), infer_settings=Settings().to_dict())
                full["key"] = job_key(full)
                ref = dict(base, knob="none", alpha=0.0, infer_settings=infer.to_dict())
                ref["key"] = job_key(ref)
                jobs += [full, ref]
                for k, als in per_knob.items():
                    for a in als:
                        f = dict(infer.factors, **{k: infer.factors.get(k, 1.0) * (w0 / w) ** a})
                        j = dict(base, knob=k, alpha=a, infer_settings=apply_factors(model, f, cfg.dt_ms).to_dict(),
                                 after=ref["key"])
                        j["key"] = job_key(j)
                        jobs.append(j)
    return jobs


def inference_rules_from_sensitivity(rows, max_loss_pp=1.0, allow_compiled=False) -> dict:
    """Inference rules from an inference-sensitivity summary: per model, the knob/exponent with
    the fewest presentations per test sample (each repeat is a whole extra window) among those
    whose accuracy stays within ``max_loss_pp`` of the reference; ties: the more accurate.  Only
    knobs that cut presentations below the reference's count.  Returns ``{model: {"infer:knob":
    alpha}}``.  Pure."""
    best = dict.fromkeys(row["model"] for row in rows)
    for m, row, a, acc, slots in sensitivity_candidates(rows, allow_compiled):
        p = slots[1]
        if _points(acc - row["unenhanced"]) < -max_loss_pp or p >= row["unenhanced_presentations"][1]:
            continue
        if best[m] is None or (p, -acc) < (best[m][3], -best[m][2]):
            best[m] = (row["knob"], a, acc, p)
    return {m: ({} if b is None else {f"infer:{b[0]}": b[1]}) for m, b in best.items()}


def run_sensitivity(cfg: TimestepConfig, window_ms, knobs=None, alphas=SENSITIVITY_ALPHAS, out_dir=None,
                    scheduler=None, workers=2, serial=False, log=print, extra_alphas=None, phase="train",
                    on_top=False) -> dict:
    """One-at-a-time sensitivity of the training knobs (``phase="train"``: train and infer at
    the short window; ``on_top``: on top of ``cfg.rules``, the next greedy round) or of the
    inference knobs (``phase="infer"``: re-infer the network trained with ``cfg.rules``)."""
    t0 = time.perf_counter()
    if phase == "train":
        jobs = plan_sensitivity(cfg, window_ms, knobs, alphas, extra_alphas, on_top)
        schema, name = "brian-snn-timestep-sensitivity/1", "sensitivity"
    elif phase == "infer":
        jobs = plan_inference_sensitivity(cfg, window_ms, knobs, alphas, extra_alphas)
        schema, name = "brian-snn-timestep-inference-sensitivity/1", "inference_sensitivity"
    else:
        raise ValueError(f"sensitivity phase must be train or infer, got {phase!r}")
    log(f"{'inference ' if phase == 'infer' else ''}sensitivity at {window_ms:g} ms: {len(jobs)} runs "
        f"(compiled knobs {', '.join(COMPILED_KNOBS)}: one build per value)")
    results = run_jobs(jobs, out_dir, scheduler, workers, serial, log)
    rows = summarise_sensitivity(jobs, results)
    res = {"schema": schema, "phase": phase,
           "rules": check_rules(cfg.rules) if phase == "infer" or on_top else None,
           "config": asdict(cfg), "window_ms": float(window_ms),
           "alphas": list(alphas), "extra_alphas": extra_alphas or {}, "rows": rows, "wall_s": time.perf_counter() - t0,
           "jobs": [_stored_job(j) for j in jobs], "code": code_fingerprint(), "git": _git_head(),
           "selected_on": "validation" if cfg.n_val else "test",
           "provenance": provenance(source_files()),
           "results": {k: _stored_result(r) for k, r in results.items()}}
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / f"{name}.json").write_text(json.dumps(res, indent=1, default=_json_default))
        plot_sensitivity(res, Path(out_dir) / f"{name}.png")
    return res


def _stored_result(r) -> dict:
    """A run's result as the record keeps it: no counts, the steps of each evaluated sample summarised."""
    out = {k: v for k, v in r.items() if k not in ("train_counts", "infer_counts")}
    steps = out.pop("steps_per_sample", None)
    if steps:
        out["steps_per_sample"] = steps_summary(steps)
    return out


def derived_rules(res) -> dict:
    """The rules an analysis result (training, training on top of rules, or inference) implies,
    as ``{model: {knob: alpha}}``: a training round on top of rules returns those rules with the
    chosen knob added (exponents of the same knob add: the factors multiply); an inference
    analysis returns its ``infer:`` knob only.  Pure."""
    if res.get("phase", "train") == "infer":
        return inference_rules_from_sensitivity(res["rows"])
    new = rules_from_sensitivity(res["rows"])
    base = check_rules(res["rules"]) if res.get("rules") else {}
    out = {}
    for m, r in new.items():
        out[m] = dict(base.get(m, {}))
        for k, a in r.items():
            out[m][k] = out[m].get(k, 0.0) + a
    return out


def load_sensitivity(path, phase="train") -> dict:
    return read_results_json(path, "sensitivity.json" if phase == "train" else "inference_sensitivity.json",
                             ("brian-snn-timestep-sensitivity/1", "brian-snn-timestep-inference-sensitivity/1"),
                             "'brian-snn timestep --sensitivity'")
