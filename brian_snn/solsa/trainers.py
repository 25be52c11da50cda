"""Training loops: SOLSA (Brian2 or numpy engine), the simplified online rule, and BPTT.

All three share the network sizes, initial weights (same seed), optimiser, learning rates, sample order
and evaluation (the numpy forward pass, identical to the Brian2 forward: see the tests).  What differs is
only what the method is: the model (the simplified rule has no synaptic filter) and how the gradient is
obtained and applied (traces at scheduled steps vs one exact gradient per sequence).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .config import ModelParams, TrainConfig
from .errors import SolsaError
from .optim import Optimizer
from .reference import Network, OnlineLearner, bptt, forward
from .schedule import UpdateSchedule, confident, early_stop_active, hits_needed

METHODS = ("solsa", "bptt", "online-simple")
ENGINES = ("brian2", "numpy")


@dataclass
class TrainResult:
    method: str
    net: Network
    history: list = field(default_factory=list)      # one dict per epoch
    schedule: list = field(default_factory=list)     # update steps in use at the end
    train_seconds: float = 0.0
    engine: str = "numpy"
    # spikes each layer emitted while learning, summed over all epochs (numpy online rules; else empty)
    layer_spikes: list = field(default_factory=list)

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}


# ----------------------------------------------------------------------------- evaluation
def evaluate(net: Network, p: ModelParams, x, y, kind: str, chunk: int = 256) -> float:
    """Accuracy (classification: argmax of the output spike count) or NMSE (regression)."""
    x = np.asarray(x, dtype=float)
    if kind == "classification":
        correct = 0
        for s in range(0, len(x), chunk):
            counts = forward(net, p, x[s:s + chunk]).out.sum(axis=1)
            correct += int(np.sum(np.argmax(counts, axis=1) == np.asarray(y[s:s + chunk])))
        return correct / len(x)
    outs = np.concatenate([forward(net, p, x[s:s + chunk]).out for s in range(0, len(x), chunk)])
    y = np.asarray(y, dtype=float)
    return float(np.mean((outs - y) ** 2) / max(np.var(y), 1e-12))


def targets(task, split: str = "train"):
    """Per-step targets [n, T, K]: one-hot over the whole window, or the regression sequence."""
    x, y = (task.x_train, task.y_train) if split == "train" else (task.x_test, task.y_test)
    if task.kind == "regression":
        return np.asarray(y, dtype=float)
    Y = np.zeros(x.shape[:2] + (task.n_classes,))
    Y[np.arange(len(x)), :, np.asarray(y)] = 1.0
    return Y


def analog_input(x) -> bool:
    """True when the inputs are analog values rather than 0/1 spikes (any value other than 0 or 1)."""
    x = np.asarray(x)
    return bool(np.any((x != 0) & (x != 1)))


def initial_network(method: str, sizes, p: ModelParams, cfg: TrainConfig, readout: str,
                    analog: bool = False) -> Network:
    """Same seed -> same initial weights for every method; the simplified rule has no filter.

    With ``analog`` inputs the first layer's filter gain starts at ``p.beta0_analog`` (default 0.1: DC
    gain beta/(1 - alpha) = 1, so z-scored inputs do not saturate layer 1); the simplified rule has no
    filter (gain 1 already).  ``p.beta0_analog = None`` keeps ``beta0`` everywhere."""
    rng = np.random.default_rng(cfg.seed)
    if method == "online-simple":
        return Network.init(sizes, p, rng, cfg.init_scale, readout, alpha=0.0, beta=1.0)
    net = Network.init(sizes, p, rng, cfg.init_scale, readout)
    if analog and p.beta0_analog is not None:
        net.beta[0] = p.beta0_analog
    return net


def _epoch_entry(epoch, net, p, task, seconds, updates, extra=None):
    """One epoch's record: train score and, when the task has one, validation score (``val``, else None).
    The test split is never read here: callers evaluate it once, after training (:func:`evaluate`)."""
    has_val = getattr(task, "x_val", None) is not None and len(task.x_val) > 0
    entry = dict(epoch=epoch + 1, seconds=seconds, updates=int(updates),
                 train=evaluate(net, p, task.x_train, task.y_train, task.kind),
                 val=evaluate(net, p, task.x_val, task.y_val, task.kind) if has_val else None,
                 alpha=[float(a) for a in net.alpha], beta=[float(b) for b in net.beta])
    entry.update(extra or {})
    return entry


def _log(verbose, method, e):
    if verbose:
        val = "" if e["val"] is None else f" val {e['val']:.4f}"
        print(f"  {method:13s} epoch {e['epoch']:3d}: train {e['train']:.4f}{val} "
              f"updates {e['updates']} ({e['seconds']:.1f}s)", flush=True)


# ----------------------------------------------------------------------------- online rules (numpy)
def _train_online_numpy(method, task, sizes, p, cfg, verbose=False) -> TrainResult:
    rule = "solsa" if method == "solsa" else "simple"
    net = initial_network(method, sizes, p, cfg, task.readout, analog_input(task.x_train))
    adaptive = cfg.adaptive_filter and rule == "solsa"
    opt = Optimizer(cfg)
    x, Y = np.asarray(task.x_train, float), targets(task)
    n, T = x.shape[:2]
    B = cfg.batch
    sched = UpdateSchedule(T, cfg)
    rng = np.random.default_rng(cfg.seed + 1)
    learner = OnlineLearner(net, p, B, rule, adaptive)
    need = hits_needed(cfg)
    res = TrainResult(method, net, engine="numpy")
    spikes = np.zeros(net.n_layers)
    t_start = time.perf_counter()
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        measure, es = sched.measuring(epoch), early_stop_active(cfg, epoch) and task.readout == "spikes"
        record, updates = np.zeros(T), 0
        for s in range(0, n - B + 1, B):             # drop_last: every batch has B samples
            idx = order[s:s + B]
            xb, yb = x[idx], Y[idx]
            learner.B = len(idx)
            learner.reset()
            accA, accB = np.zeros(net.n_layers), np.zeros(net.n_layers)
            counts = np.zeros((len(idx), Y.shape[2]))
            hits, stopped = 0, False
            for t in range(T):
                out, gW, dA, dB = learner.step(xb[:, t], yb[:, t])
                counts += out
                for l in range(net.n_layers):
                    spikes[l] += learner.O[l].sum()
                accA += dA
                accB += dB
                if measure:
                    record[t] += sum(float(np.abs(g).sum()) for g in gW)
                if not sched.mask[t] or stopped:
                    continue
                for l in range(net.n_layers):
                    net.W[l] += opt.delta(("W", l), gW[l], cfg.lr)
                    if adaptive:
                        net.alpha[l] = np.clip(net.alpha[l] + opt.delta(("a", l), accA[l], cfg.lr_filter),
                                               p.alpha_min, p.alpha_max)
                        net.beta[l] = np.clip(net.beta[l] + opt.delta(("b", l), accB[l], cfg.lr_filter),
                                              p.beta_min, np.inf)
                accA[:] = 0.0
                accB[:] = 0.0
                updates += 1
                if es and confident(counts, yb[:, t], cfg.p_thr):
                    hits += 1
                    stopped = hits >= need
        sched.end_epoch(epoch, record)
        res.history.append(_epoch_entry(epoch, net, p, task, time.perf_counter() - t0, updates))
        _log(verbose, method, res.history[-1])
    res.train_seconds = time.perf_counter() - t_start
    res.schedule = sched.steps
    res.layer_spikes = [float(v) for v in spikes]      # (membrane readout: the last entry sums V)
    return res


# ----------------------------------------------------------------------------- SOLSA in Brian2
def open_session(task, hidden, p: ModelParams, cfg: TrainConfig, backend="runtime", directory=None):
    """A Brian2 SOLSA network for ``task``'s shape, to train several seeds with one build (one compile on cpp).
    Use as a context manager and pass it to :func:`train` as ``session``."""
    from .brian_net import BrianSolsa
    if cfg.batch != 1:
        raise SolsaError("the Brian2 engine trains with batch 1 (Brian2 has no batch axis)")
    sizes = [task.n_inputs, *[int(h) for h in hidden], task.n_outputs]
    net = initial_network("solsa", sizes, p, cfg, task.readout, analog_input(task.x_train))
    return BrianSolsa(net, p, cfg, len(task.x_train), task.T, backend=backend, directory=directory)


def _train_solsa_brian2(task, sizes, p, cfg, backend="runtime", directory=None, verbose=False,
                        session=None) -> TrainResult:
    import contextlib
    if cfg.batch != 1:
        raise SolsaError("the Brian2 engine trains with batch 1 (Brian2 has no batch axis)")
    net = initial_network("solsa", sizes, p, cfg, task.readout, analog_input(task.x_train))
    x, Y = np.asarray(task.x_train, float), targets(task)
    n, T = x.shape[:2]
    sched = UpdateSchedule(T, cfg)
    rng = np.random.default_rng(cfg.seed + 1)
    t_start = time.perf_counter()
    if session is None:
        from .brian_net import BrianSolsa
        ctx = BrianSolsa(net, p, cfg, n, T, backend=backend, directory=directory)
    else:
        if session.cfg != cfg.replace(seed=session.cfg.seed) or session.p != p:
            raise SolsaError("the session was built with other settings")
        session.load(net)
        ctx = contextlib.nullcontext(session)
    res = TrainResult("solsa", net, engine=f"brian2-{(session.backend if session else backend)}")
    with ctx as bn:
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            order = rng.permutation(n)
            stats = bn.run_epoch(x[order], Y[order], sched.mask,
                                 early_stop_on=early_stop_active(cfg, epoch), measure=sched.measuring(epoch))
            sched.end_epoch(epoch, stats.record)
            res.history.append(_epoch_entry(epoch, bn.net, p, task, time.perf_counter() - t0, stats.updates))
            _log(verbose, "solsa", res.history[-1])
    res.train_seconds = time.perf_counter() - t_start
    res.schedule = sched.steps
    return res


# ----------------------------------------------------------------------------- BPTT (numpy)
def _train_bptt(task, sizes, p, cfg, verbose=False) -> TrainResult:
    net = initial_network("bptt", sizes, p, cfg, task.readout, analog_input(task.x_train))
    opt = Optimizer(cfg)
    x, Y = np.asarray(task.x_train, float), targets(task)
    n, B = len(x), cfg.batch
    rng = np.random.default_rng(cfg.seed + 1)
    res = TrainResult("bptt", net, engine="numpy")
    t_start = time.perf_counter()
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        updates = 0
        for s in range(0, n - B + 1, B):
            idx = order[s:s + B]
            g = bptt(net, p, x[idx], Y[idx])
            for l in range(net.n_layers):
                net.W[l] += opt.delta(("W", l), g.W[l], cfg.lr)
                if cfg.adaptive_filter:
                    net.alpha[l] = np.clip(net.alpha[l] + opt.delta(("a", l), g.alpha[l], cfg.lr_filter),
                                           p.alpha_min, p.alpha_max)
                    net.beta[l] = np.clip(net.beta[l] + opt.delta(("b", l), g.beta[l], cfg.lr_filter),
                                          p.beta_min, np.inf)
            updates += 1
        res.history.append(_epoch_entry(epoch, net, p, task, time.perf_counter() - t0, updates))
        _log(verbose, "bptt", res.history[-1])
    res.train_seconds = time.perf_counter() - t_start
    return res


def train(method: str, task, hidden, p: ModelParams | None = None, cfg: TrainConfig | None = None,
          engine: str = "brian2", backend: str = "runtime", directory: str | None = None,
          verbose: bool = False, session=None) -> TrainResult:
    """Train ``method`` on ``task`` with hidden layer sizes ``hidden`` (list of ints).

    SOLSA with ``engine='brian2'`` runs as Brian2 equations (``backend`` runtime or cpp); ``session``
    (from :func:`open_session`) reuses one Brian2 build across calls.  Each epoch records the train
    score and the validation score (``task.x_val``, when present); the test split is not read: evaluate
    it once on ``res.net`` afterwards (:func:`evaluate`)."""
    p, cfg = p or ModelParams(), cfg or TrainConfig()
    if method not in METHODS:
        raise SolsaError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    if engine not in ENGINES:
        raise SolsaError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    sizes = [task.n_inputs, *[int(h) for h in hidden], task.n_outputs]
    if any(s < 1 for s in sizes):
        raise SolsaError(f"layer sizes must be positive, got {sizes}")
    if method == "bptt":
        return _train_bptt(task, sizes, p, cfg, verbose)
    if method == "solsa" and engine == "brian2":
        return _train_solsa_brian2(task, sizes, p, cfg, backend, directory, verbose, session)
    return _train_online_numpy(method, task, sizes, p, cfg, verbose)
