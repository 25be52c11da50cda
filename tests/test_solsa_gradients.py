"""SOLSA gradients: online traces (numpy and Brian2) against hand-written BPTT, and BPTT against
finite differences on the smooth (differentiable) version of the same network."""
import numpy as np
import pytest

from brian_snn.solsa import ModelParams, Network, bptt, forward, online_gradients
from brian_snn.solsa.reference import loss_and_grad

P = ModelParams()
P_SMOOTH = ModelParams(spike="smooth")


def _data(rng, B, T, n_in, n_out, rate=0.2, analog=False):
    x = rng.random((B, T, n_in)) if analog else (rng.random((B, T, n_in)) < rate).astype(float)
    y = np.zeros((B, T, n_out))
    y[np.arange(B), :, rng.integers(0, n_out, B)] = 1.0
    return x, y


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _loss(net, p, x, y):
    return loss_and_grad(forward(net, p, x).out, y)[0]


@pytest.mark.parametrize("readout", ["spikes", "membrane"])
def test_brian2_online_gradient_equals_bptt_single_layer(readout):
    """Acceptance: one layer, gradient accumulated inside the Brian2 run == BPTT to 1e-8 (W, alpha, beta)."""
    from brian_snn.solsa.brian_net import BrianSolsa
    from brian_snn.solsa import TrainConfig
    rng = np.random.default_rng(3)
    net = Network.init([20, 3], P, rng, scale=2.5, readout=readout)
    x, y = _data(rng, 1, 50, 20, 3)
    ref = bptt(net, P, x, y)
    assert forward(net, P, x).out.sum() > 0            # the network spikes: the reset term is exercised
    with BrianSolsa(net.copy(), P, TrainConfig(), 1, 50, record_gradient=True) as bn:
        gW, gA, gB = bn.gradient_run(x, y)
    assert np.max(np.abs(ref.W[0])) > 1e-3
    assert _rel(gW[0], ref.W[0]) < 1e-8
    assert abs(gA[0] - ref.alpha[0]) <= 1e-8 * abs(ref.alpha[0])
    assert abs(gB[0] - ref.beta[0]) <= 1e-8 * abs(ref.beta[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_online_equals_bptt_single_layer_batched(seed):
    rng = np.random.default_rng(seed)
    net = Network.init([15, 4], P, rng, scale=2.0)
    x, y = _data(rng, 3, 40, 15, 4)
    ref, onl = bptt(net, P, x, y), online_gradients(net, P, x, y)
    assert _rel(onl.W[0], ref.W[0]) < 1e-10
    assert _rel(onl.alpha, ref.alpha) < 1e-10 and _rel(onl.beta, ref.beta) < 1e-10
    assert onl.loss == pytest.approx(ref.loss, rel=1e-12)


def test_reset_feedback_matters():
    """Dropping the reset term from the trace (e-prop/OTTT style) changes the gradient."""
    rng = np.random.default_rng(0)
    net = Network.init([20, 3], P, rng, scale=2.5)
    x, y = _data(rng, 1, 60, 20, 3)
    ref = bptt(net, P, x, y)
    # same forward, trace without the reset factor (e_ji = lam e_ji + F_i), built by hand
    e = np.zeros((3, 20))
    g = np.zeros((3, 20))
    rec = forward(net, P, x)
    from brian_snn.solsa.reference import surrogate
    for t in range(60):
        e = P.lam * e + rec.F[0][0, t][None, :]
        g += (2 * (rec.O[0][0, t] - y[0, t]) / 3 * surrogate(rec.V[0][0, t], P))[:, None] * e
    assert _rel(g, ref.W[0]) > 1e-2          # clearly different from the exact gradient


def test_bptt_matches_finite_differences_three_layers():
    """With the smooth spike (Gaussian CDF, whose derivative is the surrogate) BPTT is the true gradient."""
    rng = np.random.default_rng(5)
    net = Network.init([5, 6, 4, 3], P_SMOOTH, rng, scale=2.0)
    x, y = _data(rng, 2, 12, 5, 3, analog=True)
    g = bptt(net, P_SMOOTH, x, y)
    h = 1e-6
    for l in range(3):
        for (j, i) in [(0, 0), (1, 2), (net.W[l].shape[0] - 1, net.W[l].shape[1] - 1)]:
            a, b = net.copy(), net.copy()
            a.W[l][j, i] += h
            b.W[l][j, i] -= h
            fd = (_loss(a, P_SMOOTH, x, y) - _loss(b, P_SMOOTH, x, y)) / (2 * h)
            assert fd == pytest.approx(g.W[l][j, i], rel=1e-5, abs=1e-9)
        for name in ("alpha", "beta"):
            a, b = net.copy(), net.copy()
            getattr(a, name)[l] += h
            getattr(b, name)[l] -= h
            fd = (_loss(a, P_SMOOTH, x, y) - _loss(b, P_SMOOTH, x, y)) / (2 * h)
            assert fd == pytest.approx(getattr(g, name)[l], rel=1e-5, abs=1e-9)


def test_online_single_layer_matches_finite_differences_membrane():
    rng = np.random.default_rng(8)
    net = Network.init([6, 2], P_SMOOTH, rng, scale=2.0, readout="membrane")
    x, _ = _data(rng, 1, 15, 6, 2, analog=True)
    y = rng.normal(size=(1, 15, 2))
    g = online_gradients(net, P_SMOOTH, x, y)
    h = 1e-6
    a, b = net.copy(), net.copy()
    a.W[0][1, 3] += h
    b.W[0][1, 3] -= h
    assert (_loss(a, P_SMOOTH, x, y) - _loss(b, P_SMOOTH, x, y)) / (2 * h) == pytest.approx(g.W[0][1, 3], rel=1e-6)
    a, b = net.copy(), net.copy()
    a.alpha[0] += h
    b.alpha[0] -= h
    assert (_loss(a, P_SMOOTH, x, y) - _loss(b, P_SMOOTH, x, y)) / (2 * h) == pytest.approx(g.alpha[0], rel=1e-6)


def test_multilayer_output_layer_exact_hidden_layer_same_step():
    """Two layers: the output layer's online gradient is exact; the hidden layer's equals the gradient in
    which the loss at t reaches hidden weights only through the same step (upper states from earlier steps
    frozen), computed here by finite differences on the smooth network."""
    p = P_SMOOTH
    rng = np.random.default_rng(11)
    net = Network.init([4, 5, 2], p, rng, scale=2.0)
    x, y = _data(rng, 1, 8, 4, 2, analog=True)
    ref, onl = bptt(net, p, x, y), online_gradients(net, p, x, y)
    assert _rel(onl.W[1], ref.W[1]) < 1e-10
    assert _rel(onl.alpha[1], ref.alpha[1]) < 1e-10 and _rel(onl.beta[1], ref.beta[1]) < 1e-10
    assert _rel(onl.W[0], ref.W[0]) > 1e-4            # the approximation is not exact

    base = forward(net, p, x)
    W2, a2, b2 = net.W[1], net.alpha[1], net.beta[1]
    T = x.shape[1]

    def same_step_loss(n):
        """sum_t E[t] with layer 2 driven by n's hidden spikes at t but base's layer-2 state at t-1."""
        hid = forward(Network([n.W[0]], n.alpha[:1], n.beta[:1]), p, x).O[0][0]
        E = 0.0
        for t in range(T):
            F_prev = base.F[1][0, t - 1] if t else np.zeros(5)
            V_prev = base.V[1][0, t - 1] if t else np.zeros(2)
            O_prev = base.O[1][0, t - 1] if t else np.zeros(2)
            F = a2 * F_prev + b2 * hid[t]
            V = p.lam * V_prev + W2 @ F - p.v_reset * O_prev
            from brian_snn.solsa.reference import spike
            E += np.sum((spike(V, p) - y[0, t]) ** 2) / 2
        return E

    h = 1e-6
    for (j, i) in [(0, 0), (2, 3), (4, 1)]:
        a, b = net.copy(), net.copy()
        a.W[0][j, i] += h
        b.W[0][j, i] -= h
        fd = (same_step_loss(a) - same_step_loss(b)) / (2 * h)
        assert fd == pytest.approx(onl.W[0][j, i], rel=1e-5, abs=1e-10)
