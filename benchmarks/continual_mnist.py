"""Continual learning (0 -> 9) and SpikeDyn's ablation under the results protocol (issue 15).

    .venv/bin/python benchmarks/continual_mnist.py [--data-dir DIR] [--workers 2]
    .venv/bin/python benchmarks/continual_mnist.py --finished-only     # records of the runs done so far
    .venv/bin/python benchmarks/continual_mnist.py --figure-only       # heat maps from the result file

Runs ``brian_snn.experiments.continual_study`` (selection on validation, then the comparison and the
ablation on test) and writes ``benchmarks/results/continual_mnist.json`` and
``benchmarks/results/spikedyn_ablation.json``, plus the accuracy-matrix heat maps with their
intervals (``docs/img/continual-matrices.png``).  Runs and their job cache live in ``--work`` (a killed
run started again loses only the jobs in flight).  ``benchmarks/report.py`` writes the README tables.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.experiments.continual import draw_matrix, parse_tasks  # noqa: E402
from brian_snn.experiments.continual_study import StudyConfig, run_study  # noqa: E402
from brian_snn.protocol import t_interval  # noqa: E402


def matrix_summary(runs):
    """Cell-wise mean and 95 % half-width over seeds of lower-triangular accuracy matrices."""
    T = len(runs[0]["matrix"])
    mean, half = np.full((T, T), np.nan), np.full((T, T), np.nan)
    for t in range(T):
        for k in range(t + 1):
            mean[t, k], half[t, k] = t_interval([r["matrix"][t][k] for r in runs])
    return mean, half


def plot_matrices(record, path):
    from brian_snn.plots import _plt
    plt = _plt()
    runs = record["runs"]
    models = list(dict.fromkeys(r["model"] for r in runs))
    sizes = sorted({r["n_exc"] for r in runs})
    tasks = parse_tasks(record["config"].get("tasks", "0,1,2,3,4,5,6,7,8,9"))
    fig, axes = plt.subplots(len(sizes), len(models), figsize=(4.6 * len(models), 4.4 * len(sizes)), squeeze=False)
    for i, n in enumerate(sizes):
        for j, m in enumerate(models):
            rs = [r for r in runs if (r["model"], r["n_exc"]) == (m, n)]
            ax = axes[i][j]
            if not rs:
                ax.set_axis_off()
                continue
            mean, half = matrix_summary(rs)
            im = draw_matrix(ax, mean, tasks, half)
            ax.set_title(f"{m}, N = {n} ({len(rs)} seeds)", fontsize=9)
    fig.colorbar(im, ax=axes, fraction=0.02, label="test accuracy % (mean ± 95 % half-width)")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with the 8,000-image MNIST pool (mnist8k-images-idx3-ubyte.gz + "
                        "mnist8k-labels-idx1-ubyte.gz); default: built once from the checksummed MNIST download "
                        "(python -m brian_snn.data.pool)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default=str(HERE.parent / "out" / "continual_mnist"))
    p.add_argument("--results", default=str(HERE / "results"))
    p.add_argument("--figure", default=str(HERE.parent / "docs" / "img" / "continual-matrices.png"))
    p.add_argument("--finished-only", action="store_true", help="write the records of the runs finished so far")
    p.add_argument("--figure-only", action="store_true", help="only redraw the heat maps from the result file")
    a = p.parse_args(argv)
    if not getattr(a, "figure_only", False):
        from brian_snn.data.pool import pool_for_script
        a.data_dir = pool_for_script(a.data_dir, __file__)
    results = Path(a.results)
    if not a.figure_only:
        cfg = StudyConfig(data={"dataset": "mnist", "data_dir": a.data_dir})
        records = run_study(cfg, a.work, workers=a.workers, log=lambda *m: print(*m, flush=True),
                            finished_only=a.finished_only)
        results.mkdir(parents=True, exist_ok=True)
        for name, rec in records.items():
            (results / f"{name}.json").write_text(json.dumps(rec, indent=1))
            print(f"wrote {results / f'{name}.json'} ({len(rec['runs'])} runs, {len(rec['missing'])} missing)")
    record = json.loads((results / "continual_mnist.json").read_text())
    if record["runs"]:
        print(f"wrote {plot_matrices(record, a.figure)}")


if __name__ == "__main__":
    sys.exit(main())
