"""NIR graphs in and out: node-by-node equivalence of ``from_nir``'s Brian2 simulation (runtime target)
with an independent numpy integration of NIR's equations, a graph built with the ``nir`` package's own
API, the SOLSA export and its round trip, pricing, and the errors for bad graphs and files."""
import json

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from brian_snn.nir import NirError, from_nir, run_nir          # noqa: E402

DT = 1e-3


# ----------------------------------------------------------------- the independent reference
def reference(nodes, x, dt=DT):
    """Integrate a feed-forward chain by hand.  ``nodes``: list of (kind, params) applied in order,
    kind "W" (params: weight, bias) or a neuron type.  The input of each node is held constant over a
    step (a spike = 1 for one step); the exact solution over one step of the linear ODE is written
    out below (no Brian2, no shared code).  Returns the value after every node: [samples, T, n]."""
    S, T, _ = x.shape
    outs = []
    sig = x
    for kind, p in nodes:
        if kind == "W":
            sig = sig @ np.asarray(p["weight"]).T + p.get("bias", 0.0)
            outs.append(sig)
            continue
        n = sig.shape[2]
        res = np.zeros((S, T, n))
        for s in range(S):
            v = np.array(p.get("v_leak", np.zeros(n)), dtype=float).copy()      # rest
            I = np.zeros(n)
            for t in range(T):
                xt = sig[s, t]
                if kind in ("LIF", "LI"):
                    a = np.exp(-dt / p["tau"])
                    u = p["v_leak"] + p["r"] * xt                   # the fixed point for this step's input
                    v = u + (v - u) * a
                elif kind in ("CubaLIF", "CubaLI"):
                    ts, tm = p["tau_syn"], p["tau_mem"]
                    a_s, a_m = np.exp(-dt / ts), np.exp(-dt / tm)
                    Iinf = p["w_in"] * xt
                    dev = I - Iinf                                  # I(s) = Iinf + dev e^{-s/ts}
                    with np.errstate(divide="ignore", invalid="ignore"):
                        kappa = np.where(ts == tm, dt / tm * a_m, ts * (a_s - a_m) / (ts - tm))
                    u = p["v_leak"] + p["r"] * Iinf
                    v = u + (v - u) * a_m + p["r"] * dev * kappa
                    I = Iinf + dev * a_s
                elif kind in ("IF", "I"):
                    v = v + p["r"] * xt * dt
                if kind in ("LIF", "CubaLIF", "IF"):
                    z = v > p["v_threshold"]
                    v = np.where(z, p.get("v_reset", 0.0), v)
                    res[s, t] = z
                else:
                    res[s, t] = v
        sig = res
        outs.append(sig)
    return outs


def make(kind, n, rng):
    """A NIR neuron node of ``kind`` with per-neuron parameters, and its parameter dict."""
    p = {}
    if kind in ("LIF", "LI"):
        p = dict(tau=rng.uniform(2e-3, 2e-2, n), r=rng.uniform(0.5, 5, n), v_leak=rng.uniform(-0.2, 0.2, n))
    elif kind in ("CubaLIF", "CubaLI"):
        p = dict(tau_syn=rng.uniform(2e-3, 1e-2, n), tau_mem=rng.uniform(5e-3, 2e-2, n),
                 r=rng.uniform(1, 5, n), v_leak=rng.uniform(-0.1, 0.1, n), w_in=rng.uniform(0.5, 2, n))
    elif kind in ("IF", "I"):
        p = dict(r=rng.uniform(100, 500, n))
    if kind in ("LIF", "CubaLIF", "IF"):
        p["v_threshold"] = rng.uniform(0.3, 0.8, n)
        p["v_reset"] = rng.uniform(-0.2, 0.1, n)
    return getattr(nir, kind)(**p), p


def inputs(rng, S=2, T=40, n=5, analog=False):
    x = (rng.random((S, T, n)) < 0.3).astype(float)
    return x * rng.normal(1, 0.5, x.shape) if analog else x


