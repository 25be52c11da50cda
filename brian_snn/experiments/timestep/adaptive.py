"""TopSpark's adaptive window under the results protocol (issue 26): the cost-aware policy of
docs/topspark.md ("Adaptive window"), written down before any run.

1. **Selection, on validation only.**  Candidates: ``k`` x ``m`` x ``T_max`` (the full window and
   the best fixed short window), each with the enhancement rules of its ``T_max``; plus the two fixed
   references (the full window, no enhancement; the short window with its rules).  Every candidate
   trains on the protocol's train split with the adaptive presentation, labels its neurons with it
   and is scored on validation (:func:`.study.topspark_run`).  Accuracy = the mean validation accuracy
   over the seeds; cost = the mean of (training energy per training sample + inference energy per
   validation sample) on ``target``, priced from the exact counts.  Chosen: the cheapest candidate
   whose accuracy is >= the full window's - ``tolerance_pp`` (ties: more accurate, then larger k, m);
   none: the full window.
2. **Test, once**: the chosen candidate and both references, each seed's stage-1 network.

The record keeps per-seed rows (``"selected_on": "validation"``), the steps each test sample took
and the prices on the three target families.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ...jobs import cached_results, job_key, run_jobs
from ...protocol import protocol_splits, provenance
from ...data import load_described
from ..energy import JETSON
from .rules import Settings, check_model, check_rules, enhance
from .study import _job, source_files, topspark_run
from .table import price
from .windows import DEFAULT_RULES, steps_summary

FAMILIES = ("jetson-nano", "loihi1", "asic-45nm")


@dataclass
class AdaptiveConfig:
    data: dict = field(default_factory=lambda: {"dataset": "mnist", "data_dir": None})
    n_val: int = 1000
    split_seed: int = 0
    models: tuple = ("spikedyn",)
    n_exc: int = 100
    full_window_ms: float = 350.0
    # the fixed-window protocol study's chosen windows (benchmarks/topspark_adaptive.py reads them
    # from that study's record); these defaults are its 2026-12-07 choice
    short_window_ms: dict = field(default_factory=lambda: {"spikedyn": 200.0, "diehl-cook": 350.0})
    ks: tuple = (1, 2, 3, 5)
    ms: tuple = (0, 1, 2)
    t_max: str = "both"              # adaptive candidates' maximum windows: "both" (full and short) or "full"
    # adaptive candidates: the threshold enhancement follows the steps each presentation used
    # (rules.enhance(at_steps_used=True)); False: the maximum window's (the study's first runs)
    steps_used: bool = True
    seeds: tuple = (0, 1, 2)
    label_samples: int = 1000
    tolerance_pp: float = 2.0
    target: str = JETSON
    rules: dict = field(default_factory=lambda: check_rules(DEFAULT_RULES))
    dt_ms: float = 0.5
    rest_ratio: float = 150.0 / 350.0
    chunk: int = 250
    backend: str = "cpp"

    def __post_init__(self):
        self.models = tuple(check_model(m) for m in self.models)
        if min(self.ks) < 1 or min(self.ms) < 0:
            raise ValueError("k >= 1 and m >= 0")
        if self.t_max not in ("both", "full"):
            raise ValueError(f"t_max must be 'both' or 'full', got {self.t_max!r}")

    def study(self):
        """The fixed-window study's configuration these jobs share (windows: full, then short)."""
        from .study import StudyConfig
        windows = sorted({self.full_window_ms, *[self.short_window_ms[m] for m in self.models]}, reverse=True)
        return StudyConfig(data=self.data, n_val=self.n_val, split_seed=self.split_seed, models=self.models,
                           n_exc=self.n_exc, windows_ms=tuple(windows), seeds=self.seeds,
                           label_samples=self.label_samples, rules=self.rules, dt_ms=self.dt_ms,
                           rest_ratio=self.rest_ratio, chunk=self.chunk, backend=self.backend)


def candidates(cfg: AdaptiveConfig, model: str) -> list:
    """``[(label, T_max, k, m, training Settings, inference Settings)]``; k = 0: a fixed reference."""
    w0, ws = cfg.full_window_ms, cfg.short_window_ms[model]

    def settings(w, adaptive):
        if w == w0 and not adaptive:
            return Settings(), Settings()
        return (enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="train", at_steps_used=adaptive and cfg.steps_used),
                enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="infer"))

    out = [("fixed full", w0, 0, 0, *settings(w0, False))]
    if ws != w0:
        out.append(("fixed short", ws, 0, 0, *settings(ws, False)))
    for w in sorted({w0, ws} if cfg.t_max == "both" else {w0}, reverse=True):
        enh = settings(w, True)
        out += [(f"adaptive k={k} m={m} T_max={w:g}", w, k, m, *enh) for k in cfg.ks for m in cfg.ms]
    return out


def _jobs(cfg: AdaptiveConfig, fp, after=None, only=None) -> list:
    study = cfg.study()
    out = []
    for model in cfg.models:
        for label, w, k, m, ts, inf in candidates(cfg, model):
            if only is not None and (model, label) not in only:
                continue
            for s in cfg.seeds:
                j = _job(study, model, w, label, ts, inf, s, fp)
                j.update(stop_lead=k, stop_margin=m, experiment="topspark-adaptive")
                if after is not None:
                    j.update(stage="test", after=after[(model, label, s)])
                j["key"] = job_key({k_: v for k_, v in j.items() if k_ not in ("key", "group")}, fp)
                out.append(j)
    return out


