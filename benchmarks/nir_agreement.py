"""How far a SOLSA network exported to NIR (CubaLIF) drifts from SOLSA's own discrete-time network,
and how far our exact integration of a LIF graph is from forward Euler at the same dt.

SOLSA, for each seed: train SOLSA on the spatiotemporal-patterns task (numpy engine, the default
settings of 'brian-snn solsa' but for the sizes below), export it with ``solsa_to_nir`` (CubaLIF form,
and the exact form), run the test set through the NIR graphs in Brian2 (``run_nir``, runtime target)
and through SOLSA's forward pass, and record the spike agreement of the output layer (CubaLIF form),
the output cells where the exact form differs, and the test accuracy of each (argmax of the output
spike counts, as SOLSA's trainers score it).

Discretisation, for each seed and beta: a 40-100-10 LIF graph with the parameters a discrete-time
framework exports for ``mem <- beta mem + input`` (tau = dt/(1 - beta), R = tau/dt, v_leak = 0,
threshold 1, reset to 0), driven by 5 % random input spikes, run by ``run_nir`` (exact) and by forward
Euler of the same equations (written here in numpy; = ``beta v + input``), at dt = 1e-4 s.

Writes benchmarks/results/nir_agreement.json.

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
    exact = run_nir(solsa_to_nir(net, exp.params, dt=1e-3, form="exact"), task.x_test, dt=1e-3).outputs["output"]
    acc = lambda o: float(np.mean(np.argmax(o.sum(axis=1), axis=1) == task.y_test))   # noqa: E731
    return {"seed": seed, "accuracy_solsa": acc(ref), "accuracy_nir": acc(out), "accuracy_nir_exact": acc(exact),
            "exact_form_spikes_differ": int(np.sum(exact != ref)),
            "stored_test_accuracy": d["test"], "nir_run_s": round(wall, 2), **agreement(ref, out)}


def euler_lif(W1, W2, beta, x):
    """Forward Euler of NIR's LIF at the exporter's dt: v <- beta v + W s, spike v > 1, reset to 0."""
    S, T, _ = x.shape
    out = np.zeros((S, T, W2.shape[0]))
    for s in range(S):
        v1, v2 = np.zeros(W1.shape[0]), np.zeros(W2.shape[0])
        for t in range(T):
            v1 = beta * v1 + W1 @ x[s, t]
            z1 = v1 > 1
            v1[z1] = 0
            v2 = beta * v2 + W2 @ z1
            z2 = v2 > 1
            v2[z2] = 0
            out[s, t] = z2
    return out


def discretisation(seed: int, beta: float, dt: float = 1e-4) -> dict:
    import nir
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0.1, 0.3, (100, 40))
    W2 = rng.normal(0.02, 0.1, (10, 100))
    tau = dt / (1 - beta)

    def lif(n):
        return nir.LIF(tau=np.full(n, tau), r=np.full(n, tau / dt), v_leak=np.zeros(n), v_threshold=np.ones(n))
    g = nir.NIRGraph.from_list(nir.Linear(weight=W1), lif(100), nir.Linear(weight=W2), lif(10))
    x = (rng.random((20, 100, 40)) < 0.05).astype(float)
    exact = run_nir(g, x, dt=dt).outputs["output"]
    return {"seed": seed, "beta": beta, **agreement(euler_lif(W1, W2, beta, x), exact)}


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
    disc = [discretisation(int(s), b) for b in (0.8, 0.9, 0.95, 0.99) for s in a.seeds.split(",")]
    OUT.write_text(json.dumps({"what": __doc__.splitlines()[0], "task": "patterns (test split)",
                               "config": {"epochs": a.epochs, "hidden": hidden, "n_train": a.n_train,
                                          "n_test": a.n_test, "engine": "numpy", "dt_s": 1e-3},
                               "per_seed": rows, "summary": summary,
                               "discretisation": {"reference": "forward Euler of the same LIF graph at dt "
                                                               "(beta v + input), reset to 0",
                                                  "dt_s": 1e-4, "rows": disc},
                               "python": platform.python_version()}, indent=1) + "\n")
    for k, v in summary.items():
        print(f"{k:<24} mean {v['mean']:.4f}  [{v['min']:.4f}, {v['max']:.4f}]")
    for b in sorted({r["beta"] for r in disc}):
        rs = [r for r in disc if r["beta"] == b]
        print(f"beta {b}: exact vs Euler, same-step recall {np.mean([r['same_step_recall'] for r in rs]):.4f}, "
              f"count ratio {np.mean([r['count_ratio'] for r in rs]):.4f}, "
              f"same class {np.mean([r['same_class'] for r in rs]):.4f}")


if __name__ == "__main__":
    main()
