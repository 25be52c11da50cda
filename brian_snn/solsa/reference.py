"""Numpy reference of the SOLSA network: forward pass, exact BPTT, and the online learners.

Discrete time, one step = dt, layer l maps N_{l-1} inputs to N_l neurons (``W[l]`` is N_l x N_{l-1}):

    F[t] = alpha F[t-1] + beta s[t]                  synaptic filter, one per input channel
    V[t] = lam V[t-1] + W F[t] - V_r O[t-1]          LIF, soft reset one step after a spike
    O[t] = H(V[t] - theta),  eps[t] = N(V[t]; theta, sigma)   (Gaussian surrogate dO/dV)

With ``readout='membrane'`` the last layer does not spike: its output is V (eps = 1, no reset),
used for sequence generation.  Loss per sample: E = sum_t sum_k (out_k[t] - y_k[t])^2 / K,
averaged over the batch.

* :func:`bptt` is the exact reverse-mode gradient through time (with the same surrogate).
* :class:`OnlineLearner` carries the forward-mode eligibility traces of SOLSA (per synapse, with the
  reset feedback lam - V_r eps[t-1]) or of the simplified rule (per input channel, no reset feedback,
  no synaptic filter) and returns the per-step gradients; it keeps no history.
The Brian2 network in :mod:`.brian_net` implements the same per-step order as ``OnlineLearner.step``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .config import ModelParams
from .errors import SolsaError

READOUTS = ("spikes", "membrane")
RULES = ("solsa", "simple")


# ----------------------------------------------------------------------------- network parameters
@dataclass
class Network:
    """Learnable parameters: weights per layer and one (alpha, beta) pair per layer (as in the authors' code)."""
    W: list
    alpha: np.ndarray
    beta: np.ndarray
    readout: str = "spikes"

    @property
    def sizes(self) -> list:
        return [self.W[0].shape[1]] + [w.shape[0] for w in self.W]

    @property
    def n_layers(self) -> int:
        return len(self.W)

    @classmethod
    def init(cls, sizes, params: ModelParams, rng: np.random.Generator, scale: float = 1.0,
             readout: str = "spikes", alpha=None, beta=None) -> "Network":
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise SolsaError(f"layer sizes must be >= 2 positive integers, got {sizes}")
        if readout not in READOUTS:
            raise SolsaError(f"unknown readout {readout!r} (choose from {', '.join(READOUTS)})")
        # PyTorch nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), times `scale`.
        W = [rng.uniform(-1, 1, (n_out, n_in)) * scale / math.sqrt(n_in)
             for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        L = len(W)
        a = np.full(L, params.alpha0 if alpha is None else alpha, dtype=float)
        b = np.full(L, params.beta0 if beta is None else beta, dtype=float)
        return cls(W, a, b, readout)

    def copy(self) -> "Network":
        return Network([w.copy() for w in self.W], self.alpha.copy(), self.beta.copy(), self.readout)


@dataclass
class Gradients:
    W: list
    alpha: np.ndarray
    beta: np.ndarray
    loss: float = 0.0


# ----------------------------------------------------------------------------- neuron functions
def spike(V, p: ModelParams):
    if p.spike == "smooth":   # Gaussian CDF: its exact derivative is the surrogate below
        from scipy.special import ndtr
        return ndtr((V - p.theta) / p.sigma)
    return (V > p.theta).astype(float)


def surrogate(V, p: ModelParams):
    return np.exp(-(V - p.theta) ** 2 / (2 * p.sigma ** 2)) / (math.sqrt(2 * math.pi) * p.sigma)


def _layer_is_readout(net: Network, l: int) -> bool:
    return net.readout == "membrane" and l == net.n_layers - 1


def _check_inputs(net: Network, x, y=None):
    x = np.asarray(x, dtype=float)
    if x.ndim != 3 or x.shape[2] != net.sizes[0]:
        raise SolsaError(f"input must have shape [batch, T, {net.sizes[0]}], got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise SolsaError("input contains NaN or infinite values")
    if y is not None:
        y = np.asarray(y, dtype=float)
        if y.shape != x.shape[:2] + (net.sizes[-1],):
            raise SolsaError(f"target must have shape {x.shape[:2] + (net.sizes[-1],)}, got {y.shape}")
    return x, y


def loss_and_grad(out, y):
    """E = mean_b sum_t sum_k (out - y)^2 / K and dE/dout."""
    B, _, K = out.shape
    diff = out - y
    return float(np.sum(diff ** 2) / (K * B)), 2.0 * diff / (K * B)


# ----------------------------------------------------------------------------- forward + BPTT
@dataclass
class Record:
    """Stored history of a forward pass (what BPTT must keep): per layer F, V, O of shape [B, T, n]."""
    F: list = field(default_factory=list)
    V: list = field(default_factory=list)
    O: list = field(default_factory=list)

    @property
    def out(self):
        return self.O[-1]


def forward(net: Network, p: ModelParams, x) -> Record:
    """Run the network over whole sequences, storing F, V, O at every step (BPTT's memory)."""
    x, _ = _check_inputs(net, x)
    B, T, _ = x.shape
    rec = Record()
    s = x
    for l, W in enumerate(net.W):
        a, b = net.alpha[l], net.beta[l]
        readout = _layer_is_readout(net, l)
        vr = 0.0 if readout else p.v_reset
        Fs = np.empty((B, T, W.shape[1]))
        Vs = np.empty((B, T, W.shape[0]))
        Os = np.empty_like(Vs)
        F = np.zeros((B, W.shape[1]))
        V = np.zeros((B, W.shape[0]))
        O = np.zeros_like(V)
        for t in range(T):
            F = a * F + b * s[:, t]
            V = p.lam * V + F @ W.T - vr * O
            O = V if readout else spike(V, p)
            Fs[:, t], Vs[:, t], Os[:, t] = F, V, O
        rec.F.append(Fs); rec.V.append(Vs); rec.O.append(Os)
        s = Os
    return rec


def bptt(net: Network, p: ModelParams, x, y) -> Gradients:
    """Exact gradient of the loss by back-propagation through time (hand-written reverse mode).

    Reverse recursions for one layer (g* = total derivative of E):
        gO[t] = dE/dO[t] (from the loss or the layer above) - V_r gV[t+1]    (spike at t resets V[t+1])
        gV[t] = gO[t] eps[t] + lam gV[t+1]
        gF[t] = W^T gV[t] + alpha gF[t+1]
        dE/dW = sum_t gV[t] F[t]^T,  dE/dalpha = sum_t gF[t].F[t-1],  dE/dbeta = sum_t gF[t].s[t]
        dE/ds[t] = beta gF[t]   -> the layer below
    """
    x, y = _check_inputs(net, x, y)
    rec = forward(net, p, x)
    loss, g_ext = loss_and_grad(rec.out, y)
    B, T, _ = x.shape
    L = net.n_layers
    gW, gA, gB = [None] * L, np.zeros(L), np.zeros(L)
    for l in reversed(range(L)):
        W, a, b = net.W[l], net.alpha[l], net.beta[l]
        readout = _layer_is_readout(net, l)
        vr = 0.0 if readout else p.v_reset
        eps = np.ones_like(rec.V[l]) if readout else surrogate(rec.V[l], p)
        gV = np.empty_like(rec.V[l])
        nxt = np.zeros((B, W.shape[0]))
        for t in reversed(range(T)):
            nxt = (g_ext[:, t] - vr * nxt) * eps[:, t] + p.lam * nxt
            gV[:, t] = nxt
        F = rec.F[l]
        gW[l] = np.einsum("btj,bti->ji", gV, F)
        gF = np.empty_like(F)
        nxt = np.zeros((B, W.shape[1]))
        for t in reversed(range(T)):
            nxt = gV[:, t] @ W + a * nxt
            gF[:, t] = nxt
        s = x if l == 0 else rec.O[l - 1]
        gA[l] = np.sum(gF[:, 1:] * F[:, :-1])       # F[-1] = 0
        gB[l] = np.sum(gF * s)
        g_ext = b * gF
    return Gradients(gW, gA, gB, loss)


# ----------------------------------------------------------------------------- online learners
class OnlineLearner:
    """Step-by-step forward pass plus eligibility traces; no history is stored.

    ``rule='solsa'``: per-synapse trace  e_ji[t] = (lam - V_r eps_j[t-1]) e_ji[t-1] + F_i[t]
    (exact for one layer), and the forward-mode filter traces for alpha, beta:
        q[t] = F[t-1] + alpha q[t-1],  r[t] = s[t] + alpha r[t-1]      (dF/dalpha, dF/dbeta)
        h[t] = k[t] h[t-1] + W q[t],   g[t] = k[t] g[t-1] + W r[t]      (dV/dalpha, dV/dbeta)
    Hidden layers get the same-step learning signal  delta_l = (delta_{l+1} W_{l+1}) beta_{l+1} eps_l
    (temporal credit through the layer above is dropped: the documented multi-layer approximation).

    ``rule='simple'``: the network has no synaptic filter (alpha = 0, beta = 1: F = s) and the trace
    drops the reset feedback, so it factorises into a presynaptic trace ebar_i = lam ebar_i + s_i.
    """

    def __init__(self, net: Network, p: ModelParams, batch: int, rule: str = "solsa",
                 adaptive_filter: bool = True):
        if rule not in RULES:
            raise SolsaError(f"unknown online rule {rule!r} (choose from {', '.join(RULES)})")
        self.net, self.p, self.B, self.rule = net, p, int(batch), rule
        self.adaptive = adaptive_filter and rule == "solsa"
        self.reset()

    def reset(self):
        """Zero all state at the start of a batch of sequences."""
        B, sizes = self.B, self.net.sizes
        ins, outs = sizes[:-1], sizes[1:]
        self.F = [np.zeros((B, m)) for m in ins]
        self.V = [np.zeros((B, n)) for n in outs]
        self.O = [np.zeros((B, n)) for n in outs]
        self.eps_prev = [np.zeros((B, n)) for n in outs]
        if self.rule == "solsa":
            self.e = [np.zeros((B, n, m)) for m, n in zip(ins, outs)]
        else:
            self.e = [np.zeros((B, m)) for m in ins]
        if self.adaptive:
            self.q = [np.zeros((B, m)) for m in ins]
            self.r = [np.zeros((B, m)) for m in ins]
            self.h = [np.zeros((B, n)) for n in outs]
            self.g = [np.zeros((B, n)) for n in outs]

    def step(self, x_t, y_t):
        """Advance one step.  Returns (out, gW, dA, dB): the instantaneous batch-mean gradients
        dE[t]/dW per layer and the increments dE[t]/dalpha, dE[t]/dbeta (arrays over layers)."""
        net, p, L = self.net, self.p, self.net.n_layers
        eps = [None] * L
        s = x_t
        for l in range(L):
            a, b, W = net.alpha[l], net.beta[l], net.W[l]
            readout = _layer_is_readout(net, l)
            if self.adaptive:   # uses F[t-1], before the filter update
                self.q[l] = self.F[l] + a * self.q[l]
                self.r[l] = s + a * self.r[l]
            self.F[l] = a * self.F[l] + b * s
            vr = 0.0 if readout else p.v_reset
            self.V[l] = p.lam * self.V[l] + self.F[l] @ W.T - vr * self.O[l]
            if readout:
                self.O[l], eps[l] = self.V[l], np.ones_like(self.V[l])
            else:
                self.O[l], eps[l] = spike(self.V[l], p), surrogate(self.V[l], p)
            s = self.O[l]
        out = self.O[-1]
        K = out.shape[1]
        delta = [None] * L
        delta[-1] = 2.0 * (out - y_t) / (K * self.B) * eps[-1]
        for l in range(L - 2, -1, -1):
            delta[l] = (delta[l + 1] @ net.W[l + 1]) * net.beta[l + 1] * eps[l]
        gW, dA, dB = [None] * L, np.zeros(L), np.zeros(L)
        for l in range(L):
            readout = _layer_is_readout(net, l)
            if self.rule == "solsa":
                k = p.lam - (0.0 if readout else p.v_reset) * self.eps_prev[l]
                e = self.e[l]
                e *= k[:, :, None]            # in place: the trace is the only per-synapse state
                e += self.F[l][:, None, :]
                gW[l] = np.einsum("bj,bji->ji", delta[l], e)
                if self.adaptive:
                    W = net.W[l]
                    self.h[l] = k * self.h[l] + self.q[l] @ W.T
                    self.g[l] = k * self.g[l] + self.r[l] @ W.T
                    dA[l] = np.sum(delta[l] * self.h[l])
                    dB[l] = np.sum(delta[l] * self.g[l])
            else:
                self.e[l] = p.lam * self.e[l] + self.F[l]
                gW[l] = delta[l].T @ self.e[l]
            self.eps_prev[l] = eps[l]
        return out, gW, dA, dB


def online_gradients(net: Network, p: ModelParams, x, y, rule: str = "solsa",
                     adaptive_filter: bool = True) -> Gradients:
    """Accumulate the online gradients over whole sequences without updating (for comparison with BPTT)."""
    x, y = _check_inputs(net, x, y)
    B, T, _ = x.shape
    learner = OnlineLearner(net, p, B, rule, adaptive_filter)
    L = net.n_layers
    G = Gradients([np.zeros_like(w) for w in net.W], np.zeros(L), np.zeros(L))
    for t in range(T):
        out, gW, dA, dB = learner.step(x[:, t], y[:, t])
        for l in range(L):
            G.W[l] += gW[l]
        G.alpha += dA
        G.beta += dB
        G.loss += float(np.sum((out - y[:, t]) ** 2) / (out.shape[1] * B))
    return G
