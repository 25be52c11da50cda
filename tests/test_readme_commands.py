"""Every command of the README's "Set-up, main job, tests" and "Using it" blocks runs as written on
a fresh clone (nothing beside it), at small sizes: the test appends size options to each command
(argparse keeps the last value of an option), runs it in an empty folder and checks its output.
A README command without an entry in SMALL fails the test, so the README cannot drift from it.

"As written" includes the shell: each command line is run by ``bash -c`` exactly as the README
prints it, with the venv *not* on PATH (only /usr/bin:/bin, no VIRTUAL_ENV), from a folder where
``.venv`` is the clone's venv, as in a fresh shell in the clone's folder; a bare ``brian-snn`` there
is "command not found".
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import command_times  # noqa: E402
BIN = Path(sys.executable).parent
TRAIN = ["--neurons", "10", "--train-samples", "20", "--test-samples", "10", "--chunk", "12", "--quiet"]

# README command (as written, without the .venv/bin/ prefix and comment) -> (options appended,
# regular expressions its stdout+stderr must match, files it must write).  In README order: later
# commands read what earlier ones wrote.
SMALL = {
    "brian-snn doctor":
        ([], [r"essentials \(brian2, C\+\+ compiler\) ok"], []),
    "brian-snn train --plot fields.png":
        (TRAIN, [r"accuracy\s+\d+\.\d+ %", r"hardware \(training, jetson-nano\): [\d.]+ mJ/sample \[",
                 r"hardware \(inference, loihi1\): [\d.]+ mJ/sample"], ["fields.png", "results.h5"]),
    "brian-snn train --model diehl-cook --neurons 400 --epochs 3 --out dc.h5 --plot dc.png":
        (TRAIN, [r"accuracy\s+\d+\.\d+ %"], ["dc.h5", "dc.png"]),
    "brian-snn evaluate dc.h5":
        ([], [r"reproduces the stored test predictions exactly"], []),
    "hwmodel estimate dc.h5 --target jetson-nano":
        ([], [r"jetson-nano", r"energy"], []),
    "hwmodel metrics dc.h5":
        ([], [r"synaptic operations per sample", r"footprint [\d,]+ B"], []),
    "hwmodel compare dc.h5 --targets loihi1,spinnaker2,asic-45nm,jetson-nano --weight-bits 8 --plot cmp.png":
        ([], [r"loihi1", r"spinnaker2", r"asic-45nm", r"jetson-nano"], ["cmp.png"]),
    "brian-snn solsa --task uea --uea-set JapaneseVowels --method all":
        (["--epochs", "1", "--hidden", "8", "--train-samples", "20", "--test-samples", "20"],
         [r"JapaneseVowels"], []),
    "brian-snn timestep --model spikedyn --windows 350,100,25 --out ts":
        (["--neurons", "10", "--train-samples", "30", "--test-samples", "10", "--chunk", "12", "--val", "10",
          "--workers", "1", "--variants", "baseline,enhanced"],
         [r"policy|chosen", r"SMALL-SAMPLE PREVIEW", r"test split, read once"], ["ts"]),
    "brian-snn timestep --from ts --weights energy_train=3 --max-latency 20":
        ([], [r"latency"], []),
    "brian-snn export --model spikedyn --neurons 400 --cc 5.3 --out snn-nano":
        (["--neurons", "6", "--chunk", "12", "--train-samples", "40", "--test-samples", "20"],
         [r"CUDA project of spikedyn N=6 for compute capability 5\.3 \(sm_53\)"],
         ["snn-nano/makefile", "snn-nano/run.sh", "snn-nano/README.md"]),
    "brian-snn solsa --task patterns --method solsa --engine numpy --out solsa.h5":
        (["--epochs", "1", "--hidden", "8", "--train-samples", "20", "--test-samples", "20"],
         [r"patterns"], ["solsa.h5"]),
    "brian-snn export --format nir --results solsa.h5 --out solsa.nir":
        ([], [r"CubaLIF"], ["solsa.nir"]),
    "brian-snn nir run solsa.nir --random 0.05 --samples 20 --steps 40 --target loihi1,jetson-nano --out nirrun":
        (["--samples", "3", "--steps", "20"], [r"hardware \(inference, loihi1\): [\d.]+ mJ/sample",
                                              r"hardware \(inference, jetson-nano\)"],
         ["nirrun/counts.json", "nirrun/outputs.npz"]),
}


def readme_lines():
    """The command lines of the README's set-up and usage blocks (```bash) as written, comments
    stripped: the same lines benchmarks/command_times.py times."""
    return command_times.readme_lines(ROOT / "README.md")


def readme_commands():
    """The same, without the .venv/bin/ prefix (the keys of SMALL)."""
    return [re.sub(r"^\.venv/bin/", "", line) for line in readme_lines()]


AS_WRITTEN = dict(zip(readme_commands(), readme_lines()))


def test_readme_commands_need_no_activated_venv():
    """A fresh shell has no venv on PATH: every command names .venv/bin/ (or is ./setup.sh)."""
    bare = [line for line in readme_lines() if not line.startswith((".venv/bin/", "./"))]
    assert bare == []


NOT_HERE = {"./setup.sh": "run by .ci/run on a fresh machine",
            "python -m pytest -q": "this test is part of it"}


def test_every_readme_command_is_covered():
    assert [c for c in readme_commands() if c not in SMALL and c not in NOT_HERE] == []
    assert [c for c in SMALL if c not in readme_commands()] == []       # no stale entries


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize("command", list(SMALL))
def test_readme_command_runs_as_written(command, workdir):
    extra, patterns, files = SMALL[command]
    venv = workdir / ".venv"
    if not venv.exists():
        venv.symlink_to(BIN.parent)                 # the clone's venv, as seen from the clone's folder
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")}
    env.update(PATH="/usr/bin:/bin", BRIAN_SNN_SHARED_DATA="/nonexistent")   # no venv on PATH, nothing beside
    p = subprocess.run(["bash", "-c", f"{AS_WRITTEN[command]} {shlex.join(extra)}"], cwd=workdir, env=env,
                       capture_output=True, text=True, timeout=900)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    for pat in patterns:
        assert re.search(pat, out), (pat, out[-3000:])
    for f in files:
        assert (workdir / f).exists(), f
