"""SOLSA vs the simplified online rule vs BPTT under the results protocol (issue 16).

    .venv/bin/python benchmarks/solsa_study.py [--work out/solsa_study]
    .venv/bin/python benchmarks/solsa_study.py --finished-only     # the record of the runs done so far

Runs ``brian_snn.solsa.study`` (5 tasks x 3 methods x 4 candidates x 3 seeds, chosen on validation,
the chosen runs tested once) in this one process and writes ``benchmarks/results/solsa.json``.
The selection runs and their job cache live in ``--work`` (a killed study started again loses only the
run in flight).  ``benchmarks/report.py`` writes the README table.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # one process, one core: the timings are per core
os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.solsa.study import StudyConfig, run_study  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=str(HERE.parent / "out" / "solsa_study"), help="folder of the job cache")
    p.add_argument("--results", default=str(HERE / "results"))
    p.add_argument("--epochs", type=int, default=StudyConfig.epochs)
    p.add_argument("--finished-only", action="store_true", help="write the record of the runs finished so far")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    record = run_study(StudyConfig(epochs=a.epochs), a.work, log=lambda *m: print(*m, flush=True),
                       finished_only=a.finished_only)
    out = Path(a.results) / "solsa.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out} ({len(record['runs'])} runs, {len(record['missing'])} (task, method) pairs missing; "
          f"{time.perf_counter() - t0:.0f} s this call, {record['study_seconds']:.0f} s of selection runs in all)")


if __name__ == "__main__":
    main()
