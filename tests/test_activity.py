"""Exact activity counts: recomputed independently from full spike records and connectivity."""
import numpy as np
import pytest
from brian2 import (EventMonitor, NeuronGroup, Network, SpikeGeneratorGroup, SpikeMonitor, Synapses, defaultclock,
                    device, ms, prefs, set_device)

from brian_snn.activity import ActivityCounter, gpu_structure, kernels_per_step


def user_network():
    """A small network a user might write: deterministic input spikes, LIF, STDP, delays, an
    extra custom-event pathway, and a bookkeeping object that must not be counted."""
    rng = np.random.default_rng(3)
    n_in, n_out, steps = 20, 8, 400
    pairs = np.unique(np.stack([rng.integers(0, n_in, 400), rng.integers(0, steps, 400)]), axis=1)
    idx, times = pairs[0], pairs[1] * 0.5 * ms
    inp = SpikeGeneratorGroup(n_in, idx, times, name="inp")
    out = NeuronGroup(n_out, """dv/dt = -v / (10*ms) : 1
                                dxpost/dt = -xpost / (20*ms) : 1""",
                      threshold="v > 1", reset="v = 0; xpost += 1", refractory=2 * ms,
                      events={"big": "v > 0.8"}, method="exact", name="out")
    syn = Synapses(inp, out, """w : 1
                                dxpre/dt = -xpre / (20*ms) : 1 (event-driven)""",
                   on_pre={"pre": "v_post += w; xpre += 1; w = clip(w - 0.01*xpost_post, 0, 1)"},
                   on_post={"post": "w = clip(w + 0.01*xpre, 0, 1)", "decay": "w = w * 0.999"},
                   on_event={"pre": "spike", "post": "spike", "decay": "big"}, name="syn")
    syn.connect(condition="(i * 7 + j * 3) % 5 < 2")
    syn.w = "0.3 + 0.02 * ((i + j) % 7)"
    syn.delay = "((i * 3 + j) % 4) * 1*ms"
    rec = Synapses(out, out, on_pre="v_post -= 0.2", name="rec")
    rec.connect(condition="i != j")
    book = NeuronGroup(1, "n : 1", name="_book")
    tally = Synapses(out, book, on_pre="n_post += 1", name="_tally")
    tally.connect()
    return [inp, out, syn, rec, book, tally], steps


def test_counts_equal_recount_from_full_spike_record():
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.5 * ms
    objs, steps = user_network()
    net = Network(objs)
    full = {g.name: SpikeMonitor(g, record=True) for g in objs[:2]}
    big = EventMonitor(objs[1], "big", record=True)
    net.add(*full.values(), big)
    counter = ActivityCounter(net)
    net.run(steps * 0.5 * ms)
    c = counter.counts("training", samples=1, steps=steps, dt_s=0.5e-3)

    syn, rec = objs[2], objs[3]
    pre_i, post_j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    out_deg = np.bincount(pre_i, minlength=20)
    in_deg = np.bincount(post_j, minlength=8)
    in_spk = np.asarray(full["inp"].i[:])
    out_spk = np.asarray(full["out"].i[:])
    big_ev = np.asarray(big.i[:])
    assert len(out_spk) > 5 and len(big_ev) > len(out_spk)      # the test exercises something

    assert [p.name for p in c.populations] == ["inp", "out"]     # bookkeeping left out
    assert c.population("inp").spikes == len(in_spk)
    assert c.population("out").spikes == len(out_spk)
    assert c.population("out").neuron_updates == 8 * steps
    s = c.pathway("syn")
    assert s.n_synapses == len(pre_i)
    assert s.synaptic_events == sum(out_deg[k] for k in in_spk)
    expected_plastic = (sum(out_deg[k] for k in in_spk) + sum(in_deg[k] for k in out_spk)
                        + sum(in_deg[k] for k in big_ev))
    assert s.plasticity_updates == expected_plastic and s.plastic
    r = c.pathway("rec")
    assert r.synaptic_events == 7 * len(out_spk) and r.plasticity_updates == 0 and not r.plastic
    # inference: same events, no plasticity updates
    ci = counter.counts("inference", samples=1, steps=steps, dt_s=0.5e-3)
    assert ci.pathway("syn").plasticity_updates == 0
    assert ci.pathway("syn").synaptic_events == s.synaptic_events


