"""Our standalone spike queue (brian_snn/cpp/spikequeue.h: heterogeneous delays pushed one block per
delay) runs the synaptic code in exactly the order of Brian2's own queue (issue 28)."""
from contextlib import nullcontext

import numpy as np

from brian_snn.backend import SPIKE_QUEUE, check_compiler, standalone_patches


def _run(directory, ours):
    from brian2 import (Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses, defaultclock,
                        device, ms, set_device)
    set_device("cpp_standalone", build_on_run=False, directory=str(directory))
    device.reinit()
    device.activate(build_on_run=False, directory=str(directory))
    defaultclock.dt = 0.5 * ms
    rng = np.random.default_rng(5)
    n_src, n_tgt = 30, 9
    idx = rng.integers(0, n_src, 400)
    times = rng.integers(0, 60, 400) * 0.5
    keep = np.unique(np.stack([idx, times]), axis=1)          # one spike per (source, step)
    src = SpikeGeneratorGroup(n_src, keep[0].astype(int), keep[1] * ms)
    tgt = NeuronGroup(n_tgt, "x : 1")
    # order-sensitive: another order of the same events gives other bits
    s = Synapses(src, tgt, "w : 1", on_pre="x_post = x_post * 1.0001 + w")
    pre, post = np.nonzero((np.add.outer(np.arange(n_src), np.arange(n_tgt)) % 4) != 0)
    s.connect(i=pre, j=post)
    s.w = rng.random(len(pre)) + 1e-3
    s.delay = rng.integers(0, 21, len(pre)) * 0.5 * ms        # 0..10 ms, as the input delays
    mon = StateMonitor(tgt, "x", record=True)
    net = Network(src, tgt, s, mon)
    net.run(45 * ms)
    with (standalone_patches(device) if ours else nullcontext()):
        device.build(directory=str(directory), compile=True, run=True)
    return (np.array(mon.x[:]), (directory / "brianlib" / "spikequeue.h").read_text(),
            (directory / "network.cpp").read_text(), device._last_run_time)


def test_grouped_delay_queue_is_bit_identical_to_brians(tmp_path):
    check_compiler()
    theirs, their_queue, their_net, _ = _run(tmp_path / "brian", ours=False)
    mine, my_queue, my_net, run_time = _run(tmp_path / "ours", ours=True)
    assert my_queue == SPIKE_QUEUE.read_text() and their_queue != my_queue
    assert np.abs(theirs).sum() > 0
    np.testing.assert_array_equal(mine, theirs)


def _after_step(network_cpp):
    """From the end of a step's work to the end of the run: does the process clock get read
    inside the loop (before the loop's closing brace) or once after it?"""
    end = network_cpp.index("if(!did_break_early)")
    seg = network_cpp[network_cpp.rindex("clock = next_clocks();", 0, end):end]
    return seg.index("std::clock()") > seg.rindex("}")


def test_network_reads_the_process_clock_once_per_run_not_per_step(tmp_path):
    check_compiler()
    _, _, theirs, _ = _run(tmp_path / "brian", ours=False)
    mine, _, ours, run_time = _run(tmp_path / "ours", ours=True)
    assert not _after_step(theirs)                 # Brian 2.8: one system call per time step
    assert _after_step(ours)                       # ours: once, after the loop
    assert run_time > 0                            # the run's time is still measured