@pytest.mark.parametrize("kind", ["LIF", "CubaLIF", "IF", "LI", "CubaLI", "I"])
def test_node_equals_numpy_integration(kind):
    rng = np.random.default_rng(1)
    n_in, n = 5, 4
    W, b = rng.normal(0.6, 0.8, (n, n_in)), rng.normal(0, 0.2, n)
    node, p = make(kind, n, rng)
    g = nir.NIRGraph.from_list(nir.Affine(weight=W, bias=b), node)
    x = inputs(rng, analog=kind in ("LI", "CubaLI", "I"))
    res = run_nir(g, x, dt=DT)
    ref = reference([("W", dict(weight=W, bias=b)), (kind, p)], x)[-1]
    out = res.outputs["output"]
    if kind in ("LIF", "CubaLIF", "IF"):
        assert ref.sum() > 5                                       # the test exercises spikes
        np.testing.assert_array_equal(out, ref)
        assert res.counts.population("lif" if kind == "LIF" else kind.lower()).spikes == int(ref.sum())
    else:
        np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-12)


def test_cubalif_equal_time_constants_and_mixed():
    """tau_syn = tau_mem: the degenerate exact solution (Brian2's general one is 0/0 there)."""
    rng = np.random.default_rng(2)
    n = 3
    tau = np.array([5e-3, 8e-3, 1e-2])
    for tau_syn in (tau, np.array([5e-3, 4e-3, 1e-2])):          # all equal; two of three equal
        p = dict(tau_syn=tau_syn, tau_mem=tau, r=np.full(n, 4.0), v_leak=np.zeros(n), w_in=np.ones(n),
                 v_threshold=np.full(n, 0.4), v_reset=np.zeros(n))
        W = rng.normal(1, 0.5, (n, 4))
        g = nir.NIRGraph.from_list(nir.Linear(weight=W), nir.CubaLIF(**p))
        x = inputs(rng, n=4)
        net = from_nir(g, dt=DT)
        out = net.run(x).outputs["output"]
        ref = reference([("W", dict(weight=W)), ("CubaLIF", p)], x)[-1]
        assert ref.sum() > 5
        np.testing.assert_array_equal(out, ref)


def test_linear_scale_flatten_chain_and_direct_edges():
    """Linear -> Scale -> Flatten composed into one pathway (pattern and weights); a direct
    Input -> LIF edge is one-to-one; Scale alone is one-to-one."""
    rng = np.random.default_rng(3)
    W = rng.normal(0.5, 0.7, (4, 6))
    s = rng.uniform(0.5, 2, 4)
    lif, p = make("LIF", 4, rng)
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([2, 3])),
                            "fl": nir.Flatten(input_type=np.array([2, 3]), start_dim=0),
                            "lin": nir.Linear(weight=W), "sc": nir.Scale(scale=s),
                            "lif": lif, "out": nir.Output(output_type=np.array([4]))},
                     edges=[("in", "fl"), ("fl", "lin"), ("lin", "sc"), ("sc", "lif"), ("lif", "out")])
    x = inputs(rng, n=6)                      # the (2, 3) input in C order
    res = run_nir(g, x)
    ref = reference([("W", dict(weight=W * s[:, None])), ("LIF", p)], x)[-1]
    np.testing.assert_array_equal(res.outputs["out"], ref)
    path = res.counts.pathway("in->lif")
    assert path.n_synapses == 24
    assert path.synaptic_events == int(x.sum()) * 4          # every input spike reaches 4 neurons
    # Scale only: one synapse per neuron
    lif2, p2 = make("LIF", 6, rng)
    p2["v_threshold"] = np.full(6, 0.05)
    lif2 = nir.LIF(**p2)
    g2 = nir.NIRGraph.from_list(nir.Scale(scale=np.full(6, 2.0)), lif2)
    res2 = run_nir(g2, x)
    np.testing.assert_array_equal(res2.outputs["output"],
                                  reference([("W", dict(weight=2 * np.eye(6))), ("LIF", p2)], x)[-1])
    assert res2.counts.pathway("input->lif").n_synapses == 6


