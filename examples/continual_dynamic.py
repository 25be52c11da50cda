"""Continual unsupervised learning in a dynamic environment, and what it costs on a Jetson Nano.

Run:  .venv/bin/python examples/continual_dynamic.py        (about a minute after the first build)
Writes its results files and heat maps into out/ (ignored by git).

Digits 0..4 arrive one task at a time (no replay, learning always on); after each task the
network is frozen, its neurons are labelled from already-seen samples and it is tested on every
class learned so far.  The exact activity counts (with the GPU kernels per step the model
launches) are then priced on hwmodel's built-in Jetson Nano target, with its uncertainty interval.
The same run with weights held at 8 bits in the simulation follows.
"""
from pathlib import Path

import numpy as np

from brian_snn.data import load_embedded
from brian_snn.experiments.continual import ContinualConfig, plot_matrix, run_continual
from brian_snn.experiments.energy import estimate

OUT = Path("out")
OUT.mkdir(exist_ok=True)
data = load_embedded()                               # 1,000 train / 500 test real MNIST images
for bits in (0, 8):
    cfg = ContinualConfig(model="spikedyn", n_exc=100, tasks="0,1,2,3,4", samples_per_task=60,
                          label_per_class=20, test_per_class=30, weight_bits=bits)
    res = run_continual(cfg, data, out=OUT / f"continual_example_w{bits}.h5", progress=False)
    A = res["arrays"]["accuracy_matrix"]
    np.set_printoptions(precision=2, suppress=True)
    print(f"\nweights {'full precision' if not bits else f'{bits} bits'}: accuracy matrix "
          "(row: after task t, column: tested task)\n", A)
    s = res["scalars"]
    print(f"most recent task {100 * s['mean_new']:.1f} %, previous tasks {100 * s['mean_old']:.1f} %")
    for phase in ("training", "inference"):
        e = estimate(res["counts"][phase], "jetson-nano", weight_bits=bits or 32)
        if "error" in e:
            print(f"{phase:>9}: jetson-nano: n/a ({e['error']})")
            continue
        iv = e["energy_interval_j_per_sample"]
        iv = f" [{1e3 * iv[0]:.1f}, {1e3 * iv[1]:.1f}]" if iv else ""
        print(f"{phase:>9}: {1e3 * e['energy_j_per_sample']:.1f}{iv} mJ/sample on {e['target']} "
              f"({s['kernels_per_step']} kernels per step), memory {e['memory_bytes'] / 1024:.0f} KiB "
              f"(evidence {e['evidence']})")
    plot_matrix(A, cfg.task_list(), OUT / f"continual_example_w{bits}.png")
