"""Memory- and energy-constrained model search on Dask (issue 4, ``brian-snn search``).

Candidates: excitatory neurons x weight bit precision (x model).  For each candidate

1. **analytic screen** (client, no simulation): hwmodel prices the model's *structure* -- a
   zero-activity counts record of one presentation slot per sample -- giving the exact memory
   footprint and a lower bound of the energy per sample.  Candidates over ``max_memory`` or whose
   lower bound is already over ``max_energy`` are dropped before anything runs;
2. **evaluation** (Dask workers): a short continual run (:mod:`.continual`) with the weights
   held at the candidate's precision *in the simulation*; its exact counts are priced by hwmodel
   (energy per sample of ``energy_phase``, memory) and its accuracy is the final average
   accuracy over all tasks -- on a **validation** split of the training images (``n_val``; the
   results protocol), or on the data set's test part when ``n_val`` is None;
3. **selection**: the feasible candidates (within both budgets), their Pareto front over
   (energy min, memory min, accuracy max) and the selected model: the most accurate feasible
   candidate (ties: less energy, then less memory).  With a validation split, the selected
   candidate alone is then run once more and tested on the test part (``result["test"]``).

Evaluations are jobs of :mod:`brian_snn.jobs` (serial, a Dask LocalCluster, or a running
scheduler ``scheduler="tcp://host:8786"``), cached in ``out_dir/jobs``: a repeated search reuses
them.  Candidates that differ only in run-time parameters (the bit width is one) share one
compiled binary and run one after the other in one worker process.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

import hwmodel

from ..backend import shared_backend
from ..data import load_described
from ..protocol import protocol_splits
from ..jobs import code_fingerprint as jobs_fingerprint, job_key, run_jobs
from .continual import ContinualConfig, model_spec, run_continual, skeleton
from .energy import JETSON, estimate

OBJECTIVES = {"energy_j": "min", "memory_bytes": "min", "accuracy": "max"}
FULL_PRECISION = 32        # 32 bits = the unquantised simulation (float64), priced as 32-bit weights


@dataclass(frozen=True)
class Candidate:
    n_exc: int
    weight_bits: int = FULL_PRECISION
    model: str = "spikedyn"

    def __post_init__(self):
        if isinstance(self.n_exc, bool) or not isinstance(self.n_exc, (int, np.integer)) or self.n_exc < 1:
            raise ValueError(f"candidate: excitatory neurons must be a positive integer, got {self.n_exc!r}")
        if isinstance(self.weight_bits, bool) or not isinstance(self.weight_bits, (int, np.integer)) \
                or not 1 <= self.weight_bits <= FULL_PRECISION:
            raise ValueError(f"candidate: weight bits must be an integer in 1..32, got {self.weight_bits!r}")

    @property
    def sim_bits(self) -> int:
        """Bit width used in the simulation (0 = unquantised)."""
        return 0 if self.weight_bits >= FULL_PRECISION else int(self.weight_bits)

    @property
    def name(self) -> str:
        return f"{self.model}-N{self.n_exc}-w{self.weight_bits}"


def candidate_grid(neurons, bits, models=("spikedyn",)) -> list:
    return [Candidate(int(n), int(b), m) for m in models for n in neurons for b in bits]


def check_budget(name, value):
    """None, or a finite number >= 0 (ValueError otherwise)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def constraints(max_memory=None, max_energy=None) -> dict:
    c = {}
    if check_budget("max_memory", max_memory) is not None:
        c["memory_bytes"] = ("<=", float(max_memory))
    if check_budget("max_energy", max_energy) is not None:
        c["energy_j"] = ("<=", float(max_energy))
    return c


def select(points, max_memory=None, max_energy=None):
    """(feasible, Pareto front of the feasible points, selected point or None)."""
    cons = constraints(max_memory, max_energy)
    ok = [p for p in points if not any(_bad(p.get(k)) for k in OBJECTIVES)]
    feas = hwmodel.feasible(ok, cons)
    front = hwmodel.pareto_front(feas, OBJECTIVES)
    best = min(feas, key=lambda p: (-p["accuracy"], p["energy_j"], p["memory_bytes"])) if feas else None
    return feas, front, best


def _bad(v):
    return v is None or (isinstance(v, float) and not math.isfinite(v))