def _counts_on(device_name, tmp_path):
    if device_name == "cpp_standalone":
        set_device("cpp_standalone", directory=str(tmp_path / "cpp"), build_on_run=True)
        device.reinit()             # another test may have used the standalone device
        device.activate(directory=str(tmp_path / "cpp"), build_on_run=True)
    else:
        prefs.codegen.target = "numpy"
    defaultclock.dt = 0.5 * ms
    objs, steps = user_network()
    net = Network(objs)
    counter = ActivityCounter(net)
    net.run(steps * 0.5 * ms)
    return counter.counts("training", samples=1, steps=steps, dt_s=0.5e-3)


def test_runtime_and_cpp_counts_agree_exactly(tmp_path):
    from brian_snn.backend import BackendError, check_compiler
    try:
        check_compiler()
    except BackendError as e:
        pytest.skip(str(e))
    runtime = _counts_on("runtime", tmp_path)
    cpp = _counts_on("cpp_standalone", tmp_path)
    assert cpp.to_dict() == runtime.to_dict()
    assert runtime.spikes > 0 and runtime.plasticity_updates > 0


def test_counts_carry_kernels_per_step_counted_by_hand():
    """kernels_per_step in every record = what brian2cuda launches: 2 per thresholder, 1 per other
    code object, 1 per pathway (+2 with heterogeneous delays, else one host copy per step)
    (brian_snn.activity.gpu_structure), counted here by hand."""
    from hwmodel.counts import Counts
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.5 * ms
    g = NeuronGroup(5, "dv/dt = (1.5 - v) / (5*ms) : 1", threshold="v > 1", reset="v = 0",
                    method="exact", name="g")
    s = Synapses(g, g, on_pre="v_post += 0.1", name="s")
    s.connect(condition="i != j")
    net = Network(g, s)
    counter = ActivityCounter(net)
    net.run(10 * ms)
    c = counter.counts("inference", samples=1)
    assert c.spikes > 0
    # state updater 1 + thresholder 2 + resetter 1 + pathway s_pre 1 (effect; no delays: a host copy) = 5
    assert c.extra == {"kernels_per_step": 5, "host_copies_per_step": 1, "simulator": "brian2", "float_bits": 64}
    d = c.to_dict()
    assert d["kernels_per_step"] == 5 and d["simulator"] == "brian2"          # top-level keys
    assert Counts.from_json(c.to_json()).extra["kernels_per_step"] == 5
    # the caller's values win
    assert counter.counts("inference", extra={"kernels_per_step": 3, "simulator": "genn"}).extra == \
        {"kernels_per_step": 3, "simulator": "genn", "float_bits": 64}

    # more objects: a group without differential equations has no state-update code (threshold
    # 2 + reset 1), a run_regularly operation 1, a monitor 1, an event-triggered pathway 1, a
    # pathway with heterogeneous delays 3 (effect, queue advance, push); bookkeeping ("_...") 0
    src = NeuronGroup(3, "on : 1", threshold="on > 0.5", reset="on = 0", name="src")
    g2 = NeuronGroup(2, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0",
                     events={"half": "v > 0.5"}, method="exact", name="g2")
    g2.run_regularly("v = v * 0.9", dt=1 * ms, name="leak")
    s2 = Synapses(src, g2, on_pre={"pre": "v_post += 0.6"}, on_post={"half": "v_post -= 0.01"},
                  on_event={"pre": "spike", "half": "half"}, name="s2")
    s2.connect()
    mon = SpikeMonitor(g2, name="g2_spikes")
    book = NeuronGroup(1, "n : 1", name="_book")
    tally = Synapses(g2, book, on_pre="n_post += 1", name="_tally")
    tally.connect()
    # 5 as above + src 3 + g2 (state updater 1, spike and half thresholders 2 + 2, reset 1, leak 1) 7
    # + s2 (pre, half) 2 + monitor 1
    assert kernels_per_step([g, s, src, g2, s2, mon, book, tally]) == 5 + 3 + 7 + 2 + 1
    assert gpu_structure([g, s, src, g2, s2, mon, book, tally]) == (18, 3)
    s2.delay = "j * ms"             # its "pre" pathway gets a device spike queue (+2) and no host copy (-1)
    assert gpu_structure([g, s, src, g2, s2, mon, book, tally]) == (20, 2)
    for o in (src, g2, s2, mon, book, tally):
        o._network = 0                            # never run on purpose: no "unused object" warnings
