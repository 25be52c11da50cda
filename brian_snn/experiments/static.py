"""Diehl & Cook vs SpikeDyn on static MNIST under the results protocol (issue 15).

Two stages, both on the job runner (one job = one training run, cached, resumable):

1. **Selection, on validation only.**  SpikeDyn's ``x_tar`` (the target trace of its depression)
   is chosen from a grid by validation accuracy (``select_neurons``, ``select_epochs``, every
   seed of ``select_seeds``); the test split is not evaluated.  Diehl & Cook keeps its published
   parameters (no tuning: it is the baseline as published).
2. **Final runs.**  Every (model, N, epochs, seed) trains on ``train``, labels its neurons on
   ``train`` (learning off), and is evaluated once on validation and test.

Every run's exact counts are stored; the energies of the README are priced from them by
``benchmarks/report.py`` (three target families).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..data import load_described
from ..jobs import cached_results, job_key, run_jobs
from ..protocol import protocol_splits, provenance
from .train_eval import TrainConfig, train_and_evaluate


@dataclass
class StaticConfig:
    data: dict = field(default_factory=lambda: {"dataset": "mnist", "data_dir": None})
    n_val: int = 1000
    split_seed: int = 0
    models: tuple = ("diehl-cook", "spikedyn")
    neurons: tuple = (100, 400)
    epochs: tuple = (1, 3)
    seeds: tuple = (0, 1, 2)
    chunk: int = 250
    xtar_grid: tuple = (0.05, 0.1, 0.2)
    select_neurons: int = 100
    select_epochs: int = 1
    select_seeds: tuple = (0,)


def source_files() -> list:
    """The sources that decide what a run computes (its job key includes their fingerprint)."""
    root = Path(__file__).resolve().parents[1]
    return sorted([*root.glob("models/*.py"), *(root / f for f in (
        "encoding.py", "integration.py", "backend.py", "runner.py", "readout.py", "activity.py", "copies.py",
        "noise.py", "protocol.py")), root / "experiments" / "train_eval.py", Path(__file__)])


def static_run(job) -> dict:
    """Train one network on the protocol's train split; accuracy on validation (and on test when
    ``job["test"]``); exact counts of training and of the evaluation pass."""
    splits = protocol_splits(load_described(job["data"]), job["n_val"], job["split_seed"])
    ds = splits.dataset(("val", "test") if job["test"] else ("val",))
    cfg = TrainConfig(model=job["model"], n_exc=job["n_exc"], epochs=job["epochs"], seed=job["seed"],
                      chunk_slots=job["chunk"], params=job["params"], data=job["data"])
    res = train_and_evaluate(cfg, ds, out=job.get("path"), progress=False, log=lambda *a: None)
    pred, y, n_val = res["arrays"]["test_predictions"], ds.y_test, job["n_val"]
    out = {"val_accuracy": float((pred[:n_val] == y[:n_val]).mean()),
           "counts": {ph: c.to_dict() for ph, c in res["counts"].items()},
           "timings": {k: res["timings"].get(k) for k in ("train_sim_s", "train_samples_per_s", "test_samples_per_s")}}
    if job["test"]:
        out["test_accuracy"] = float((pred[n_val:] == y[n_val:]).mean())
    return out


def _job(cfg, model, n_exc, epochs, seed, params, test, out_dir, fingerprint):
    job = {"stage": "final" if test else "selection", "model": model, "n_exc": n_exc, "epochs": epochs,
           "seed": seed, "params": params, "test": test, "data": cfg.data, "n_val": cfg.n_val,
           "split_seed": cfg.split_seed, "chunk": cfg.chunk}
    job["key"] = job_key(job, fingerprint)
    job["group"] = [model, n_exc]                  # one compiled binary per model structure
    job["path"] = str(Path(out_dir) / "runs" / f"{job['key']}.h5")
    return job


def run_static(cfg: StaticConfig, out_dir, workers=2, scheduler=None, log=print, finished_only=False) -> dict:
    """Both stages (or, ``finished_only``, the record of the runs finished so far, listing the
    missing ones); returns the result record (JSON-able) with every run's per-seed values."""
    out_dir = Path(out_dir)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    prov = provenance(source_files())             # of the code that runs (taken before, not after)
    fingerprint = prov["code_fingerprint"]
    describe = lambda j, r: (f"{j['stage']} {j['model']} N={j['n_exc']} {j['epochs']} ep seed {j['seed']} "  # noqa: E731
                             f"{j['params']}: val {100 * r['val_accuracy']:.1f} %"
                             + (f", test {100 * r['test_accuracy']:.1f} %" if "test_accuracy" in r else ""))
    if finished_only:
        run = lambda jobs: cached_results(jobs, out_dir / "jobs")  # noqa: E731
    else:
        run = lambda jobs: run_jobs(jobs, static_run, out_dir / "jobs", scheduler, workers, log, describe)  # noqa: E731
    selection = [_job(cfg, "spikedyn", cfg.select_neurons, cfg.select_epochs, s, {"x_tar": x}, False, out_dir,
                      fingerprint) for x in cfg.xtar_grid for s in cfg.select_seeds]
    found = run(selection)
    if len(found) < len(selection):
        raise ValueError(f"{len(selection) - len(found)} selection run(s) have not finished; nothing to report")
    by_x = {x: float(np.mean([found[j["key"]]["val_accuracy"] for j in selection if j["params"]["x_tar"] == x]))
            for x in cfg.xtar_grid}
    best = max(cfg.xtar_grid, key=lambda x: (by_x[x], -abs(x - 0.1)))     # ties: nearest the old default
    log(f"x_tar chosen on validation: {best} ({', '.join(f'{x}: {100 * a:.1f} %' for x, a in by_x.items())})")
    params = {"diehl-cook": {}, "spikedyn": {"x_tar": best}}
    final = [_job(cfg, m, n, e, s, params[m], True, out_dir, fingerprint)
             for n in cfg.neurons for m in cfg.models for e in cfg.epochs for s in cfg.seeds]
    done = run(final)
    runs, missing = [], []
    for j in final:
        desc = {k: j[k] for k in ("model", "n_exc", "epochs", "seed", "params")}
        (runs.append(desc | done[j["key"]]) if j["key"] in done else missing.append(desc))
    split = protocol_splits(load_described(cfg.data), cfg.n_val, cfg.split_seed).record
    return {"schema": "brian-snn-results/1", "experiment": "static_mnist", "selected_on": "validation",
            "config": asdict(cfg), "split": split,
            "selection": {"parameter": "x_tar", "model": "spikedyn", "neurons": cfg.select_neurons,
                          "epochs": cfg.select_epochs, "seeds": list(cfg.select_seeds),
                          "val_accuracy": {str(x): a for x, a in by_x.items()}, "chosen": best},
            "runs": runs, "missing": missing, "provenance": prov}
