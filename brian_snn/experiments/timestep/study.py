"""TopSpark's window reduction under the results protocol (issue 16).

Two stages on the job runner (one job = one run, cached as it lands, resumable):

1. **Selection, on validation only.**  Every window gets the same tuning budget: ``len(strengths)``
   candidates.  A shortened window's candidates scale the enhancement rules' exponents by each
   strength (0: no enhancement, 1: the rules as derived); the full window, where the rules do
   nothing, instead tries the learning rate scaled by each of ``full_eta`` (the enhanced windows
   raise theirs, so the reference may too).  Each candidate trains on the protocol's train split
   (``seeds``), labels its neurons on ``label_samples`` train images and is scored on validation.
   Per window the candidate with the best mean validation accuracy is kept; the **chosen window**
   is the shortest whose kept validation accuracy is within ``tolerance_pp`` of the full window's
   (a plain comparison of the means, fixed before any run).
2. **Test, once.**  Every window's kept candidate is tested on the test split (the network each
   seed trained in stage 1, its labels unchanged), with its exact counts and measured CPU time.

The result record keeps every run's per-seed values and exact counts; ``benchmarks/report.py``
prices them on the three target families and writes the README section.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ...data import load_described
from ...jobs import cached_results, job_key, run_jobs
from ...protocol import protocol_splits, provenance
from .rules import Settings, apply_factors, check_model, check_rules, enhance
from .windows import DEFAULT_RULES, REST_RATIO, check_windows, presentation, rest_ms


@dataclass
class StudyConfig:
    data: dict = field(default_factory=lambda: {"dataset": "mnist", "data_dir": None})
    n_val: int = 1000
    split_seed: int = 0
    models: tuple = ("spikedyn", "diehl-cook")
    n_exc: int = 100
    windows_ms: tuple = (350.0, 200.0, 100.0, 50.0, 25.0)
    seeds: tuple = (0, 1, 2)
    label_samples: int = 1000
    strengths: tuple = (0.0, 0.5, 1.0)       # shortened windows: the rules' exponents x strength
    full_eta: tuple = (1.0, 1.5, 2.0)        # full window: learning-rate factors (same budget)
    tolerance_pp: float = 2.0
    rules: dict = field(default_factory=lambda: check_rules(DEFAULT_RULES))
    dt_ms: float = 0.5
    rest_ratio: float = REST_RATIO
    chunk: int = 250
    backend: str = "cpp"

    def __post_init__(self):
        self.models = tuple(check_model(m) for m in self.models)
        self.windows_ms = tuple(check_windows(self.windows_ms, self.dt_ms))
        if len(self.strengths) != len(self.full_eta):
            raise ValueError("the full window and the shortened ones need the same number of candidates")
        if len(self.seeds) < 1 or self.label_samples < 1 or self.tolerance_pp < 0:
            raise ValueError("seeds, label_samples must be >= 1 and tolerance_pp >= 0")


def source_files() -> list:
    from ..static import source_files as static_sources
    here = Path(__file__).parent
    return sorted({*static_sources(), Path(__file__), here / "rules.py", here / "windows.py", here / "models.py"})


def candidates(cfg: StudyConfig, model: str, window_ms: float) -> list:
    """``[(label, training Settings, inference Settings)]``: the window's tuning budget."""
    w0 = cfg.windows_ms[0]
    if window_ms == w0:
        return [(f"eta x{f:g}", apply_factors(model, {"eta": f}, cfg.dt_ms) if f != 1 else Settings(), Settings())
                for f in cfg.full_eta]
    out = []
    for s in cfg.strengths:
        rules = {m: {k: a * s for k, a in r.items()} for m, r in cfg.rules.items()}
        if s == 0:
            out.append(("no enhancement", Settings(), Settings()))
            continue
        out.append((f"rules x{s:g}", enhance(model, window_ms, w0, cfg.dt_ms, rules, phase="train"),
                    enhance(model, window_ms, w0, cfg.dt_ms, rules, phase="infer")))
    return out


def _images(splits):
    """Train, validation and test images in one table (in that order) plus a blank last row."""
    blank = np.zeros((1, splits.x_train.shape[1]), dtype=np.uint8)
    return np.vstack([splits.x_train, splits.x_val, splits.x_test, blank])


