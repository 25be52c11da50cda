"""BPTT in its leanest exact form, the fair baseline for SOLSA's learning memory (issue 16).

Naive BPTT (:func:`.reference.bptt`) keeps F, V and O of every layer at every step as floats.  Most
of that can be recomputed, so a memory-conscious BPTT keeps only

* V of every layer at every step (floats; the surrogate derivative and a spike are functions of it),
  overwritten in place by dE/dV during the reverse pass, and
* the spikes of the hidden layers as bits (written while V is still there, read back in the
  forward sweep that recomputes the filters).

Three sweeps, all exact:

1. forward: store V;
2. reverse, all layers together step by step (each layer's reverse recursion needs only the step
   it is at from the layer above, so no [T x N] gradient of the layer below is ever held):
   dE/dV[t] replaces V[t];
3. forward again: recompute the filters F[t] from the input and the stored spike bits (the same
   operations as the first sweep, so the same values) and accumulate
   dE/dW = sum_t gV[t] F[t]^T and, in forward mode, dE/dalpha = sum_t (W^T gV[t]) . q[t] and
   dE/dbeta = sum_t (W^T gV[t]) . r[t] with q[t] = F[t-1] + alpha q[t-1], r[t] = s[t] + alpha r[t-1].

The gradients equal :func:`.reference.bptt`'s to rounding (tests/test_solsa_memory.py).  Spikes are
stored as bits only when they are binary (``spike == "heaviside"``); smooth spikes are floats.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg.blas import dger

from .config import ModelParams
from .reference import Gradients, Network, _check_inputs, _layer_is_readout, spike, surrogate


def _output(net, p, l, V):
    return V if _layer_is_readout(net, l) else spike(V, p)


def bptt_lean(net: Network, p: ModelParams, x, y) -> Gradients:
    """The exact BPTT gradient with V as the only per-step float history (see the module text)."""
    x, y = _check_inputs(net, x, y)
    B, T, _ = x.shape
    L, W, lam = net.n_layers, net.W, p.lam
    binary = p.spike != "smooth"
    V = [np.empty((B, T, w.shape[0])) for w in W]            # -> dE/dV after the reverse sweep
    hidden = range(L - 1)                                     # layers whose output feeds another layer
    spikes = [np.empty((B, T, (W[l].shape[0] + 7) // 8), np.uint8) if binary else np.empty((B, T, W[l].shape[0]))
              for l in hidden]

    # 1. forward: V only
    F = [np.zeros((B, w.shape[1])) for w in W]
    v = [np.zeros((B, w.shape[0])) for w in W]
    o = [np.zeros((B, w.shape[0])) for w in W]
    for t in range(T):
        s = x[:, t]
        for l in range(L):
            vr = 0.0 if _layer_is_readout(net, l) else p.v_reset
            F[l] = net.alpha[l] * F[l] + net.beta[l] * s
            v[l] = lam * v[l] + F[l] @ W[l].T - vr * o[l]
            o[l] = _output(net, p, l, v[l])
            V[l][:, t] = v[l]
            s = o[l]
    del F, v, o

    # 2. reverse, all layers at once: dE/dV[t] overwrites V[t]
    K = W[-1].shape[0]
    loss = 0.0
    gV_next = [np.zeros((B, w.shape[0])) for w in W]
    gF_next = [np.zeros((B, w.shape[1])) for w in W]
    for t in reversed(range(T)):
        out = _output(net, p, L - 1, V[-1][:, t])
        diff = out - y[:, t]
        loss += float(np.sum(diff ** 2) / (K * B))
        g_ext = 2.0 * diff / (K * B)
        for l in reversed(range(L)):
            readout = _layer_is_readout(net, l)
            vt = V[l][:, t]
            if l < L - 1:
                o_t = _output(net, p, l, vt)
                spikes[l][:, t] = np.packbits(o_t.astype(bool), axis=1) if binary else o_t
            eps = 1.0 if readout else surrogate(vt, p)
            vr = 0.0 if readout else p.v_reset
            gV = (g_ext - vr * gV_next[l]) * eps + lam * gV_next[l]
            V[l][:, t] = gV
            gV_next[l] = gV
            gF_next[l] = gV @ W[l] + net.alpha[l] * gF_next[l]
            g_ext = net.beta[l] * gF_next[l]
    del gV_next, gF_next

    # 3. forward again: filters recomputed, gradients accumulated
    gW = [np.zeros_like(w) for w in W]
    gA, gB = np.zeros(L), np.zeros(L)
    F = [np.zeros((B, w.shape[1])) for w in W]
    q = [np.zeros((B, w.shape[1])) for w in W]
    r = [np.zeros((B, w.shape[1])) for w in W]
    for t in range(T):
        for l in range(L):
            if l == 0:
                s = x[:, t]
            elif binary:
                s = np.unpackbits(spikes[l - 1][:, t], axis=1, count=W[l].shape[1]).astype(float)
            else:
                s = spikes[l - 1][:, t]
            a = net.alpha[l]
            q[l] = F[l] + a * q[l]                 # uses F[t-1]
            r[l] = s + a * r[l]
            F[l] = a * F[l] + net.beta[l] * s
            gv = V[l][:, t]
            for b in range(B):     # rank-1 updates in place: no [N_out x N_in] temporary per step
                dger(1.0, F[l][b], gv[b], a=gW[l].T, overwrite_a=True)
            u = gv @ W[l]
            gA[l] += np.sum(u * q[l])
            gB[l] += np.sum(u * r[l])
    return Gradients(gW, gA, gB, loss)
