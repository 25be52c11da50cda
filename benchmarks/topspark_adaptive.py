"""TopSpark's adaptive window under the results protocol (issue 26).

    .venv/bin/python benchmarks/topspark_adaptive.py [--data-dir DIR] [--workers 1]
    .venv/bin/python benchmarks/topspark_adaptive.py --reduced     # the reduced scale stated in the record

Runs ``brian_snn.experiments.timestep.adaptive`` (the cost-aware policy of docs/topspark.md, chosen on
validation; the chosen candidate and the two fixed references tested once) and writes
``benchmarks/results/topspark_adaptive.json`` (per-seed rows with ``"selected_on": "validation"``, the
steps each test sample took, prices on Jetson Nano / Loihi 1 / 45 nm ASIC); the README section
``topspark_adaptive`` is generated from it by benchmarks/report.py, which re-prices the counts with
the present hwmodel.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.experiments.timestep.adaptive import AdaptiveConfig, run_adaptive  # noqa: E402
from brian_snn.files import replacing  # noqa: E402

# The reduced scale (2 CPUs shared with other work), stated in the record: the embedded real-MNIST
# subset (its 1,000 training images: 800 train + 200 validation, stratified, split seed 0; its 500 test
# images), SpikeDyn and Diehl & Cook, N = 100, one epoch, seeds 0, 1, 2, labels from 500 training images;
# the policy's whole grid (k in {1, 2, 3, 5}, m in {0, 1, 2}, T_max in {350 ms, the protocol study's
# chosen window}).  The protocol study
# (benchmarks/topspark.py) uses 5,000 MNIST training images and 1,000 validation / 2,000 test images.
REDUCED = dict(data={"dataset": "embedded"}, n_val=200, models=("spikedyn", "diehl-cook"), n_exc=100,
               seeds=(0, 1, 2), label_samples=500)


def chosen_windows(path) -> dict:
    """The short T_max of each model: the window the fixed-window protocol study chose (its record)."""
    try:
        return {m: float(w) for m, w in json.loads(Path(path).read_text())["selection"]["chosen_window_ms"].items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"topspark_adaptive: cannot read the chosen windows from {path} ({e}): run "
                         "benchmarks/topspark.py first or pass --protocol-record") from None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--reduced", action="store_true", help="the reduced scale (see REDUCED)")
    p.add_argument("--models", default="spikedyn,diehl-cook", help="comma-separated (full scale; default both)")
    p.add_argument("--work", default="out/topspark_adaptive", help="runs and their job cache")
    p.add_argument("--out", default=str(HERE / "results" / "topspark_adaptive.json"))
    p.add_argument("--protocol-record", default=str(HERE / "results" / "topspark.json"),
                   help="the fixed-window protocol study whose chosen windows are the short T_max")
    a = p.parse_args(argv)
    short = chosen_windows(a.protocol_record)
    cfg = (AdaptiveConfig(**REDUCED, short_window_ms=short) if a.reduced else
           AdaptiveConfig(data={"dataset": "mnist", "data_dir": a.data_dir}, models=tuple(a.models.split(",")),
                          short_window_ms=short))
    rec = run_adaptive(cfg, workers=a.workers, out_dir=a.work, log=lambda *x: print(*x, file=sys.stderr, flush=True))
    rec["scale"] = ("reduced: " + json.dumps(REDUCED)) if a.reduced else "full protocol"
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as tmp:
        tmp.write_text(json.dumps(rec, indent=1))
    for m, s in rec["selection"].items():
        print(f"{m}: chosen {s['chosen']} (full window validation {100 * s['reference_val_accuracy']:.1f} %)")
    for r in rec["adaptive"]:
        pj = r["prices"]["jetson-nano"]
        print(f"  {r['model']} seed {r['seed']} {r['candidate']}: val {100 * r['val_accuracy']:.1f} %, test "
              f"{100 * r['test_accuracy']:.1f} %, {r['test_steps_per_sample']['mean']:.0f} steps/test sample, "
              f"Jetson E_train {1e3 * (pj['energy_train_j_per_sample'] or 0):.2f} mJ, "
              f"E_inf {1e3 * (pj['energy_inference_j_per_sample'] or 0):.2f} mJ")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
