"""estimate(): a counts record × a target -> energy, latency and memory, with the evidence used.

The cost model is chosen by the target's class and execution style (targets.MODELS); the pure
formulas live in cost.py.  A price that a term needs but that is missing or ``null`` raises a
one-line TargetError naming the file and the field; a published number that only *bounds* an
unpublished one is used and the result says so in ``notes``.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from . import cost, metrics
from .counts import Counts, load_counts
from .targets import GRADES, Price, Target, TargetError, load_target

DEFAULT_STATE_BITS = 32
_LABELS = {"synop": "synaptic events", "synop_plastic": "synaptic events on learning pathways",
           "synop_dense": "dense synaptic ops", "neuron_update": "neuron updates", "spike": "spikes",
           "plasticity_update": "plasticity updates"}


class EstimateError(ValueError):
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

    def to_dict(self) -> dict:
        return asdict(self)


class _Ledger:
    """Reads prices from a target and remembers which were used (for evidence and sources)."""

    def __init__(self, target: Target):
        self.t, self.used, self.notes = target, {}, []

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
             ops_per_neuron_update: int = cost.NEUROBENCH_LEAKY_OPS) -> Estimate:
    """Estimate energy, latency and memory of ``counts`` on ``target``.

    counts: a Counts, or a path to a counts JSON / brian-snn results HDF5 (``phase`` picks the group).
    target: a Target, a built-in id (see list_targets()) or a path to a target TOML.
    weight_bits overrides every pathway's weight_bits; state_bits defaults to the target's
    ``precision.state_bits`` or 32.  power_mode picks one of the target's power modes (GPUs).
    """
    c = counts if isinstance(counts, Counts) else load_counts(counts, phase)
    t = target if isinstance(target, Target) else load_target(target)
    L = _Ledger(t)
    bits = _weight_bits(c, L, weight_bits)
    sbits = _state_bits(L, state_bits)
    mode = t.mode(power_mode)
    res = _MODELS[t.model](c, L, bits, sbits, mode, ops_per_neuron_update)
    training = c.phase == "training"
    mem = cost.memory_bytes([metrics._pop(p) for p in c.populations],
                            [dict(metrics._path(s), weight_bits=bits[s.name]) for s in c.pathways],
                            sbits, training)
    mem["capacity"], fits = _fits(c, L, mem["total"])
    total = sum(res["breakdown"].values())
    energy = {"total": total, "dynamic": res["dynamic"], "static": res["static"], "breakdown": res["breakdown"]}
    lat = res["latency"]
    per = {"samples": c.samples,
           "energy_j": total / c.samples if c.samples else None,
           "latency_s": lat / c.samples if c.samples and lat is not None else None}
    return Estimate(
        target=t.id, name=t.name, model=t.model, phase=c.phase, energy_j=energy, latency_s=lat,
        memory_bytes=mem, fits=fits, evidence=L.weakest(), per_sample=per, weight_bits=bits,
        state_bits=sbits, power_mode=mode[1]["name"] if mode else None, scope=t.node("energy.scope"),
        metrics=metrics.neurobench(c, bits, sbits), notes=L.notes,
        prices={k: _price_dict(p) for k, p in L.used.items()},
        sources={p.source: t.sources[p.source] for p in L.used.values()})


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


def _event_driven(c, L, bits, sbits, mode, ops):
    t, terms = L.t, {}
    K, U, S, W = c.synaptic_events, c.neuron_updates, c.spikes, c.plasticity_updates
    sim = [p for p in c.populations if p.neuron_updates]
    if t.node("energy.scope") == "all_in":
        L.term(terms, "synop", K)
        L.term(terms, "plasticity_update", W)
        L.notes.append("scope all_in: neuron, routing and static energy are inside energy.synop")
        _operating_point(c, L, sim)
    else:
        k_pl = sum(s.synaptic_events for s in c.pathways if s.plasticity_updates) \
            if t.has("energy.synop_plastic") else 0
        L.term(terms, "synop", K - k_pl)
        L.term(terms, "synop_plastic", k_pl)            # includes the weight update (SNABSuite)
        L.term(terms, "neuron_update", U, optional=True)
        L.term(terms, "spike", S, optional=True)
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
    t, mode = L.t, L.t.node("latency.mode")
    if mode is None:
        L.notes.append("latency is not modelled for this target (no [latency] table)")
        return None
    if mode == "real_time":
        L.notes.append("latency: the target runs in biological real time (steps × dt)")
        return c.steps * c.dt_s
    if mode == "tick":
        return c.steps * L.need("latency.tick", "s", "one hardware tick per time step")
    work = {}
    for name, n in (("synop", c.synaptic_events), ("neuron_update", c.neuron_updates),
                    ("spike", c.spikes), ("plasticity_update", c.plasticity_updates)):
        L.term(work, name, n, unit="s", optional=(name == "spike"), section="latency")
    cores = cost.cores_used(sum(p.n for p in sim), int(L.need("capacity.neurons_per_core", "1")),
                            int(L.need("capacity.cores", "1")))
    L.notes.append(f"latency: event work spread evenly over {cores} core(s) plus one barrier sync per step")
    return cost.per_event_time_s(c.steps, work, L.need("latency.sync", "s", "barrier per time step"), cores)


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


def _gpu(c, L, bits, sbits, mode, ops):
    t, (idx, m) = L.t, mode
    width = max([sbits, *bits.values()])
    cands = [k for k, lim in (("int8", 8), ("fp16", 16), ("fp32", 64)) if width <= lim]
    key = next((k for k in cands if t.has_value(f"gpu.peak_{k}")), "fp32")
    if key != cands[0]:
        L.notes.append(f"no published {cands[0]} peak: compute term at the {key} peak")
    peak = L.need(f"gpu.peak_{key}", "OP/s" if key == "int8" else "FLOP/s", f"{width}-bit compute")
    clk = m.get("gpu_clock")
    if isinstance(clk, dict) and clk["value"] != "null" and t.has_value("gpu.max_clock"):
        peak *= L.need(f"power_modes[{idx}].gpu_clock", "Hz", node=clk) / L.need("gpu.max_clock", "Hz")
    elif idx:
        L.notes.append(f"GPU clock of mode {m['name']!r} not published: peak at max clock (time is a lower bound)")
    bw = L.need("gpu.mem_bandwidth", "B/s", "roofline memory term")
    over = L.need("gpu.per_step_overhead", "s", "kernel launches per time step; calibrate on the device")
    lower = "not published: peak assumed (time is a lower bound)"
    eff_c = L.opt("gpu.efficiency_compute", "1", f"gpu.efficiency_compute {lower}") or 1.0
    eff_m = L.opt("gpu.efficiency_memory", "1", f"gpu.efficiency_memory {lower}") or 1.0
    sizes = {p.name: p.n for p in c.populations}
    paths = [dict(metrics._path(s), weight_bits=bits[s.name], post_n=sizes[s.post]) for s in c.pathways]
    flops, nbytes = cost.gpu_work(paths, [metrics._pop(p) for p in c.populations], sbits, ops)
    time = cost.roofline_time_s(c.steps, flops, nbytes, peak * eff_c, bw * eff_m, over)
    power = L.need(f"power_modes[{idx}].power", "W", f"power of mode {m['name']!r}", node=m.get("power"))
    if L.used[f"power_modes[{idx}].power"].bound == "max":
        L.notes.append(f"power mode {m['name']!r}: its power budget is used as average power (an upper bound)")
    idle = L.opt("static.idle", "W", "static.idle is not published: energy is not split into static/dynamic")
    total, static, dynamic = cost.time_power_j(time, power, idle)
    b = {"power_x_time": total} if idle is None else {"static_idle": static, "active_above_idle": dynamic}
    return {"breakdown": b, "dynamic": dynamic, "static": static, "latency": time}


_MODELS = {"event_driven": _event_driven, "dense_per_op": _dense, "analytic": _analytic,
           "gpu_time_power": _gpu}