def conv_reference(x, W, b, stride, pad, dil, groups, in_sp):
    """Cross-correlation written out with loops (PyTorch's convention): x [..., C_in*prod(in_sp)]."""
    lead = x.shape[:-1]
    c_out, cpg, *ks = W.shape
    c_in = cpg * groups
    xs = x.reshape(-1, c_in, *in_sp)
    xs = np.pad(xs, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out_sp = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in zip(in_sp, pad, dil, ks, stride)]
    y = np.zeros((xs.shape[0], c_out, *out_sp))
    for co in range(c_out):
        g = co // (c_out // groups)
        for pos in np.ndindex(*out_sp):
            acc = np.full(xs.shape[0], float(b[co]))
            for cg in range(cpg):
                for k in np.ndindex(*ks):
                    idx = tuple(q * s + kk * d for q, s, kk, d in zip(pos, stride, k, dil))
                    acc += W[(co, cg) + k] * xs[(slice(None), g * cpg + cg) + idx]
            y[(slice(None), co) + pos] = acc
    return y.reshape(*lead, -1)


def test_conv2d_pool_and_conv1d_against_loops():
    """Conv2d (groups, padding, bias) -> LIF -> SumPool2d -> LIF, and Conv1d (stride, dilation,
    'valid') -> LIF, unrolled into sparse pathways; checked against convolution loops + the
    numpy integration, and the synapse counts against the kernel's reach."""
    rng = np.random.default_rng(10)
    W = rng.normal(0.6, 0.5, (4, 1, 3, 3))
    b = rng.normal(0, 0.1, 4)
    conv = nir.Conv2d(input_shape=(5, 5), weight=W, stride=1, padding=1, dilation=1, groups=2, bias=b)
    lif1, p1 = make("LIF", 4 * 25, rng)
    lif1 = nir.LIF(**{k: v.reshape(4, 5, 5) for k, v in p1.items()})
    pool = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
    lif2, p2 = make("LIF", 4 * 4, rng)
    p2["v_threshold"] = np.full(16, 0.05)
    lif2 = nir.LIF(**{k: v.reshape(4, 2, 2) for k, v in p2.items()})
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([2, 5, 5])), "conv": conv, "lif1": lif1,
                            "pool": pool, "lif2": lif2, "out": nir.Output(output_type=np.array([4, 2, 2]))},
                     edges=[("in", "conv"), ("conv", "lif1"), ("lif1", "pool"), ("pool", "lif2"),
                            ("lif2", "out")], type_check=False)
    x = inputs(rng, S=2, T=25, n=50)
    res = run_nir(g, x)
    cur = conv_reference(x, W, b, (1, 1), (1, 1), (1, 1), 2, (5, 5))
    z1 = reference([("LIF", p1)], cur)[-1]
    pooled = conv_reference(z1, np.ones((4, 1, 2, 2)), np.zeros(4), (2, 2), (0, 0), (1, 1), 4, (5, 5))
    z2 = reference([("LIF", p2)], pooled)[-1]
    assert z1.sum() > 20 and z2.sum() > 5
    np.testing.assert_array_equal(res.outputs["out"].reshape(z2.shape), z2)
    c = res.counts
    assert c.population("lif1").spikes == int(z1.sum())
    # 3x3 kernel, padding 1 on 5x5: 9 per interior position, fewer at the border; 1 input channel each
    reach = sum(len([1 for dy in (-1, 0, 1) for dx in (-1, 0, 1) if 0 <= y + dy < 5 and 0 <= x_ + dx < 5])
                for y in range(5) for x_ in range(5))
    assert c.pathway("in->lif1").n_synapses == 4 * reach
    assert c.pathway("lif1->lif2").n_synapses == 4 * 4 * 4       # each output sums 2x2 of its channel
    # Conv1d: stride 2, dilation 2, no padding
    W1 = rng.normal(0.8, 0.4, (3, 2, 3))
    conv1 = nir.Conv1d(input_shape=12, weight=W1, stride=2, padding="valid", dilation=2, groups=1,
                       bias=np.zeros(3))
    n_out = 3 * ((12 - 2 * 2 - 1) // 2 + 1)
    lif, p = make("LIF", n_out, rng)
    g1 = nir.NIRGraph.from_list(conv1, lif, type_check=False)
    x1 = inputs(rng, S=2, T=25, n=24)
    out1 = run_nir(g1, x1).outputs["output"]
    ref1 = reference([("LIF", p)], conv_reference(x1, W1, np.zeros(3), (2,), (0,), (2,), 1, (12,)))[-1]
    assert ref1.sum() > 5
    np.testing.assert_array_equal(out1, ref1)


def test_delays_per_input_and_uniform_after_a_linear_map():
    """Input -> Delay (0, 1, 3 steps per channel) -> Linear -> LIF -> Linear -> Delay (2 steps, all
    equal) -> LIF: synaptic delays; each sample runs 3 extra silent steps so nothing spills over."""
    rng = np.random.default_rng(12)
    W1, W2 = rng.normal(0.7, 0.4, (4, 3)), rng.normal(0.6, 0.4, (2, 4))
    lif1, p1 = make("LIF", 4, rng)
    lif2, p2 = make("LIF", 2, rng)
    g = nir.NIRGraph.from_list(nir.Delay(delay=np.array([0.0, 1e-3, 3e-3])), nir.Linear(weight=W1), lif1,
                               nir.Linear(weight=W2), nir.Delay(delay=np.full(2, 2e-3)), lif2)
    x = inputs(rng, S=3, T=30, n=3)
    res = run_nir(g, x)
    shift = lambda a, ks: np.stack([np.pad(a[:, :, c], ((0, 0), (k, 0)))[:, :a.shape[1]]   # noqa: E731
                                    for c, k in enumerate(ks)], axis=2)
    z1 = reference([("W", dict(weight=W1)), ("LIF", p1)], shift(x, [0, 1, 3]))[-1]
    z2 = reference([("W", dict(weight=W2)), ("LIF", p2)], shift(z1 @ np.eye(4), [2] * 4))[-1]
    assert z1.sum() > 10 and z2.sum() > 3
    np.testing.assert_array_equal(res.outputs["output"], z2)
    assert res.counts.steps == 3 * (30 + 3) and any("delays up to 3 step(s)" in n for n in res.notes)
    with pytest.raises(NirError, match="not a whole number of steps"):
        from_nir(g, dt=0.7e-3)
    g3 = nir.NIRGraph.from_list(nir.Linear(weight=W1), lif1, nir.Delay(delay=np.full(4, 2e-3)))   # into Output
    out3 = run_nir(g3, x).outputs["output"]
    z = reference([("W", dict(weight=W1)), ("LIF", p1)], x)[-1]
    np.testing.assert_array_equal(out3, shift(z, [2] * 4))
    # a loop with a Delay of 3 steps acts after exactly 3 steps (without one: after 1)
    Wrec = rng.normal(-0.5, 0.5, (4, 4))
    g4 = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([3])), "w": nir.Linear(weight=W1), "lif": lif1,
                             "d": nir.Delay(delay=np.full(4, 3e-3)), "rec": nir.Linear(weight=Wrec),
                             "out": nir.Output(output_type=np.array([4]))},
                      edges=[("in", "w"), ("w", "lif"), ("lif", "d"), ("d", "rec"), ("rec", "lif"), ("lif", "out")])
    out4 = run_nir(g4, x).outputs["out"]
    ref4 = np.zeros_like(out4)
    for s_ in range(x.shape[0]):
        v, zs = p1["v_leak"].copy(), [np.zeros(4)] * 3
        for t in range(x.shape[1]):
            u = p1["v_leak"] + p1["r"] * (W1 @ x[s_, t] + Wrec @ zs[-3])
            v = u + (v - u) * np.exp(-DT / p1["tau"])
            z = (v > p1["v_threshold"]).astype(float)
            v = np.where(z > 0, p1["v_reset"], v)
            zs.append(z)
            ref4[s_, t] = z
    assert ref4.sum() > 10
    np.testing.assert_array_equal(out4, ref4)
    bad = nir.NIRGraph.from_list(nir.Linear(weight=W1), nir.Delay(delay=np.array([0, 1e-3, 0, 0])), lif1)
    with pytest.raises(NirError, match=r"node 'delay' \(Delay\): delays that differ per element"):
        from_nir(bad)


