"""estimate(): a counts record × a target -> energy, latency and memory, with the evidence used.

The cost model is chosen by the target's class and execution style (targets.MODELS); the pure
formulas live in cost.py.  A price that a term needs but that is missing or ``null`` raises a
one-line TargetError naming the file and the field; a published number that only *bounds* an
unpublished one is used and the result says so in ``notes``.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace

from . import cost, gpu, metrics
from .counts import Counts, load_counts
from .errors import HwmodelError
from .targets import GRADES, Price, Target, TargetError, load_target

DEFAULT_STATE_BITS = 32
_LABELS = {"synop": "synaptic events", "synop_plastic": "synaptic events on learning pathways",
           "synop_dense": "dense synaptic ops", "neuron_update": "neuron updates", "spike": "spikes",
           "plasticity_update": "plasticity updates"}


class EstimateError(HwmodelError):
    """Bad estimate options (bit widths, power mode); one line."""


@dataclass
class Estimate:
    target: str
    name: str
    model: str
    phase: str
    energy_j: dict                 # total, dynamic, static, breakdown {term: J}
    latency_s: float | None
    memory_bytes: dict             # total, breakdown {weights, indices, state, traces}, capacity
    fits: bool | None
    evidence: str | None           # weakest evidence grade of the prices used
    per_sample: dict               # samples, energy_j, latency_s
    weight_bits: dict              # pathway -> bits used
    state_bits: int
    power_mode: str | None
    scope: str | None
    metrics: dict                  # NeuroBench-style
    notes: list = field(default_factory=list)
    prices: dict = field(default_factory=dict)    # field -> {value, unit, evidence, source}
    sources: dict = field(default_factory=dict)   # source key -> citation
    latency_interval_s: list | None = None        # [low, high] (GPU targets: leave-one-out errors)
    time_split_s: dict | None = None              # GPU: {launch_floor, kernel_latency, kernel_work (of which
    #                                               kernel_streaming: the bytes' share), host_copies} s
    power_scope: str | None = None                # where the power is measured (GPU targets)
    gpu_regime: str | None = None                 # GPU: launch-bound | transition | bandwidth-bound

    def to_dict(self) -> dict:
        return asdict(self)


class _Ledger:
    """Reads prices from a target and remembers which were used (for evidence and sources)."""

    def __init__(self, target: Target):
        self.t, self.used, self.notes, self.sources = target, {}, [], {}
        self.external = frozenset()      # input populations that arrive from the host (_external_inputs)

    def fitted(self, name: str, value: float, unit: str, evidence: str, source: str, citation: str) -> float:
        """Record a price that comes from a fit (not from the target file)."""
        self.used[name] = Price(name, value, unit, evidence, source)
        self.sources[source] = citation
        return value

    def need(self, dotted: str, unit: str, why: str = "", node=None) -> float:
        p = self.t.need(dotted, unit, why, node)
        self.used[p.field] = p
        return p.value

    def opt(self, dotted: str, unit: str, note: str) -> float | None:
        if self.t.has_value(dotted):
            return self.need(dotted, unit)
        self.notes.append(note)
        return None

    def term(self, terms: dict, name: str, count: float, unit: str = "J", optional: bool = False,
             section: str = "energy"):
        """terms[name] = count × price when count > 0; an optional term absent from the file is noted."""
        if not count:
            return
        key = f"{section}.{name}"
        if optional and not self.t.has(key):
            self.notes.append(f"{key} is not in this target's price table (no separate term)")
            return
        terms[name] = (count, self.need(key, unit, f"the counts carry {count:,} {_LABELS[name]}"))

    def weakest(self) -> str | None:
        grades = [p.evidence for p in self.used.values()]
        return max(grades, key=GRADES.index) if grades else None


def estimate(counts: Counts | str | os.PathLike, target: Target | str | os.PathLike, *,
             weight_bits: int | None = None, state_bits: int | None = None,
             power_mode: str | None = None, phase: str | None = None,
             ops_per_neuron_update: int = cost.NEUROBENCH_LEAKY_OPS,
             external_inputs: tuple[str, ...] | None = None, power_scope: str | None = None) -> Estimate:
    """Estimate energy, latency and memory of ``counts`` on ``target``.

    counts: a Counts, or a path to a counts JSON / brian-snn results HDF5 (``phase`` picks the group).
    target: a Target, a built-in id (see list_targets()) or a path to a target TOML.
    weight_bits overrides every pathway's weight_bits; state_bits defaults to the target's
    ``precision.state_bits`` or 32.  power_mode picks one of the target's power modes (GPUs).
    external_inputs names input populations whose spikes arrive from outside a neuromorphic chip:
    their neuron updates and state leave the chip's terms, their spikes are priced as host spikes
    (event-driven targets only; docs/targets.md §3.1).  Default None: every population as counted.
    power_scope (GPU targets): where the power is measured -- "wall" (developer kit at the socket),
    "module" (module input rail, tegrastats VDD_IN; the Jetson default) or "soc" (CPU/GPU/SoC rails).
    """
    c = counts.check() if isinstance(counts, Counts) else load_counts(counts, phase)   # refuse impossible counts
    t = target if isinstance(target, Target) else load_target(target)
    L = _Ledger(t)
    c, counted = _external_inputs(c, L, external_inputs), c   # c: as the chip sees it; metrics: as counted
    bits = _weight_bits(c, L, weight_bits)
    sbits = _state_bits(L, state_bits)
    mode = t.mode(power_mode)
    if power_scope is not None and t.model != "gpu_time_power":
        raise EstimateError(f"--power-scope applies to GPU targets; {t.id!r} uses the {t.model} model")
    extra = {"scope": power_scope} if t.model == "gpu_time_power" else {}
    res = _MODELS[t.model](c, L, bits, sbits, mode, ops_per_neuron_update, **extra)
    training = c.phase == "training"
    mem = cost.memory_bytes([metrics._pop(p) for p in c.populations],
                            [dict(metrics._path(s), weight_bits=bits[s.name]) for s in c.pathways],
                            sbits, training)
    mem["capacity"], fits = _fits(c, L, mem["total"])
    total = sum(res["breakdown"].values())
    energy = {"total": total, "dynamic": res["dynamic"], "static": res["static"], "breakdown": res["breakdown"],
              "interval": res.get("energy_interval")}
    lat, lat_iv = res["latency"], res.get("latency_interval")
    per = {"samples": c.samples,
           "energy_j": total / c.samples if c.samples else None,
           "latency_s": lat / c.samples if c.samples and lat is not None else None,
           "energy_interval_j": [x / c.samples for x in energy["interval"]] if c.samples and energy["interval"] else None,
           "latency_interval_s": [x / c.samples for x in lat_iv] if c.samples and lat_iv else None}
    return Estimate(
        target=t.id, name=t.name, model=t.model, phase=c.phase, energy_j=energy, latency_s=lat,
        memory_bytes=mem, fits=fits, evidence=L.weakest(), per_sample=per, weight_bits=bits,
        state_bits=sbits, power_mode=mode[1]["name"] if mode else None, scope=t.node("energy.scope"),
        metrics=metrics.neurobench(counted, bits, sbits), notes=L.notes,
        prices={k: _price_dict(p) for k, p in L.used.items()},
        sources={p.source: t.sources.get(p.source) or L.sources[p.source] for p in L.used.values()},
        latency_interval_s=lat_iv, power_scope=res.get("power_scope"), time_split_s=res.get("time_split"),
        gpu_regime=res.get("gpu_regime"))


def _price_dict(p: Price) -> dict:
    d = {"value": p.value, "unit": p.unit, "evidence": p.evidence, "source": p.source}
    return d | ({"bound": p.bound} if p.bound else {})


# -- options ---------------------------------------------------------------------------------
def _check_bits(v, flag):
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 64:
        raise EstimateError(f"{flag} must be an integer in 1..64, got {v!r}")


def _weight_bits(c: Counts, L: _Ledger, override: int | None) -> dict[str, int]:
    if override is not None:
        _check_bits(override, "--weight-bits")
    t, out = L.t, {}
    cap = L.need("precision.weight_bits_max", "bit") if t.has_value("precision.weight_bits_max") else None
    clipped = []
    for s in c.pathways:
        b = override or s.weight_bits
        if cap is not None and b > cap:
            if override:
                raise EstimateError(f"--weight-bits {override} is more than target {t.id!r} supports "
                                    f"({t.path}: field 'precision.weight_bits_max' = {cap:g})")
            clipped.append(f"{s.name} ({b})")
            b = int(cap)
        out[s.name] = b
    if clipped:
        L.notes.append(f"weights stored at {cap:g} bits (precision.weight_bits_max) for pathways "
                       f"{', '.join(clipped)}; pass --weight-bits to choose")
    return out


def _state_bits(L: _Ledger, override: int | None) -> int:
    if override is not None:
        _check_bits(override, "--state-bits")
        return override
    if L.t.has_value("precision.state_bits"):
        return int(L.need("precision.state_bits", "bit"))
    return DEFAULT_STATE_BITS


def _fits(c: Counts, L: _Ledger, total_bytes: int) -> tuple[float | None, bool | None]:
    t, checks, cap = L.t, [], None
    if t.has_value("capacity.memory"):
        cap = L.need("capacity.memory", "B")
        checks.append(total_bytes <= cap)
    elif t.has("capacity.memory"):
        L.notes.append("capacity.memory is not published: fits is unknown")
    if t.has_value("capacity.neurons"):
        checks.append(sum(p.n for p in c.populations if p.neuron_updates) <= L.need("capacity.neurons", "1"))
    return cap, (all(checks) if checks else None)


# -- models ----------------------------------------------------------------------------------
def _joules(terms: dict) -> dict:
    return cost.priced_terms(terms)


def check_external_inputs(c: Counts, names) -> tuple[str, ...]:
    """The external input names, deduplicated; EstimateError unless each is a population of ``c``
    without incoming pathways (the same for every target, so `compare` checks it once, up front)."""
    names = (names,) if isinstance(names, str) else tuple(dict.fromkeys(names))
    have = [p.name for p in c.populations]
    for n in names:
        if n not in have:
            raise EstimateError(f"external inputs: no population {n!r} in the counts (have {', '.join(have)})")
        into = next((s.name for s in c.pathways if s.post == n), None)
        if into is not None:
            raise EstimateError(f"external inputs: population {n!r} receives pathway {into!r}; only a "
                                f"population without incoming pathways can arrive from outside the chip")
    return names


def _external_inputs(c: Counts, L: _Ledger, names) -> Counts:
    """The counts as a neuromorphic chip sees them when populations ``names`` arrive from the host:
    those populations keep their spikes (priced as host spikes by _event_driven) but make no neuron
    updates and hold no state on the chip.  Other models note that the option does not apply."""
    if not names:
        return c
    names = check_external_inputs(c, names)
    if L.t.model != "event_driven":
        L.notes.append(f"external inputs ({', '.join(names)}) not applied: the {L.t.model} model has no "
                       f"host-spike term, so they are priced as counted")
        return c
    L.external = frozenset(names)
    pops = [replace(p, neuron_updates=0, state_vars=0) if p.name in L.external else p for p in c.populations]
    n = sum(p.spikes for p in c.populations if p.name in L.external)
    L.notes.append(f"external inputs ({', '.join(names)}): {n:,} spikes arrive from the host and are priced "
                   f"as host spikes; their neuron updates and state are not on the chip")
    return replace(c, populations=pops)


def _host_spikes(c: Counts, L: _Ledger) -> int:
    return sum(p.spikes for p in c.populations if p.name in L.external)


def _host_term(L: _Ledger, terms: dict, n: int, section: str, unit: str) -> None:
    """terms['host_spike'] for n spikes injected from the host: ``<section>.host_spike`` when the target
    publishes it, else the within-chip ``<section>.spike`` price (noted), else left out (noted)."""
    if not n:
        return
    key = next((k for k in (f"{section}.host_spike", f"{section}.spike") if L.t.has(k)), None)
    if key is None:
        L.notes.append(f"{section}.host_spike is not published and the table has no {section}.spike: "
                       f"the {n:,} host input spikes are not priced in {section}")
        return
    if key == f"{section}.spike":
        L.notes.append(f"{section}.host_spike is not published: the {n:,} host input spikes are priced at "
                       f"{key} (a within-chip spike; the host link is not included, a lower bound)")
    terms["host_spike"] = (n, L.need(key, unit, f"the counts carry {n:,} host input spikes"))


def _event_driven(c, L, bits, sbits, mode, ops):
    t, terms = L.t, {}
    S_host = _host_spikes(c, L)
    K, U, S, W = c.synaptic_events, c.neuron_updates, c.spikes - S_host, c.plasticity_updates
    sim = [p for p in c.populations if p.neuron_updates]
    if t.node("energy.scope") == "all_in":
        L.term(terms, "synop", K)
        L.term(terms, "plasticity_update", W)
        _host_term(L, terms, S_host, "energy", "J")
        L.notes.append("scope all_in: neuron, routing and static energy are inside energy.synop")
        _operating_point(c, L, sim)
    else:
        k_pl = sum(s.synaptic_events for s in c.pathways if s.plasticity_updates) \
            if t.has("energy.synop_plastic") else 0
        L.term(terms, "synop", K - k_pl)
        L.term(terms, "synop_plastic", k_pl)            # includes the weight update (SNABSuite)
        L.term(terms, "neuron_update", U, optional=True)
        L.term(terms, "spike", S, optional=True)
        _host_term(L, terms, S_host, "energy", "J")
        if not k_pl:
            L.term(terms, "plasticity_update", W)
    breakdown = _joules(terms)
    latency = _event_latency(c, L, sim)
    static = {}
    if t.has("static.power"):
        static["static"] = latency * L.need("static.power", "W", "static power × time")
    if t.has("static.per_neuron"):
        n = sum(p.n for p in sim)
        static["static_per_neuron"] = n * latency * L.need("static.per_neuron", "W", "per-neuron power × time")
    if not static:
        L.notes.append("static power is not modelled for this target: energy_j.static is null")
    dyn = sum(breakdown.values())
    return {"breakdown": breakdown | static, "dynamic": dyn,
            "static": sum(static.values()) if static else None, "latency": latency}


def _event_latency(c, L, sim):
    mode = L.t.node("latency.mode")
    if mode is None:
        L.notes.append("latency is not modelled for this target (no [latency] table)")
        return None
    if mode == "real_time":
        L.notes.append("latency: the target runs in biological real time (steps × dt)")
        return c.steps * c.dt_s
    if mode == "tick":
        return c.steps * L.need("latency.tick", "s", "one hardware tick per time step")
    work, S_host = {}, _host_spikes(c, L)
    for name, n in (("synop", c.synaptic_events), ("neuron_update", c.neuron_updates),
                    ("spike", c.spikes - S_host), ("plasticity_update", c.plasticity_updates)):
        L.term(work, name, n, unit="s", optional=(name == "spike"), section="latency")
    _host_term(L, work, S_host, "latency", "s")
    cores = cost.cores_used(sum(p.n for p in sim), int(L.need("capacity.neurons_per_core", "1")),
                            int(L.need("capacity.cores", "1")))
    sync, how = _barrier(L, cores)
    L.notes.append(f"latency: event work spread evenly over {cores} core(s) plus {how}")
    return cost.per_event_time_s(c.steps, work, sync, cores)


def _barrier(L, cores: int) -> tuple[float, str]:
    """Barrier time per step: ``latency.sync`` when the target gives one value (every network), else
    interpolated from ``latency.sync_1`` (1 tile) and ``latency.sync_max`` (all tiles) by the tiles in
    use, tiles = ceil(cores / capacity.cores_per_tile) (docs/targets.md §3.1)."""
    t = L.t
    if t.has("latency.sync") or not (t.has("latency.sync_1") or t.has("latency.sync_max")):
        return L.need("latency.sync", "s", "barrier per time step"), "one barrier sync per step"
    per_tile = int(L.need("capacity.cores_per_tile", "1", "the tiles in use set the barrier time"))
    tiles_all = cost.tiles_used(int(L.need("capacity.cores", "1")), per_tile)
    tiles = cost.tiles_used(cores, per_tile)
    s1 = L.need("latency.sync_1", "s", "barrier with 1 tile in use")
    smax = L.need("latency.sync_max", "s", f"barrier with all {tiles_all} tiles in use")
    s = cost.barrier_sync_s(tiles, tiles_all, s1, smax)
    return s, (f"one {s * 1e9:.4g} ns barrier per step ({tiles} of {tiles_all} tiles in use; linear in "
               f"log2(tiles) between latency.sync_1 and latency.sync_max)")


def _operating_point(c, L, sim):
    if not L.t.has_value("energy.operating_point.rate") or not sim or not c.duration_s:
        return
    op = L.need("energy.operating_point.rate", "Hz")
    rate = sum(p.spikes for p in sim) / (sum(p.n for p in sim) * c.duration_s)
    if not op / 2 <= rate <= op * 2:
        L.notes.append(f"workload rate {rate:.3g} Hz is far from the all-in price's operating point "
                       f"({op:g} Hz); an all-in price does not scale with rate")


def _dense(c, L, bits, sbits, mode, ops):
    terms = {}
    L.term(terms, "synop_dense", c.n_synapses * c.steps)
    L.term(terms, "neuron_update", c.neuron_updates)
    L.term(terms, "plasticity_update", c.plasticity_updates)
    L.notes.append("dense per-op model: every synapse every step; no static power, no latency model")
    b = _joules(terms)
    return {"breakdown": b, "dynamic": sum(b.values()), "static": None, "latency": None}


def _analytic(c, L, bits, sbits, mode, ops):
    t = L.t
    prec = next((f"int{w}" for w in (8, 16, 32) if sbits <= w), None)
    if prec is None:
        raise EstimateError(f"the analytic model prices integer arithmetic up to 32 bits; got state bits {sbits}")
    add = L.need(f"energy.add.{prec}", "J", f"accumulate at {sbits}-bit state")
    mul = L.need(f"energy.mul.{prec}", "J", "leak multiply") if c.neuron_updates or c.plasticity_updates else None
    if t.node("energy.sram.model") != "lemaire_iconip":
        raise TargetError(f"{t.path}: field 'energy.sram.model' must be 'lemaire_iconip'")
    per_bit = L.need("energy.sram.per_bit", "J/bit", "SRAM access energy")
    base = L.need("energy.sram.base", "J", "SRAM access energy")
    sizes = {p.name: p.n for p in c.populations}
    paths = [dict(metrics._path(s), weight_bits=bits[s.name], post_n=sizes[s.post]) for s in c.pathways]
    pops = [metrics._pop(p) for p in c.populations if p.neuron_updates]
    b = cost.lemaire_terms(paths, pops, sbits, add, mul, lambda n, w: cost.lemaire_sram_j(n, w, per_bit, base))
    L.notes.append("analytic model: dynamic energy only (no static power, no latency model)")
    return {"breakdown": b, "dynamic": sum(b.values()), "static": None, "latency": None}


def _gpu(c, L, bits, sbits, mode, ops, scope=None):
    """Jetson-class and desktop GPUs: hwmodel.gpu's time and power model, its parameters fitted to
    the published calibration set unless the target file gives its own (docs/targets.md §3.3)."""
    t, (idx, m) = L.t, mode
    family = t.node("gpu.family")
    if family not in gpu.FAMILIES:
        raise TargetError(f"{t.path}: field 'gpu.family' must be one of {gpu.FAMILIES}, got {family!r}")
    own = t.node("gpu.calibration_device")
    own_runs = sorted(r["id"] for r in gpu.timed_runs("fit") if own and r["device"] == own)
    grade = "calibrated" if own_runs else "transferred"
    cite = (f"hwmodel/data/gpu_calibration.json, fitted by hwmodel.gpu.fit on its {len(gpu.timed_runs('fit'))} "
            "rows marked fit" + (f"; this device's own rows: {', '.join(own_runs)}" if own_runs else
                                 f"; no row of this device: {family}-family parameters moved by its bandwidth and L2"))
    w = _gpu_workload(c, L, bits)
    units = {"sync": "s", "launch": "s", "host_copy": "s", "kernel_latency": "s", "row_walk": "s",
             "fp64_update_bytes": "B", "stream_factor": "1", "bytes_per_target_update": "B", "update_bytes_factor": "1",
             "l2_speedup": "1", "l2_rmw_speedup": "1", "overlap": "1"}
    evented = any(s.events for s in w.pathways)
    used = {"bytes_per_target_update": evented, "fp64_update_bytes": w.float64, "l2_speedup": evented,
            "l2_rmw_speedup": evented, "row_walk": any(s.rows for s in w.pathways),
            "stream_factor": False}             # the model's own 1, not a fitted price: listed only when a file sets it
    q = {}
    for k, v in gpu.device_prices(gpu.fitted(), family, w.simulator).items():
        if L.t.has_value(f"gpu.{k}"):
            q[k] = L.need(f"gpu.{k}", units[k])
        elif used.get(k, True):
            q[k] = L.fitted(f"gpu.{k}", v, units[k], grade, "gpu_calibration", cite)
        else:
            q[k] = v                          # a price no term of this run uses (or not fitted) is not listed
    bw = L.need("gpu.mem_bandwidth", "B/s", "kernel time = achieved bytes / bandwidth")
    l2 = L.opt("gpu.l2_cache", "B", "no L2 size: every synaptic event priced at DRAM cost") or 0.0
    fp64 = L.opt("gpu.fp64_ratio", "1", "FP64/FP32 throughput not given: float64 updates priced as float32") or 1.0
    parts = gpu.time_parts(q, bw / _mode_clock_factor(L, idx, m), l2, w, fp64)
    time = parts["total"]
    lo_f, hi_f = gpu.interval_factors(parts["regime"], bool(own_runs))
    L.notes.append(f"GPU time: {w.steps:,.0f} steps, {parts['regime']}: launch floor {parts['floor']:.4g} s "
                   f"(K={w.kernels:g}), kernel work {parts['work']:.4g} s, overlapped (smooth max, p="
                   f"{q['overlap']:.3g}), + {parts['copies']:.4g} s host copies (C={w.copies:g}) = {time:.4g} s; "
                   f"interval: the range of the leave-one-sweep-out{'' if own_runs else ' and leave-one-device-out'} "
                   f"errors of {parts['regime']} rows (x{lo_f:.2f} .. x{hi_f:.2f})")
    power = _gpu_power(L, family, idx, m, scope)
    u = gpu.work_share(parts)
    pw = power["watts"]
    E, E_lo, E_hi = (gpu.mean_power(pw, u, end) * time * f for end, f in ((0, 1.0), (1, lo_f), (2, hi_f)))
    static = pw["idle"][0] * time
    b = {"static_idle": static, "launch_bound": (1 - u) * (pw["light"][0] - pw["idle"][0]) * time,
         "streaming": u * (pw["heavy"][0] - pw["idle"][0]) * time}
    return {"breakdown": b, "dynamic": E - static, "static": static, "latency": time,
            "latency_interval": [time * lo_f, time * hi_f], "energy_interval": [min(E_lo, E), max(E_hi, E)],
            "power_scope": power["scope"], "gpu_regime": parts["regime"],
            "time_split": {"launch_floor": parts["floor"], "kernel_latency": parts["latency"],
                           "kernel_work": parts["work"], "kernel_streaming": parts["stream"],
                           "host_copies": parts["copies"]}}


def _gpu_workload(c, L, bits) -> gpu.Workload:
    """K kernels and C host copies per step from the counts (the simulator's own structure);
    a record without them gets brian2cuda's structure, noted.  Each pathway's footprint is its
    synapses x (weight bytes + a 4-byte target index unless all-to-all); each event streams one
    synapse's bytes and updates one postsynaptic input variable (float32, or float64 when the run
    is), so a pathway's target array is its postsynaptic population's variable -- except under
    GeNN's dense postsynaptic-parallel kernel, which writes each target once per step
    (:func:`gpu.target_writes`)."""
    ex = c.extra
    sim = ex.get("simulator")
    kernels = ex.get("kernels_per_step")
    if kernels is None:
        sim_pops = [p for p in c.populations if p.neuron_updates]
        kernels = 4 * len(sim_pops) + 3 * len(c.pathways)
        L.notes.append(f"counts carry no kernels_per_step: assumed {kernels} (brian2cuda: 4 per simulated "
                       "population, 3 per pathway); give \"kernels_per_step\" in the counts for your simulator")
    kind = gpu.simulator_kind(sim)
    copies = ex.get("host_copies_per_step")
    if copies is None:
        copies = 0 if kind == "genn" else sum(1 for s in c.pathways if s.synaptic_events)
    batch = ex.get("batch", 1)
    if batch != 1:
        L.notes.append(f"one copy of a batch of {batch}: it pays 1/{batch} of each step's launches, copies and "
                       "row-walk latency (the copies run side by side in each kernel) and all of its own streamed "
                       "bytes")
    sizes = {p.name: p.n for p in c.populations}
    float64 = ex.get("float_bits") == 64
    word = 8 if float64 else 4                      # bytes of one float variable
    paths = []
    for s in c.pathways:
        dense = s.n_synapses >= sizes[s.pre] * sizes[s.post]
        rows = s.synaptic_events * sizes[s.pre] / s.n_synapses if s.n_synapses else 0.0   # presynaptic spikes
        per_synapse = bits[s.name] / 8 + (0 if dense else 4)
        events = float(s.synaptic_events + s.plasticity_updates)
        writes = gpu.target_writes(kind, dense, events, float(c.steps), sizes[s.post])
        paths.append(gpu.Pathway(events, s.n_synapses * per_synapse, float(rows), per_synapse,
                                 sizes[s.post] * word, writes))
    neuron_bytes = (sum(p.neuron_updates * 2 * p.state_vars * word for p in c.populations) / c.neuron_updates
                    if c.neuron_updates else 0.0)        # each state word read and written per update
    return gpu.Workload(float(c.steps) / batch, kernels, copies, float(c.neuron_updates), tuple(paths),
                        kind, float64=float64, neuron_bytes=neuron_bytes, batch=float(batch))


def _mode_clock_factor(L, idx, m) -> float:
    """Kernel time scales with max clock / mode clock when both are published."""
    clk = m.get("gpu_clock") if m else None
    if isinstance(clk, dict) and clk.get("value") != "null" and L.t.has_value("gpu.max_clock"):
        return L.need("gpu.max_clock", "Hz") / L.need(f"power_modes[{idx}].gpu_clock", "Hz", node=clk)
    if idx:
        L.notes.append(f"GPU clock of mode {m['name']!r} not published: kernel time at the maximum clock")
    return 1.0


_SCOPE_TEXT = {"wall": "wall (developer kit at the mains socket)",
               "module": "module (module input rail, tegrastats VDD_IN)",
               "soc": "soc (CPU/GPU/SoC rails, tegrastats VDD_CPU_GPU_CV + VDD_SOC)"}


def _gpu_power(L, family, idx, m, scope) -> dict:
    """{scope, watts {idle, light, heavy: (point, low, high)}}: the target file's own powers in its
    own scope (``power.scope``), the rest of them from the published data in that scope; a
    Jetson's published readings (hwmodel/data/jetson_power.json, transferred between scopes or
    devices where nothing is published); for a desktop GPU, the whole system at the wall as fractions
    of its TDP.  A power mode's budget caps module-scope busy power."""
    t = L.t
    own_scope = t.node("power.scope")
    own = [k for k in ("idle", "light", "heavy") if t.has_value(f"power.{k}")]
    scope = scope or (own_scope if own and own_scope else "module" if family == "jetson" else "wall")
    mine = own if scope == own_scope else []
    if len(mine) < 3 and scope not in gpu.SCOPES:
        raise EstimateError(f"{t.path}: power scope {scope!r} is not one of {', '.join(gpu.SCOPES)}: a target in its own "
                            "scope gives power.idle, power.light and power.heavy" if mine else
                            f"--power-scope must be one of {', '.join(gpu.SCOPES)}, got {scope!r}")
    watts = {k: (v, v, v) for k in mine for v in [L.need(f"power.{k}", "W", "the target file's own power")]}
    if len(watts) < 3:
        for k, v in _published_power(L, family, scope).items():
            watts.setdefault(k, v)
    budget = m.get("power") if m else None
    if scope == "module" and isinstance(budget, dict) and budget.get("value") != "null":
        cap = L.need(f"power_modes[{idx}].power", "W", node=budget)
        if watts["heavy"][0] > cap:
            L.notes.append(f"busy power capped at the {m['name']} mode's budget {cap:g} W")
            watts = {k: tuple(min(x, cap) for x in v) if k != "idle" else v for k, v in watts.items()}
    text = _SCOPE_TEXT.get(scope, scope) if family == "jetson" else \
        {"wall": "wall (whole desktop system at the mains socket)"}.get(scope, scope)
    return {"scope": text, "watts": watts}


