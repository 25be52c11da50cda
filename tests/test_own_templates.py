"""Our code-object templates (brian_snn/standalone_templates.py, brian_snn/cpp/templates/) give the
same bits as Brian2's own (issue 28): a pathway whose events reach all its synapses walks them in
memory order, a condition's leading shared/linked conjuncts are tested once per step, a
deterministic condition is evaluated for all neurons before the events are collected, and a
pathway declared frozen-inert runs only its transmission while its learning flag is 0, and a pure
transmission adds whole rows of all-to-all weights in one loop."""
import re

import numpy as np

from brian_snn import standalone_templates as st
from brian_snn.backend import check_compiler
from brian_snn.models.diehl_cook import STDP_ON_PRE, W_HIGH, W_LOW, counting_changes

# Diehl & Cook's normalisation with its change count (models/diehl_cook.py: NORMALISE, counting_changes)
NORMALISE = """w_new = w * norm_post / (wsum_post + 1e-12)
nchanged_post += real_post * int(w_new != w)
w = w_new
"""
# order-sensitive: another order of the same events gives other bits
ON_PRE = """x_post = x_post * 1.0001 + w
w = clip(w - 0.01 * x_post, 0, 1)
"""
TARGET = """x : 1
wsum : 1
nchanged : 1
real : 1
xthr : 1
norm : 1 (shared)
plastic : 1 (shared)
boundary : 1 (linked)
"""


