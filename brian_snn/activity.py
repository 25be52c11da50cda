"""Exact activity counts of any Brian2 network, as an ``hwmodel.Counts`` record.

Usage (a user's own network)::

    with count_activity(net) as counter:    # adds event monitors to the network
        net.run(1 * second)
    counts = counter.counts(phase="inference", samples=10)
    hwmodel.estimate(counts, "loihi1")

What is counted, and how (nothing is estimated from rates):

* spikes of each group: its ``spike`` event count;
* neuron updates: ``N x steps`` (every clock-driven group updates every neuron every step);
* synaptic events of a ``Synapses`` object: for each pathway triggered by presynaptic spikes,
  ``sum_i spikes_i x out_degree_i`` -- exactly how often Brian executes ``on_pre``;
* plasticity updates: for each pathway whose code writes a synaptic variable (``w``, ...), the
  number of times that code runs for a synapse (``sum_k events_k x degree_k`` over the
  triggering group's neurons), counted only in the training phase.

Objects whose name starts with ``_`` are bookkeeping (not part of the model) and are skipped.

Every record also carries, as top-level keys of its JSON (``Counts.extra``), ``kernels_per_step``
and ``host_copies_per_step`` (GPU kernels and blocking spike-count copies brian2cuda launches per
time step for this network, see :func:`gpu_structure`; hwmodel's GPU model reads them),
``simulator`` (``"brian2"``) and ``float_bits`` (Brian2's float type: 64 by default), unless the
caller passes its own.
"""
import re

import numpy as np
from brian2 import EventMonitor, Synapses, prefs
from brian2.groups.group import Group

from hwmodel.counts import Counts, PathwayCounts, PopulationCounts

_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\+=|-=|\*=|/=|=)")
_INTERNAL_VARS = {"lastspike", "not_refractory", "i", "N", "t", "dt", "t_in_timesteps",
                  "nchanged", "real"}      # (counters of the simulation, not state a device keeps)


def _owner_name(var):
    owner = getattr(var, "owner", None)          # a weak proxy: compare by name
    return getattr(owner, "name", None)


def _is_counted(obj):
    return not obj.name.startswith("_")


def _writes_synaptic_state(syn, code):
    for line in re.split(r"[\n;]", code):
        m = _ASSIGN.match(line)
        if m:
            var = syn.variables.get(m.group(1))
            if var is not None and _owner_name(var) == syn.name and not var.scalar:
                return True
    return False


SIMULATOR = "brian2"


def _has_code(runner) -> bool:
    """Whether a Brian2 code runner gets a code object.  Brian2 drops the state updater of a
    group without differential equations (and without refractoriness): it generates no code, so
    no kernel is launched for it.  Every other code runner generates code, even if empty."""
    if getattr(runner, "generate_empty_code", True):
        return True
    group = getattr(runner, "group", None)
    eqs = getattr(group, "equations", None)
    if eqs is None or eqs.diff_eq_names:
        return True
    return getattr(group, "_refractory", False) is not False


def heterogeneous_delays(pathway) -> bool:
    """Whether a pathway's synapses have more than one delay value (brian2cuda then keeps a
    spike queue on the device: an advance and a push kernel per step).  Values that cannot be
    read yet (a standalone device before its run) count as heterogeneous when per-synapse."""
    var = pathway.variables["delay"]
    if var.scalar:
        return False
    try:
        d = np.asarray(var.get_value())
    except (NotImplementedError, RuntimeError, AttributeError, TypeError, ValueError):
        return True
    return d.size > 1 and bool(np.ptp(d) > 0)


