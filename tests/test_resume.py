"""Exact resume: a training run interrupted anywhere (SIGKILL inside a chunk, SIGINT, SIGKILL inside
a checkpoint write, at an epoch boundary, inside the final write) and re-run with the same command
ends with exactly the arrays, counts and accuracy of the uninterrupted run.

The same kill at the moment a results file is written, for the other writers: ``nir run --out``
and ``hwmodel calibrate --out`` (no compiler needed): what was there before is whole or absent,
no empty or partial file is left to make a rerun refuse, and the same command then succeeds.

Each run is a separate ``brian-snn train`` (or ``hwmodel``) process; the faults are injected from
outside the package by a small driver (``_DRIVER``) that wraps the backend and ``os.replace``.
"""
import itertools
import json
import re
import shutil
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
# (the finished results); with "torn": true the temporary file is first cut to half its size, as a
# kill in the middle of writing it leaves it.  "files": the names whose renames count (default the
# name of argv[2]); "cli": "hwmodel.cli" runs hwmodel instead of brian-snn.
_DRIVER = r"""
import importlib, json, os, signal, sys
import h5py
plan, out = json.loads(sys.argv[1]), sys.argv[2]
# Ctrl-C as in a terminal, even when this test runs in a background job (which ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
seen = {"chunk": 0, "replace": 0}
real_replace = os.replace

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
    if "replace" in plan and os.path.basename(str(dst)) in plan.get("files", [os.path.basename(out)]):
        seen["replace"] += 1
        at = plan["replace"]
        if at == seen["replace"] or (isinstance(at, str) and at == what(src)):
            if plan.get("torn") and os.path.isfile(src):
                os.truncate(src, os.path.getsize(src) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *a, **kw)

os.replace = replace
if "chunk" in plan:
    from brian_snn import backend
    real_run = backend.CppBackend.run_chunk
    backend.CppBackend.run_chunk = run_chunk
sys.exit(importlib.import_module(plan.get("cli", "brian_snn.cli")).main(sys.argv[3:]))
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


@pytest.fixture(scope="module")
def batched_reference(uninterrupted, tmp_path_factory):
    """The folder of an uninterrupted --copies 2 run (r-seed3.h5, r-seed4.h5)."""
    ref = tmp_path_factory.mktemp("batched") / "r.h5"
    p = _train(ref, extra=["--copies", "2"])
    assert p.returncode == 0, p.stderr
    return ref.parent


def _same_copies(folder, reference):
    for seed in (3, 4):
        arrays, counts, scalars, _ = _snapshot(folder / f"r-seed{seed}.h5")
        ref_arrays, ref_counts, ref_scalars, _ = _snapshot(reference / f"r-seed{seed}.h5")
        for name, value in ref_arrays.items():
            np.testing.assert_array_equal(arrays[name], value, err_msg=f"seed {seed} {name}")
        assert counts == ref_counts and scalars == ref_scalars


def test_batched_copies_resume_bit_identical(uninterrupted, batched_reference, tmp_path):
    """--copies 2: the batch checkpoints into --out (both copies' positions, counts and states);
    killed inside a chunk and in a checkpoint write, it resumes to the uninterrupted copies."""
    out = tmp_path / "r.h5"
    for plan in ({"chunk": 2, "how": "kill"}, {"replace": 3}):
        p = _train(out, plan, extra=["--copies", "2"])
        assert p.returncode == -signal.SIGKILL, (plan, p.stderr)
        assert out.exists() and not list(tmp_path.glob("r-seed*.h5"))
    p = _train(out, extra=["--copies", "2"])
    assert p.returncode == 0, p.stderr
    assert "resuming" in p.stderr and not out.exists()      # the batch's checkpoint is gone
    _same_copies(tmp_path, batched_reference)
    # the copies differ from each other, and from the single network with seed 3 (other input noise)
    a3, a4 = (_snapshot(tmp_path / f"r-seed{s}.h5")[0] for s in (3, 4))
    assert not np.array_equal(a3["weights"], a4["weights"])
    assert not np.array_equal(a3["weights"], uninterrupted[0]["weights"])


def test_batched_copies_killed_while_their_files_are_written(batched_reference, tmp_path):
    """--copies 2 killed while the first copy's file is written (its temporary cut in half), then
    right after that file is in place: the batch's checkpoint stays, no partial or empty file is
    left, and the same command resumes to the uninterrupted copies (three compiled runs)."""
    out, copy_files = tmp_path / "r.h5", ["r-seed3.h5", "r-seed4.h5"]
    for k in (1, 2):                  # at the rename of copy 3's file, then of copy 4's
        p = _train(out, {"replace": k, "files": copy_files, "torn": True}, extra=["--copies", "2"])
        assert p.returncode == -signal.SIGKILL, (k, p.stderr)
        assert out.exists() and sorted(f.name for f in tmp_path.glob("r-seed*.h5")) == copy_files[:k - 1]
    p = _train(out, extra=["--copies", "2"])
    assert p.returncode == 0, p.stderr
    assert "resuming" in p.stderr and not out.exists()
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.lock"))
    _same_copies(tmp_path, batched_reference)


# -- the other writers: a kill at the moment their results are written (no compiler needed) --------
def _killed_at_each_rename(folder, args, files, check, cli="brian_snn.cli"):
    """Run ``args`` in ``folder`` killed at its 1st, 2nd, ... rename onto one of ``files`` (its
    temporary first cut in half, as a kill while writing it leaves it), ``check()`` after each kill,
    until a run finds no such rename left and finishes: the same command run again succeeds.
    Returns the number of kills."""
    for k in itertools.count(1):
        plan = {"replace": k, "files": files, "torn": True, "cli": cli}
        p = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps(plan), "-", *args], cwd=folder,
                           capture_output=True, text=True, timeout=300)
        if p.returncode == 0:
            break
        assert p.returncode == -signal.SIGKILL, (plan, p.returncode, p.stderr)
        check()
    assert not list(folder.glob("*.tmp")) and not list(folder.glob("*.lock"))     # nothing left behind
    return k - 1


def _nir_graph(folder):
    import nir
    rng = np.random.default_rng(8)
    lif = nir.LIF(tau=np.full(4, 5e-3), r=np.full(4, 5.0), v_leak=np.zeros(4), v_threshold=np.full(4, 0.3))
    nir.write(folder / "g.nir", nir.NIRGraph.from_list(nir.Affine(weight=rng.normal(1, 0.5, (4, 3)),
                                                                  bias=np.zeros(4)), lif))


NIR_RUN = ["nir", "run", "g.nir", "--random", "0.3", "--samples", "2", "--steps", "20", "--target", "loihi1",
           "--out", "o"]
NIR_FILES = ["o", "outputs.npz", "counts.json", "estimates.json"]     # the folder, or its files one by one


def _nir_outputs(folder):
    """What ``nir run --out`` wrote, file by file (a file that is not whole fails to load)."""
    with np.load(folder / "outputs.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return {"outputs.npz": arrays, **{n: json.loads((folder / n).read_text()) for n in NIR_FILES[2:]}}


def _same_file(name, a, b):
    if name == "outputs.npz":
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture
def nir_runs(tmp_path, monkeypatch):
    """The uninterrupted outputs of NIR_RUN (``new``) and of the same with another --seed (``old``),
    and a folder ``work`` holding the graph."""
    from brian_snn.cli import main
    runs = {}
    for name, extra in (("new", []), ("old", ["--seed", "1"])):
        (tmp_path / name).mkdir()
        _nir_graph(tmp_path / name)
        monkeypatch.chdir(tmp_path / name)
        assert main(NIR_RUN + extra) == 0
        runs[name] = _nir_outputs(tmp_path / name / "o")
    monkeypatch.chdir(tmp_path)
    assert not any(_same_file(n, runs["new"][n], runs["old"][n]) for n in runs["new"])
    (tmp_path / "work").mkdir()
    _nir_graph(tmp_path / "work")
    return tmp_path / "work", runs


@pytest.mark.parametrize("before", ["nothing", "an empty folder", "a previous run's files (--force)"])
def test_nir_run_killed_while_writing_its_outputs(nir_runs, before):
    """Killed at each rename of its outputs in turn: --out as it was (a new or empty folder is
    renamed in whole), or with --force each file whole, the previous run's or the new one; then the
    same command succeeds."""
    work, runs = nir_runs
    o, args = work / "o", NIR_RUN
    if before == "an empty folder":
        o.mkdir()
    elif before != "nothing":
        shutil.copytree(work.parent / "old" / "o", o)
        args = NIR_RUN + ["--force"]

    def check():
        if before == "nothing":
            assert not o.exists()
        elif before == "an empty folder":
            assert o.is_dir() and not list(o.iterdir())
        else:
            now = _nir_outputs(o)
            assert all(_same_file(n, now[n], runs["old"][n]) or _same_file(n, now[n], runs["new"][n]) for n in now)
    kills = _killed_at_each_rename(work, args, NIR_FILES, check)
    assert kills >= (1 if before in ("nothing", "an empty folder") else 3)     # with --force: between files too
    assert all(_same_file(n, v, runs["new"][n]) for n, v in _nir_outputs(o).items())


@pytest.mark.parametrize("before", ["nothing", "a previous file (--force)"])
def test_hwmodel_calibrate_killed_while_writing_its_out(tmp_path, monkeypatch, before):
    """Killed while writing cal.toml (its temporary cut in half, before the rename): the previous
    file whole or none; then the same command succeeds."""
    from hwmodel.cli import main as hw_main
    from test_cuda_calibrate import synthetic
    for folder in (tmp_path / "ref", tmp_path / "work"):
        folder.mkdir()
        (folder / "m.json").write_text(json.dumps(synthetic()))
    args = ["calibrate", "m.json", "--out", "cal.toml"]
    monkeypatch.chdir(tmp_path / "ref")
    assert hw_main(args) == 0
    expected = (tmp_path / "ref" / "cal.toml").read_bytes()
    work, previous = tmp_path / "work", b"# an earlier calibration\n"
    if before != "nothing":
        (work / "cal.toml").write_bytes(previous)
        args = args + ["--force"]

    def check():
        if before == "nothing":
            assert not (work / "cal.toml").exists()
        else:
            assert (work / "cal.toml").read_bytes() == previous
    assert _killed_at_each_rename(work, args, ["cal.toml"], check, cli="hwmodel.cli") == 1
    assert (work / "cal.toml").read_bytes() == expected



# -- the checkpoint check (no compiler): a tampered checkpoint is refused, naming what -------------
def _checkpoint_file(path, config, n_train=30, meta=None, state=None, drop=()):
    """A checkpoint of ``config`` as ``train --out`` writes it, mid-epoch 1, with ``meta`` and
    ``state`` entries changed and the state entries ``drop`` removed; returns (file, fresh state)."""
    from brian_snn.experiments.train_eval import CHECKPOINT_FORMAT, _config_dict, initial_state
    from brian_snn.models import get_model_spec
    from brian_snn.store import write_results
    spec = get_model_spec(config.model, n_exc=config.n_exc, n_input=784)
    fresh = initial_state(spec, config.seed)
    st = dict(fresh, v=np.full(config.n_exc, -0.065))
    st.update(state or {})
    for k in drop:
        st.pop(k)
    m = {"config_key": config.key(), "format": CHECKPOINT_FORMAT, "data_sha256": "ab" * 32, "epoch": 0,
         "position": 12, "chunk": 1, "counts": None, "sim_s": 0.5, "counts_before": None, "timings": {}}
    m.update(meta or {})
    write_results(path, {"config": _config_dict(config), "checkpoint": {"meta": m, "state": st}})
    return path, fresh


TAMPERED = {
    "untouched": ({}, None),
    "written before data fingerprints": ({"meta": {"data_sha256": None}}, None),
    "other data": ({"meta": {"data_sha256": "cd" * 32}}, "its checkpoint was trained on other data"),
    "position 10^9": ({"meta": {"position": 10 ** 9}}, "position 1000000000 is not in [0, 30]"),
    "position -50": ({"meta": {"position": -50}}, "position -50 is not in [0, 30]"),
    "position a float": ({"meta": {"position": 1.5}}, "position 1.5 is not in [0, 30]"),
    "epoch past the run": ({"meta": {"epoch": 3}}, "epoch 3 is not in [0, 2]"),
    "chunk not a count": ({"meta": {"chunk": "x"}}, "chunk 'x' is not a count"),
    "NaN weights": ({"state": {"w": np.full(7840, np.nan)}}, "state 'w' holds non-finite values"),
    "no theta": ({"drop": ["theta"]}, "state 'theta' is missing"),
    "transposed-size weights": ({"state": {"w": np.zeros(100)}}, "state 'w' has shape (100,), expected (7840,)"),
    "text in the state": ({"state": {"v": np.array([b"ab"] * 10)}}, "state 'v' holds |S2 values"),
}


@pytest.mark.parametrize("change, refused", TAMPERED.values(), ids=TAMPERED.keys())
def test_checkpoint_check_refuses_a_tampered_checkpoint(tmp_path, change, refused):
    from brian_snn.experiments.train_eval import TrainConfig, _has_checkpoint, check_checkpoint
    config = TrainConfig(n_exc=10, epochs=2, seed=3)
    path, fresh = _checkpoint_file(tmp_path / "r.h5", config, **change)
    assert _has_checkpoint(path, config)
    ck = read_results(path)["checkpoint"]
    if refused is None:
        check_checkpoint(ck, path, config, fresh, 30, "ab" * 32)
        return
    with pytest.raises(ValueError, match=re.escape(refused)) as e:
        check_checkpoint(ck, path, config, fresh, 30, "ab" * 32)
    assert str(e.value).startswith(f"{path}: its checkpoint") and "--no-resume" in str(e.value)
    assert "\n" not in str(e.value)


def test_checkpoint_of_batched_copies_needs_a_position_per_copy(tmp_path):
    from brian_snn.experiments.train_eval import TrainConfig, check_checkpoint
    config = TrainConfig(n_exc=10, epochs=1, seed=3, copies=2)
    for positions, ok in (([12, 30], True), ([12], False), ([12, -1], False), (12, False)):
        path, fresh = _checkpoint_file(tmp_path / "r.h5", config, meta={"position": positions})
        ck = read_results(path)["checkpoint"]
        if ok:
            check_checkpoint(ck, path, config, fresh, 30, "ab" * 32)
        else:
            with pytest.raises(ValueError, match=r"position .* is not in \[0, 30\]"):
                check_checkpoint(ck, path, config, fresh, 30, "ab" * 32)


def test_checkpoint_of_another_configuration_or_format_is_not_resumed(tmp_path):
    """Another configuration (its key): not this run's checkpoint (the output check refuses to
    overwrite it without --force); an older checkpoint format: refused in one line."""
    from brian_snn.experiments.train_eval import TrainConfig, _has_checkpoint
    config = TrainConfig(n_exc=10, epochs=2, seed=3)
    path, _ = _checkpoint_file(tmp_path / "r.h5", config, meta={"config_key": TrainConfig(n_exc=10, seed=4).key()})
    assert not _has_checkpoint(path, config)
    path, _ = _checkpoint_file(tmp_path / "r.h5", config, meta={"format": 1})
    with pytest.raises(ValueError, match="written by an older brian-snn"):
        _has_checkpoint(path, config)