def _run(directory, ours):
    from brian2 import (Network, NeuronGroup, SpikeMonitor, Synapses, defaultclock, device, linked_var, ms,
                        seed, set_device, Hz)
    set_device("cpp_standalone", build_on_run=False, directory=str(directory))
    device.reinit()
    device.activate(build_on_run=False, directory=str(directory))
    defaultclock.dt = 0.5 * ms
    seed(11)                                   # the same draws in both builds
    rng = np.random.default_rng(7)
    n_in, n_tgt = 24, 9
    # two controllers (as two copies): the input is on 6 steps in 10, a boundary every 25 steps
    ctrl = NeuronGroup(2, "k : integer\non : 1\nboundary : 1", name="ctrl")
    ctrl.run_regularly("k += 1\non = int((k + 3 * i) % 10 < 6)\nboundary = int((k + 5 * i) % 25 == 0)", when="start")
    copy_of = {n: np.repeat([0, 1], [n // 2, n - n // 2]) for n in (24, 9)}
    # an input as the models' (a linked 'on', zero rates skipped before the draw)
    inp = NeuronGroup(n_in, "rate : Hz\non : 1 (linked)", threshold="on > 0.5 and rate > 0*Hz and rand() < rate*dt",
                      name="inp")
    inp.on = linked_var(ctrl, "on", index=copy_of[n_in])
    inp.rate = np.where(rng.random(n_in) < 0.3, 0, rng.uniform(100, 400, n_in)) * Hz
    # new rates (some zero) every 7 ms, as a new sample's
    inp.run_regularly("u = rand()\nrate = int(u > 0.3) * (100 + 400 * (u - 0.3)) * Hz", dt=7 * ms, when="start")
    groups, synapses = [], []
    # 'all': every neuron renormalises at a boundary (memory order); 'some': those with large x (queue order)
    for name, extra in (("all", ""), ("some", " and x > xthr")):
        tgt = NeuronGroup(n_tgt, TARGET, events={"renorm": "plastic > 0.5 and boundary > 0.5" + extra},
                          name=f"tgt_{name}")
        # 'all' reads one controller, 'some' two
        tgt.boundary = linked_var(ctrl, "boundary", index=copy_of[n_tgt] if name == "some" else np.zeros(n_tgt, dtype=int))
        tgt.plastic, tgt.norm, tgt.real = 1, 3.0, 1
        tgt.wsum = rng.uniform(2, 4, n_tgt)
        tgt.xthr = rng.uniform(0, 40, n_tgt)
        s = Synapses(inp, tgt, "w : 1", on_pre={"pre": ON_PRE}, on_post={"normalise": NORMALISE},
                     on_event={"pre": "spike", "normalise": "renorm"}, name=f"syn_{name}")
        s.connect()
        s.w = rng.random(n_in * n_tgt) * 0.3
        s.delay = rng.integers(0, 5, n_in * n_tgt) * 0.5 * ms
        groups.append(tgt)
        synapses.append(s)
    # Diehl & Cook's depression at input spikes, declared inert while 'plastic' is 0; the flag
    # alternates every 10 ms, so both the frozen path and Brian2's loop run; some weights start
    # above wmax (as normalisation can leave them), which clip() pulls back only while learning
    stdp = NeuronGroup(n_tgt, "ge : 1\nxpost1 : 1\nwsum : 1\nnchanged : 1\nreal : 1\nplastic : 1 (shared)",
                       threshold="ge > 4", reset="ge = 0", refractory=1 * ms, name="tgt_stdp")
    stdp.run_regularly("plastic = int(t / (10*ms)) % 2\nxpost1 = xpost1 * 0.9 + 0.5 * rand()", when="start")
    stdp.real, stdp.wsum = 1, rng.uniform(2, 4, n_tgt)
    # ... and a potentiation at the target's spikes, declared inert while frozen (no transmission)
    potentiate = f"w_new = clip(w + 0.02 * xpost1_post * plastic_post, {W_LOW}, {W_HIGH})\nwsum_post += w_new - w\nw = w_new"
    s = Synapses(inp, stdp, "w : 1\neta_depress : 1 (shared)", on_pre={"pre": counting_changes(STDP_ON_PRE)},
                 on_post={"post": counting_changes(potentiate)}, namespace={"wmax": 1.0}, name="syn_stdp")
    s.connect()
    s.w = rng.uniform(0, 1.2, n_in * n_tgt)
    s.eta_depress = 0.01
    s.delay = rng.integers(0, 5, n_in * n_tgt) * 0.5 * ms
    st.declare_frozen_transmission(s.pre, "plastic_post", "ge_post", "w")
    st.declare_frozen_transmission(s.post, "plastic_post")
    groups.append(stdp)
    synapses.append(s)
    # pure transmissions onto one target: all-to-all with one delay (whole rows, added row by row),
    # with heterogeneous delays and sparse (Brian2's loop); weights over six decades, so that
    # another order of the additions would give other bits
    dense = NeuronGroup(n_tgt, "ge : 1", name="tgt_dense")
    rows = []
    for name, p in (("rows", 1.0), ("rows_delayed", 1.0), ("sparse", 0.5)):
        r = Synapses(inp, dense, "w : 1", on_pre="ge_post += w", name=f"syn_{name}")
        r.connect(p=p)
        r.w = "10**(6 * rand() - 3)"
        if name == "rows_delayed":
            r.delay = "int(3 * rand()) * 0.5*ms"
        rows.append(r)
    mon = SpikeMonitor(inp)
    net = Network(ctrl, inp, *groups, *synapses, dense, *rows, mon)
    changed = st.install(net.objects) if ours else []
    net.run(60 * ms)
    device.build(directory=str(directory), compile=True, run=True)
    state = [np.array(mon.i[:]), np.array(mon.t[:] / ms), np.array(dense.ge[:])]
    for tgt, s in zip(groups, synapses):
        state += [np.array(tgt.ge[:] if "ge" in tgt.variables else tgt.x[:]), np.array(tgt.nchanged[:]),
                  np.array(s.w[:]), np.array(tgt.wsum[:])]
    # (a second build in one process numbers its code objects: name_codeobject_1.cpp)
    code = {re.sub(r"_\d+\.cpp$", ".cpp", p.name): p.read_text() for p in (directory / "code_objects").glob("*.cpp")}
    return state, sorted(changed), code


def test_own_templates_are_installed_and_bit_identical(tmp_path):
    check_compiler()
    theirs, _, their_code = _run(tmp_path / "brian", ours=False)
    mine, changed, my_code = _run(tmp_path / "ours", ours=True)
    assert changed == ["inp_spike_thresholder", "syn_all_normalise", "syn_rows_delayed_pre", "syn_rows_pre",
                       "syn_some_normalise", "syn_sparse_pre", "syn_stdp_post", "syn_stdp_pre",
                       "tgt_all_renorm_thresholder", "tgt_some_renorm_thresholder", "tgt_stdp_spike_thresholder"]
    assert "whole rows added in one loop" in my_code["syn_rows_pre_codeobject.cpp"]
    assert "the conditions first" in my_code["tgt_stdp_spike_thresholder_codeobject.cpp"]
    assert "frozen: the transmission alone" in my_code["syn_stdp_pre_codeobject.cpp"]
    assert "frozen: nothing to do" in my_code["syn_stdp_post_codeobject.cpp"]
    assert "frozen:" not in their_code["syn_stdp_pre_codeobject.cpp"] + their_code["syn_stdp_post_codeobject.cpp"]
    assert "in memory order (brian_snn" in my_code["syn_all_normalise_codeobject.cpp"]
    assert "in memory order (brian_snn" not in their_code["syn_all_normalise_codeobject.cpp"]
    assert "stored row by row" in my_code["syn_all_normalise_codeobject.cpp"]     # all-to-all: rows
    assert "on > 0.5, tested once" in my_code["inp_spike_thresholder_codeobject.cpp"]
    assert "rate > 0 * Hz for every neuron first" in my_code["inp_spike_thresholder_codeobject.cpp"]
    assert "plastic > 0.5 and boundary > 0.5, tested once" in my_code["tgt_some_renorm_thresholder_codeobject.cpp"]
    assert len(theirs[0]) > 20 and all(np.abs(a).sum() > 0 for a in theirs[2:])   # spikes, events, changes
    assert theirs[8].min() < theirs[8].max()      # 'some': boundaries where only some neurons renormalised
    assert theirs[12].sum() > 0                   # stdp: learning changed weights between the frozen stretches
    assert (theirs[11] == 0).any()                # the targets spiked (ge reset to 0): the potentiation ran
    # stdp's wsum (the last array) is the one exception: frozen, Brian2's loop still computes
    # wsum += w_new - w with w_new == w, which -ffast-math may reassociate into (wsum + w_new) - w
    # and round; the frozen path leaves wsum exactly as it was.  Everything else: the same bits.
    for a, b in zip(theirs[:-1], mine[:-1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(mine[-1], theirs[-1], rtol=1e-12, atol=0)


def test_what_each_model_gets():
    """Installed where they are exact: Diehl & Cook's and SpikeDyn's normalisation (a count of changes
    only), not a pathway that sums weight changes (ASP's leak, SpikeDyn's relaxation) or draws random
    numbers (quantised weights); guards only on shared/linked conjuncts; the frozen paths on Diehl &
    Cook's and ASP's input pathways and SpikeDyn's potentiation (its input transmission has nothing
    to skip), not with quantised weights (their rounding draws a random number even when frozen)."""
    from brian2 import device, set_device
    from brian_snn.backend import CppBackend
    from brian_snn.data import load_embedded
    from brian_snn.encoding import Presentation
    from brian_snn.experiments.train_eval import image_table
    from brian_snn.models import get_model_spec
    set_device("cpp_standalone", build_on_run=False)
    device.reinit()
    device.activate(build_on_run=False)
    common = ["_controller_spike_thresholder", "exc_renorm_thresholder", "exc_spike_thresholder",
              "input_spike_thresholder"]
    expect = {("diehl-cook", ()): common + ["inh_spike_thresholder", "input_exc_normalise", "input_exc_post",
                                            "input_exc_pre"],
              ("spikedyn", ()): common + ["input_exc_normalise", "input_exc_post", "input_exc_pre"],
              ("spikedyn", (("decay", 0.1),)): common + ["exc_unused_thresholder", "input_exc_normalise",
                                                         "input_exc_post", "input_exc_pre"],
              ("asp", ()): common + ["inh_spike_thresholder", "input_exc_normalise", "input_exc_post",
                                     "input_exc_pre"],
              ("diehl-cook", (("weight_bits", 4),)): common + ["inh_spike_thresholder"]}
    table = image_table(load_embedded())
    for (model, kw), names in expect.items():
        spec = get_model_spec(model, n_exc=10, **dict(kw))
        be = CppBackend(chunk_slots=2)
        images = be.blank_table(table)
        asm = be._assemble(spec, images, be.blank_order(spec, images), Presentation())
        assert sorted(st.install(asm.net.objects)) == sorted(names), (model, kw)
        guard = asm.model.exc.thresholder["renorm"].template_kwds["brian_snn_guard"]
        assert guard["cpp"] == "(plastic > 0.5) && (boundary > 0.5)" and guard["linked"] == ["boundary"]
        pixels = asm.model.input_group.thresholder["spike"].template_kwds["brian_snn_guard"]
        assert pixels["prefilter"] == "(rate > 0.0)" and pixels["prefilter_names"] == ["rate"]


def test_two_pass_only_for_deterministic_conditions():
    """A condition that draws random numbers, directly or through a subexpression, keeps Brian2's
    single loop (the draws must stay interleaved with the tests); a deterministic one, also through
    a subexpression, gets the two passes."""
    from brian2 import NeuronGroup, ms
    eqs = "v : 1\nu : 1\nvt = v - 0.1 * u : 1\nrate : Hz"
    cases = {"v > 1": True, "vt > 1 and abs(v) < 3": True, "v > rand()": False,
             "rand() < rate*dt": False, "v > 1 and rand() < 0.5": False}
    for cond, expected in cases.items():
        g = NeuronGroup(3, eqs, threshold=cond, reset="v = 0", refractory=1 * ms)
        assert st.deterministic_condition(g.thresholder["spike"]) is expected, cond
    noisy = NeuronGroup(3, "v : 1\nnoisy = v + 0.1 * rand() : 1", threshold="noisy > 1", reset="")
    assert st.deterministic_condition(noisy.thresholder["spike"]) is False
    # another neuron's refractoriness, which an earlier neuron's event writes in Brian2's loop
    from brian2 import linked_var
    peer = NeuronGroup(3, "v : 1\npeer_ok : boolean (linked)", threshold="v > 1 and peer_ok", reset="",
                       refractory=1 * ms)
    peer.peer_ok = linked_var(peer, "not_refractory", index=[1, 2, 0])
    assert st.deterministic_condition(peer.thresholder["spike"]) is False
    # drawn once per step by the state updater and stored: the condition reads a stored value
    stored = NeuronGroup(3, "v : 1\nnoisy = v + 0.1 * rand() : 1 (constant over dt)", threshold="noisy > 1",
                         reset="")
    assert st.deterministic_condition(stored.thresholder["spike"]) is True