def gpu_structure(objects) -> tuple[int, int]:
    """(kernels, host copies) per simulated time step of a network's Brian2 objects, as brian2cuda
    1.0a7 launches them with default preferences (read from its templates), counted from the
    objects themselves:

    * a thresholder (``spike`` or a custom event) launches **2** kernels: an eventspace reset
      (``extra_threshold_kernel``) and the threshold;
    * every other code runner that has a code object is **1**: a group's state updater, resetter,
      each ``run_regularly`` / ``run_on_event`` operation, a summed-variable updater, a monitor
      (not named ``_...``), a ``SpikeGeneratorGroup``.  A state updater of a group without
      differential equations and without refractoriness has no code object (Brian2 drops it);
    * a synaptic pathway is **1** (its effect kernel), plus **2** (a queue advance and a push)
      when its delays are heterogeneous; otherwise it copies its spike count to the host once per
      step (**1 host copy**) to size the effect launch;
    * objects whose name (or whose owning group's name) starts with ``_`` count 0: bookkeeping
      (schedule controller, spike counters, count monitors) -- on a device the input schedule
      would come from the host.

    Not resolved: effect and push kernels are skipped on steps without presynaptic events, and an
    object on a slower clock (``run_regularly`` with its own ``dt``) still counts every step; so the
    count is that of a step on which every pathway has events.
    """
    from brian2.core.base import BrianObject
    from brian2.groups.group import CodeRunner
    from brian2.groups.neurongroup import Thresholder
    from brian2.synapses.synapses import SynapticPathway

    seen, n, copies = set(), 0, 0

    def walk(obj):
        nonlocal n, copies
        if id(obj) in seen or not isinstance(obj, BrianObject):
            return
        seen.add(id(obj))
        if obj.name.startswith("_") or getattr(getattr(obj, "group", None), "name", "x").startswith("_"):
            return
        if isinstance(obj, SynapticPathway):
            if heterogeneous_delays(obj):
                n += 3
            else:
                n += 1
                copies += 1
        elif isinstance(obj, Thresholder):
            n += 2
        elif isinstance(obj, CodeRunner) and _has_code(obj):
            n += 1
        for child in getattr(obj, "contained_objects", []):
            walk(child)

    for o in getattr(objects, "objects", objects):
        walk(o)
    return n, copies


def kernels_per_step(objects) -> int:
    """GPU kernels launched per simulated time step (:func:`gpu_structure`)."""
    return gpu_structure(objects)[0]


def state_words(group, parameters=()) -> int:
    """State variables per neuron that a hardware implementation must store (``parameters``:
    variables that are per-copy parameters of batched copies, not neuron state)."""
    words = 0
    for name, var in group.variables.items():
        if (name.startswith("_") or name in _INTERNAL_VARS or name in parameters
                or getattr(var, "scalar", True)):
            continue
        if _owner_name(var) != group.name or type(var).__name__ != "ArrayVariable":
            continue
        words += 1
    if "lastspike" in group.variables:
        words += 1                     # a refractory counter
    return max(words, 1)


