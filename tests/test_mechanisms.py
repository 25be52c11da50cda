"""Each learning mechanism of Diehl & Cook and SpikeDyn, pinned by hand computation on a tiny network
run for one time step (Brian2 runtime, numpy: nothing to compile).

A spike is forced by setting a neuron's membrane potential above threshold before the step; input
neurons stay silent (blank images), so every change below comes from the mechanism tested.
"""
import math

import brian2
import numpy as np
import pytest
from brian2 import Network, defaultclock, ms, mV, prefs

from brian_snn import integration  # noqa: F401  (registers the models' state updater)
from brian_snn.encoding import Presentation
from brian_snn.models import get_model_spec

DT_MS = 0.5
P = 4


def one_step(spec, setup, plastic=1.0):
    """Build ``spec`` (``P`` inputs), apply ``setup(model)``, run one step; returns the model."""
    brian2.start_scope()
    brian2.set_device("runtime")
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    m = spec.build(np.zeros((2, P)), np.zeros(3), Presentation())
    net = Network(m.objects)
    net.run(0 * ms)                                  # creates the synapses
    for name, (obj, var, unit) in m.runtime_targets.items():
        setattr(obj, var, getattr(spec, name) * unit)
    m.exc.plastic = plastic
    m.controller.n_real = 10                         # the slot shows a real sample: changes are counted
    setup(m)
    net.run(DT_MS * ms)
    return m


@pytest.fixture(autouse=True)
def _restore_target():
    target = prefs.codegen.target
    yield
    prefs.codegen.target = target


@pytest.mark.parametrize("model", ["diehl-cook", "spikedyn"])
@pytest.mark.parametrize("plastic", [1.0, 0.0])
def test_theta_grows_by_theta_plus_at_a_spike_and_decays(model, plastic):
    spec = get_model_spec(model, n_exc=3, n_input=P, tau_theta_ms=100.0, theta_plus_mV=0.05)

    def fire_first(m):
        m.exc.theta = [20, 21, 22] * mV
        m.exc.v = [0, -65, -65] * mV                 # neuron 0 is above threshold

    m = one_step(spec, fire_first, plastic)
    decay = math.exp(-plastic * DT_MS / 100.0)
    want = np.array([20, 21, 22]) * 1e-3 * decay + np.array([0.05e-3 * plastic, 0, 0])
    np.testing.assert_allclose(np.asarray(m.exc.theta_[:]), want, rtol=1e-12, atol=0)
    assert list(np.asarray(m.exc.nspikes[:])) == [1, 0, 0]


def test_spikedyn_potentiation_depresses_silent_inputs_by_x_tar_at_an_adaptive_rate():
    """At a post-synaptic spike, w += eta / (1 + learned / n_half) * (x_pre - x_tar): inputs that
    never fired lose eta_eff * x_tar; one that fired 5 ms ago gains eta_eff * (exp(-5/20) - x_tar)."""
    spec = get_model_spec("spikedyn", n_exc=3, n_input=P, nu_post=0.01, x_tar=0.3, n_half=100.0)

    def all_fire(m):
        m.exc.v = 0 * mV
        m.exc.learned = [0, 100, 300]                # learning rate eta, eta / 2, eta / 4
        m.input_syn.w = 0.5
        m.exc.wsum = P * 0.5                         # (the backend sets it from the weights)
        m.input_group.tspk_ = np.array([-0.005, -1e9, -1e9, -1e9])

    m = one_step(spec, all_fire)
    w = np.asarray(m.input_syn.w[:]).reshape(P, 3)
    eta = 0.01 / np.array([1, 2, 4])
    want = np.vstack([0.5 + eta * (math.exp(-5 / 20) - 0.3)] + [0.5 - eta * 0.3] * 3)
    np.testing.assert_allclose(w, want, rtol=1e-12)
    # the column sums the normalisation relies on are kept current by the same code
    np.testing.assert_allclose(np.asarray(m.exc.wsum[:]), 4 * 0.5 + (want - 0.5).sum(axis=0), rtol=1e-12)
    assert list(np.asarray(m.exc.nchanged[:])) == [P, P, P]          # every update changed its weight


def test_weight_changes_count_only_updates_that_move_a_weight():
    """x_tar = 0: a post-synaptic spike moves only the weights of inputs that fired (x_pre > 0);
    the other updates run and compute dw = 0.  Executed: 3 neurons x 4 inputs; changed: 3 x 1."""
    spec = get_model_spec("spikedyn", n_exc=3, n_input=P, nu_post=0.01, x_tar=0.0)

    def all_fire(m):
        m.exc.v = 0 * mV
        m.input_syn.w = 0.5
        m.input_group.tspk_ = np.array([-0.005, -1e9, -1e9, -1e9])

    m = one_step(spec, all_fire)
    w = np.asarray(m.input_syn.w[:]).reshape(P, 3)
    assert np.all(w[0] > 0.5) and np.all(w[1:] == 0.5)
    assert list(np.asarray(m.exc.nchanged[:])) == [1, 1, 1]
    m = one_step(spec, lambda m: (all_fire(m), setattr(m.controller, "n_real", 0)))   # a padding slot
    assert list(np.asarray(m.exc.nchanged[:])) == [0, 0, 0]


