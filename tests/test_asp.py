"""ASP (models/asp.py): the correlation it records at a postsynaptic spike and the leak it applies at
each training-sample boundary, pinned by hand computation on tiny networks (Brian2 runtime, numpy)."""
import math

import brian2
import numpy as np
import pytest
from brian2 import Network, defaultclock, ms, mV, prefs

from brian_snn import integration  # noqa: F401  (registers the models' state updater)
from brian_snn.encoding import Presentation
from brian_snn.models import get_model_spec
from brian_snn.models.asp import leak_factor

DT_MS = 0.5
P = 4          # inputs
N = 2          # excitatory neurons


@pytest.fixture(autouse=True)
def _restore_target():
    target = prefs.codegen.target
    yield
    prefs.codegen.target = target


def build(spec, presentation=Presentation()):
    brian2.start_scope()
    brian2.set_device("runtime")
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    m = spec.build(np.zeros((2, P)), np.zeros(16), presentation)     # blank images: inputs never fire
    net = Network(m.objects)
    net.run(0 * ms)
    for name, (obj, var, unit) in m.runtime_targets.items():
        setattr(obj, var, getattr(spec, name) * unit)
    m.controller.n_real = 100
    return m, net


# synapse k = i * N + j (input i -> neuron j, Brian's i-major order)
W0 = np.array([0.9, 0.1, 0.05, 0.2, 0.0, 0.3, 0.25, 0.4])
SIG0 = np.array([1.0, 0.0, 0.5, 0.0, 0.0, 0.25, 0.0, 1.0])


def by_hand(w, sig, norm, tau_fast, tau_slow, boundaries):
    """Each boundary: w <- w_base + (w - w_base) * exp(-1 / (tau_fast + (tau_slow - tau_fast) * sig)),
    w_base = norm / P, then every column scaled to sum to norm."""
    w = np.array(w, dtype=float).reshape(P, N)
    sig = np.asarray(sig, dtype=float).reshape(P, N)
    for _ in range(boundaries):
        keep = np.exp(-1.0 / (tau_fast + (tau_slow - tau_fast) * sig))
        w = norm / P + (w - norm / P) * keep
        w = w * norm / w.sum(axis=0)
    return w.ravel()


def test_leak_factor_formula():
    # tau = 10 + (1000 - 10) * 0.5 = 505 samples
    assert leak_factor(0.5, 10.0, 1000.0) == pytest.approx(math.exp(-1 / 505.0), rel=1e-15)
    assert leak_factor(0.0, 10.0, 1000.0) == pytest.approx(math.exp(-0.1), rel=1e-15)


@pytest.mark.parametrize("plastic", [1.0, 0.0])
def test_leak_over_silent_samples_by_hand(plastic):
    """Four sample boundaries (t_on 1 ms + rest 0.5 ms = 3 steps each; 12 steps), no spike at all:
    only the leak and the normalisation act, with the correlations fixed at SIG0."""
    norm = 1.0
    spec = get_model_spec("asp", n_exc=N, n_input=P, norm=norm, tau_fast_samples=2.0, tau_slow_samples=50.0,
                          max_delay_ms=0.0)
    m, net = build(spec, Presentation(t_on_ms=1.0, t_rest_ms=0.5, dt_ms=DT_MS, min_spikes=0))
    w0 = W0.reshape(P, N) * norm / W0.reshape(P, N).sum(axis=0)       # columns start normalised
    m.input_syn.w = w0.ravel()
    m.input_syn.sig = SIG0
    m.exc.wsum = w0.sum(axis=0)
    m.exc.plastic = plastic
    net.run(12 * DT_MS * ms)
    got = np.asarray(m.input_syn.w[:])
    if plastic:
        # the numbers: column 0 keeps w_base + (w - w_base) * e with e = exp(-1/50), exp(-1/2), exp(-1/26),
        # exp(-1/2) for sig = 1, 0, 0.5, 0 -- then sums back to 1; four times
        np.testing.assert_allclose(got, by_hand(w0.ravel(), SIG0, norm, 2.0, 50.0, 4), rtol=1e-10, atol=1e-15)  # (normalisation adds 1e-12 to the sum)
    else:
        np.testing.assert_array_equal(got, w0.ravel())             # frozen: no leak
    np.testing.assert_array_equal(np.asarray(m.input_syn.sig[:]), SIG0)    # no postsynaptic spike: unchanged


@pytest.mark.parametrize("plastic", [1.0, 0.0])
def test_correlation_recorded_at_a_postsynaptic_spike(plastic):
    """Neuron 0 spikes at t = 0; input 0 fired at -3 ms, input 1 at -10 ms, inputs 2 and 3 never:
    sig of the synapses onto neuron 0 becomes the presynaptic trace exp(-(t - t_pre) / 20 ms)."""
    spec = get_model_spec("asp", n_exc=N, n_input=P, nu_post=0.0, nu_pre=0.0, max_delay_ms=0.0)
    m, net = build(spec)
    m.input_syn.sig = SIG0
    m.input_group.tspk = [-3, -10, -1e9, -1e9] * ms
    m.exc.theta = 20 * mV
    m.exc.v = [0, -65] * mV                      # neuron 0 above threshold
    m.exc.plastic = plastic
    net.run(DT_MS * ms)
    assert list(np.asarray(m.exc.nspikes[:])) == [1, 0]
    want = SIG0.copy()
    if plastic:
        want[[0, 2, 4, 6]] = [math.exp(-3 / 20), math.exp(-10 / 20), 0.0, 0.0]
    np.testing.assert_allclose(np.asarray(m.input_syn.sig[:]), want, rtol=1e-12, atol=1e-300)


def test_sizes_and_runtime_parameters():
    spec = get_model_spec("asp", n_exc=3, n_input=5)
    assert spec.sizes()["synapses"]["input_exc"] == (15, 2, 4)
    assert {"tau_fast_samples", "tau_slow_samples"} <= set(spec.runtime())
    with pytest.raises(ValueError, match="tau_fast_samples"):
        get_model_spec("asp", n_exc=3, tau_fast_samples=0.0)
