"""Continual learning (class stream 0 -> 9) under the results protocol, and SpikeDyn's mechanisms
ablated one at a time (issue 15).

Three stages on the job runner (one job = one run, cached as it lands, resumable):

1. **Selection, on validation only.**  The continual protocol of :mod:`.continual` is run with the
   protocol's validation split as its test pool; ASP's fast leak time constant (models/asp.py), SpikeDyn's
   ``x_tar`` and its adaptive rate's forgetting ``lr_forget`` (0: off) are each chosen from a grid
   (the others at their defaults) by the mean of new-task and old-task accuracy
   (``select_neurons``, ``select_seeds``).  Diehl & Cook keeps its published parameters.
2. **Continual comparison.**  Every (model, N, seed) learns the class stream from the train split
   and is tested, after each task, on test images of the classes learned so far (test touched once
   per run).
3. **Ablation** of SpikeDyn at ``ablation_neurons``: each mechanism removed in turn, our two
   optional mechanisms added in turn, and the four default ones removed together; each variant
   on the continual stream (new / old tasks) and on static MNIST (train 1 epoch, test once).

The result records keep every run's per-seed values and exact counts; ``benchmarks/report.py``
prices them on the three target families and writes the README sections.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..data import load_described
from ..jobs import cached_results, job_key, run_jobs
from ..models import model_class
from ..protocol import protocol_splits, provenance
from .continual import ContinualConfig, run_continual
from .static import static_run

# (name, overrides of SpikeDyn's chosen parameters, what it removes or adds); "decay" is filled in
# with our ASP-style decay's rate (``asp-decay``: chosen on validation when it is among the models, else
# its default 1e-5, the earlier validation choice), "min_response" fixed before any run (ours).
VARIANTS = (
    ("SpikeDyn", {}, "all default mechanisms"),
    ("- direct lateral inhibition", {"inhibitory_layer": 1}, "Diehl & Cook's inhibitory layer instead"),
    ("- adaptive learning rate", {"lr_adaptation": 0.0}, "fixed learning rate"),
    ("- recency of the learning rate", {"lr_forget": 0.0}, "the adaptive rate from the lifetime count (lr_forget = 0)"),
    ("- adaptive threshold", {"theta_plus_mV": 0.0}, "no threshold increment (Diehl & Cook's mechanism)"),
    ("- depression of silent inputs", {"x_tar": 0.0}, "potentiation only (x_tar is Diehl & Cook's target)"),
    ("+ spurious-update criterion", {"min_response": 3}, "a neuron learns from its 3rd and later spikes in a sample"),
    ("+ explicit weight decay", {"decay": None}, "unused columns relax towards norm / N_in"),
    ("- all four defaults", {"inhibitory_layer": 1, "lr_adaptation": 0.0, "theta_plus_mV": 0.0, "x_tar": 0.0},
     "the four default mechanisms removed together"),
)


@dataclass
class StudyConfig:
    data: dict = field(default_factory=lambda: {"dataset": "mnist", "data_dir": None})
    n_val: int = 1000
    split_seed: int = 0
    models: tuple = ("diehl-cook", "asp", "spikedyn")
    sizes: tuple = (200, 400)
    seeds: tuple = (0, 1, 2)
    samples_per_task: int = 300
    label_per_class: int = 40
    test_per_class: int = 60
    chunk: int = 250
    grids: dict = field(default_factory=lambda: {"asp": {"tau_fast_samples": (1e3, 3e3, 1e4)},
                                                 "spikedyn": {"x_tar": (0.025, 0.05, 0.1),
                                                              # recency-keyed adaptive rate (issue 26): 0 = off
                                                              "lr_forget": (0.0, 1 / 3000, 1 / 1000, 1 / 300)}})
    select_neurons: int = 200
    select_seeds: tuple = (0, 1, 2)          # the protocol's three seeds (issue 25)
    ablation_neurons: int = 200
    ablation_epochs: int = 1
    ablation: bool = True


def source_files() -> list:
    from .static import source_files as static_sources
    return sorted({*static_sources(), Path(__file__), Path(__file__).parent / "continual.py"})


def continual_job(job) -> dict:
    """One continual run: the class stream from the protocol's train split, tested after each task on
    ``job["evaluate"]`` ("val" or "test").  Accuracy matrix as its lower triangle (row t: tasks 0..t)."""
    splits = protocol_splits(load_described(job["data"]), job["n_val"], job["split_seed"])
    cfg = ContinualConfig(model=job["model"], n_exc=job["n_exc"], samples_per_task=job["samples_per_task"],
                          label_per_class=job["label_per_class"], test_per_class=job["test_per_class"],
                          seed=job["seed"], chunk_slots=job["chunk"], params=job["params"], data=job["data"])
    res = run_continual(cfg, splits.dataset((job["evaluate"],)), out=job.get("path"), progress=False,
                        log=lambda *a: None)
    A = res["arrays"]["accuracy_matrix"]
    sc = res["scalars"]
    return {"matrix": [[float(a) for a in A[t, :t + 1]] for t in range(len(A))],
            "acc_new": sc["mean_new"], "acc_old": sc["mean_old"], "final_average": sc["final_average"],
            "counts": {ph: c.to_dict() for ph, c in res["counts"].items()},
            "timings": {k: res["timings"].get(k) for k in ("train_sim_s", "eval_sim_s", "train_samples_per_s")}}


def _score(r):
    return (r["acc_new"] + r["acc_old"]) / 2


class _Planner:
    """Jobs of the study: the same description gives the same key, so a run shared by two stages
    (SpikeDyn at the ablation's size is also a comparison row) runs once."""

    def __init__(self, cfg, out_dir, fingerprint):
        self.cfg, self.out, self.fp = cfg, Path(out_dir), fingerprint

    def _finish(self, job, structure):
        job["key"] = job_key(job, self.fp)
        job["group"] = structure       # runs of one compiled binary, one after the other
        job["path"] = str(self.out / "runs" / f"{job['key']}.h5")
        return job

    @staticmethod
    def _structure(model, n, params):
        return [model, n, int(params.get("inhibitory_layer", 0)), bool(params.get("decay"))]

    def continual(self, model, n, seed, params, evaluate):
        c = self.cfg
        job = {"kind": "continual", "model": model, "n_exc": n, "seed": seed, "params": params,
               "evaluate": evaluate, "data": c.data, "n_val": c.n_val, "split_seed": c.split_seed,
               "samples_per_task": c.samples_per_task, "label_per_class": c.label_per_class,
               "test_per_class": c.test_per_class, "chunk": c.chunk}
        return self._finish(job, self._structure(model, n, params))

    def static(self, model, n, seed, params):
        c = self.cfg
        job = {"kind": "static", "stage": "final", "model": model, "n_exc": n, "epochs": c.ablation_epochs,
               "seed": seed, "params": params, "test": True, "data": c.data, "n_val": c.n_val,
               "split_seed": c.split_seed, "chunk": c.chunk}
        return self._finish(job, self._structure(model, n, params))


def study_job(job) -> dict:
    return continual_job(job) if job["kind"] == "continual" else static_run(job)


def describe(job, r) -> str:
    what = (f"new {100 * r['acc_new']:.1f} %, old {100 * r['acc_old']:.1f} %" if job["kind"] == "continual"
            else f"val {100 * r['val_accuracy']:.1f} %, test {100 * r['test_accuracy']:.1f} %")
    return f"{job['kind']} ({job.get('evaluate', 'test')}) {job['model']} N={job['n_exc']} seed {job['seed']} {job['params']}: {what}"


def plan(cfg: StudyConfig, out_dir, fingerprint, selected=None):
    """(selection jobs, final jobs by role).  ``selected``: the selection's results by key (None: the
    final jobs are not planned yet)."""
    p = _Planner(cfg, out_dir, fingerprint)
    selection = [p.continual(m, cfg.select_neurons, s, {name: v}, "val")
                 for m, grid in cfg.grids.items() for name, values in grid.items() for v in values
                 for s in cfg.select_seeds]
    if selected is None:
        return selection, None, None
    chosen = choose(cfg, selection, selected)
    params = {m: chosen.get(m, {}) for m in cfg.models}
    comparison = [p.continual(m, n, s, params[m], "test") for n in cfg.sizes for m in cfg.models for s in cfg.seeds]
    ablation = []
    if cfg.ablation:
        decay = chosen.get("asp-decay", {}).get("decay", model_class("asp-decay").decay)
        # every continual run before every static one: a group switching between the two rebuilds its code
        for kind in ("continual", "static"):
            for name, over, _ in VARIANTS:
                prm = dict(chosen.get("spikedyn", {}), **{k: (decay if v is None else v) for k, v in over.items()})
                ablation += [(name, p.continual("spikedyn", cfg.ablation_neurons, s, prm, "test") if kind == "continual"
                              else p.static("spikedyn", cfg.ablation_neurons, s, prm)) for s in cfg.seeds]
    return selection, chosen, {"comparison": comparison, "ablation": ablation}


def choose(cfg, selection, results) -> dict:
    """Per model, the grid value with the best mean validation score (ties: the earlier value)."""
    chosen = {}
    for model, grid in cfg.grids.items():
        for name, values in grid.items():
            score = {v: float(np.mean([_score(results[j["key"]]) for j in selection
                                       if j["model"] == model and j["params"] == {name: v}])) for v in values}
            best = max(values, key=lambda v: score[v])
            chosen.setdefault(model, {})[name] = best
    return chosen


def run_study(cfg: StudyConfig, out_dir, workers=2, scheduler=None, log=print, finished_only=False) -> dict:
    """All stages (or, ``finished_only``, the records of the runs finished so far); returns
    ``{"continual_mnist": record, "spikedyn_ablation": record}`` (JSON-able)."""
    out_dir = Path(out_dir)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    prov = provenance(source_files())
    if finished_only:
        run = lambda jobs: cached_results(jobs, out_dir / "jobs")  # noqa: E731
    else:
        run = lambda jobs: run_jobs(jobs, study_job, out_dir / "jobs", scheduler, workers, log, describe)  # noqa: E731
    selection, _, _ = plan(cfg, out_dir, prov["code_fingerprint"])
    found = run(selection)
    if len(found) < len(selection):
        raise ValueError(f"{len(selection) - len(found)} selection run(s) have not finished; nothing to report")
    _, chosen, final = plan(cfg, out_dir, prov["code_fingerprint"], found)
    log(f"chosen on validation: {chosen}")
    jobs = final["comparison"] + [j for _, j in final["ablation"]]
    unique = list({j["key"]: j for j in jobs}.values())
    done = run(unique)
    split = protocol_splits(load_described(cfg.data), cfg.n_val, cfg.split_seed).record

    def rows(pairs):                   # (ablation variant or None, job) -> (runs, missing)
        got, missing = [], []
        for variant, j in pairs:
            desc = {k: j[k] for k in ("kind", "model", "n_exc", "seed", "params")} | ({"variant": variant} if variant else {})
            (got.append(desc | done[j["key"]]) if j["key"] in done else missing.append(desc))
        return got, missing

    grid_scores = [{"model": j["model"], "params": j["params"], "seed": j["seed"], "acc_new": found[j["key"]]["acc_new"],
                    "acc_old": found[j["key"]]["acc_old"]} for j in selection]
    head = {"schema": "brian-snn-results/1", "selected_on": "validation", "config": asdict(cfg), "split": split,
            "selection": {"criterion": "mean of new-task and old-task accuracy on validation",
                          "neurons": cfg.select_neurons, "seeds": list(cfg.select_seeds), "runs": grid_scores,
                          "chosen": chosen},
            "provenance": prov}
    comp, comp_missing = rows((None, j) for j in final["comparison"])
    out = {"continual_mnist": head | {"experiment": "continual_mnist", "runs": comp, "missing": comp_missing}}
    if final["ablation"]:
        abl, abl_missing = rows(final["ablation"])
        out["spikedyn_ablation"] = head | {
            "experiment": "spikedyn_ablation",
            "variants": [{"name": n, "overrides": o, "what": w} for n, o, w in VARIANTS],
            "runs": abl, "missing": abl_missing}
    return out