@pytest.mark.parametrize("model", ["diehl-cook", "spikedyn"])
def test_frozen_weights_do_not_move_even_above_wmax(model):
    """Normalisation can leave a weight above wmax = 1; a frozen pass (labelling, testing) must not
    clip it at a spike.  Learning, the same spike clips it to wmax."""
    spec = get_model_spec(model, n_exc=3, n_input=P, x_tar=0.3) if model == "spikedyn" else \
        get_model_spec(model, n_exc=3, n_input=P, max_delay_ms=0.0)
    w0 = np.array([0.5, 1.7, 0.2, 0.9] * 3)

    def fire(m):
        m.exc.v = 0 * mV
        m.input_syn.w = w0
        m.input_group.tspk_ = np.array([-0.005, -0.005, -1e9, -1e9])
        if model == "diehl-cook":
            m.exc.xpost2 = 1.0                       # D&C potentiates with its slow post trace

    frozen = one_step(spec, fire, plastic=0.0)
    assert np.array_equal(np.asarray(frozen.input_syn.w[:]), w0)
    assert list(np.asarray(frozen.exc.nchanged[:])) == [0, 0, 0]
    learning = one_step(spec, fire, plastic=1.0)
    assert np.asarray(learning.input_syn.w[:]).max() == 1.0        # the input that fired at 1.7: clipped


def test_diehl_cook_depression_at_a_presynaptic_spike():
    """D&C at an input spike: w -= nu_pre * xpost1 (the post trace, 1 right after a post spike)."""
    spec = get_model_spec("diehl-cook", n_exc=3, n_input=P, nu_pre=0.01, max_delay_ms=0.0)

    def pre_after_post(m):
        m.exc.xpost1 = [1.0, 0.5, 0.0]
        m.input_syn.w = 0.5
        m.controller.t_in = 10 * ms                 # inside a slot (not its silent first step): input on
        m.input_group.rate = [1e9, 0, 0, 0] * brian2.Hz  # input 0 fires in this step

    m = one_step(spec, pre_after_post)
    w = np.asarray(m.input_syn.w[:]).reshape(P, 3)
    decay = math.exp(-DT_MS / 20.0)                  # xpost1 decays (tau 20 ms) before the spike arrives
    np.testing.assert_allclose(w[0], 0.5 - 0.01 * np.array([1.0, 0.5, 0.0]) * decay, rtol=1e-12)
    assert np.all(w[1:] == 0.5)


def test_spikedyn_lateral_inhibition_adds_w_lat_to_every_other_neuron():
    spec = get_model_spec("spikedyn", n_exc=4, n_input=P, w_lat=17.0)
    m = one_step(spec, lambda m: setattr(m.exc, "v", [0, -65, -65, -65] * mV))
    np.testing.assert_allclose(np.asarray(m.exc.gi[:]), [0, 17.0, 17.0, 17.0], rtol=1e-12)


def test_diehl_cook_inhibition_goes_through_the_inhibitory_layer():
    spec = get_model_spec("diehl-cook", n_exc=4, n_input=P, w_ei=10.4)
    m = one_step(spec, lambda m: setattr(m.exc, "v", [0, -65, -65, -65] * mV))
    inh = next(o for o in m.objects if o.name == "inh")
    np.testing.assert_allclose(np.asarray(inh.ge[:]), [10.4, 0, 0, 0], rtol=1e-12)
    assert np.all(np.asarray(m.exc.gi[:]) == 0)      # the excitatory layer is inhibited one step later at the earliest


# -- SpikeDyn's switches for ablations ---------------------------------------------------------------
def _all_fire_silent_inputs(nspikes=(0, 0, 0)):
    def setup(m):
        m.controller.t_in = 10 * ms      # inside a slot: the boundary would reset this sample's nspikes
        m.exc.real = 1                   # (what the slot's boundary set)
        m.exc.v = 0 * mV
        m.exc.learned = [0, 100, 300]
        m.exc.nspikes = list(nspikes)
        m.input_syn.w = 0.5
    return setup


def test_a_fixed_learning_rate_without_adaptation():
    spec = get_model_spec("spikedyn", n_exc=3, n_input=P, nu_post=0.01, x_tar=0.3, n_half=100.0, lr_adaptation=0.0)
    m = one_step(spec, _all_fire_silent_inputs())
    np.testing.assert_allclose(np.asarray(m.input_syn.w[:]), 0.5 - 0.01 * 0.3, rtol=1e-12)


