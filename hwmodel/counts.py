"""The counts contract: exact activity of one run phase, independent of any simulator.

A counts record (schema ``hwmodel-counts/1``) is what a simulator hands to the cost model:
how many spikes each population emitted, how many neuron state updates it made, and for
each synaptic pathway how many synaptic events (spike x fan-out) and plasticity updates
happened.  It round-trips through JSON and through an HDF5 group (as a JSON attribute, so
both forms hold exactly the same integers).
"""
from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import MISSING, asdict, dataclass, field, fields, replace

from .errors import HwmodelError

SCHEMA = "hwmodel-counts/1"
_SUMMED = ("spikes", "neuron_updates", "synaptic_events", "plasticity_updates", "weight_changes")
PHASES = ("training", "inference")
# Counts are 64-bit counters (what numpy and HDF5 hold); the bound also keeps every count, and the
# prices multiplied by it, far from float overflow (a JSON 10**400 used to raise OverflowError).
MAX_COUNT = 2 ** 63 - 1


class CountsError(HwmodelError):
    """A counts record is malformed; the message names the source and the field."""


@dataclass(frozen=True)
class PopulationCounts:
    name: str
    n: int
    spikes: int
    neuron_updates: int
    state_vars: int = 1          # state words per neuron (memory footprint)


@dataclass(frozen=True)
class PathwayCounts:
    name: str
    pre: str
    post: str
    n_synapses: int
    synaptic_events: int
    plasticity_updates: int = 0
    weight_bits: int = 32
    plastic: bool = False        # whether the weights are learned (training memory, traces)
    pre_traces: int = 1          # plasticity trace words per presynaptic neuron (training memory)
    post_traces: int = 1         # plasticity trace words per postsynaptic neuron (training memory)
    # of the plasticity updates, those that changed a weight (|dw| > 0); None: not counted
    weight_changes: int | None = None


def _plain(record) -> dict:
    """A population or pathway as JSON: optional counts that were not counted are left out."""
    return {k: v for k, v in asdict(record).items() if v is not None}


