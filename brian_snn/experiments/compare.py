"""Same-run comparison of the baselines and SpikeDyn in the dynamic environment (issue 4).

Every (model, N) pair runs the continual protocol of :mod:`.continual` with identical settings,
data, task order and seed; then the exact counts of each run are priced by hwmodel:

* accuracy on the most recent task and on previously learned tasks (means over tasks 2..T);
* training and inference energy per sample on the Jetson Nano (hwmodel's GPU model; it reads
  the kernels per step from the counts record), and optionally on other targets (e.g.
  ``loihi1``, priced per event);
* memory footprint (hwmodel: weights + indices + state, + traces while training);
* neuron updates, synaptic events and plasticity updates per sample.

The relative change of SpikeDyn against each baseline is put beside the paper's headline, SpikeDyn vs
ASP: N=400 -51 % training energy, -37 % inference energy, +21 % most-recent-task and +8 % old-task
accuracy (Putra & Shafique, SpikeDyn, DAC 2021, arXiv:2103.00424, abstract); N=200 -57 %, -51 %,
+23 %, +4 % (Minhas, Putra, Awwad, Hasan, Shafique, IEEE Access 2025, doi:10.1109/ACCESS.2025.3588665).
"""
from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..data import load_described
from ..jobs import job_key, run_jobs
from . import search
from .continual import ContinualConfig, model_fields, plot_matrix, read_continual, run_continual
from .energy import JETSON, estimate

PAPER = {   # SpikeDyn vs ASP (arXiv:2103.00424 abstract; N=200: Minhas et al. 2025); "+21 %" read as percentage points
    400: {"train_energy_pct": -51, "inference_energy_pct": -37, "new_pp": 21, "old_pp": 8},
    200: {"train_energy_pct": -57, "inference_energy_pct": -51, "new_pp": 23, "old_pp": 4},
}


def run_row(res, targets=(JETSON,)) -> dict:
    """One table row from a continual results dict."""
    cfg, sc = res["config"], res["scalars"]
    bits = cfg.get("weight_bits") or 32
    row = {"model": cfg["model"], "n_exc": cfg["n_exc"], "weight_bits": bits,
           "acc_new": sc["mean_new"], "acc_old": sc["mean_old"], "final_average": sc["final_average"],
           "kernels_per_step": sc["kernels_per_step"], "energy": {}, "per_sample": {}}
    for phase in ("training", "inference"):
        c = res["counts"][phase]
        n = max(c.samples, 1)
        row["per_sample"][phase] = {"samples": c.samples, "neuron_updates": c.neuron_updates / n,
                                    "synaptic_events": c.synaptic_events / n,
                                    "plasticity_updates": c.plasticity_updates / n, "spikes": c.spikes / n,
                                    "steps": c.steps / n}
        for tname in targets:
            # unquantised runs keep the counts' 32-bit weights (a target with narrower weights
            # stores them at its maximum and says so in its notes)
            e = estimate(c, tname, weight_bits=cfg.get("weight_bits") or None)
            row["energy"].setdefault(tname, {})[phase] = e
    primary = row["energy"][targets[0]]
    row["memory_bytes"] = {ph: primary[ph].get("memory_bytes") for ph in ("training", "inference")}
    row["timings"] = res["timings"]
    return row


def _pct(new, old):
    return None if new is None or old in (None, 0) else 100.0 * (new - old) / old


def relative(rows, target=JETSON, proposed="spikedyn"):
    """SpikeDyn against each baseline at each N: energy change %, accuracy change (points)."""
    out = []
    by = {(r["model"], r["n_exc"]): r for r in rows}
    for (model, n), r in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if model == proposed:
            continue
        s = by.get((proposed, n))
        if s is None:
            continue
        e = lambda row, ph: row["energy"][target][ph].get("energy_j_per_sample")
        out.append({"n_exc": n, "baseline": model,
                    "train_energy_pct": _pct(e(s, "training"), e(r, "training")),
                    "inference_energy_pct": _pct(e(s, "inference"), e(r, "inference")),
                    "new_pp": 100 * (s["acc_new"] - r["acc_new"]),
                    "old_pp": 100 * (s["acc_old"] - r["acc_old"]),
                    "memory_pct": _pct(s["memory_bytes"]["inference"], r["memory_bytes"]["inference"]),
                    "paper": PAPER.get(n) if model in ("asp", "asp-decay") else None})
    return out


