"""Diehl & Cook vs SpikeDyn on static MNIST under the results protocol (issue 15).

    .venv/bin/python benchmarks/static_mnist.py [--data-dir DIR] [--workers 2]

Trains every (model, N, epochs, seed) of ``brian_snn.experiments.static.StaticConfig`` on the
8,000-image MNIST pool (train 5,000 / validation 1,000 / test 2,000, seeded and stratified), after
choosing SpikeDyn's x_tar on validation.  Writes ``benchmarks/results/static_mnist.json``; runs and
their job cache live in ``--work`` (a killed run started again loses only the jobs in flight).
``benchmarks/report.py`` turns the JSON into the README table.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.experiments.static import StaticConfig, run_static  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with the 8,000-image MNIST pool (mnist8k-images-idx3-ubyte.gz + "
                        "mnist8k-labels-idx1-ubyte.gz); default: built once from the checksummed MNIST download "
                        "(python -m brian_snn.data.pool)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default=str(HERE.parent / "out" / "static_mnist"))
    p.add_argument("--out", default=str(HERE / "results" / "static_mnist.json"))
    p.add_argument("--finished-only", action="store_true", help="write the record of the runs finished so far")
    a = p.parse_args(argv)
    if not getattr(a, "figure_only", False):
        from brian_snn.data.pool import pool_for_script
        a.data_dir = pool_for_script(a.data_dir, __file__)
    cfg = StaticConfig(data={"dataset": "mnist", "data_dir": a.data_dir})
    log = lambda *m: print(*m, flush=True)  # noqa: E731
    result = run_static(cfg, a.work, workers=a.workers, log=log, finished_only=a.finished_only)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