def test_min_response_no_update_from_a_neurons_first_spikes_in_a_sample():
    """min_response = 2: a spike potentiates only when it is at least the neuron's 2nd in the sample."""
    spec = get_model_spec("spikedyn", n_exc=3, n_input=P, nu_post=0.01, x_tar=0.3, n_half=100.0, min_response=2.0)
    m = one_step(spec, _all_fire_silent_inputs(nspikes=(0, 1, 0)))
    w = np.asarray(m.input_syn.w[:]).reshape(P, 3)
    np.testing.assert_allclose(w[:, 1], 0.5 - 0.01 / 2 * 0.3, rtol=1e-12)     # its 2nd spike: learns
    assert np.all(w[:, [0, 2]] == 0.5)                                        # first spikes: nothing
    assert list(np.asarray(m.exc.nchanged[:])) == [0, P, 0]


def test_spikedyn_with_an_inhibitory_layer_instead_of_direct_inhibition():
    spec = get_model_spec("spikedyn", n_exc=4, n_input=P, inhibitory_layer=1, w_ei=10.4)
    m = one_step(spec, lambda m: setattr(m.exc, "v", [0, -65, -65, -65] * mV))
    inh = next(o for o in m.objects if o.name == "inh")
    np.testing.assert_allclose(np.asarray(inh.ge[:]), [10.4, 0, 0, 0], rtol=1e-12)
    assert np.all(np.asarray(m.exc.gi[:]) == 0) and "exc_exc" not in [o.name for o in m.objects]
    with pytest.raises(ValueError, match="inhibitory_layer must be 0"):
        get_model_spec("spikedyn", inhibitory_layer=2)


def test_explicit_decay_relaxes_the_columns_of_neurons_that_did_not_learn():
    """At a training sample boundary: neuron 1 responded (3 spikes) and is renormalised to norm;
    neurons 0 and 2 did not, and their weights move a fraction `decay` towards norm / N_in."""
    spec = get_model_spec("spikedyn", n_exc=3, n_input=P, norm=4.0, decay=0.5)
    assert spec.structure()["weight_decay"] and "weight_decay" not in get_model_spec("spikedyn").structure()

    def after_a_sample(m):
        m.exc.nspikes = [0, 3, 0]
        m.input_syn.w = 0.5
        m.exc.wsum = P * 0.5

    m = one_step(spec, after_a_sample)                 # the first step is a slot boundary
    w = np.asarray(m.input_syn.w[:]).reshape(P, 3)
    np.testing.assert_allclose(w[:, 0], 0.5 + 0.5 * (4.0 / P - 0.5), rtol=1e-12)
    np.testing.assert_allclose(w[:, 1], 0.5 * 4.0 / (P * 0.5 + 1e-12), rtol=1e-12)
    np.testing.assert_allclose(w[:, 2], w[:, 0], rtol=0)
    np.testing.assert_allclose(np.asarray(m.exc.wsum[:]), [P * 0.75, 4.0, P * 0.75], rtol=1e-12)
    assert list(np.asarray(m.exc.nchanged[:])) == [P, P, P]
    with pytest.raises(ValueError, match="decay is a fraction"):
        get_model_spec("spikedyn", decay=2.0)


@pytest.mark.parametrize("plastic", [1.0, 0.0])
def test_recency_keyed_learning_rate_forgets_the_count_at_a_boundary(plastic):
    """lr_forget = f: at a training sample boundary every neuron's learned count is multiplied by
    1 - f, then the neurons that learned from the sample (nspikes > 0) add one; frozen: unchanged."""
    spec = get_model_spec("spikedyn", n_exc=3, n_input=P, lr_forget=0.25)

    def after_a_sample(m):
        m.exc.learned = [8.0, 40.0, 0.0]
        m.exc.nspikes = [0, 2, 1]

    m = one_step(spec, after_a_sample, plastic)        # the first step is a slot boundary
    want = [8.0 * 0.75, 40.0 * 0.75 + 1, 0.0 + 1] if plastic else [8.0, 40.0, 0.0]
    np.testing.assert_allclose(np.asarray(m.exc.learned[:]), want, rtol=1e-12, atol=0)
    off = one_step(get_model_spec("spikedyn", n_exc=3, n_input=P), after_a_sample, plastic)   # lr_forget = 0
    assert list(np.asarray(off.exc.learned[:])) == ([8.0, 41.0, 1.0] if plastic else [8.0, 40.0, 0.0])
    with pytest.raises(ValueError, match="lr_forget is a fraction"):
        get_model_spec("spikedyn", lr_forget=1.5)
