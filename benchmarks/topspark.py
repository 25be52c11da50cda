"""TopSpark's window reduction under the results protocol (issue 16).

    .venv/bin/python benchmarks/topspark.py [--data-dir ../shared/data/mnist] [--workers 2]
    .venv/bin/python benchmarks/topspark.py --finished-only     # record of the runs done so far

Runs ``brian_snn.experiments.timestep.study`` (candidates and the window chosen on validation, each
window's kept candidate tested once) and writes ``benchmarks/results/topspark.json``.  Runs and their
job cache live in ``--work`` (a killed study started again loses only the jobs in flight).
``benchmarks/report.py`` prices the counts and writes the README section.
"""
import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.experiments.timestep.study import StudyConfig, run_study  # noqa: E402


def main(argv=None):
    shared = Path(os.environ.get("BRIAN_SNN_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(shared / "mnist"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default=str(HERE.parent / "out" / "topspark"))
    p.add_argument("--results", default=str(HERE / "results"))
    p.add_argument("--finished-only", action="store_true", help="write the record of the runs finished so far")
    a = p.parse_args(argv)
    cfg = StudyConfig(data={"dataset": "mnist", "data_dir": a.data_dir})
    record = run_study(cfg, workers=a.workers, log=lambda *m: print(*m, flush=True), out_dir=a.work,
                       finished_only=a.finished_only)
    Path(a.results).mkdir(parents=True, exist_ok=True)
    path = Path(a.results) / "topspark.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path} ({len(record['runs'])} runs, {len(record['missing'])} missing)")


if __name__ == "__main__":
    main()
