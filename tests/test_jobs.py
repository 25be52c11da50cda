"""The job runner: dependencies, groups, cache, Dask equal to serial, a killed sweep resumes."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brian_snn import jobs as J

ROOT = Path(__file__).resolve().parents[1]


def square_plus_input(job):
    """A job: x^2, plus the 'value' of the job it depends on; a state array to cache."""
    extra = job["input"]["value"] if "input" in job else 0
    log = os.environ.get("JOBS_TEST_LOG")
    if log:
        with open(log, "a") as f:
            f.write(job["key"] + "\n")
        if job.get("x") == int(os.environ.get("JOBS_TEST_KILL_AT", -1)):
            os.kill(os.getpid(), signal.SIGKILL)
    return {"value": job["x"] ** 2 + extra, "pid": os.getpid(), "state": {"w": np.full(3, float(job["x"]))}}


def plan():
    """Six jobs: 0..5; odd x depend on x-1; groups by x // 2 (a trained job and its test share one)."""
    jobs = []
    for x in range(6):
        d = {"x": x, "group": x // 2}
        d["key"] = J.job_key(d, "code-v1")
        if x % 2:
            d["after"] = jobs[-1]["key"]
        jobs.append(d)
    return jobs


def expected():
    return {x: x * x + ((x - 1) ** 2 if x % 2 else 0) for x in range(6)}


def test_serial_run_follows_dependencies_and_caches(tmp_path):
    jobs = plan()
    res = J.run_jobs(jobs, square_plus_input, tmp_path / "cache", log=lambda *a: None)
    assert {j["x"]: res[j["key"]]["value"] for j in jobs} == expected()
    np.testing.assert_array_equal(res[jobs[4]["key"]]["state"]["w"], [4.0, 4.0, 4.0])
    logs = []
    again = J.run_jobs(jobs, square_plus_input, tmp_path / "cache", log=logs.append)
    assert logs == [f"reusing 6 finished job(s) from {tmp_path / 'cache'}"]
    assert {k: r["value"] for k, r in again.items()} == {k: r["value"] for k, r in res.items()}


def test_key_changes_with_the_code_and_description():
    d = {"x": 1, "group": 0}
    assert J.job_key(d, "a") == J.job_key(dict(d), "a") != J.job_key(d, "b")
    assert J.job_key(d, "a") != J.job_key(dict(d, x=2), "a")


def test_bad_plans_are_refused():
    jobs = plan()
    with pytest.raises(ValueError, match="not planned"):
        J.run_jobs(jobs[1:], square_plus_input)
    with pytest.raises(ValueError, match="same key"):
        J.run_jobs(jobs + jobs[:1], square_plus_input)


def test_dask_run_equals_serial_run(tmp_path):
    pytest.importorskip("dask.distributed")
    jobs = plan()
    serial = J.run_jobs(jobs, square_plus_input, tmp_path / "a", log=lambda *a: None)
    logs = []
    dask = J.run_jobs(jobs, square_plus_input, tmp_path / "b", workers=2, log=logs.append)
    assert {k: r["value"] for k, r in dask.items()} == {k: r["value"] for k, r in serial.items()}
    assert len(logs) == 6 and logs[-1].startswith("[6/6]")
    # a group ran in one process (the trained job and the job that uses its result)
    for a, b in zip(jobs[::2], jobs[1::2]):
        assert dask[a["key"]]["pid"] == dask[b["key"]]["pid"]
    assert sorted(p.name for p in (tmp_path / "b").glob("*.json")) == sorted(f"{j['key']}.json" for j in jobs)


_SWEEP = """
import sys
sys.path.insert(0, sys.argv[2])
import test_jobs as T
from brian_snn import jobs as J
J.run_jobs(T.plan(), T.square_plus_input, sys.argv[1], log=lambda *a: None)
"""


def test_a_killed_sweep_resumes_losing_only_the_job_in_flight(tmp_path):
    log = tmp_path / "evaluated.txt"
    env = dict(os.environ, JOBS_TEST_LOG=str(log), JOBS_TEST_KILL_AT="3")
    cmd = [sys.executable, "-c", _SWEEP, str(tmp_path / "cache"), str(ROOT / "tests")]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == -signal.SIGKILL, p.stderr
    keys = {j["x"]: j["key"] for j in plan()}
    assert log.read_text().split() == [keys[x] for x in (0, 1, 2, 3)]     # killed inside job 3
    log.write_text("")
    p = subprocess.run(cmd, env=dict(env, JOBS_TEST_KILL_AT="-1"), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert log.read_text().split() == [keys[x] for x in (3, 4, 5)]        # 0..2 reused, 3 re-run
    res = J.run_jobs(plan(), square_plus_input, tmp_path / "cache", log=lambda *a: None)
    assert {x: res[k]["value"] for x, k in keys.items()} == expected()
    assert json.loads((tmp_path / "cache" / f"{keys[3]}.json").read_text())["value"] == expected()[3]