def check_params(params, models):
    """Each ``--param`` must belong to at least one compared model (it is given to those that have it)."""
    for k in params:
        if not any(k in model_fields(m) for m in models):
            raise ValueError(f"parameter {k!r} belongs to none of the models {', '.join(models)}")


def run_comparison(base: ContinualConfig, models=("diehl-cook", "asp", "spikedyn"),
                   sizes=(200, 400), out_dir="continual-compare", targets=(JETSON,), resume=True,
                   progress=True, log=print, workers=1, scheduler=None):
    """Run every (model, N) with the settings of ``base`` (jobs of :mod:`brian_snn.jobs`, each
    resuming its own HDF5 inside a task); write per-run HDF5 + heat maps and the table
    (comparison.md / .json / .csv) into ``out_dir``; return the summary dict."""
    check_params(base.params, models)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs, fingerprint = [], search.code_fingerprint()
    for n in sizes:
        for model in models:
            own = model_fields(model)
            cfg = replace(base, model=model, n_exc=int(n), params={k: v for k, v in base.params.items() if k in own})
            job = {"config": asdict(cfg), "path": str(out_dir / f"{model}-N{n}.h5"), "resume": resume,
                   "progress": progress and workers == 1 and scheduler is None}
            job["key"] = job_key(job, fingerprint)
            jobs.append(job)
    # with --no-resume nothing finished is reused; otherwise a finished run is read back from its file
    run_jobs(jobs, continual_run, out_dir / "jobs" if resume else None, scheduler, workers, log,
             lambda job, r: f"{Path(job['path']).stem}: final average {100 * r['final_average']:.1f} %")
    rows = []
    for job in jobs:
        res = read_continual(job["path"])
        cfg = ContinualConfig(**job["config"])
        row = run_row(res, targets)
        fa = row["final_average"]
        plot_matrix(res["arrays"]["accuracy_matrix"], cfg.task_list(), Path(job["path"]).with_suffix(".png"),
                    title=f"{cfg.model}, N = {cfg.n_exc}: test accuracy (%) after each task"
                          + ("" if fa is None or np.isnan(fa) else f"\nfinal average {100 * fa:.1f} % (last row)"))
        rows.append(row)
    summary = {"config": {k: v for k, v in vars(base).items() if k not in ("model", "n_exc")},
               "models": list(models), "sizes": [int(s) for s in sizes], "targets": list(targets),
               "rows": rows, "relative": relative(rows, targets[0]),
               "wall_s": time.perf_counter() - t0}
    (out_dir / "comparison.json").write_text(json.dumps(summary, indent=1, default=_json))
    (out_dir / "comparison.md").write_text(format_table(summary))
    _write_csv(out_dir / "comparison.csv", rows, targets)
    return summary


def continual_run(job) -> dict:
    """One (model, N) of the comparison: the continual protocol into ``job['path']`` (a job)."""
    cfg = ContinualConfig(**job["config"])
    res = run_continual(cfg, load_described(cfg.data), out=job["path"], resume=job["resume"],
                        progress=job["progress"], log=lambda *a: None)
    return {"path": job["path"], "final_average": res["scalars"]["final_average"]}


def _json(x):
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)


def _f(x, fmt):
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)