def topspark_run(job) -> dict:
    """Stage 1 (no ``input``): train at the window, label on train images, score on validation.
    Stage 2 (``input``: a stage-1 result): test that network once.  Exact counts and CPU times."""
    from ...backend import shared_backend
    from ...readout import assign_labels, predict
    from ...runner import learned_state, present
    from ..train_eval import initial_state
    from .models import tuned_spec
    t0 = time.perf_counter()
    splits = protocol_splits(load_described(job["data"]), job["n_val"], job["split_seed"])
    images = _images(splits)
    n_tr, n_va = len(splits.y_train), len(splits.y_val)
    bk = shared_backend(job["backend"], chunk_slots=int(job["chunk"]), max_slot_ms=float(job["max_slot_ms"]))
    seed, n_in = int(job["seed"]), images.shape[1]
    inf = Settings.from_dict(job["infer_settings"])
    spec = tuned_spec(job["model"], job["n_exc"], n_in, **inf.params)
    stop = {"stop_lead": int(job.get("stop_lead", 0)), "stop_margin": int(job.get("stop_margin", 0))}   # adaptive window
    pres = presentation(job["window_ms"], job["dt_ms"], job["rest_ratio"], inf.intensity0, inf.min_spikes, **stop)
    if "input" in job:                                 # stage 2: the stage-1 network, tested once
        prev = job["input"]
        frozen = learned_state(prev["state"])
        frozen["theta"] = frozen["theta"] + inf.theta_shift_mV * 1e-3
        run = present(spec, bk, pres, images, n_tr + n_va + np.arange(len(splits.y_test)), frozen, plastic=0,
                      phase="inference", seed=seed * 1000 + 503, progress=False)
        pred = predict(run.responses, np.asarray(prev["assignments"]))
        return {"test_accuracy": float((pred == splits.y_test).mean()), "test_counts": run.counts.to_dict(),
                "test_steps_per_sample": [int(x) for x in run.steps_per_sample],
                "test_sim_s": run.sim_wall_s, "test_samples": len(splits.y_test), "wall_s": time.perf_counter() - t0}
    ts = Settings.from_dict(job["train_settings"])
    tspec = tuned_spec(job["model"], job["n_exc"], n_in, **ts.params)
    tpres = presentation(job["window_ms"], job["dt_ms"], job["rest_ratio"], ts.intensity0, ts.min_spikes, **stop)
    st = initial_state(tspec, seed)
    st["theta"] = st["theta"] + ts.theta_shift_mV * 1e-3
    train = present(tspec, bk, tpres, images, np.random.default_rng(seed).permutation(n_tr), st, plastic=1,
                    phase="training", seed=seed * 1000, progress=False)
    state = learned_state(train.state)
    frozen = dict(state, theta=state["theta"] + inf.theta_shift_mV * 1e-3)
    label_idx = np.random.default_rng(job["split_seed"]).permutation(n_tr)[:int(job["label_samples"])]
    lab = present(spec, bk, pres, images, label_idx, frozen, plastic=0, phase="inference",
                  seed=seed * 1000 + 501, progress=False)
    assignments, _ = assign_labels(lab.responses, splits.y_train[label_idx])
    val = present(spec, bk, pres, images, n_tr + np.arange(n_va), frozen, plastic=0, phase="inference",
                  seed=seed * 1000 + 502, progress=False)
    pred = predict(val.responses, assignments)
    return {"val_accuracy": float((pred == splits.y_val).mean()), "train_counts": train.counts.to_dict(),
            "train_sim_s": train.sim_wall_s, "train_samples": n_tr, "train_presentations": train.presentations,
            "train_steps_per_sample": float(np.mean(train.steps_per_sample)), "val_counts": val.counts.to_dict(),
            "val_steps_per_sample": float(np.mean(val.steps_per_sample)),
            "assignments": assignments.tolist(), "state": state, "wall_s": time.perf_counter() - t0}


def _job(cfg, model, window, label, train_settings, infer_settings, seed, fingerprint, after=None):
    job = {"stage": "test" if after else "selection", "model": model, "n_exc": cfg.n_exc, "window_ms": window,
           "candidate": label, "train_settings": train_settings.to_dict(), "infer_settings": infer_settings.to_dict(),
           "seed": seed, "data": cfg.data, "n_val": cfg.n_val, "split_seed": cfg.split_seed,
           "label_samples": cfg.label_samples, "dt_ms": cfg.dt_ms, "rest_ratio": cfg.rest_ratio,
           "chunk": cfg.chunk, "backend": cfg.backend,
           # every window's slot fits the full window's: one binary per model serves the whole study
           "max_slot_ms": cfg.windows_ms[0] + rest_ms(cfg.windows_ms[0], cfg.dt_ms, cfg.rest_ratio)}
    if after:
        job["after"] = after
    job["key"] = job_key(job, fingerprint)
    job["group"] = [model, cfg.n_exc, cfg.backend]
    return job


