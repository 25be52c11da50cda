"""The linear_implicit state updater against closed-form solutions."""
import numpy as np
from brian2 import NeuronGroup, Network, ms, mV, defaultclock, prefs

import brian_snn.integration  # noqa: F401


def test_constant_coefficient_decay_is_exact():
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.5 * ms
    g = NeuronGroup(1, "dx/dt = (2 - x) / (3*ms) : 1", method="linear_implicit")
    g.x = 0
    Network(g).run(6 * ms)
    assert np.isclose(g.x[0], 2 * (1 - np.exp(-6 / 3)), rtol=1e-12)


def test_state_dependent_coefficient_uses_implicit_step():
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.5 * ms
    # dv/dt = ((E0 - v) + g*(E1 - v)) / tau with g a second state variable held constant
    g = NeuronGroup(1, """dv/dt = ((E0 - v) + c*(E1 - v)) / tau : volt
                          dc/dt = 0/ms : 1""", method="linear_implicit",
                    namespace=dict(E0=-65 * mV, E1=0 * mV, tau=10 * ms))
    g.v = -65 * mV
    g.c = 400.0      # forward Euler would overshoot E1 = 0 mV by far (dt*(1+c)/tau = 20)
    Network(g).run(0.5 * ms)
    h = 0.5 / 10
    expected = (-65 + h * (-65 + 400 * 0)) / (1 + h * 401)      # hand: (v + dt*B)/(1 - dt*A)
    assert np.isclose(g.v[0] / mV, expected, rtol=1e-12)
    assert -65 <= g.v[0] / mV <= 0
