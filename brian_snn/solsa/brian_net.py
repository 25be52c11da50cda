"""SOLSA in Brian2: build the network from :mod:`.equations` and train one epoch per ``run``.

A whole epoch (all samples, one after the other, batch 1) runs inside one ``run``: inputs, targets and
the update schedule come from TimedArrays laid out over the epoch, every state is zeroed at sample
boundaries by a ``run_regularly`` with period T, and weights / filter constants are updated inside the
run at the scheduled steps.  Python only acts between epochs (re-ranking the schedule, switching early
stop on), so the same code runs on the runtime (numpy target) and the cpp_standalone backends; for cpp
the project is compiled once and later epochs re-run the binary with ``run_args``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import equations as eq
from .config import ModelParams, TrainConfig
from .errors import SolsaError
from .reference import Network
from .schedule import hits_needed
from .standalone import BACKENDS


@dataclass
class EpochStats:
    record: np.ndarray | None   # sum over samples and layers of |dW[t]| per in-sample step (measuring epochs)
    updates: int                # update steps applied (after early stop)


class BrianSolsa:
    """SOLSA network in Brian2 for ``n_samples`` sequences of ``T`` steps per run (batch 1).

    Use as a context manager (required for ``backend='cpp'``, which switches Brian2's global device).
    The learnable parameters live in ``self.net`` (a :class:`~.reference.Network`) between epochs.
    """

    def __init__(self, net: Network, p: ModelParams, cfg: TrainConfig, n_samples: int, T: int,
                 backend: str = "runtime", directory: str | None = None, record_gradient: bool = False):
        if backend not in BACKENDS:
            raise SolsaError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
        if p.spike != "heaviside":
            raise SolsaError("the Brian2 network implements the Heaviside spike only")
        self.net, self.p, self.cfg = net, p, cfg
        self.n, self.T, self.backend = int(n_samples), int(T), backend
        self.directory, self.record_gradient = directory, record_gradient
        self.adaptive = cfg.adaptive_filter
        self.early_stop = cfg.early_stop and net.readout == "spikes"
        self.scheduled = cfg.scheduled
        L = net.n_layers
        # optimiser state carried between epochs
        self.msw = [np.zeros_like(w) for w in net.W]
        self.msA, self.msB = np.zeros(L), np.zeros(L)
        self.gw = [np.zeros_like(w) for w in net.W]
        self._objs = None
        self._ctx = None
        self._epochs_run = 0

    def load(self, net: Network) -> None:
        """Start a new training (e.g. another seed) on the same structure: new parameters, zero optimiser
        state.  On cpp the compiled project is reused: the values go in through ``run_args``."""
        if net.sizes != self.net.sizes or net.readout != self.net.readout:
            raise SolsaError(f"network {net.sizes} ({net.readout}) does not match the built {self.net.sizes}")
        self.net = net
        self.msw = [np.zeros_like(w) for w in net.W]
        self.msA, self.msB = np.zeros(net.n_layers), np.zeros(net.n_layers)
        self.gw = [np.zeros_like(w) for w in net.W]

    # ------------------------------------------------------------ context management (cpp device)
    def __enter__(self):
        if self.backend == "cpp":
            from .standalone import cpp_standalone
            self._ctx = cpp_standalone(self.directory)
            self.directory = self._ctx.__enter__()
        else:
            from .standalone import use_numpy_target
            use_numpy_target()
        return self

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
            self._ctx = None
        self._objs = None
        return False

    # ------------------------------------------------------------ building
    def _namespace(self, x_steps, y_steps, upd_steps):
        from brian2 import TimedArray, ms
        cfg, p = self.cfg, self.p
        return dict(
            lam=p.lam, theta=p.theta, sigma=p.sigma, alpha_min=p.alpha_min, alpha_max=p.alpha_max,
            beta_min=p.beta_min, eta=cfg.lr, eta_f=cfg.lr_filter, rho=cfg.rho, opt_eps=cfg.opt_eps,
            p_thr=cfg.p_thr, hits_needed=float(hits_needed(cfg)), n_out=float(self.net.sizes[-1]),
            x_ta=TimedArray(x_steps, dt=1 * ms), y_ta=TimedArray(y_steps, dt=1 * ms),
            upd_ta=TimedArray(upd_steps, dt=1 * ms),
        )

    def _build(self, ns, with_record: bool):
        """Create groups and synapses for the current parameters; returns a dict of handles."""
        from brian2 import NeuronGroup, Synapses, StateMonitor, Network, ms, defaultclock
        defaultclock.dt = 1 * ms
        net, L, T = self.net, self.net.n_layers, self.T
        sizes = net.sizes
        ad, es = self.adaptive, self.early_stop
        period = T * ms
        groups = []
        objs = []

        def reg(obj, code, when, order, dt=None):
            obj.run_regularly(code, when=when, order=order, dt=dt)

        for l in range(L + 1):            # group l: input (l = 0), hidden (0 < l < L), output (l = L)
            has_src = l < L               # feeds layer l+1 through its filter
            is_lif, is_out = l > 0, l == L
            model = ""
            if has_src:
                model += eq.SOURCE_VARS
            if is_lif:
                lif = eq.LIF_VARS
                if has_src:               # gate/stop declared once
                    lif = "\n".join(s for s in lif.splitlines() if not s.startswith(("gate", "stop"))) + "\n"
                model += lif + (eq.OUTPUT_EXTRA_VARS if is_out else eq.HIDDEN_EXTRA_VARS)
                if with_record:
                    model += "absdw : 1\n"
            gns = dict(ns, v_r=0.0 if (is_out and net.readout == "membrane") else self.p.v_reset)
            G = NeuronGroup(sizes[l], model, namespace=gns, name=f"solsa_g{l}*")
            # ---- per-step code of this group
            code = eq.GATE
            s = "x_ta(t, i)" if l == 0 else "O"
            if is_lif:
                code += eq.MEMBRANE_UPDATE if (is_out and net.readout == "membrane") else eq.LIF_UPDATE
                if is_out:
                    code += eq.OUTPUT_SIGNAL
            if has_src:
                if ad:
                    code += eq.FILTER_TRACES.format(s=s)
                code += eq.FILTER.format(s=s)
            reg(G, code, "start" if l == 0 else "groups", 0 if l == 0 else 2 * l)
            if is_lif and not is_out:
                reg(G, eq.HIDDEN_SIGNAL, "thresholds", 2 * (L - l))
            if is_lif and ad:
                reg(G, eq.FILTER_GRADIENT_TRACES, "after_thresholds", 1)
            if has_src and ad:
                reg(G, eq.ACCUMULATE_FILTER_GRADIENT, "before_synapses", 1)
                reg(G, eq.FILTER_UPDATE[self.cfg.optimizer], "after_synapses", 0)
            if is_out:
                reg(G, eq.EARLY_STOP if es else eq.COUNT_UPDATES, "end", 1)
            reset = (eq.RESET_SOURCE if has_src else "") + (eq.RESET_LIF if is_lif else "") \
                + (eq.RESET_OUTPUT if is_out else "")
            if has_src and is_lif:        # stop appears in both resets
                reset = reset.replace("stop = 0\n", "", 1)
            reg(G, reset, "start", -5, dt=period)
            # ---- parameter values
            if has_src:
                G.alpha = net.alpha[l]
                G.beta = net.beta[l]
                G.msA = self.msA[l]
                G.msB = self.msB[l]
            groups.append(G)
        out = groups[-1]
        out.es_on = 0.0

        synapses = []
        for l in range(1, L + 1):
            pre, post = groups[l - 1], groups[l]
            model = eq.SYNAPSE_VARS + eq.FORWARD_CURRENT + "\n"
            if l > 1:
                model += eq.BACKWARD_SIGNAL + "\n"
            if ad:
                model += eq.FILTER_DRIVES + "\n" + eq.FILTER_GRADIENTS + "\n"
            if with_record:
                model += eq.ABS_DW + "\n"
            S = Synapses(pre, post, model, namespace=dict(ns), name=f"solsa_s{l}*")
            n_in, n_out = sizes[l - 1], sizes[l]
            ii, jj = np.repeat(np.arange(n_in), n_out), np.tile(np.arange(n_out), n_in)
            S.connect(i=ii, j=jj)
            S.w = net.W[l - 1][jj, ii]
            S.msw = self.msw[l - 1][jj, ii]
            code = eq.TRACE_UPDATE + (eq.RECORD_GRADIENT if self.record_gradient else "") \
                + eq.WEIGHT_UPDATE[self.cfg.optimizer]
            reg(S, code, "synapses", 0)
            reg(S, eq.RESET_SYNAPSE, "start", -5, dt=period)
            su = S.summed_updaters
            su["I_post"].when, su["I_post"].order = "groups", 2 * l - 1
            if l > 1:
                su["Lb_pre"].when, su["Lb_pre"].order = "thresholds", 2 * (L - l + 1) - 1
            if ad:
                for v in ("Hq_post", "Gr_post"):
                    su[v].when, su[v].order = "after_thresholds", 0
                for v in ("gA_pre", "gB_pre"):
                    su[v].when, su[v].order = "before_synapses", 0
            if with_record:
                su["absdw_post"].when, su["absdw_post"].order = "after_synapses", 10
            synapses.append((S, ii, jj))
            objs.append(S)

        if es:
            J = Synapses(out, out, eq.JUDGE, name="solsa_judge*")
            J.connect()
            for v in ("tot_post", "tc_post"):
                J.summed_updaters[v].when, J.summed_updaters[v].order = "end", 0
            objs.append(J)
            for l in range(L):
                Bc = Synapses(out, groups[l], eq.BROADCAST_STOP, name=f"solsa_stop{l}*")
                Bc.connect(i=0, j=np.arange(sizes[l]))
                Bc.summed_updaters["stop_post"].when, Bc.summed_updaters["stop_post"].order = "end", 2
                objs.append(Bc)
        monitor = None
        if with_record:
            ledger = NeuronGroup(1, "\n".join(f"rec{l} : 1" for l in range(1, L + 1)), name="solsa_ledger*")
            objs.append(ledger)
            for l in range(1, L + 1):
                Sl = Synapses(groups[l], ledger, f"rec{l}_post = absdw_pre : 1 (summed)", name=f"solsa_rec{l}*")
                Sl.connect(i=np.arange(sizes[l]), j=np.zeros(sizes[l], dtype=int))
                Sl.summed_updaters[f"rec{l}_post"].when = "after_synapses"
                Sl.summed_updaters[f"rec{l}_post"].order = 11
                objs.append(Sl)
            monitor = StateMonitor(ledger, [f"rec{l}" for l in range(1, L + 1)], record=0,
                                   when="end", order=5, name="solsa_recmon*")
            objs.append(monitor)
        network = Network(*groups, *objs)
        return dict(network=network, groups=groups, synapses=synapses, monitor=monitor, ns=ns)

    # ------------------------------------------------------------ running
    def _epoch_arrays(self, x, y, mask):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        n, T = self.n, self.T
        if x.shape[:2] != (n, T) or y.shape[:2] != (n, T):
            raise SolsaError(f"this network was built for {n} samples of {T} steps, got {x.shape[:2]}")
        mask = np.asarray(mask, dtype=float)
        if mask.shape != (T,):
            raise SolsaError(f"update mask must have {T} entries, got {mask.shape}")
        return (x.reshape(n * T, -1), y.reshape(n * T, -1), np.tile(mask, n))

    def run_epoch(self, x, y, mask, early_stop_on: bool = False, measure: bool = False) -> EpochStats:
        """Train on ``n`` sequences (in the given order) with update mask ``mask`` [T]."""
        from brian2 import ms, device
        x_steps, y_steps, upd_steps = self._epoch_arrays(x, y, mask)
        duration = self.n * self.T * ms
        es_on = 1.0 if (early_stop_on and self.early_stop) else 0.0
        if self.backend == "runtime":
            # rebuilding is cheap on the numpy target and lets each epoch carry its own inputs
            with_record = measure and self.scheduled
            objs = self._build(self._namespace(x_steps, y_steps, upd_steps), with_record)
            objs["groups"][-1].es_on = es_on
            objs["network"].run(duration, namespace={})
        else:
            with_record = self.scheduled      # structure fixed at compile time
            if self._objs is None:
                objs = self._build(self._namespace(x_steps, y_steps, upd_steps), with_record)
                objs["groups"][-1].es_on = es_on
                objs["network"].run(duration, namespace={})   # build_on_run: compiles and runs epoch 1
                self._objs = objs
            else:
                objs = self._objs
                ns = objs["ns"]
                args = {ns["x_ta"]: x_steps, ns["y_ta"]: y_steps, ns["upd_ta"]: upd_steps,
                        objs["groups"][-1].es_on: es_on}
                for l, (S, ii, jj) in enumerate(objs["synapses"]):
                    args[S.w] = self.net.W[l][jj, ii]
                    args[S.msw] = self.msw[l][jj, ii]
                for l, G in enumerate(objs["groups"][:-1]):
                    args[G.alpha] = np.full(len(G), self.net.alpha[l])
                    args[G.beta] = np.full(len(G), self.net.beta[l])
                    args[G.msA] = np.full(len(G), self.msA[l])
                    args[G.msB] = np.full(len(G), self.msB[l])
                device.run(run_args=args)
        self._epochs_run += 1
        return self._collect(objs, with_record and measure)

    def _collect(self, objs, measured: bool) -> EpochStats:
        """Copy the learned parameters and optimiser state back into ``self.net``."""
        for l, (S, ii, jj) in enumerate(objs["synapses"]):
            w = np.asarray(S.w[:])
            self.net.W[l][jj, ii] = w
            self.msw[l][jj, ii] = np.asarray(S.msw[:])
            if self.record_gradient:
                self.gw[l][jj, ii] = np.asarray(S.gw[:])
        for l, G in enumerate(objs["groups"][:-1]):
            self.net.alpha[l] = float(G.alpha[0])
            self.net.beta[l] = float(G.beta[0])
            self.msA[l] = float(G.msA[0])
            self.msB[l] = float(G.msB[0])
        out = objs["groups"][-1]
        updates = int(round(float(out.n_upd[0])))
        record = None
        if measured:
            mon = objs["monitor"]
            tot = sum(np.asarray(getattr(mon, f"rec{l}")[0]) for l in range(1, self.net.n_layers + 1))
            record = tot.reshape(self.n, self.T).sum(axis=0)
        return EpochStats(record, updates)

    def filter_gradients(self, objs=None):
        """accA, accB of each layer (valid after a run without updates): dE/dalpha, dE/dbeta."""
        objs = objs or self._objs
        return (np.array([float(G.accA[0]) for G in objs["groups"][:-1]]),
                np.array([float(G.accB[0]) for G in objs["groups"][:-1]]))

    def gradient_run(self, x, y):
        """One run over ``n`` sequences with no updates; returns accumulated (gW, galpha, gbeta).

        The filter gradients accumulate over the whole run only if ``n == 1`` (they reset per sample).
        """
        from brian2 import ms
        if not self.record_gradient:
            raise SolsaError("build with record_gradient=True to read gradients")
        x_steps, y_steps, _ = self._epoch_arrays(x, y, np.zeros(self.T))
        upd = np.zeros(len(x_steps))
        if self.backend == "runtime" or self._objs is None:
            objs = self._build(self._namespace(x_steps, y_steps, upd), False)
            objs["network"].run(self.n * self.T * ms, namespace={})
            self._objs = objs
        self._collect(self._objs, False)
        L = self.net.n_layers
        gA, gB = self.filter_gradients(self._objs) if self.adaptive else (np.zeros(L), np.zeros(L))
        return [g.copy() for g in self.gw], gA, gB

    def monitor_forward(self, x):
        """Output of the Brian2 network (O of the last layer per step) with learning off, for checks."""
        from brian2 import StateMonitor, ms
        if self.backend != "runtime":
            raise SolsaError("monitor_forward is a runtime-backend check")
        x = np.asarray(x, dtype=float)
        y = np.zeros(x.shape[:2] + (self.net.sizes[-1],))
        x_steps, y_steps, _ = self._epoch_arrays(x, y, np.zeros(self.T))
        objs = self._build(self._namespace(x_steps, y_steps, np.zeros(len(x_steps))), False)
        mon = StateMonitor(objs["groups"][-1], "O", record=True, when="end")
        objs["network"].add(mon)
        objs["network"].run(self.n * self.T * ms, namespace={})
        return np.asarray(mon.O).T.reshape(self.n, self.T, -1)