def test_threshold_after_a_leaky_integrator():
    """LI -> Threshold: spikes without reset (v > threshold after the update), sent on as 0/1 events;
    the LI's own value also goes to the Output."""
    rng = np.random.default_rng(13)
    W1, W2 = rng.normal(0.8, 0.5, (3, 4)), rng.normal(0.8, 0.4, (2, 3))
    li, pl = make("LI", 3, rng)
    thr = np.array([0.3, 0.5, 0.4])
    lif, pf = make("LIF", 2, rng)
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([4])), "w1": nir.Linear(weight=W1), "li": li,
                            "th": nir.Threshold(threshold=thr), "w2": nir.Linear(weight=W2), "lif": lif,
                            "o1": nir.Output(output_type=np.array([2])), "o2": nir.Output(output_type=np.array([3]))},
                     edges=[("in", "w1"), ("w1", "li"), ("li", "th"), ("th", "w2"), ("w2", "lif"), ("lif", "o1"),
                            ("th", "o2")])
    x = inputs(rng, n=4)
    res = run_nir(g, x)
    v = reference([("W", dict(weight=W1)), ("LI", pl)], x)[-1]
    z = (v > thr).astype(float)
    ref = reference([("W", dict(weight=W2)), ("LIF", pf)], z)[-1]
    assert z.sum() > 10 and ref.sum() > 3
    np.testing.assert_array_equal(res.outputs["o2"], z)
    np.testing.assert_array_equal(res.outputs["o1"], ref)
    c = res.counts
    assert c.population("li").spikes == int(z.sum())
    assert c.pathway("li>threshold->lif").synaptic_events == int(z.sum()) * 2


