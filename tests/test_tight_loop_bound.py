"""The throughput bound (benchmarks/bound/tight_loop.cpp) with and without the model's input delays
does the same counted work: the same Poisson draws and every input spike's events, once each."""
import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "benchmarks" / "bound" / "tight_loop.cpp"


@pytest.fixture(scope="module")
def bound(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    exe = tmp_path_factory.mktemp("bound") / "tight_loop"
    subprocess.run([cxx, "-O1", "-std=c++11", str(SRC), "-o", str(exe)], check=True)
    return exe


def run(exe, samples, steps, steps_on, in_spikes, delay_slots, n_in=20, n_exc=10):
    args = [samples, steps, steps_on, n_in, n_exc, n_exc, 500.0, in_spikes, 2.0, 2.0, 1, 50.0, 1, delay_slots]
    out = subprocess.run([str(exe), *map(str, args)], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[2]), int(out[3])


def test_delayed_bound_does_every_event_once(bound):
    # 30.5 input spikes per sample -> floor(30.5) = 30 spikes (the steps' shares telescope), 10
    # targets each; a 30-step rest lets the last events (delay up to 20 steps) arrive
    _, hits, events = run(bound, samples=3, steps=100, steps_on=70, in_spikes=30.5, delay_slots=0)
    _, hits_d, events_d = run(bound, samples=3, steps=100, steps_on=70, in_spikes=30.5, delay_slots=21)
    assert events == events_d == 3 * 30 * 10
    assert hits == hits_d > 0


def test_delayed_events_arrive_later(bound):
    # no rest: the events of the last sample's last spikes are still queued when the run ends
    _, _, events_d = run(bound, samples=1, steps=70, steps_on=70, in_spikes=70.0, delay_slots=21)
    assert 0 < 70 * 10 - events_d < 20 * 10 + 10
