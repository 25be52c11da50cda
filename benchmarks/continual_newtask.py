"""Why SpikeDyn's new-task accuracy trails (issue 26 item 5): which neurons take each new class and
what the adaptive learning rate gives them at the task switch.

    .venv/bin/python benchmarks/continual_newtask.py --data-dir DIR [--seeds 0 1] [--neurons 200]

Runs the continual study's stream (classes 0 -> 9, 300 training samples per task, N = 200, the
protocol's train split, tested on its **validation** split: a diagnosis, not a result) for SpikeDyn
with its adaptive learning rate and without it (``lr_adaptation = 0``).  After each task t >= 1 it
records, for the neurons labelled with the new class: how many there are, how many were labelled
with an older class after task t-1 (taken over) rather than unlabelled (fresh), their learned-sample
count at the switch and the learning-rate factor 1 / (1 + learned / n_half) that count gave them
then, and the new task's validation accuracy.  Writes benchmarks/results/continual_newtask.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.data.mnist import load_described  # noqa: E402
from brian_snn.experiments.continual import ContinualConfig, run_continual  # noqa: E402
from brian_snn.models.spikedyn import SpikeDyn  # noqa: E402
from brian_snn.protocol import protocol_splits, provenance  # noqa: E402

N_HALF = SpikeDyn.n_half          # the default the diagnosed runs use


def diagnose(cfg, dataset):
    """Per task: the new class's neurons and what they carried into the task."""
    before = {}
    rows = []

    def on_task(t, state, assignments):
        learned = state.get("learned", np.zeros_like(assignments, dtype=float))
        if t > 0:
            new = assignments == t                      # classes 0..9 in order: task t brings class t
            prev = before["assignments"][new]
            at_switch = before["learned"][new]
            rows.append({"task": t, "new_class_neurons": int(new.sum()),
                         "taken_over": int((prev >= 0).sum()), "fresh": int((prev < 0).sum()),
                         "learned_at_switch_mean": float(at_switch.mean()) if new.any() else None,
                         "rate_factor_at_switch_mean": float(np.mean(1 / (1 + at_switch / N_HALF)))
                         if new.any() else None,
                         "all_neurons_learned_mean": float(before["learned"].mean()),
                         "unlabelled_before": int((before["assignments"] < 0).sum())})
        before.update(assignments=assignments, learned=np.asarray(learned, dtype=float))

    res = run_continual(cfg, dataset, progress=False, log=lambda *a: None, on_task=on_task)
    A = res["arrays"]["accuracy_matrix"]
    for r in rows:
        r["new_task_accuracy"] = float(A[r["task"], r["task"]])
        r["old_tasks_accuracy"] = float(np.nanmean(A[r["task"], :r["task"]]))
    return rows, res["scalars"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, metavar="DIR", help="folder with the 8,000-image MNIST pool")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--out", default=str(HERE / "results" / "continual_newtask.json"))
    a = ap.parse_args(argv)
    data = {"dataset": "mnist", "data_dir": a.data_dir}
    dataset = protocol_splits(load_described(data), 1000, 0).dataset(("val",))
    runs = []
    for seed in a.seeds:
        for label, params in (("adaptive rate", {}), ("fixed rate", {"lr_adaptation": 0.0})):
            t0 = time.time()
            cfg = ContinualConfig(model="spikedyn", n_exc=a.neurons, seed=seed, params=params, data=data)
            rows, scalars = diagnose(cfg, dataset)
            runs.append({"variant": label, "seed": seed, "params": params, "tasks": rows,
                         "acc_new": scalars["mean_new"], "acc_old": scalars["mean_old"]})
            took = np.mean([r["taken_over"] / max(r["new_class_neurons"], 1) for r in rows])
            print(f"{label}, seed {seed}: new-task {100 * scalars['mean_new']:.1f} %, old {100 * scalars['mean_old']:.1f} %,"
                  f" new-class neurons taken over from older classes {100 * took:.0f} % ({time.time() - t0:.0f} s)",
                  flush=True)
    rec = {"about": __doc__.split("\n\n")[1].replace("\n", " "), "neurons": a.neurons, "evaluate": "validation",
           "runs": runs, "provenance": provenance([Path(__file__), HERE.parent / "brian_snn" / "experiments" / "continual.py",
                                                  HERE.parent / "brian_snn" / "models" / "spikedyn.py"])}
    Path(a.out).write_text(json.dumps(rec, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