def test_two_layer_graph_from_nir_api_is_priced():
    """A graph from elsewhere: the two-layer spiking network of the NIR docs' example, built with
    the nir package's own API (NIRGraph of Input, Affine, LIF, Affine, LIF, Output), written to a
    .nir file by nir.write, imported, run, checked spike for spike against the numpy integration,
    and priced by hwmodel."""
    import hwmodel
    rng = np.random.default_rng(4)
    W1, b1 = rng.normal(0.4, 0.6, (8, 5)), np.zeros(8)
    W2, b2 = rng.normal(0.5, 0.6, (3, 8)), np.full(3, 0.05)
    lif_p = dict(tau=np.full(8, 10e-3), r=np.full(8, 10.0), v_leak=np.zeros(8), v_threshold=np.ones(8))
    out_p = dict(tau=np.full(3, 5e-3), r=np.full(3, 8.0), v_leak=np.zeros(3), v_threshold=np.full(3, 0.5))
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([5])),
               "affine1": nir.Affine(weight=W1, bias=b1), "lif1": nir.LIF(**lif_p),
               "affine2": nir.Affine(weight=W2, bias=b2), "lif2": nir.LIF(**out_p),
               "output": nir.Output(output_type=np.array([3]))},
        edges=[("input", "affine1"), ("affine1", "lif1"), ("lif1", "affine2"), ("affine2", "lif2"),
               ("lif2", "output")])
    import tempfile, os
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "net.nir")
        nir.write(path, graph)
        x = inputs(rng, S=3, T=50, n=5)
        res = run_nir(path, x, dt=DT)
    ref1, _, ref2 = reference([("W", dict(weight=W1, bias=b1)), ("LIF", lif_p),
                               ("W", dict(weight=W2, bias=b2)), ("LIF", out_p)], x)[1:]
    assert ref1.sum() > 20 and ref2.sum() > 5
    np.testing.assert_array_equal(res.outputs["output"], ref2)
    c = res.counts
    assert c.population("lif1").spikes == int(ref1.sum())
    assert c.pathway("input->lif1").synaptic_events == int(x.sum()) * 8
    assert c.pathway("lif1->lif2").synaptic_events == int(ref1.sum()) * 3
    assert (c.steps, c.samples, c.phase) == (150, 3, "inference")
    est = hwmodel.estimate(c, "loihi1")
    assert est.to_dict()["energy_j"]["total"] > 0