@dataclass
class Counts:
    dt_s: float
    steps: int
    samples: int
    phase: str
    populations: list[PopulationCounts] = field(default_factory=list)
    pathways: list[PathwayCounts] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    # -- derived totals -------------------------------------------------------------
    @property
    def spikes(self) -> int:
        return sum(p.spikes for p in self.populations)

    @property
    def neuron_updates(self) -> int:
        return sum(p.neuron_updates for p in self.populations)

    @property
    def synaptic_events(self) -> int:
        return sum(p.synaptic_events for p in self.pathways)

    @property
    def plasticity_updates(self) -> int:
        return sum(p.plasticity_updates for p in self.pathways)

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.pathways)

    @property
    def duration_s(self) -> float:
        return self.dt_s * self.steps

    def population(self, name: str) -> PopulationCounts:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population {name!r} in counts (have {[p.name for p in self.populations]})")

    def pathway(self, name: str) -> PathwayCounts:
        for p in self.pathways:
            if p.name == name:
                return p
        raise KeyError(f"no pathway {name!r} in counts (have {[p.name for p in self.pathways]})")

    def __add__(self, other: "Counts") -> "Counts":
        """Sum two records of the same network (e.g. successive training chunks)."""
        if (self.phase, self.dt_s) != (other.phase, other.dt_s):
            raise CountsError("cannot add counts of different phase or dt")
        if [p.name for p in self.populations] != [p.name for p in other.populations] or \
           [p.name for p in self.pathways] != [p.name for p in other.pathways]:
            raise CountsError("cannot add counts of different networks")
        for a, b in list(zip(self.populations, other.populations)) + list(zip(self.pathways, other.pathways)):
            if a != replace(b, **{k: getattr(a, k) for k in _SUMMED if hasattr(a, k)}):
                raise CountsError(f"cannot add counts of different networks ({a.name!r} differs)")
        pops = [replace(a, spikes=a.spikes + b.spikes, neuron_updates=a.neuron_updates + b.neuron_updates)
                for a, b in zip(self.populations, other.populations)]
        paths = [replace(a, synaptic_events=a.synaptic_events + b.synaptic_events,
                         plasticity_updates=a.plasticity_updates + b.plasticity_updates,
                         weight_changes=None if None in (a.weight_changes, b.weight_changes)
                         else a.weight_changes + b.weight_changes)
                 for a, b in zip(self.pathways, other.pathways)]
        return Counts(self.dt_s, self.steps + other.steps, self.samples + other.samples, self.phase,
                      pops, paths, dict(self.extra))

    # -- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"schema": SCHEMA, "dt_s": self.dt_s, "steps": self.steps, "samples": self.samples,
             "phase": self.phase,
             "populations": [_plain(p) for p in self.populations],
             "pathways": [_plain(p) for p in self.pathways]}
        d.update(self.extra)
        return d

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            from .files import replacing
            with replacing(path) as tmp:   # never leave a half-written file behind
                with open(tmp, "w") as f:
                    f.write(text + "\n")
        return text

    @classmethod
    def from_dict(cls, d: dict, source: str = "counts") -> "Counts":
        if not isinstance(d, dict):
            raise CountsError(f"{source}: expected a JSON object, got {type(d).__name__}")
        if d.get("schema") != SCHEMA:
            raise CountsError(f"{source}: field 'schema' must be {SCHEMA!r}, got {d.get('schema')!r}")
        dt = _number(d, "dt_s", source, positive=True)
        steps = _count(d, "steps", source)
        samples = _count(d, "samples", source)
        phase = d.get("phase")
        if phase not in PHASES:
            raise CountsError(f"{source}: field 'phase' must be one of {PHASES}, got {phase!r}")
        pops = [_record(PopulationCounts, r, f"populations[{k}]", source)
                for k, r in enumerate(_list(d, "populations", source))]
        paths = [_record(PathwayCounts, r, f"pathways[{k}]", source)
                 for k, r in enumerate(_list(d, "pathways", source))]
        _unique(pops, "populations", source)
        _unique(paths, "pathways", source)
        names = {p.name for p in pops}
        for k, p in enumerate(paths):
            for end in ("pre", "post"):
                if getattr(p, end) not in names:
                    raise CountsError(f"{source}: field 'pathways[{k}].{end}': unknown population "
                                      f"{getattr(p, end)!r}")
            if p.weight_bits < 1 or p.weight_bits > 64:
                raise CountsError(f"{source}: field 'pathways[{k}].weight_bits' must be in 1..64")
        _possible(steps, pops, paths, source)
        known = {"schema", "dt_s", "steps", "samples", "phase", "populations", "pathways"}
        extra = {k: v for k, v in d.items() if k not in known}
        for key, least in (("kernels_per_step", 1), ("host_copies_per_step", 0), ("batch", 1)):
            if key in extra:                 # GPU structure of the simulator (docs/targets.md §1)
                extra[key] = _count(d, key, source)
                if extra[key] < least:
                    raise CountsError(f"{source}: field {key!r} must be >= {least}, got {extra[key]}")
        if "simulator" in extra and (not isinstance(extra["simulator"], str) or not extra["simulator"]):
            raise CountsError(f"{source}: field 'simulator' must be a non-empty string")
        return cls(dt, steps, samples, phase, pops, paths, extra)

    def check(self, source: str = "counts") -> "Counts":
        """This record validated as from_dict validates a file (for records built in Python); returns
        a copy with plain ints (numpy integers are accepted).  CountsError names the field."""
        return Counts.from_dict(self.to_dict(), source)

    @classmethod
    def from_json(cls, text: str, source: str = "counts JSON") -> "Counts":
        from .files import parse_json
        try:
            d = parse_json(text, source)
        except json.JSONDecodeError as e:
            raise CountsError(f"{source}: not valid JSON ({e.msg} at line {e.lineno})") from None
        return cls.from_dict(d, source)

    def to_hdf5(self, group) -> None:
        """Store in an h5py group (the brian-snn results layout: /counts/<phase>)."""
        group.attrs["json"] = json.dumps(self.to_dict())

    @classmethod
    def from_hdf5(cls, group, source: str = "HDF5 group") -> "Counts":
        if "json" not in group.attrs:
            raise CountsError(f"{source}: no counts record (attribute 'json' missing)")
        return cls.from_json(group.attrs["json"], source)


def load_counts(path: str | os.PathLike, phase: str | None = None) -> Counts:
    """Read a counts JSON file, or the counts of one phase from a brian-snn results HDF5 file.

    For HDF5 files ``phase`` defaults to ``inference`` when present, else ``training``.
    """
    from .files import FileError, check_hdf5, check_input, decode, read_bytes
    path = os.fspath(path)
    try:
        check_input(path)                   # a FIFO or a device would block or never end
    except FileError as e:
        raise CountsError(str(e)) from None
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic != b"\x89HDF\r\n\x1a\n" and path.lower().endswith((".h5", ".hdf5")):
        raise CountsError(f"{path}: not an HDF5 file (no HDF5 signature: truncated or corrupt?)")
    if magic == b"\x89HDF\r\n\x1a\n":
        import h5py  # local import: JSON users need no HDF5
        try:
            h5 = h5py.File(path, "r")
        except OSError as e:
            raise CountsError(f"{path}: unreadable HDF5 file ({e})") from None
        with h5:
            try:
                check_hdf5(h5, path)
            except FileError as e:
                raise CountsError(str(e)) from None
            if "counts" not in h5:
                raise CountsError(f"{path}: no 'counts' group (not a brian-snn results file?)")
            have = list(h5["counts"].keys())
            if phase is None:
                phase = "inference" if "inference" in have else (have[0] if have else None)
            if phase not in have:
                raise CountsError(f"{path}: no counts for phase {phase!r} (have {have})")
            return Counts.from_hdf5(h5["counts"][phase], f"{path}:/counts/{phase}")
    try:
        text = decode(read_bytes(path), path)
    except FileError as e:
        raise CountsError(str(e)) from None
    counts = Counts.from_json(text, path)
    if phase is not None and counts.phase != phase:
        raise CountsError(f"{path}: counts are for phase {counts.phase!r}, not {phase!r}")
    return counts