def cost(result, target) -> float:
    """Training energy per training sample + inference energy per validation sample (J) on ``target``."""
    e = [price(result[c], target).get("energy_j_per_sample") for c in ("train_counts", "val_counts")]
    return float("inf") if any(x is None for x in e) else float(sum(e))


def choose(cfg: AdaptiveConfig, model: str, val: dict, costs: dict) -> dict:
    """The cost-aware choice for ``model`` from mean validation accuracy and cost per candidate label."""
    labels = [c[0] for c in candidates(cfg, model)]
    ref = val["fixed full"]
    feasible = [lab for lab in labels if lab.startswith("adaptive") and val[lab] >= ref - cfg.tolerance_pp / 100]
    if not feasible:
        return {"chosen": "fixed full", "reference_val_accuracy": ref, "feasible": []}
    spec = {c[0]: c for c in candidates(cfg, model)}
    best = min(feasible, key=lambda lab: (costs[lab], -val[lab], -spec[lab][2], -spec[lab][3]))
    return {"chosen": best, "reference_val_accuracy": ref, "feasible": feasible}


def run_adaptive(cfg: AdaptiveConfig, workers=1, scheduler=None, log=print, out_dir=None) -> dict:
    out_dir = Path(out_dir)
    prov = provenance(source_files() + [Path(__file__)])
    fp = prov["code_fingerprint"]
    t0 = time.perf_counter()

    def describe(j, r):
        score = (f"val {100 * r['val_accuracy']:.1f} %, {r['val_steps_per_sample']:.0f} steps/sample"
                 if "val_accuracy" in r else f"test {100 * r['test_accuracy']:.1f} %")
        return f"{j['stage']} {j['model']} {j['candidate']} seed {j['seed']}: {score} ({r['wall_s']:.0f} s)"

    sel = _jobs(cfg, fp)
    found = run_jobs(sel, topspark_run, out_dir / "jobs", scheduler, workers, log, describe)
    selection, only, after = {}, set(), {}
    for model in cfg.models:
        val, costs, per = {}, {}, {}
        for j in sel:
            if j["model"] == model:
                per.setdefault(j["candidate"], []).append(found[j["key"]])
                after[(model, j["candidate"], j["seed"])] = j["key"]
        for lab, rs in per.items():
            val[lab] = float(np.mean([r["val_accuracy"] for r in rs]))
            costs[lab] = float(np.mean([cost(r, cfg.target) for r in rs]))
        c = choose(cfg, model, val, costs)
        selection[model] = dict(c, candidates=[{"candidate": lab, "val_accuracy": val[lab], "cost_j": costs[lab],
                                                "val_steps_per_sample": float(np.mean([r["val_steps_per_sample"]
                                                                                       for r in per[lab]]))}
                                               for lab in per])
        only |= {(model, c["chosen"]), (model, "fixed full"), (model, "fixed short")}
        log(f"{model}: chosen on validation: {c['chosen']} (cost on {cfg.target}; {len(c['feasible'])} adaptive "
            f"candidate(s) within {cfg.tolerance_pp:g} points of the full window)")
    tests = _jobs(cfg, fp, after=after, only=only)
    done = run_jobs([j for j in sel if any(j["key"] == t["after"] for t in tests)] + tests, topspark_run,
                    out_dir / "jobs", scheduler, workers, log, describe)
    rows = []
    for t in tests:
        s, r = found[t["after"]], done[t["key"]]
        counts = {"training": s["train_counts"], "inference": r["test_counts"]}
        prices = {}
        for fam in FAMILIES:
            et, ei = price(counts["training"], fam), price(counts["inference"], fam)
            prices[fam] = {"energy_train_j_per_sample": et.get("energy_j_per_sample"),
                           "energy_inference_j_per_sample": ei.get("energy_j_per_sample"),
                           "latency_s_per_test_sample": ei.get("latency_s_per_sample")}
        steps = r["test_steps_per_sample"]
        rows.append({"selected_on": "validation", "model": t["model"], "n_exc": t["n_exc"], "seed": t["seed"],
                     "candidate": t["candidate"], "chosen": t["candidate"] == selection[t["model"]]["chosen"],
                     "t_max_ms": t["window_ms"], "stop_lead": t["stop_lead"], "stop_margin": t["stop_margin"],
                     "val_accuracy": s["val_accuracy"], "test_accuracy": r["test_accuracy"],
                     "train_steps_per_sample": s["train_steps_per_sample"],
                     "test_steps_per_sample": dict(steps_summary(steps), per_sample=steps),
                     "cpu_s": {"training": s["train_sim_s"], "inference": r["test_sim_s"]},
                     "samples": {"training": s["train_samples"], "inference": r["test_samples"]},
                     "counts": counts, "prices": prices})
    split = protocol_splits(load_described(cfg.data), cfg.n_val, cfg.split_seed).record
    return {"schema": "brian-snn-results/1", "experiment": "topspark-adaptive", "selected_on": "validation",
            "config": asdict(cfg), "split": split, "selection": selection,
            "rule": (f"the cheapest adaptive candidate (training energy per training sample + inference energy "
                     f"per validation sample on {cfg.target}) whose mean validation accuracy is >= the full "
                     f"fixed window's - {cfg.tolerance_pp:g} points; none: the full window (docs/topspark.md, "
                     f"written before any run)"),
            "adaptive": rows, "wall_s": time.perf_counter() - t0, "provenance": prov}
