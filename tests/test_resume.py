"""Exact resume: a training run interrupted anywhere (SIGKILL inside a chunk, SIGINT, SIGKILL inside
a checkpoint write, at an epoch boundary, inside the final write) and re-run with the same command
ends with exactly the arrays, counts and accuracy of the uninterrupted run.

Each run is a separate ``brian-snn train`` process; the faults are injected from outside the
package by a small driver (``_DRIVER``) that wraps the backend and ``os.replace``.
"""
import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from brian_snn.backend import BackendError, check_compiler
from brian_snn.store import read_results

ARGS = ["train", "--model", "spikedyn", "--neurons", "10", "--chunk", "12", "--seed", "3",
        "--epochs", "2", "--train-samples", "30", "--test-samples", "20", "--target", "loihi1", "--quiet"]

# Fault plan (JSON in argv[1]): {"chunk": N, "how": "kill"|"int"} interrupts the N-th chunk of
# ``phase`` (default training) this process runs, after the simulation and before its result
# reaches the caller; {"replace": R} SIGKILLs the process just before an atomic rename of the
# results file (the file on disk is then the previous version and a complete temporary file lies
# beside it): R = N (the N-th rename), "boundary" (the checkpoint that starts epoch 2) or "final"
# (the finished results).
_DRIVER = r"""
import json, os, signal, sys
import h5py
from brian_snn import backend, cli
plan, out = json.loads(sys.argv[1]), sys.argv[2]
# Ctrl-C as in a terminal, even when this test runs in a background job (which ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
seen = {"chunk": 0, "replace": 0}
real_run, real_replace = backend.CppBackend.run_chunk, os.replace

def run_chunk(self, *a, **kw):
    res = real_run(self, *a, **kw)
    if a[6] == plan.get("phase", "training"):
        seen["chunk"] += 1
        if seen["chunk"] == plan.get("chunk"):
            os.kill(os.getpid(), signal.SIGKILL if plan["how"] == "kill" else signal.SIGINT)
    return res

def what(path):
    with h5py.File(path, "r") as f:
        if "checkpoint" not in f:
            return "final"
        meta = json.loads(f["checkpoint"].attrs["meta"])
        return "boundary" if (meta["epoch"], meta["position"]) == (1, 0) else None

def replace(src, dst, *a, **kw):
    if "replace" in plan and os.path.basename(str(dst)) == os.path.basename(out):
        seen["replace"] += 1
        if plan.get("replace") in (seen["replace"], what(src)):
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *a, **kw)

backend.CppBackend.run_chunk, os.replace = run_chunk, replace
sys.exit(cli.main(sys.argv[3:]))
"""


def _train(out, plan=None, extra=()):
    cmd = [sys.executable, "-c", _DRIVER, json.dumps(plan or {}), str(out), *ARGS, *extra, "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _snapshot(path):
    r = read_results(path)
    assert r["checkpoint"] is None
    return r["arrays"], {ph: c.to_dict() for ph, c in r["counts"].items()}, r["scalars"], r["timings"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    try:
        check_compiler()
    except BackendError as e:
        pytest.skip(str(e))
    out = tmp_path_factory.mktemp("ref") / "r.h5"
    p = _train(out)
    assert p.returncode == 0, p.stderr
    return (*_snapshot(out), out)


# Each trial is the sequence of interrupted runs before the final, uninterrupted one.  The
# training has 2 epochs of 3 or more chunks (30 samples, 12 slots per chunk), then labelling and
# test.
TRIALS = {
    "sigkill inside a chunk": [{"chunk": 2, "how": "kill"}],
    "sigint inside a chunk, twice": [{"chunk": 2, "how": "int"}, {"chunk": 3, "how": "int"}],
    "sigkill in a checkpoint write": [{"replace": 2}],
    "sigkill at the epoch boundary": [{"replace": "boundary"}],
    "sigkill in labelling": [{"phase": "inference", "chunk": 1, "how": "kill"}],
    "sigkill in the final write": [{"replace": "final"}],
}


@pytest.mark.parametrize("faults", TRIALS.values(), ids=TRIALS.keys())
def test_interrupted_run_resumes_bit_identical(uninterrupted, tmp_path, faults):
    out = tmp_path / "r.h5"
    for plan in faults:
        p = _train(out, plan)
        expected = -signal.SIGKILL if plan.get("how", "kill") == "kill" else 130
        assert p.returncode == expected, (plan, p.returncode, p.stderr)
        assert out.exists()               # a checkpoint (or the last version) survived
    p = _train(out)
    assert p.returncode == 0, p.stderr
    assert "resuming" in p.stderr
    arrays, counts, scalars, timings = _snapshot(out)
    ref_arrays, ref_counts, ref_scalars, _, _ = uninterrupted
    assert arrays.keys() == ref_arrays.keys()
    for name, ref in ref_arrays.items():
        np.testing.assert_array_equal(arrays[name], ref, err_msg=name)
    assert counts == ref_counts
    assert scalars == ref_scalars
    # the throughput counts every training sample once over the simulation time of all runs
    assert timings["train_samples_per_s"] == pytest.approx(60 / timings["train_sim_s"])
    assert not list(tmp_path.glob("*.tmp"))   # temporary files of killed runs are not left to pile up


def test_evaluate_reproduces_the_stored_test_predictions(uninterrupted):
    from brian_snn.experiments.train_eval import evaluate_file
    arrays, _, scalars, _, path = uninterrupted
    again = evaluate_file(path, progress=False)
    np.testing.assert_array_equal(again["arrays"]["test_predictions"], arrays["test_predictions"])
    assert again["scalars"]["accuracy"] == scalars["accuracy"] == again["scalars"]["stored_accuracy"]
    assert again["scalars"]["reproduced"] and "20 of 500 test" in again["scalars"]["data"]


def test_batched_copies_resume_bit_identical(uninterrupted, tmp_path):
    """--copies 2: the batch checkpoints into --out (both copies' positions, counts and states);
    killed inside a chunk and in a checkpoint write, it resumes to the uninterrupted copies."""
    ref, out = tmp_path / "ref" / "r.h5", tmp_path / "r.h5"
    ref.parent.mkdir()
    p = _train(ref, extra=["--copies", "2"])
    assert p.returncode == 0, p.stderr
    for plan in ({"chunk": 2, "how": "kill"}, {"replace": 3}):
        p = _train(out, plan, extra=["--copies", "2"])
        assert p.returncode == -signal.SIGKILL, (plan, p.stderr)
        assert out.exists() and not list(tmp_path.glob("r-seed*.h5"))
    p = _train(out, extra=["--copies", "2"])
    assert p.returncode == 0, p.stderr
    assert "resuming" in p.stderr and not out.exists()      # the batch's checkpoint is gone
    for seed in (3, 4):
        arrays, counts, scalars, _ = _snapshot(tmp_path / f"r-seed{seed}.h5")
        ref_arrays, ref_counts, ref_scalars, _ = _snapshot(tmp_path / "ref" / f"r-seed{seed}.h5")
        for name, value in ref_arrays.items():
            np.testing.assert_array_equal(arrays[name], value, err_msg=f"seed {seed} {name}")
        assert counts == ref_counts and scalars == ref_scalars
    # the copies differ from each other, and from the single network with seed 3 (other input noise)
    a3, a4 = (_snapshot(tmp_path / f"r-seed{s}.h5")[0] for s in (3, 4))
    assert not np.array_equal(a3["weights"], a4["weights"])
    assert not np.array_equal(a3["weights"], uninterrupted[0]["weights"])