def _published_power(L, family, scope) -> dict:
    """{idle, light, heavy: (point, low, high)} of the device in ``scope`` from the published data."""
    t, watts = L.t, {}
    own = t.node("power.scope") == scope
    if family == "jetson":
        dev = t.node("gpu.power_device") or t.node("gpu.calibration_device") or t.id
        try:
            pw = gpu.jetson_power(dev, scope, L.need("gpu.tdp", "W", "a device without readings: power as a fraction of it"))
        except LookupError as err:
            raise EstimateError(f"{t.path}: {err}") from None
        for k, (point, lo, hi, ev, how) in pw.items():
            if not (own and t.has_value(f"power.{k}")):
                L.fitted(f"power.{k}", point, "W", ev, "jetson_power", f"hwmodel/data/jetson_power.json: {how}")
            watts[k] = (point, lo, hi)
        return watts
    if scope != "wall":
        raise EstimateError(f"{t.path}: no published {scope!r}-scope power for desktop GPUs (only the whole system "
                            "at the wall); use --power-scope wall, or hwmodel calibrate with your own NVML readings")
    d = gpu.desktop_power(L.need("gpu.tdp", "W", "desktop system power as fractions of the GPU's TDP"))
    for k, src in (("idle", "idle"), ("light", "idle"), ("heavy", "heavy")):
        point, lo, hi, rows = d[src]
        if not (own and t.has_value(f"power.{k}")):
            L.fitted(f"power.{k}", point, "W", "transferred", "gpu_power",
                     f"hwmodel/data/gpu_calibration.json: whole desktop system at the wall as a fraction of GPU TDP, "
                     f"rows {', '.join(rows)}" + ("; launch-bound power taken as idle (no reading)" if k == "light" else ""))
        watts[k] = (point, lo, hi)
    return watts


_MODELS = {"event_driven": _event_driven, "dense_per_op": _dense, "analytic": _analytic,
           "gpu_time_power": _gpu}