# ------------------------------------------------------------------------------------------
# step 1: analytic screen (structure only)
# ------------------------------------------------------------------------------------------
def price(counts, weight_bits, target=JETSON):
    """hwmodel's estimate of ``counts`` (kernels per step included) at ``weight_bits``."""
    return estimate(counts, target, weight_bits=None if weight_bits >= FULL_PRECISION else weight_bits)


def screen(candidates, base: ContinualConfig, energy_phase="training", max_memory=None, max_energy=None,
           target=JETSON, n_input=784):
    """Analytic memory (exact) and energy lower bound per candidate; returns (kept, dropped)."""
    from ..encoding import Presentation
    pres = Presentation(**base.presentation)
    kept, dropped, cache = [], [], {}
    for cand in candidates:
        spec = model_spec(cand.model, cand.n_exc, n_input, cand.sim_bits, **base.params)
        key = (cand.model, json.dumps(spec.structure(), sort_keys=True, default=str))
        if key not in cache:
            cache[key] = skeleton(spec, pres)
        sk = cache[key]
        e = price(sk["counts"][energy_phase], cand.weight_bits, target)
        mem_phase = price(sk["counts"]["training" if energy_phase == "training" else "inference"],
                          cand.weight_bits, target)
        info = {"candidate": cand, "memory_bytes": mem_phase.get("memory_bytes"),
                "energy_lower_bound_j": e.get("energy_j_per_sample"), "kernels_per_step": sk["kernels"]}
        reason = None
        if max_memory is not None and info["memory_bytes"] is not None and info["memory_bytes"] > max_memory:
            reason = f"memory {info['memory_bytes']:,} B > budget {max_memory:,.0f} B"
        elif max_energy is not None and info["energy_lower_bound_j"] is not None \
                and info["energy_lower_bound_j"] > max_energy:
            reason = f"energy lower bound {info['energy_lower_bound_j']:.4g} J > budget {max_energy:.4g} J"
        (dropped if reason else kept).append(dict(info, reason=reason))
    return kept, dropped


# ------------------------------------------------------------------------------------------
# step 2: evaluation (runs in a Dask worker process)
# ------------------------------------------------------------------------------------------
def candidate_config(cand: Candidate, base: ContinualConfig) -> ContinualConfig:
    return replace(base, model=cand.model, n_exc=int(cand.n_exc), weight_bits=cand.sim_bits)


def evaluate_candidate(job: dict) -> dict:
    """Run the short continual protocol for one candidate (a job of the job runner; worker side).
    Returns plain data: accuracies, counts as dicts, kernels per step, timings."""
    cand, base = Candidate(**job["candidate"]), ContinualConfig(**job["base"])
    cfg = candidate_config(cand, base)
    ds, split = load_described(base.data), job.get("split")
    if split:                   # tested on the protocol's validation or test part
        ds = protocol_splits(ds, split["n_val"], split["seed"]).dataset((split["evaluate"],))
    name = cand.name + ("-test" if split and split["evaluate"] == "test" else "")
    out = None if job.get("out_dir") is None else Path(job["out_dir"]) / f"{name}.h5"
    t0 = time.perf_counter()
    res = run_continual(cfg, ds, out=out, resume=True, progress=False, log=lambda *a: None,
                        backend=shared_backend(cfg.backend, chunk_slots=int(cfg.chunk_slots)))
    sc = res["scalars"]
    return {"candidate": asdict(cand), "accuracy": sc["final_average"], "mean_new": sc["mean_new"],
            "mean_old": sc["mean_old"], "kernels_per_step": sc["kernels_per_step"],
            "counts": {ph: c.to_dict() for ph, c in res["counts"].items()},
            "accuracy_matrix": np.asarray(res["arrays"]["accuracy_matrix"]).tolist(),
            "timings": dict(res["timings"], wall_s=time.perf_counter() - t0), "pid": os.getpid()}


def structure_key(cand: Candidate, base: ContinualConfig, n_input=784) -> tuple:
    spec = model_spec(cand.model, cand.n_exc, n_input, cand.sim_bits, **base.params)
    return (cand.model, json.dumps(spec.structure(), sort_keys=True, default=str))