def test_recurrent_edge_acts_one_step_later():
    rng = np.random.default_rng(5)
    n = 3
    lif, p = make("LIF", n, rng)
    Win, Wrec = rng.normal(1, 0.3, (n, 2)), rng.normal(0, 0.8, (n, n))
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([2])), "w": nir.Linear(weight=Win),
                            "lif": lif, "rec": nir.Linear(weight=Wrec),
                            "out": nir.Output(output_type=np.array([n]))},
                     edges=[("in", "w"), ("w", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")])
    x = inputs(rng, T=60, n=2)
    out = run_nir(g, x).outputs["out"]
    # reference: input of step t = Win x[t] + Wrec z[t-1]
    ref = np.zeros_like(out)
    for s in range(x.shape[0]):
        v, z = p["v_leak"].copy(), np.zeros(n)
        for t in range(x.shape[1]):
            xt = Win @ x[s, t] + Wrec @ z
            u = p["v_leak"] + p["r"] * xt
            v = u + (v - u) * np.exp(-DT / p["tau"])
            z = (v > p["v_threshold"]).astype(float)
            v = np.where(z > 0, p["v_reset"], v)
            ref[s, t] = z
    assert ref.sum() > 5
    np.testing.assert_array_equal(out, ref)


# ----------------------------------------------------------------- SOLSA export and round trip
def _solsa(rng, readout="spikes"):
    from brian_snn.solsa.config import ModelParams
    from brian_snn.solsa.reference import Network
    p = ModelParams()
    net = Network.init([6, 10, 4], p, rng, scale=2.5, readout=readout)
    net.alpha[:] = [0.8, 0.6]
    net.beta[:] = [0.9, 0.7]
    return net, p


def test_solsa_export_round_trip(tmp_path):
    """export -> file -> import -> run equals the in-memory graph's run exactly; against SOLSA's own
    discrete-time forward pass the spikes agree approximately (hard vs soft reset, continuous
    synaptic current): the measured agreement is the number docs/nir.md reports."""
    from brian_snn.nir.solsa import agreement, solsa_to_nir
    from brian_snn.solsa.reference import forward
    rng = np.random.default_rng(6)
    net, p = _solsa(rng)
    g = solsa_to_nir(net, p, dt=DT)
    path = tmp_path / "solsa.nir"
    nir.write(path, g)
    x = (rng.random((4, 40, 6)) < 0.3).astype(float)
    a = run_nir(g, x).outputs["output"]
    b = run_nir(path, x).outputs["output"]
    np.testing.assert_array_equal(a, b)                         # the file round trip is exact
    ref = forward(net, p, x).out
    assert ref.sum() > 20
    m = agreement(ref, a)
    assert m["step_agreement"] > 0.85 and abs(m["count_ratio"] - 1) < 0.35, m
    # the parameters are NIR's form of SOLSA's constants
    lif = g.nodes["lif1"]
    np.testing.assert_allclose(np.exp(-DT / lif.tau_syn), 0.8)
    np.testing.assert_allclose(np.exp(-DT / lif.tau_mem), p.lam)
    np.testing.assert_allclose(lif.w_in * lif.r * (1 - 0.8) * (1 - p.lam), 0.9)   # DC gain beta/((1-a)(1-l))


@pytest.mark.parametrize("readout", ["spikes", "membrane"])
def test_solsa_exact_form_round_trip_is_exact(readout, tmp_path):
    """form='exact' (LI filter, LI membrane, Threshold, Delay(dt) -> Scale(-V_r) reset loop) written to
    a file, read back and run gives SOLSA's own spikes exactly (membrane readout: to rounding), on spike
    and on analog input."""
    from brian_snn.nir.solsa import solsa_to_nir
    from brian_snn.solsa.reference import forward
    rng = np.random.default_rng(14)
    net, p = _solsa(rng, readout=readout)
    path = tmp_path / "exact.nir"
    nir.write(path, solsa_to_nir(net, p, dt=DT, form="exact"))
    for x in ((rng.random((3, 40, 6)) < 0.3).astype(float), rng.normal(0, 1, (2, 30, 6))):
        res = run_nir(path, x)
        ref = forward(net, p, x).out
        if readout == "spikes":
            assert ref.sum() > 20
            np.testing.assert_array_equal(res.outputs["output"], ref)
        else:
            np.testing.assert_allclose(res.outputs["output"], ref, rtol=0, atol=1e-12)
    assert res.notes == []                          # the reset loop's Delay adds no padding steps
    if readout == "spikes":                         # the reset loop is one-to-one
        assert res.counts.pathway("membrane1>threshold->membrane1").n_synapses == 10


def test_solsa_membrane_readout_exports_cubali():
    from brian_snn.nir.solsa import solsa_to_nir
    from brian_snn.solsa.reference import forward
    rng = np.random.default_rng(7)
    net, p = _solsa(rng, readout="membrane")
    g = solsa_to_nir(net, p)
    assert type(g.nodes["li2"]).__name__ == "CubaLI" and type(g.nodes["lif1"]).__name__ == "CubaLIF"
    x = (rng.random((2, 30, 6)) < 0.3).astype(float)
    out = run_nir(g, x).outputs["output"]
    ref = forward(net, p, x).out
    assert out.shape == ref.shape
    assert np.corrcoef(out.ravel(), ref.ravel())[0, 1] > 0.8


# ----------------------------------------------------------------- errors
def test_unsupported_node_is_one_line():
    g = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 2))), nir.Threshold(threshold=np.ones(2)))
    with pytest.raises(NirError, match=r"node 'threshold' \(Threshold\): supported only right after a "
                                       r"non-spiking neuron node"):
        from_nir(g)
    g = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 2))), nir.NIRGraph.from_list(
        nir.Linear(weight=np.ones((2, 2)))), type_check=False)
    with pytest.raises(NirError, match=r"\(NIRGraph\): nested graphs are not supported"):
        from_nir(g)


