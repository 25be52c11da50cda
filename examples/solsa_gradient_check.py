"""SOLSA in Brian2: the gradient accumulated online inside the run equals hand-written BPTT (one layer).

    .venv/bin/python examples/solsa_gradient_check.py
"""
import numpy as np

from brian_snn.solsa import ModelParams, Network, TrainConfig, bptt
from brian_snn.solsa.brian_net import BrianSolsa

p = ModelParams()                       # lambda 0.5, theta 1, V_r = sigma = 0.5, alpha = beta = 0.9
rng = np.random.default_rng(0)
net = Network.init([20, 3], p, rng, scale=2.5)
x = (rng.random((1, 60, 20)) < 0.2).astype(float)      # one sample: 60 steps, 20 input channels
y = np.zeros((1, 60, 3))
y[:, :, 1] = 1.0                                        # neuron 1 should fire, the others stay silent

exact = bptt(net, p, x, y)                              # reverse mode, whole history stored
with BrianSolsa(net.copy(), p, TrainConfig(), n_samples=1, T=60, record_gradient=True) as bn:
    gW, g_alpha, g_beta = bn.gradient_run(x, y)         # forward mode, traces inside the Brian2 run

rel = np.max(np.abs(gW[0] - exact.W[0])) / np.max(np.abs(exact.W[0]))
print(f"dE/dW     max relative difference Brian2 vs BPTT: {rel:.2e}")
print(f"dE/dalpha Brian2 {g_alpha[0]: .10f}   BPTT {exact.alpha[0]: .10f}")
print(f"dE/dbeta  Brian2 {g_beta[0]: .10f}   BPTT {exact.beta[0]: .10f}")
