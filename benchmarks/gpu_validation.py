"""The GPU model (hwmodel.gpu) against published measurements, kept as data.

    .venv/bin/python benchmarks/gpu_validation.py        # writes results/gpu_validation.json, docs/img/gpu_sweeps.png

The record holds the fitted parameters, every timed row (fitted rows with their leave-one-sweep-out
and leave-one-device-out errors, held-out rows with the full fit's error and the interval an
estimate would print), the summary by regime and device family, and the in-sample power rows;
benchmarks/report.py renders the README section from it.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from hwmodel import gpu_validation as gv  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "results" / "gpu_validation.json"))
    ap.add_argument("--plot", default=str(HERE.parent / "docs" / "img" / "gpu_sweeps.png"))
    a = ap.parse_args(argv)
    rec = gv.record()
    from brian_snn.protocol import provenance      # commit, dirty flag, fingerprint of the model's code and data
    root = HERE.parent
    rec["provenance"] = provenance(sorted(root.glob("hwmodel/*.py")) + sorted(root.glob("hwmodel/data/*.json"))
                                   + sorted(root.glob("hwmodel/targets/*.toml")))
    Path(a.out).write_text(json.dumps(rec, indent=1) + "\n")
    gv.plot_sweeps(rec, a.plot)
    s = rec["summary"]["heldout"]["all"]
    print(f"wrote {a.out} and {a.plot}: held out {s['rows']} rows, median |error| "
          f"{100 * s['median_abs_error']:.0f} %, interval coverage {100 * s['coverage']:.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