def format_table(summary) -> str:
    """The comparison as Markdown: absolute numbers per run, then SpikeDyn's relative change."""
    tgt = summary["targets"][0]
    ev = sorted({r["energy"][tgt][ph].get("evidence") or "n/a" for r in summary["rows"] for ph in ("training", "inference")})
    lines = [f"Energy target: {tgt} (hwmodel; evidence {', '.join(ev) or 'n/a'})",
             "",
             "| model | N | acc. new task % | acc. old tasks % | train energy mJ/sample | inference energy mJ/sample "
             "| memory KiB (inf / train) | kernels/step | neuron upd./sample (train) | syn. events/sample (train / inf) "
             "| plasticity upd./sample |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        e = r["energy"][tgt]
        ps = r["per_sample"]
        mj = lambda ph: _f(None if e[ph].get("energy_j_per_sample") is None else 1e3 * e[ph]["energy_j_per_sample"], ".1f")
        mem = lambda ph: _f(None if r["memory_bytes"][ph] is None else r["memory_bytes"][ph] / 1024, ".0f")
        lines.append(f"| {r['model']} | {r['n_exc']} | {_f(100 * r['acc_new'], '.1f')} | {_f(100 * r['acc_old'], '.1f')} "
                     f"| {mj('training')} | {mj('inference')} | {mem('inference')} / {mem('training')} "
                     f"| {r['kernels_per_step']} | {ps['training']['neuron_updates']:.3g} "
                     f"| {ps['training']['synaptic_events']:.3g} / {ps['inference']['synaptic_events']:.3g} "
                     f"| {ps['training']['plasticity_updates']:.3g} |")
    for extra in summary["targets"][1:]:
        lines += ["", f"Same counts priced on {extra} (mJ/sample, training / inference):", ""]
        for r in summary["rows"]:
            e = r["energy"][extra]
            vals = [_f(None if e[ph].get("energy_j_per_sample") is None else 1e3 * e[ph]["energy_j_per_sample"], ".3g")
                    for ph in ("training", "inference")]
            lines.append(f"- {r['model']} N={r['n_exc']}: {vals[0]} / {vals[1]}")
    lines += ["", "SpikeDyn relative to each baseline (energy: % change; accuracy: percentage points); "
              "paper = SpikeDyn vs ASP as published:", "",
              "| N | baseline | train energy | inference energy | acc. new task | acc. old tasks | memory | paper (train / inf / new / old) |",
              "|---|---|---|---|---|---|---|---|"]
    for d in summary["relative"]:
        p = d["paper"]
        paper = (f"{p['train_energy_pct']:+d} % / {p['inference_energy_pct']:+d} % / {p['new_pp']:+d} / {p['old_pp']:+d}"
                 if p else "-")
        lines.append(f"| {d['n_exc']} | {d['baseline']} | {_f(d['train_energy_pct'], '+.1f')} % "
                     f"| {_f(d['inference_energy_pct'], '+.1f')} % | {_f(d['new_pp'], '+.1f')} "
                     f"| {_f(d['old_pp'], '+.1f')} | {_f(d['memory_pct'], '+.1f')} % | {paper} |")
    return "\n".join(lines) + "\n"


def _write_csv(path, rows, targets):
    fields = ["model", "n_exc", "weight_bits", "acc_new", "acc_old", "final_average", "kernels_per_step",
              "memory_inference_bytes", "memory_training_bytes"]
    for t in targets:
        fields += [f"{t}_train_j_per_sample", f"{t}_inference_j_per_sample"]
    for ph in ("training", "inference"):
        fields += [f"{ph}_{k}_per_sample" for k in ("neuron_updates", "synaptic_events", "plasticity_updates", "spikes")]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            d = {k: r.get(k) for k in fields if k in r}
            d["memory_inference_bytes"] = r["memory_bytes"]["inference"]
            d["memory_training_bytes"] = r["memory_bytes"]["training"]
            for t in targets:
                d[f"{t}_train_j_per_sample"] = r["energy"][t]["training"].get("energy_j_per_sample")
                d[f"{t}_inference_j_per_sample"] = r["energy"][t]["inference"].get("energy_j_per_sample")
            for ph in ("training", "inference"):
                for k in ("neuron_updates", "synaptic_events", "plasticity_updates", "spikes"):
                    d[f"{ph}_{k}_per_sample"] = r["per_sample"][ph][k]
            w.writerow(d)