def point_from(ev: dict, energy_phase="training", target=JETSON) -> dict:
    """A search point: accuracy, energy per sample (``energy_phase``) and memory, priced by hwmodel."""
    from hwmodel.counts import Counts
    cand = Candidate(**ev["candidate"])
    est = {ph: price(Counts.from_dict(c), cand.weight_bits, target)
           for ph, c in ev["counts"].items()}
    e = est[energy_phase]
    return {"name": cand.name, "model": cand.model, "n_exc": cand.n_exc, "weight_bits": cand.weight_bits,
            "accuracy": ev["accuracy"], "mean_new": ev["mean_new"], "mean_old": ev["mean_old"],
            "energy_j": e.get("energy_j_per_sample"), "memory_bytes": e.get("memory_bytes"),
            "energy_train_j": est["training"].get("energy_j_per_sample"),
            "energy_inference_j": est["inference"].get("energy_j_per_sample"),
            "memory_inference_bytes": est["inference"].get("memory_bytes"),
            "memory_training_bytes": est["training"].get("memory_bytes"),
            "kernels_per_step": ev["kernels_per_step"], "evidence": e.get("evidence"),
            "eval_wall_s": ev["timings"]["wall_s"], "worker_pid": ev["pid"],
            "build_s": ev["timings"].get("build_s")}


# ------------------------------------------------------------------------------------------
# the search
# ------------------------------------------------------------------------------------------
def _progress(p):
    return (f"{p['name']}: accuracy {100 * p['accuracy']:.1f} %, energy {1e3 * p['energy_j']:.1f} mJ/sample, "
            f"memory {p['memory_bytes'] / 1024:.0f} KiB ({p['eval_wall_s']:.0f} s on worker {p['worker_pid']})")


def code_fingerprint() -> str:
    """The sources that decide what a candidate's evaluation computes (part of its job key)."""
    root = Path(__file__).resolve().parents[1]
    return jobs_fingerprint([*root.glob("models/*.py"), *root.glob("*.py"), *Path(__file__).parent.glob("*.py")])


def evaluation_job(cand: Candidate, base: ContinualConfig, fingerprint: str, out_dir=None, n_val=None,
                   split_seed=0, evaluate="val") -> dict:
    """The job (for :func:`brian_snn.jobs.run_jobs`) that evaluates ``cand`` with ``base``'s protocol:
    on the ``evaluate`` part ("val" or "test") of a protocol split when ``n_val`` is given.
    Candidates of one structure form one group (they share a binary)."""
    job = {"candidate": asdict(cand), "base": asdict(base), "group": list(structure_key(cand, base)),
           "out_dir": None if out_dir is None else str(out_dir),
           **({"split": {"n_val": int(n_val), "seed": int(split_seed), "evaluate": evaluate}} if n_val else {})}
    job["key"] = job_key(job, fingerprint)
    return job


def run_search(candidates, base: ContinualConfig, max_memory=None, max_energy=None,
               energy_phase="training", target=JETSON, scheduler=None, workers=2,
               out_dir=None, log=print, n_val=None, split_seed=0):
    """Screen, evaluate (jobs: serial with ``workers=1``, else on Dask), select; with ``n_val``,
    choose on that many validation images and test the selected candidate once.  Returns a dict
    (JSON-able) with every candidate."""
    if energy_phase not in ("training", "inference"):
        raise ValueError(f"energy phase must be training or inference, got {energy_phase!r}")
    max_memory = check_budget("max_memory", max_memory)
    max_energy = check_budget("max_energy", max_energy)
    if not candidates:
        raise ValueError("no candidates to search")
    t0 = time.perf_counter()
    kept, dropped = screen(candidates, base, energy_phase, max_memory, max_energy, target)
    for d in dropped:
        log(f"screened out {d['candidate'].name}: {d['reason']}")
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    fingerprint = code_fingerprint()
    cache = None if out_dir is None else Path(out_dir) / "jobs"

    def job_of(c, evaluate):
        return evaluation_job(c, base, fingerprint, out_dir, n_val, split_seed, evaluate)
    jobs = [job_of(k["candidate"], "val") for k in kept]
    results = run_jobs(jobs, evaluate_candidate, cache, scheduler, workers, log,
                       lambda job, ev: _progress(point_from(ev, energy_phase, target)))
    points = [point_from(results[j["key"]], energy_phase, target) for j in jobs]
    order = {c.name: i for i, c in enumerate(candidates)}
    points.sort(key=lambda p: order[p["name"]])
    feas, front, best = select(points, max_memory, max_energy)
    front_names = {p["name"] for p in front}
    feas_names = {p["name"] for p in feas}
    for p in points:
        p["feasible"] = p["name"] in feas_names
        p["pareto"] = p["name"] in front_names
    test = None
    if n_val and best:              # the test part, touched once: the selected candidate only
        chosen = next(k["candidate"] for k in kept if k["candidate"].name == best["name"])
        tj = job_of(chosen, "test")
        test = point_from(run_jobs([tj], evaluate_candidate, cache, scheduler, 1, log)[tj["key"]], energy_phase, target)
    return {"selected_on": "validation" if n_val else "test", "n_val": n_val, "split_seed": split_seed,
            "test": test, "energy_phase": energy_phase, "target": target, "max_memory_bytes": max_memory,
            "max_energy_j": max_energy, "objectives": OBJECTIVES,
            "candidates": [c.name for c in candidates],
            "screened_out": [{"name": d["candidate"].name, "reason": d["reason"],
                              "memory_bytes": d["memory_bytes"], "energy_lower_bound_j": d["energy_lower_bound_j"]}
                             for d in dropped],
            "screen": [{"name": k["candidate"].name, "memory_bytes": k["memory_bytes"],
                        "energy_lower_bound_j": k["energy_lower_bound_j"]} for k in kept],
            "points": points, "pareto": [p["name"] for p in front],
            "selected": best["name"] if best else None, "wall_s": time.perf_counter() - t0,
            "config": asdict(base)}