def test_bad_parameters_name_node_and_field():
    lif = nir.LIF(tau=np.array([1e-3, -1e-3]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    g = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 2))), lif)
    with pytest.raises(NirError, match=r"node 'lif' \(LIF\): field 'tau' must be > 0"):
        from_nir(g)
    lif = nir.LIF(tau=np.array([1e-3, np.nan]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    with pytest.raises(NirError, match=r"node 'lif' \(LIF\): field 'tau' has NaN"):
        from_nir(nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 2))), lif))


def test_malformed_files(tmp_path):
    good = tmp_path / "g.nir"
    lif = nir.LIF(tau=np.full(2, 1e-3), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    nir.write(good, nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 2))), lif))
    data = good.read_bytes()
    (tmp_path / "t.nir").write_bytes(data[: len(data) // 2])
    with pytest.raises(NirError, match="t.nir: unreadable NIR file"):
        from_nir(tmp_path / "t.nir")
    (tmp_path / "x.nir").write_text("not hdf5")
    with pytest.raises(NirError, match="x.nir: not a NIR file"):
        from_nir(tmp_path / "x.nir")
    with pytest.raises(NirError, match="file not found"):
        from_nir(tmp_path / "missing.nir")
    import h5py
    bad = tmp_path / "m.nir"
    bad.write_bytes(data)
    with h5py.File(bad, "a") as f:
        del f["node/nodes/lif/tau"]
    with pytest.raises(NirError, match=r"node 'lif' \(LIF\): field 'tau' is missing"):
        from_nir(bad)


def test_bad_inputs():
    g = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((2, 3))),
                               nir.LIF(tau=np.full(2, 1e-3), r=np.ones(2), v_leak=np.zeros(2),
                                       v_threshold=np.ones(2)))
    net = from_nir(g)
    with pytest.raises(NirError, match=r"shape \[samples, T, 3\]"):
        net.run(np.zeros((1, 5, 4)))
    with pytest.raises(NirError, match="NaN"):
        net.run(np.full((1, 5, 3), np.nan))
    with pytest.raises(NirError, match="dt must be"):
        from_nir(g, dt=-1)


