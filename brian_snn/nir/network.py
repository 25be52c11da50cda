"""A NIR graph as a Brian2 network: NIR's continuous-time equations, integrated exactly at ``dt``.

Each neuron node is a ``NeuronGroup`` whose equations are NIR's ODEs as written in the ``nir``
package (dimensionless voltages, time constants in seconds); ``x`` is the node's input, held
constant over a step (a spike is the value 1 for one step, as in snnTorch / Norse / Sinabs);
Brian2's ``exact`` method integrates them (``euler`` for IF and the Integrator, whose right-hand side
is constant over a step, so Euler is exact there too).  Chains of linear nodes (Affine, Linear,
Scale, Flatten, convolutions, pooling) become ``Synapses`` whose ``on_pre`` adds the weight (times the
value, for analog sources) to the target's ``x``; an Affine bias is a constant ``x``; a Threshold
after a non-spiking node is a custom event ``v > threshold`` of that node.

Within a step the populations run in topological order (update with this step's input, threshold,
reset, push to the targets), so a feed-forward graph has no delay per layer, as in the frameworks;
an edge that closes a loop acts one step later; a Delay node is a synaptic delay (in a loop, a
Delay of d >= 1 steps acts after exactly d steps).  Every state starts at rest (``v = v_leak``,
``I = 0``; ``v = 0`` for IF / I) and returns there at each sample boundary.

Counting is exact: spikes per population from its spike monitor, synaptic events of a connection =
sum over presynaptic neurons of events x out-degree, neuron updates = n x steps.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .graph import Plan, check_dt, load_graph, plan
from .nodes import NirError

# NIR's equations (``nir/ir/neuron.py``), with x the input of the node
EQUATIONS = {
    "LIF": "dv/dt = (v_leak - v + r*x) / tau : 1",
    "LI": "dv/dt = (v_leak - v + r*x) / tau : 1",
    "CubaLIF": "dI/dt = (w_in*x - I) / tau_syn : 1\ndv/dt = (v_leak - v + r*I) / tau_mem : 1",
    "CubaLI": "dI/dt = (w_in*x - I) / tau_syn : 1\ndv/dt = (v_leak - v + r*I) / tau_mem : 1",
    "IF": "dv/dt = r*x / second : 1",
    "I": "dv/dt = r*x / second : 1",
}
STATE = {"LIF": ("v",), "LI": ("v",), "CubaLIF": ("v", "I"), "CubaLI": ("v", "I"), "IF": ("v",), "I": ("v",),
         "Input": ("a",)}
METHOD = {"IF": "euler", "I": "euler"}
TIME = ("tau", "tau_syn", "tau_mem")
RESOLUTION = 1e-9    # relative |tau_syn - tau_mem| below which a Cuba node counts as tau_syn = tau_mem
NUDGE = 1e-5        # relative move of such tau_syn in a node where the others differ
MAX_DELAY_STEPS = 1_000_000   # a longer delay is refused before its spike queue is allocated


@dataclass
class NirResult:
    outputs: dict         # Output node name -> array [samples, T, n]
    events: dict          # population name -> events per neuron over the run (spikes, or graded values)
    counts: object        # hwmodel.Counts (inference)
    dt_s: float
    samples: int
    T: int
    backend: str
    notes: list


class NirNetwork:
    """A NIR graph ready to run in Brian2 (see the module docstring).  ``run(inputs)`` builds the
    Brian2 objects for the given inputs, runs them and returns a :class:`NirResult`."""

    def __init__(self, graph, dt: float = 1e-3, semantics: str = "exact", reset: str | None = None):
        self.graph = load_graph(graph)
        self.plan: Plan = plan(self.graph)
        self.dt = check_dt(dt)
        self.semantics, self.reset = check_semantics(semantics, reset)
        self.notes = []
        self.warnings = time_scale_warnings(self.plan, self.dt)
        if self.semantics != "exact":
            self.notes.append(f"semantics {self.semantics} (reset: {self.reset}): {SEMANTICS[self.semantics]}")
        for p in self.plan.populations.values():
            if self.semantics != "exact":
                break                  # the discrete maps have no 0/0 at tau_syn = tau_mem
            if p.kind.startswith("Cuba"):
                ts, tm = p.params["tau_syn"], p.params["tau_mem"]
                close = np.abs(ts - tm) <= RESOLUTION * tm
                if close.all():
                    p.params["tau_syn"] = tm.copy()           # one degenerate solution for the node
                elif close.any():
                    p.params["tau_syn"] = np.where(close, tm * (1 + NUDGE), ts)
                    self.notes.append(f"node {p.name!r} ({p.kind}): tau_syn = tau_mem for {int(close.sum())} "
                                      f"of {p.n} neurons (not all): those tau_syn x (1 + {NUDGE:g}) (the "
                                      "general exact solution is 0/0 at equality)")
        # delays as whole steps; every sample then runs `pad` extra silent steps so that no delayed
        # event lands in the next sample
        order = list(self.plan.populations)
        self.delay_steps = {}
        for c in self.plan.connections:
            ks = self._steps(c.delay, c.name)
            if ks is not None and order.index(c.post) <= order.index(c.pre):
                ks = np.maximum(ks - 1, 0)      # a loop already acts one step later: a Delay of d steps is d
            self.delay_steps[c.name] = ks
        self.term_steps = {(o.name, k): self._steps(t[2], f"{t[0]}->{o.name}")
                           for o in self.plan.outputs.values() for k, t in enumerate(o.terms)}
        ks = [int(v.max()) for v in list(self.delay_steps.values()) + list(self.term_steps.values())
              if v is not None and v.size]
        self.pad = max(ks + [0])
        if self.pad:
            self.notes.append(f"delays up to {self.pad} step(s): each sample runs {self.pad} more step(s) with no "
                              "input and no events emitted (delayed events of its end arrive there; their "
                              "neuron updates are counted); outputs keep the first T steps")

    def _steps(self, delay, what):
        if delay is None:
            return None
        k = delay / self.dt
        if k.size and float(np.max(k)) > MAX_DELAY_STEPS:
            raise NirError(f"{what}: a delay of {float(np.max(delay)):g} s is {float(np.max(k)):,.0f} steps of dt = "
                           f"{self.dt:g} s, more than {MAX_DELAY_STEPS:,} (the spike queue would hold every step)")
        if np.any(np.abs(k - np.rint(k)) > 1e-6 * np.maximum(1, k)):
            bad = float(delay[np.argmax(np.abs(k - np.rint(k)))])
            raise NirError(f"{what}: a delay of {bad:g} s is not a whole number of steps of dt = {self.dt:g} s")
        return np.rint(k).astype(int)

    # ------------------------------------------------------------------------------- inputs
    def check_inputs(self, inputs) -> tuple:
        """``{Input node name: array [samples, T, n]}`` (one array is accepted for a one-Input graph)."""
        ins = self.plan.inputs
        if not isinstance(inputs, dict):
            if len(ins) != 1:
                raise NirError(f"the graph has {len(ins)} Input nodes ({', '.join(p.name for p in ins)}): "
                               "give a dict {name: array}")
            inputs = {ins[0].name: inputs}
        out, shape = {}, None
        for p in ins:
            if p.name not in inputs:
                raise NirError(f"no input for Input node {p.name!r} (have {', '.join(map(str, inputs))})")
            a = np.asarray(inputs[p.name], dtype=float)
            if a.ndim == 2:
                a = a[None]
            if a.ndim != 3 or a.shape[2] != p.n or 0 in a.shape:
                raise NirError(f"input of {p.name!r} must have shape [samples, T, {p.n}], got {a.shape}")
            if not np.all(np.isfinite(a)):
                raise NirError(f"input of {p.name!r} has NaN or infinite values")
            if shape is not None and a.shape[:2] != shape:
                raise NirError(f"inputs differ in [samples, T]: {shape} and {a.shape[:2]}")
            shape = a.shape[:2]
            out[p.name] = a
        return out, shape[0], shape[1]

    # ------------------------------------------------------------------------------- Brian2
    def build(self, inputs):
        """The Brian2 objects for these inputs: (Network, handles)."""
        from brian2 import (EventMonitor, NeuronGroup, Network, SpikeMonitor, StateMonitor, Synapses,
                            TimedArray, defaultclock, second)
        inputs, S, T = self.check_inputs(inputs)
        Tr = T + self.pad                           # steps run per sample
        if self.pad:
            inputs = {k: np.concatenate([a, np.zeros((S, self.pad, a.shape[2]))], axis=1) for k, a in inputs.items()}
        dt = self.dt
        defaultclock.dt = dt * second
        pl = self.plan
        sources = {c.pre for c in pl.connections if c.event == "spike"}
        needed = {t[0] for o in pl.outputs.values() for t in o.terms}
        groups, monitors, names = {}, {}, {}
        step = 10                                   # orders per population inside the 'groups' slot
        for k, p in enumerate(pl.populations.values()):
            bname = f"nir{k}_" + re.sub(r"\W", "_", p.name)[:40]
            names[p.name] = bname
            base = step * k
            if p.kind == "Input":
                ta = TimedArray(inputs[p.name].reshape(S * Tr, p.n), dt=dt * second, name=f"{bname}_values")
                G = NeuronGroup(p.n, "a = values(t, i) : 1", threshold="a != 0", reset="",
                                namespace={"values": ta}, name=bname)
            else:
                # with delays, nothing is emitted in a sample's extra steps: no event reaches the next sample
                gate = f" and (t_in_timesteps % {Tr} < {T})" if self.pad else ""
                G = self._neurons(p, bname, p.name in sources, gate)
                if p.threshold is not None:
                    G.thresholder["thr"].when, G.thresholder["thr"].order = "groups", base + 2
                    monitors[p.name + "/thr"] = EventMonitor(G, "thr", variables=[], record=False,
                                                             name=f"_{bname}_thr")
            if G.state_updater is not None:
                G.state_updater.when, G.state_updater.order = "groups", base
            for obj in G.contained_objects:          # the discrete semantics' update: the state update's slot
                if obj.name == f"{bname}_step":
                    obj.when, obj.order = "groups", base
            if p.kind != "Input":
                G.run_regularly("x = bias", when="groups", order=base + 1, name=f"{bname}_clear")
                G.run_regularly(self._rest(p), when="start", order=0, dt=Tr * dt * second, name=f"{bname}_rest")
            if "spike" in G.events:
                G.thresholder["spike"].when, G.thresholder["spike"].order = "groups", base + 2
                if "spike" in G.resetter:
                    G.resetter["spike"].when, G.resetter["spike"].order = "groups", base + 3
                rec = p.name in needed and p.kind != "Input"
                monitors[p.name] = SpikeMonitor(G, record=rec and p.spiking, name=f"_{bname}_events")
            if p.name in needed and p.kind not in ("Input",) and not p.spiking:
                monitors[p.name + "/v"] = StateMonitor(G, "v", record=True, when="end", name=f"_{bname}_v")
            groups[p.name] = G
        syns = {}
        binary = {k for k, a in inputs.items() if np.all((a == 0) | (a == 1))}
        for c in pl.connections:
            pre, post = pl.populations[c.pre], groups[c.post]
            value = "" if pre.spiking or c.pre in binary or c.event == "thr" else \
                ("*a_pre" if pre.kind == "Input" else "*v_pre")
            ks = self.delay_steps[c.name]
            delayed = ks is not None and ks.any()
            if value and delayed:       # Brian2 reads a_pre / v_pre when the event arrives, not when it left
                raise NirError(f"pathway {c.name}: a delay on analog values (not 0/1 spikes) is not supported")
            Sy = Synapses(groups[c.pre], post, "w : 1 (constant)", on_pre=f"x_post += w{value}", on_event=c.event,
                          namespace=dict(groups[c.pre].namespace),
                          name=f"{names[c.pre]}__{'thr_' if c.event == 'thr' else ''}{names[c.post]}"[:120])
            jj, ii = c.pattern.nonzero()
            Sy.connect(i=ii, j=jj)
            Sy.w = np.asarray(c.weight[jj, ii]).ravel()
            if delayed:
                Sy.delay = ks[ii] * dt * second
            Sy.pre.when = "groups"
            Sy.pre.order = step * list(pl.populations).index(c.pre) + 4
            syns[c.name] = (Sy, np.bincount(ii, minlength=pre.n))
        net = Network(*groups.values(), *[s for s, _ in syns.values()], *monitors.values())
        return net, dict(groups=groups, synapses=syns, monitors=monitors, inputs=inputs, S=S, T=T, Tr=Tr)

    def _neurons(self, p, bname, emits, gate=""):
        if self.semantics != "exact":
            return self._discrete_neurons(p, bname, emits, gate)
        from brian2 import NeuronGroup, second
        eqs = EQUATIONS[p.kind]
        params = dict(p.params)
        if p.kind.startswith("Cuba") and np.all(params["tau_syn"] == params["tau_mem"]):
            eqs = eqs.replace("/ tau_syn", "/ tau_mem")          # the degenerate (t e^{-t/tau}) solution
            params.pop("tau_syn")
        decl = "\nx : 1\nbias : 1 (constant)\n" + "".join(
            f"{k} : {'second' if k in TIME else '1'} (constant)\n" for k in params)
        events = {}
        if p.threshold is not None:              # a Threshold node after this node: its spikes, no reset
            decl += "threshold_z : 1 (constant)\n"
            events = {"thr": "v > threshold_z" + gate}
        if p.spiking:
            G = NeuronGroup(p.n, eqs + decl, threshold="v > v_threshold" + gate, reset="v = v_reset",
                            method=METHOD.get(p.kind, "exact"), name=bname)
        elif emits:                   # a graded (analog) source: its value goes out every step it is != 0
            G = NeuronGroup(p.n, eqs + decl, threshold="v != 0" + gate, reset="", method=METHOD.get(p.kind, "exact"),
                            events=events, name=bname)
        else:
            G = NeuronGroup(p.n, eqs + decl, method=METHOD.get(p.kind, "exact"), events=events, name=bname)
        for k, v in params.items():
            setattr(G, k, v * second if k in TIME else v)
        if p.threshold is not None:
            G.threshold_z = p.threshold
        bias = np.zeros(p.n) if p.bias is None else p.bias
        G.bias = bias
        G.x = bias                    # (not read back from G: cpp_standalone has no values before the run)
        for k, v in self._rest_values(p).items():
            setattr(G, k, v)
        return G

    def _discrete_neurons(self, p, bname, emits, gate):
        """A node as the framework's discrete update (see :func:`discrete_update`): no differential
        equations; the update runs where the state updater would (``x``: this step's input)."""
        from brian2 import NeuronGroup
        update, reset, consts = discrete_update(p, self.semantics, self.reset, self.dt,
                                                self_loop=any(c.pre == c.post == p.name for c in self.plan.connections))
        decl = "v : 1\nx : 1\nbias : 1 (constant)\npend : 1\n"
        if p.kind.startswith("Cuba"):
            decl += "I : 1\n"
        decl += "".join(f"{k} : 1 (constant)\n" for k in consts)
        events = {}
        if p.threshold is not None:
            decl += "threshold_z : 1 (constant)\n"
            events = {"thr": "v > threshold_z" + gate}
        if p.spiking:
            G = NeuronGroup(p.n, decl, threshold="v > v_threshold" + gate, reset=reset, name=bname)
        elif emits:
            G = NeuronGroup(p.n, decl, threshold="v != 0" + gate, reset="", events=events, name=bname)
        else:
            G = NeuronGroup(p.n, decl, events=events, name=bname)
        for k, v in consts.items():
            setattr(G, k, v)
        if p.threshold is not None:
            G.threshold_z = p.threshold
        bias = np.zeros(p.n) if p.bias is None else p.bias
        G.bias = bias
        G.x = bias
        for k, v in self._rest_values(p).items():
            setattr(G, k, v)
        G.pend = 0
        G.run_regularly(update, when="groups", order=0, name=f"{bname}_step")
        return G

    @staticmethod
    def _rest_values(p) -> dict:
        vals = {"v": p.params["v_leak"] if "v_leak" in p.params else np.zeros(p.n)}
        if p.kind.startswith("Cuba"):
            vals["I"] = np.zeros(p.n)
        return vals

    def _rest(self, p) -> str:
        code = "v = v_leak\n" if "v_leak" in p.params else "v = 0\n"
        if p.kind.startswith("Cuba"):
            code += "I = 0\n"
        return code + "x = bias\n" + ("pend = 0\n" if self.semantics != "exact" else "")

    # ------------------------------------------------------------------------------- running
    def run(self, inputs, backend: str = "runtime", directory=None) -> NirResult:
        """Simulate every sample (one after the other, state back at rest between samples)."""
        if backend == "runtime":
            from ..solsa.standalone import use_numpy_target
            use_numpy_target()
            return self._run(inputs, backend)
        if backend == "cpp":
            from ..solsa.standalone import cpp_standalone
            with cpp_standalone(directory):
                return self._run(inputs, backend)
        raise NirError(f"unknown backend {backend!r} (choose from runtime, cpp)")

    def _run(self, inputs, backend) -> NirResult:
        from brian2 import second
        net, h = self.build(inputs)
        S, T, Tr = h["S"], h["T"], h["Tr"]
        net.run(S * Tr * self.dt * second, namespace={})
        steps = S * Tr
        pl = self.plan
        events, signals = {}, {}
        for name, p in pl.populations.items():
            mon = h["monitors"].get(name)
            events[name] = np.zeros(p.n, np.int64) if mon is None else np.asarray(mon.count[:], np.int64)
            thr = h["monitors"].get(name + "/thr")
            events[name + "/thr"] = np.zeros(p.n, np.int64) if thr is None else np.asarray(thr.count[:], np.int64)
            if p.kind == "Input":
                signals[name] = h["inputs"][name].reshape(steps, p.n)
            elif name + "/v" in h["monitors"]:
                signals[name] = np.asarray(h["monitors"][name + "/v"].v[:]).T
            elif mon is not None and mon.record:
                raster = np.zeros((steps, p.n))
                k = np.rint(np.asarray(mon.t_[:]) / self.dt).astype(int)
                raster[k, np.asarray(mon.i[:])] = 1.0
                signals[name] = raster
        outputs = {}
        for o in pl.outputs.values():
            val = np.tile(o.bias, (steps, 1))
            for k, (name, M, _, ev) in enumerate(o.terms):
                sig = signals[name]
                if ev == "thr":                             # a Threshold node's spikes: v > threshold
                    sig = (sig > pl.populations[name].threshold).astype(float)
                ks = self.term_steps[(o.name, k)]
                if ks is not None and ks.any():             # delayed within each sample
                    sig3, shifted = sig.reshape(S, Tr, -1), np.zeros((S, Tr, sig.shape[1]))
                    for d in np.unique(ks):
                        cols = ks == d
                        shifted[:, d:, cols] = sig3[:, :Tr - d, cols]
                    sig = shifted.reshape(steps, -1)
                val = val + (M @ sig.T).T
            outputs[o.name] = val.reshape(S, Tr, o.n)[:, :T]
        counts = self._counts(net, h, events, steps, S)
        return NirResult(outputs, events, counts, self.dt, S, T, backend, list(self.notes))

    def _counts(self, net, h, events, steps, samples):
        from hwmodel.counts import Counts, PathwayCounts, PopulationCounts
        from ..activity import kernels_per_step
        pl = self.plan
        pops = [PopulationCounts(name, p.n, int(events[name].sum() + events[name + "/thr"].sum()), p.n * steps,
                                 len(STATE[p.kind])) for name, p in pl.populations.items()]
        paths = []
        for c in pl.connections:
            _, degree = h["synapses"][c.name]
            paths.append(PathwayCounts(c.name, c.pre, c.post, int(c.pattern.sum()),
                                       int(events[c.pre if c.event == "spike" else c.pre + "/thr"] @ degree)))
        graded = [p.name for p in pl.populations.values()
                  if not p.spiking and p.kind != "Input" and events[p.name].sum() > 0]
        extra = {"kernels_per_step": kernels_per_step(net.objects), "simulator": "brian2",
                 "source": "NIR graph"}
        if graded:
            extra["graded_events"] = graded
        return Counts(self.dt, steps, samples, "inference", pops, paths, extra).check("NIR run counts")


def from_nir(graph_or_path, dt: float = 1e-3, semantics: str = "exact", reset: str | None = None) -> NirNetwork:
    """A NIR graph (``nir.NIRGraph`` or ``.nir`` file) as a :class:`NirNetwork` at ``dt`` seconds:
    NIR's equations integrated exactly (``semantics="exact"``), or the discrete update of the framework
    that wrote it (``"snntorch"``, ``"norse"``; ``reset``: see :data:`RESETS`)."""
    return NirNetwork(graph_or_path, dt, semantics, reset)


def run_nir(graph_or_path, inputs, dt: float = 1e-3, backend: str = "runtime", directory=None,
            semantics: str = "exact", reset: str | None = None) -> NirResult:
    """Build and run a NIR graph on ``inputs`` ([samples, T, n_in], or {Input name: array})."""
    return from_nir(graph_or_path, dt, semantics, reset).run(inputs, backend, directory)


# ------------------------------------------------------------------------------------ semantics
SEMANTICS = {
    "exact": "NIR's equations integrated exactly over each step, inputs held over the step; reset to v_reset",
    "snntorch": "snnTorch's update (Leaky, Synaptic, RLeaky): decay 1 - dt/tau clipped to [0, 1], input gain "
                "r*dt/tau (w_in*dt/tau_syn into the current), the membrane takes this step's current; "
                "reset one step after the spike",
    "norse": "Norse's update (LIFBoxCell, LIFCell, LIBoxCell, IAFCell): forward Euler at dt; CubaLIF: the "
             "current jumps by w_in*x, the membrane takes it in the same step, then the current decays",
}
RESETS = {"exact": ("value",), "snntorch": ("subtract", "zero"), "norse": ("value", "subtract")}


def check_semantics(semantics, reset):
    if semantics not in SEMANTICS:
        raise NirError(f"unknown semantics {semantics!r} (choose from {', '.join(SEMANTICS)})")
    allowed = RESETS[semantics]
    reset = allowed[0] if reset is None else reset
    if reset not in allowed:
        raise NirError(f"reset {reset!r} does not go with semantics {semantics!r} (choose from {', '.join(allowed)})")
    return semantics, reset


def discrete_update(p, semantics, reset, dt, self_loop=False):
    """(update code, reset code, constants per neuron) of a node under a framework's discrete update.

    With x the step's input (sum of weighted spikes and biases) and s[t-1] the last step's spike:

    * LIF / LI, both frameworks:  v ← a·v + g·x + c,  a = 1 − dt/τ (snnTorch: clipped to [0, 1]),
      g = r·dt/τ, c = v_leak·dt/τ;
    * IF / I:  v ← v + r·x  (Norse's IAFCell; snnTorch imports IF as Leaky with β = 1);
    * CubaLIF / CubaLI, snnTorch (Synaptic):  I ← a_s·I + (w_in·dt/τ_syn)·x;  v ← a_m·v + (r·dt/τ_mem)·I + c
      (the membrane takes this step's current);
    * CubaLIF / CubaLI, Norse (LIFCell):  I ← I + w_in·x;  v ← a_m·v + (r·dt/τ_mem)·I + c;  then I ← a_s·I;
    * spike: v > v_threshold after the update;
    * reset, snnTorch ``subtract``: v_threshold is subtracted in the next step's update (v ← a·v + g·x + c
      − v_threshold·s[t−1]); ``zero``: Leaky (a LIF without a loop onto itself) restarts from v_reset
      (v ← v_reset at once, the next step adds its input); Synaptic and RLeaky (a CubaLIF, or a LIF in a
      loop onto itself) hold v_reset for the next step (v[t] = v_reset when s[t−1] = 1, that step's
      input to the membrane is dropped);
    * reset, Norse ``value``: v ← v_reset at once;  ``subtract``: v ← v − v_threshold at once.
    """
    P = p.params
    clip = semantics == "snntorch"

    def decay(tau):
        a = 1.0 - dt / tau
        return np.clip(a, 0.0, 1.0) if clip else a

    consts = {"v_leak": P["v_leak"]} if "v_leak" in P else {}     # (the rest state)
    if p.kind in ("IF", "I"):
        consts.update(g=P["r"])
        v_new = "v + g*x"
    elif p.kind in ("LIF", "LI"):
        consts.update(a=decay(P["tau"]), g=P["r"] * dt / P["tau"], c=P["v_leak"] * dt / P["tau"])
        v_new = "a*v + g*x + c"
    else:
        consts.update(a_m=decay(P["tau_mem"]), g_m=P["r"] * dt / P["tau_mem"], c=P["v_leak"] * dt / P["tau_mem"],
                      a_s=decay(P["tau_syn"]),
                      g_s=P["w_in"] * dt / P["tau_syn"] if semantics == "snntorch" else P["w_in"])
        v_new = "a_m*v + g_m*I + c"
    if p.kind in ("CubaLIF", "CubaLI"):
        pre = "I = a_s*I + g_s*x\n" if semantics == "snntorch" else "I = I + g_s*x\n"
        post = "" if semantics == "snntorch" else "I = a_s*I\n"
    else:
        pre = post = ""
    if not p.spiking:
        return f"{pre}v = {v_new}\n{post}", "", consts
    consts.update(v_threshold=P["v_threshold"], v_reset=P["v_reset"])
    if semantics == "norse":
        reset_code = "v = v_reset" if reset == "value" else "v = v - v_threshold"
        update = f"{pre}v = {v_new}\n{post}"
    elif reset == "subtract":
        update, reset_code = f"{pre}v = {v_new} - v_threshold*pend\npend = 0\n{post}", "pend = 1"
    elif p.kind == "CubaLIF" or self_loop:        # Synaptic, RLeaky: v_reset held for the next step
        update, reset_code = f"{pre}v = (1 - pend)*({v_new}) + pend*v_reset\npend = 0\n{post}", "pend = 1"
    else:                                          # Leaky: restart from v_reset at once
        update, reset_code = f"{pre}v = {v_new}\n{post}", "v = v_reset"
    return update, reset_code, consts


def time_scale_warnings(plan, dt) -> list:
    """One line per node whose time constants are shorter than dt (dt/tau > 1): every semantics then
    forgets the state within a step (and 1 − dt/τ < 0 in the Euler updates): not a network anyone
    trained.  Norse 1.1.0's exporter writes tau = dt/tau_mem_inv (dt times the real tau)."""
    out = []
    for p in plan.populations.values():
        short = [(k, float(np.min(p.params[k]))) for k in TIME if k in p.params and np.min(p.params[k]) < dt]
        if short:
            have = ", ".join(f"{k} = {t:.4g} s" for k, t in short)
            meant = ", ".join(f"{k} {t / dt:.4g} s" for k, t in short)
            out.append(f"node {p.name!r} ({p.kind}): {have}: {dt / short[0][1]:.3g}x shorter than dt = {dt:g} s, so "
                       f"the state is forgotten within a step; check the file's time constants and --dt (Norse "
                       f"1.1.0's exporter writes tau = dt/tau_mem_inv, dt times the real tau: if the graph came "
                       f"from there, it means {meant})")
    return out
