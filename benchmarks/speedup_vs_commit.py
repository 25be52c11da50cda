"""Training and frozen-pass speed of this tree against an earlier commit, in one job (issue 28).

    .venv/bin/python benchmarks/speedup_vs_commit.py --commit 0c90ad3 --data-dir DIR

The earlier commit is checked out into a temporary git worktree and run by the same Python (its
own package first on the path, its own build cache); both run ``brian-snn train --backend cpp``
on the same MNIST images, alternating, ``--reps`` times.  The CLI's "test" rate covers the frozen
passes (labelling the training images, then testing).  Both must print the same accuracy (the
changes in between keep training bit-identical); the best repeat of each counts (noise only adds
time).  Writes benchmarks/results/speedup_vs_commit.json (the README section of that name).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from brian_snn.protocol import provenance  # noqa: E402


def run(tree: Path, build: Path, args: list) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), BRIAN_SNN_BUILD_DIR=str(build))
    out = subprocess.run([sys.executable, "-m", "brian_snn", "train", *args, "--json"], cwd=tree, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"speedup_vs_commit: brian-snn train failed in {tree}: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", required=True, help="the earlier commit (e.g. the one an issue was measured at)")
    ap.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    ap.add_argument("--models", default="diehl-cook,spikedyn")
    ap.add_argument("--train-samples", type=int, default=3000)
    ap.add_argument("--test-samples", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), a.commit], check=True,
                       capture_output=True)
        try:
            for model in a.models.split(","):
                args = ["--model", model, "--neurons", "400", "--backend", "cpp", "--dataset", "mnist",
                        "--data-dir", a.data_dir, "--train-samples", str(a.train_samples), "--test-samples",
                        str(a.test_samples), "--no-resume", "--force", "--target", "loihi1"]
                res = {"earlier": [], "this": []}
                for rep in range(a.reps):
                    for side, tree in (("earlier", old), ("this", ROOT)):
                        r = run(tree, Path(tmp) / f"build-{side}", args + ["--out", str(Path(tmp) / f"{side}.h5")])
                        res[side].append({k: r[k] for k in ("accuracy", "train_samples_per_s", "test_samples_per_s")})
                        print(f"{model} {side} rep {rep}: {res[side][-1]}", flush=True)
                best = {s: {k: max(x[k] for x in v) for k in ("train_samples_per_s", "test_samples_per_s")}
                        for s, v in res.items()}
                rows[model] = {"runs": res, "best": best,
                               "same_accuracy": len({x["accuracy"] for v in res.values() for x in v}) == 1,
                               "speedup": {k: best["this"][k] / best["earlier"][k] for k in best["this"]}}
                print(f"{model}: speed-up {rows[model]['speedup']}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
    out = {"earlier_commit": a.commit, "setup": {"neurons": 400, "train_samples": a.train_samples,
                                                "test_samples": a.test_samples, "reps": a.reps, "backend": "cpp"},
           "models": rows, "provenance": provenance([Path(__file__)])}
    path = HERE / "results" / "speedup_vs_commit.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