# ----------------------------------------------------------------- the command line
def test_cli_nir_run_writes_spikes_and_counts(tmp_path, capsys):
    from brian_snn.cli import main
    from hwmodel.counts import load_counts
    rng = np.random.default_rng(8)
    lif = nir.LIF(tau=np.full(4, 5e-3), r=np.full(4, 5.0), v_leak=np.zeros(4), v_threshold=np.full(4, 0.3))
    g = nir.NIRGraph.from_list(nir.Affine(weight=rng.normal(1, 0.5, (4, 3)), bias=np.zeros(4)), lif)
    nir.write(tmp_path / "g.nir", g)
    x = (rng.random((2, 20, 3)) < 0.4).astype(float)
    np.savez(tmp_path / "in.npz", input=x)
    rc = main(["nir", "run", str(tmp_path / "g.nir"), "--input", str(tmp_path / "in.npz"), "--dt", "1ms",
               "--backend", "runtime", "--target", "loihi1", "--out", str(tmp_path / "o")])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "hardware (inference, loihi1)" in text
    c = load_counts(tmp_path / "o" / "counts.json")
    spikes = np.load(tmp_path / "o" / "outputs.npz")["output"]
    assert spikes.shape == (2, 20, 4)
    assert c.population("lif").spikes == int(spikes.sum())
    rc = main(["nir", "run", str(tmp_path / "g.nir"), "--input", str(tmp_path / "in.npz"),
               "--target", "loihi1", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert d["counts"]["populations"][1]["spikes"] == int(spikes.sum())
    assert d["hardware"]["loihi1"]["energy_j"]["total"] > 0
    # random input spikes at a chosen activity instead of a file
    rc = main(["nir", "run", str(tmp_path / "g.nir"), "--random", "0.2", "--samples", "3", "--steps", "15",
               "--target", "loihi1", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and (d["samples"], d["T"]) == (3, 15)
    assert 0 < d["counts"]["populations"][0]["spikes"] < 3 * 15 * 3
    # errors: one line, status 2
    assert main(["nir", "run", str(tmp_path / "in.npz"), "--input", str(tmp_path / "in.npz")]) == 2
    assert "not a NIR file" in capsys.readouterr().err


def test_cli_export_format_nir(tmp_path, capsys):
    """``brian-snn export --format nir`` reads a SOLSA results file (layout of solsa/store.py) and
    writes the graph that solsa_to_nir makes of its weights and filter constants."""
    import h5py
    from brian_snn.cli import main
    from brian_snn.solsa.store import SCHEMA
    rng = np.random.default_rng(9)
    net, p = _solsa(rng)
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = SCHEMA
        f.attrs["experiment"] = json.dumps({"model": {"lam": p.lam, "theta": p.theta, "v_reset": p.v_reset}})
        g = f.create_group("tasks/patterns")
        g.attrs["kind"] = "classification"
        m = g.create_group("solsa")
        m["alpha"], m["beta"] = net.alpha, net.beta
        for l, w in enumerate(net.W):
            m[f"W{l}"] = w
    out = tmp_path / "s.nir"
    assert main(["export", "--format", "nir", "--results", str(path), "--out", str(out)]) == 0
    assert "CubaLIF" in capsys.readouterr().out
    g = nir.read(out)
    np.testing.assert_array_equal(g.nodes["linear2"].weight, net.W[1])
    assert main(["export", "--format", "nir", "--results", str(path), "--form", "exact",
                 "--out", str(tmp_path / "e.nir")]) == 0
    assert "exact: SOLSA's map" in capsys.readouterr().out
    assert type(nir.read(tmp_path / "e.nir").nodes["spike1"]).__name__ == "Threshold"
    assert main(["export", "--format", "nir", "--results", str(path), "--method", "bptt",
                 "--out", str(tmp_path / "b.nir")]) == 2
    assert "no method 'bptt'" in capsys.readouterr().err


@pytest.mark.slow
def test_cpp_backend_equals_runtime(tmp_path):
    """The same graph compiled with cpp_standalone gives the runtime target's spikes and counts."""
    rng = np.random.default_rng(11)
    cub, _ = make("CubaLIF", 6, rng)
    li, _ = make("LI", 2, rng)
    g = nir.NIRGraph.from_list(nir.Affine(weight=rng.normal(1, 0.5, (6, 4)), bias=np.full(6, 0.1)), cub,
                               nir.Linear(weight=rng.normal(0, 1, (2, 6))), li)
    x = inputs(rng, S=2, T=30, n=4)
    a = run_nir(g, x, backend="runtime")
    b = run_nir(g, x, backend="cpp", directory=str(tmp_path / "cpp"))
    np.testing.assert_allclose(b.outputs["output"], a.outputs["output"], rtol=1e-12, atol=1e-12)
    assert b.counts.to_dict() == a.counts.to_dict()