def choose(cfg: StudyConfig, val: dict) -> dict:
    """Per model: the kept candidate of each window and the chosen window, from ``val[(model,
    window, label)]`` = mean validation accuracy (validation only; ties -> the earlier candidate)."""
    out = {}
    for m in cfg.models:
        kept = {}
        for w in cfg.windows_ms:
            labels = [lab for lab, _, _ in candidates(cfg, m, w)]
            best = max(labels, key=lambda lab: (val[m, w, lab], -labels.index(lab)))
            kept[w] = best
        full = val[m, cfg.windows_ms[0], kept[cfg.windows_ms[0]]]
        ok = [w for w in cfg.windows_ms if val[m, w, kept[w]] >= full - cfg.tolerance_pp / 100]
        out[m] = {"kept": kept, "chosen_window_ms": min(ok)}
    return out


def run_study(cfg: StudyConfig, workers=2, scheduler=None, log=print, out_dir=None, finished_only=False) -> dict:
    """Both stages (or, ``finished_only``, what has finished; missing runs listed)."""
    out_dir = Path(out_dir)
    prov = provenance(source_files())
    fp = prov["code_fingerprint"]

    def describe(j, r):
        score = f"val {100 * r['val_accuracy']:.1f} %" if "val_accuracy" in r else f"test {100 * r['test_accuracy']:.1f} %"
        return f"{j['stage']} {j['model']} {j['window_ms']:g} ms {j['candidate']} seed {j['seed']}: {score} ({r['wall_s']:.0f} s)"

    def run(jobs):
        if finished_only:
            return cached_results(jobs, out_dir / "jobs")
        return run_jobs(jobs, topspark_run, out_dir / "jobs", scheduler, workers, log, describe)

    sel = [_job(cfg, m, w, lab, ts, inf, s, fp) for m in cfg.models for w in cfg.windows_ms
           for lab, ts, inf in candidates(cfg, m, w) for s in cfg.seeds]
    found = run(sel)
    if len(found) < len(sel):
        raise ValueError(f"{len(sel) - len(found)} of {len(sel)} selection runs have not finished; nothing to report")
    val = {}
    for j in sel:
        val.setdefault((j["model"], j["window_ms"], j["candidate"]), []).append(found[j["key"]]["val_accuracy"])
    choice = choose(cfg, {k: float(np.mean(v)) for k, v in val.items()})
    for m, c in choice.items():
        log(f"{m}: kept per window {c['kept']}; chosen window {c['chosen_window_ms']:g} ms (validation)")
    tests = [_job(cfg, j["model"], j["window_ms"], j["candidate"], Settings.from_dict(j["train_settings"]),
                  Settings.from_dict(j["infer_settings"]), j["seed"], fp, after=j["key"])
             for j in sel if choice[j["model"]]["kept"][j["window_ms"]] == j["candidate"]]
    done = run([j for j in sel if j["key"] in found] + tests)
    runs, missing = [], []
    for t in tests:
        desc = {k: t[k] for k in ("model", "n_exc", "window_ms", "candidate", "seed", "train_settings", "infer_settings")}
        if t["key"] not in done:
            missing.append(desc)
            continue
        s, r = found[t["after"]], done[t["key"]]
        runs.append(desc | {k: v for k, v in s.items() if k not in ("state", "assignments", "wall_s", "train_counts", "val_counts")}
                    | {k: v for k, v in r.items() if k not in ("wall_s", "test_counts")}
                    | {"counts": {"training": s["train_counts"], "inference": r["test_counts"]}})
    split = protocol_splits(load_described(cfg.data), cfg.n_val, cfg.split_seed).record
    return {"schema": "brian-snn-results/1", "experiment": "topspark", "selected_on": "validation",
            "config": asdict(cfg), "split": split,
            "selection": {"val_accuracy": [{"model": m, "window_ms": w, "candidate": lab, "values": v}
                                           for (m, w, lab), v in val.items()],
                          "kept": {m: {f"{w:g}": lab for w, lab in c["kept"].items()} for m, c in choice.items()},
                          "chosen_window_ms": {m: c["chosen_window_ms"] for m, c in choice.items()},
                          "rule": f"shortest window whose kept mean validation accuracy >= the full window's "
                                  f"- {cfg.tolerance_pp:g} points (fixed before any run)"},
            "runs": runs, "missing": missing, "provenance": prov}
