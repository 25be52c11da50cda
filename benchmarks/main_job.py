"""Run the README's main job and keep its output as data (benchmarks/results/main_job.json).

    .venv/bin/python benchmarks/main_job.py        # ~1-2 min: compiles once, trains, tests

The record holds every line the command printed, the run's exact counts (so its hardware lines can
be priced again by a later model), the steps per sample and the GPU structure of the counts, and
provenance; benchmarks/report.py renders the README block from it.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from brian_snn.protocol import provenance  # noqa: E402
from hwmodel import load_counts  # noqa: E402

COMMAND = ["brian-snn", "train", "--plot", "fields.png"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "results" / "main_job.json"))
    a = ap.parse_args(argv)
    exe = Path(sys.executable).with_name("brian-snn")
    with tempfile.TemporaryDirectory() as work:
        t0 = time.time()
        run = subprocess.run([str(exe), *COMMAND[1:]], cwd=work, capture_output=True, text=True)
        wall = time.time() - t0
        if run.returncode != 0:
            sys.exit(f"main_job: the main job failed (exit {run.returncode}): {run.stderr.strip()[-500:]}")
        counts = {ph: load_counts(str(Path(work) / "results.h5"), ph).to_dict() for ph in ("training", "inference")}
    lines = [ln for ln in run.stdout.splitlines() if ln.strip()]
    tr = counts["training"]
    prov = provenance(sorted(ROOT.glob("brian_snn/**/*.py")) + sorted(ROOT.glob("hwmodel/**/*.py")))
    rec = {"schema": "brian-snn-main-job/1",
           "what": "The main job's console output (brian-snn train --plot fields.png: SpikeDyn, 400 excitatory "
                   "neurons, the embedded 1,000 + 500 real-MNIST subset, compiled C++), run by "
                   "benchmarks/main_job.py in an empty folder with the build cache of this checkout.",
           "command": ".venv/bin/" + " ".join(COMMAND), "wall_s": wall,
           "lines": [{"text": ln, "recorded_in_commit": prov["git_commit"], "date": prov["date"]} for ln in lines],
           "note_on_hardware_lines": "The hardware lines are hwmodel's defaults: the Loihi 1 lines price the 784 "
                                     "Poisson inputs as on-chip neurons, the Jetson Nano lines are at module power "
                                     "(VDD_IN) with the interval of the launch-bound regime.",
           "steps_per_sample": {"value": round(tr["steps"] / tr["samples"]), "what": "simulated time steps per "
                                "training sample of this run (boost-rule repeats included)"},
           "kernels_per_step": tr.get("kernels_per_step"), "host_copies_per_step": tr.get("host_copies_per_step"),
           "counts": counts, "provenance": prov}
    Path(a.out).write_text(json.dumps(rec, indent=1) + "\n")
    print(f"wrote {a.out}: {len(lines)} lines, {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