def format_search(result) -> str:
    ph = result["energy_phase"]
    lines = [f"| candidate | accuracy % | {ph} energy mJ/sample | memory KiB | feasible | Pareto |",
             "|---|---|---|---|---|---|"]
    for p in result["points"]:
        mark = " **selected**" if p["name"] == result["selected"] else ""
        lines.append(f"| {p['name']}{mark} | {100 * p['accuracy']:.1f} | {1e3 * p['energy_j']:.1f} "
                     f"| {p['memory_bytes'] / 1024:.0f} | {'yes' if p['feasible'] else 'no'} "
                     f"| {'yes' if p['pareto'] else ''} |")
    for d in result["screened_out"]:
        lines.append(f"| {d['name']} | - | - | {d['memory_bytes'] / 1024:.0f} | screened out: {d['reason']} | |")
    lines.append("")
    lines.append(f"selected on {result.get('selected_on', 'test')}: "
                 f"{result['selected'] or 'none (no candidate meets the budgets)'}")
    if result.get("test"):
        t = result["test"]
        lines.append(f"its test accuracy (test part touched once): {100 * t['accuracy']:.1f} %, "
                     f"{1e3 * t['energy_j']:.1f} mJ/sample")
    return "\n".join(lines) + "\n"


def plot_pareto(result, path):
    """Energy vs memory, accuracy as colour; Pareto points ringed, the selected one starred."""
    from ..plots import _plt
    plt = _plt()
    pts = result["points"]
    fig, ax = plt.subplots(figsize=(6.2, 4.4))
    if pts:
        e = np.array([1e3 * p["energy_j"] for p in pts])
        m = np.array([p["memory_bytes"] / 1024 for p in pts])
        a = np.array([100 * p["accuracy"] for p in pts])
        sc = ax.scatter(m, e, c=a, cmap="viridis", s=60, zorder=3)
        fig.colorbar(sc, ax=ax, label="final average accuracy %")
        for p, x, y in zip(pts, m, e):
            if p["pareto"]:
                ax.scatter([x], [y], s=160, facecolors="none", edgecolors="tab:red", zorder=4)
            if p["name"] == result["selected"]:
                ax.scatter([x], [y], marker="*", s=260, c="tab:red", zorder=5)
            ax.annotate(f"N{p['n_exc']}/{p['weight_bits']}b", (x, y), fontsize=7, xytext=(4, 4),
                        textcoords="offset points")
    if result.get("max_memory_bytes") is not None:
        ax.axvline(result["max_memory_bytes"] / 1024, color="grey", ls="--", lw=1, label="memory budget")
    if result.get("max_energy_j") is not None:
        ax.axhline(1e3 * result["max_energy_j"], color="grey", ls=":", lw=1, label="energy budget")
    ax.set_xlabel("memory footprint (KiB, hwmodel)")
    ax.set_ylabel(f"{result['energy_phase']} energy per sample (mJ, {result['target']})")
    ax.set_title("model search: red rings = Pareto front, star = selected", fontsize=9)
    if result.get("max_memory_bytes") is not None or result.get("max_energy_j") is not None:
        ax.legend(fontsize=7)
    from ..files import save_figure
    try:
        save_figure(fig, path, True, dpi=110, bbox_inches="tight")     # in the search's own folder
    finally:
        plt.close(fig)
    return path