# -- validation helpers ----------------------------------------------------------------
def _number(d, key, source, positive=False):
    if key not in d:
        raise CountsError(f"{source}: field {key!r} is missing")
    v = d.get(key)
    try:                            # float() of a huge int overflows: refuse it like inf
        finite = not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(float(v))
    except OverflowError:
        finite = False
    if not finite:
        raise CountsError(f"{source}: field {key!r} must be a finite number, got {_show(v)}")
    if positive and v <= 0:
        raise CountsError(f"{source}: field {key!r} must be > 0, got {v!r}")
    return float(v)


def _count(d, key, source, where=None):
    v = d.get(key)
    name = f"{where}.{key}" if where else key
    if key not in d:
        raise CountsError(f"{source}: field {name!r} is missing")
    if isinstance(v, float) and not math.isfinite(v):      # JSON NaN, Infinity, 1e400
        raise CountsError(f"{source}: field {name!r} must be a finite integer, got {v!r}")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise CountsError(f"{source}: field {name!r} must be an integer, got {v!r}")
    v = int(v)                                               # numpy integers of Python-built records
    if v < 0:
        raise CountsError(f"{source}: field {name!r} must be >= 0, got {v}")
    if v > MAX_COUNT:
        raise CountsError(f"{source}: field {name!r} = {_show(v)} is more than a 64-bit counter holds "
                          f"({MAX_COUNT:,})")
    return v


def _show(v) -> str:
    """A number short enough for a one-line message (10**400 has 401 digits)."""
    t = repr(v)
    if not isinstance(v, int) or len(t) <= 24:
        return t
    d = str(abs(v))
    return f"{'-' if v < 0 else ''}{d[0]}.{d[1:4]}e+{len(d) - 1} ({len(d)} digits)"


def _unique(records, key, source):
    seen = set()
    for k, r in enumerate(records):
        if r.name in seen:
            raise CountsError(f"{source}: field '{key}[{k}].name': duplicate name {r.name!r}")
        seen.add(r.name)


def _possible(steps, pops, paths, source):
    """Refuse activity no run can produce; each message names the field and both numbers."""
    def over(where, v, bound, why):
        if v > bound:
            raise CountsError(f"{source}: field '{where}' = {v:,} is more than {why} = {bound:,}")

    for k, p in enumerate(pops):       # a neuron spikes and is updated at most once per step
        for f in ("spikes", "neuron_updates"):
            over(f"populations[{k}].{f}", getattr(p, f), p.n * steps, f"n x steps = {p.n:,} x {steps:,}")
    size = {p.name: p for p in pops}
    for k, s in enumerate(paths):
        pre, post = size[s.pre], size[s.post]
        over(f"pathways[{k}].n_synapses", s.n_synapses, pre.n * post.n,
             f"pre x post neurons = {pre.n:,} x {post.n:,}")
        if s.weight_changes is not None:
            over(f"pathways[{k}].weight_changes", s.weight_changes, s.plasticity_updates,
                 "its plasticity updates")
        # Each presynaptic spike triggers at most its neuron's out-degree of events.  The mean fan-out
        # n_synapses / pre.n is not a bound (one busy neuron may have all the synapses); the largest
        # out-degree is at most post.n (one synapse per pair) and at most n_synapses.
        fan = min(post.n, s.n_synapses)
        over(f"pathways[{k}].synaptic_events", s.synaptic_events, pre.spikes * fan,
             f"'{s.pre}' spikes x largest fan-out min(post n, n_synapses) = {pre.spikes:,} x {fan:,}")


def _list(d, key, source):
    if key not in d:
        raise CountsError(f"{source}: field {key!r} is missing")
    v = d.get(key)
    if not isinstance(v, list):
        raise CountsError(f"{source}: field {key!r} must be a list, got {type(v).__name__}")
    return v


def _record(cls, r, where, source):
    if not isinstance(r, dict):
        raise CountsError(f"{source}: field {where!r} must be an object")
    values = {}
    for f in fields(cls):
        if f.name not in r:
            if f.default is MISSING:
                raise CountsError(f"{source}: field '{where}.{f.name}' is missing")
            continue
        if f.type in ("int", int, "int | None"):
            values[f.name] = _count(r, f.name, source, where)
        elif f.type in ("bool", bool):
            if not isinstance(r[f.name], bool):
                raise CountsError(f"{source}: field '{where}.{f.name}' must be true or false, got {r[f.name]!r}")
            values[f.name] = r[f.name]
        else:
            if not isinstance(r[f.name], str) or not r[f.name]:
                raise CountsError(f"{source}: field '{where}.{f.name}' must be a non-empty string")
            values[f.name] = r[f.name]
    return cls(**values)