class ActivityCounter:
    """Counts spikes and synaptic operations of a network, exactly.

    ``record``: groups whose spike times are recorded, so that counts can be restricted to a
    time window with ``counts(t_end=...)``; other groups only keep per-neuron totals.
    ``per_copy``: for batched copies (:mod:`brian_snn.copies`), group -> its per-copy parameters.
    """

    def __init__(self, network_or_objects, record=(), weight_bits=32, per_copy=None):
        objs = sorted(getattr(network_or_objects, "objects", network_or_objects), key=lambda o: o.name)
        self.objects = objs
        self.groups = [o for o in objs if isinstance(o, Group) and not isinstance(o, Synapses)
                       and hasattr(o, "events") and "spike" in o.events and _is_counted(o)]
        self.synapses = [o for o in objs if isinstance(o, Synapses) and _is_counted(o)]
        self.weight_bits = weight_bits
        self.per_copy = dict(per_copy or {})
        record_names = {g.name for g in record}
        wanted = {(g.name, "spike"): g for g in self.groups}
        for s in self.synapses:
            for p in s._pathways:
                wanted.setdefault((p.source.name, p.event), p.source)
        self.monitors = {}
        for (gname, event), g in wanted.items():
            self.monitors[(gname, event)] = EventMonitor(
                g, event, variables=[], record=gname in record_names, name=f"_count_{gname}_{event}")
        self.network = network_or_objects if hasattr(network_or_objects, "add") else None
        if self.network is not None:
            self.network.add(*self.monitors.values())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def event_counts(self, group_name, event="spike", t_end=None, t_start=None):
        """Per-neuron event counts, within [t_start, t_end) for recorded groups."""
        mon = self.monitors[(group_name, event)]
        if (t_end is None and t_start is None) or not mon.record:
            # unrecorded groups are counted over the whole run (the caller knows they are
            # silent outside the window, e.g. inputs during padding)
            return np.asarray(mon.count[:], dtype=np.int64)
        t = np.asarray(mon.t_[:])
        keep = np.ones(len(t), bool)
        if t_end is not None:
            keep &= t < float(t_end) - 1e-12
        if t_start is not None:
            keep &= t >= float(t_start) - 1e-12
        return np.bincount(np.asarray(mon.i[:])[keep], minlength=len(mon.source)).astype(np.int64)

    def kernels_per_step(self) -> int:
        """GPU kernels per time step of the counted network (:func:`kernels_per_step`)."""
        return kernels_per_step(self._objects())

    def _objects(self):
        return self.network.objects if self.network is not None else self.objects

    def counts(self, phase, samples=1, steps=None, dt_s=None, t_end=None, t_start=None,
               extra=None, copy=None) -> Counts:
        """The counts record; ``steps``/``dt_s`` default to the network's clock (steps run so far).

        ``copy=(k, K)``: the counts of copy k of a network of K batched copies (each group's k-th
        block of neurons, the synapses leaving it).

        ``extra``: more top-level keys of the record; ``kernels_per_step`` (counted from the
        network's objects) and ``simulator`` (``"brian2"``) are added unless given here."""
        from hwmodel.counts import PHASES
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
        if steps is None or dt_s is None:
            if self.network is None:
                raise ValueError("pass steps and dt_s (the counter was built from objects, not a Network)")
            dt = float(next(iter(self.network.objects)).clock.dt) if dt_s is None else dt_s
            dt_s = dt
            steps = int(round(float(self.network.t) / dt)) if steps is None else steps
        k, n_copies = copy or (0, 1)

        def mine(group):           # copy k's block of a group's neurons
            n = len(group) // n_copies
            return slice(k * n, (k + 1) * n)

        pops = []
        for g in self.groups:
            spikes = self.event_counts(g.name, "spike", t_end, t_start)[mine(g)].sum()
            n = len(g) // n_copies
            pops.append(PopulationCounts(g.name, n, int(spikes), n * int(steps),
                                         state_words(g, self.per_copy.get(g.name, ()))))
        paths = []
        for s in self.synapses:
            pre_idx = np.asarray(s.i[:])
            post_idx = np.asarray(s.j[:])
            own = (pre_idx // (len(s.source) // n_copies)) == k      # synapses of copy k
            pre_idx, post_idx = pre_idx[own], post_idx[own]
            events = plastic_updates = 0
            plastic = False
            for p in s._pathways:
                side = pre_idx if p.prepost == "pre" else post_idx
                degree = np.bincount(side, minlength=len(p.source))
                n = int(self.event_counts(p.source.name, p.event, t_end, t_start)[mine(p.source)]
                        @ degree[mine(p.source)])
                if p.prepost == "pre" and p.event == "spike":
                    events += n
                if _writes_synaptic_state(s, p.code):
                    plastic = True
                    if phase == "training":
                        plastic_updates += n
            paths.append(PathwayCounts(s.name, s.source.name, s.target.name, int(own.sum()), events,
                                       plastic_updates, self.weight_bits, plastic))
        extra = dict(extra or {})
        if "kernels_per_step" not in extra:
            extra["kernels_per_step"], extra["host_copies_per_step"] = gpu_structure(self._objects())
        extra.setdefault("simulator", SIMULATOR)
        extra.setdefault("float_bits", 8 * np.dtype(prefs.core.default_float_dtype).itemsize)
        return Counts(float(dt_s), int(steps), int(samples), phase, pops, paths, extra)


def count_activity(network=None, record=(), weight_bits=32) -> ActivityCounter:
    """Attach exact counters to ``network`` (a Brian2 ``Network``) before running it.

    Brian2's magic ``run()`` has no network object to attach monitors to: build one from the same
    objects, ``net = Network(collect())``, and call ``net.run(...)`` (one-line error otherwise)."""
    from brian2.core.magic import MagicNetwork
    if network is None or isinstance(network, MagicNetwork):
        raise ValueError("count_activity needs a brian2 Network, not Brian2's magic run(): write "
                         "net = Network(collect()); counter = count_activity(net); net.run(duration)")
    return ActivityCounter(network, record=record, weight_bits=weight_bits)
