"""How far a SOLSA network exported to NIR (CubaLIF) drifts from SOLSA's own discrete-time network.

For each seed: train SOLSA on the spatiotemporal-patterns task (numpy engine, the default settings
of 'brian-snn solsa' but for the sizes below), export it with ``solsa_to_nir``, run the test set
through the NIR graph in Brian2 (``run_nir``, runtime target) and through SOLSA's forward pass, and
record the spike agreement of the output layer and the test accuracy of both (argmax of the output
spike counts, as SOLSA's trainers score it).  Writes benchmarks/results/nir_agreement.json.

    .venv/bin/python benchmarks/nir_agreement.py [--seeds 0,1,2] [--epochs 10]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from brian_snn.nir import agreement, run_nir, solsa_to_nir
from brian_snn.solsa.reference import Network, forward
from brian_snn.solsa.runner import Experiment, build_tasks, run_experiment

OUT = Path(__file__).parent / "results" / "nir_agreement.json"


def one(seed: int, epochs: int, hidden, n_train: int, n_test: int) -> dict:
    exp = Experiment(tasks=["patterns"], methods=["solsa"], hidden=list(hidden), engine="numpy",
                     n_train=n_train, n_test=n_test)
    exp.cfg = replace(exp.cfg, seed=seed, epochs=epochs)
    res = run_experiment(exp)
    d = res["tasks"][0]["methods"]["solsa"]
    task = build_tasks(exp, seed)[0]
    net = Network([np.asarray(w) for w in d["weights"]], np.asarray(d["alpha"], float),
                  np.asarray(d["beta"], float), "spikes")
    ref = forward(net, exp.params, task.x_test).out
    t0 = time.time()
    out = run_nir(solsa_to_nir(net, exp.params, dt=1e-3), task.x_test, dt=1e-3).outputs["output"]
    wall = time.time() - t0
    acc = lambda o: float(np.mean(np.argmax(o.sum(axis=1), axis=1) == task.y_test))   # noqa: E731
    return {"seed": seed, "accuracy_solsa": acc(ref), "accuracy_nir": acc(out),
            "stored_test_accuracy": d["test"], "nir_run_s": round(wall, 2), **agreement(ref, out)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--hidden", default="100,100")
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=200)
    a = ap.parse_args()
    hidden = [int(h) for h in a.hidden.split(",")]
    rows = [one(int(s), a.epochs, hidden, a.n_train, a.n_test) for s in a.seeds.split(",")]
    keys = [k for k in rows[0] if k != "seed"]
    summary = {k: {"mean": float(np.mean([r[k] for r in rows])), "min": float(np.min([r[k] for r in rows])),
                   "max": float(np.max([r[k] for r in rows]))} for k in keys}
    OUT.write_text(json.dumps({"what": __doc__.splitlines()[0], "task": "patterns (test split)",
                               "config": {"epochs": a.epochs, "hidden": hidden, "n_train": a.n_train,
                                          "n_test": a.n_test, "engine": "numpy", "dt_s": 1e-3},
                               "per_seed": rows, "summary": summary,
                               "python": platform.python_version()}, indent=1) + "\n")
    for k, v in summary.items():
        print(f"{k:<24} mean {v['mean']:.4f}  [{v['min']:.4f}, {v['max']:.4f}]")


if __name__ == "__main__":
    main()
