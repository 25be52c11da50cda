"""Hardware targets as data: load and validate ``hwmodel-target/1`` TOML files.

Every number in a target file is a *quantity*: an inline table
``{value = 23.6e-12, unit = "J", evidence = "simulated", source = "davies2018"}`` whose ``source``
is a key of the file's ``[sources]`` table.  A value that is not published is written
``value = "null"`` (TOML has no null) and is never read as 0.  Errors are one line naming the
file and the field.
"""
from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass

from .errors import HwmodelError

try:
    import tomllib
except ImportError:                 # Python 3.10: the tomli backport (declared in pyproject.toml)
    import tomli as tomllib

SCHEMA = "hwmodel-target/1"
# Evidence grades, strongest first.  secondary: a number read from a third party (a reseller, a blog,
# another paper's transcription) rather than its primary source; transferred: a parameter carried
# over from measured devices to an unmeasured one by datasheet scaling (docs/targets.md §3.3).
GRADES = ("measured", "calibrated", "datasheet", "simulated", "derived", "secondary", "transferred")
CLASSES = ("gpu", "cpu", "mcu", "neuromorphic", "asic")
EXECUTIONS = ("event_driven", "clock_driven_dense", "clock_driven_sparse")
MODELS = {("neuromorphic", "event_driven"): "event_driven",
          ("asic", "event_driven"): "analytic", ("mcu", "event_driven"): "analytic",
          ("gpu", "clock_driven_sparse"): "gpu_time_power",
          ("gpu", "clock_driven_dense"): "dense_per_op", ("cpu", "clock_driven_dense"): "dense_per_op"}
QUANTITY_KEYS = {"value", "unit", "evidence", "source", "bound", "note"}
# Every key a target file may hold, by kind: the one list of what estimate.py (prices, the GPU model's
# gpu.* overrides from gpu.device_prices, power.*), calibrate.py (what it writes) and this file read,
# plus the informational quantities of the built-in files.  Any other key is refused, so that a
# misspelled optional price cannot silently drop its term.  `note` (a string) is allowed in any table;
# `power_modes[]` is each [[power_modes]] entry; `sources` is a table of citations under any names.
KEYS = {
    "string": ("schema", "id", "name", "class", "execution", "extends", "energy.scope", "energy.sram.model",
               "latency.mode", "gpu.family", "gpu.calibration_device", "gpu.power_device", "power.scope",
               "power_modes[].name"),
    "quantity": ("energy.synop", "energy.synop_plastic", "energy.synop_dense", "energy.neuron_update",
                 "energy.spike", "energy.host_spike", "energy.plasticity_update",
                 "energy.add.int8", "energy.add.int16", "energy.add.int32",
                 "energy.mul.int8", "energy.mul.int16", "energy.mul.int32",
                 "energy.sram.per_bit", "energy.sram.base", "energy.ratios.fdiv_over_fmul",
                 "energy.operating_point.rate", "energy.operating_point.power",
                 "energy.operating_point.voltage", "energy.operating_point.active_synapses",
                 "static.power", "static.per_neuron",
                 "latency.synop", "latency.neuron_update", "latency.spike", "latency.host_spike",
                 "latency.plasticity_update", "latency.tick", "latency.sync", "latency.sync_1", "latency.sync_max",
                 "capacity.memory",
                 "gpu.tdp", "gpu.max_clock", "gpu.peak_fp32", "gpu.peak_fp16", "gpu.peak_int8", "gpu.mem_bandwidth",
                 "gpu.l2_cache", "gpu.fp64_ratio", "gpu.sync", "gpu.launch", "gpu.host_copy", "gpu.kernel_latency", "gpu.row_walk",
                 "gpu.fp64_update_bytes", "gpu.stream_factor", "gpu.bytes_per_target_update", "gpu.update_bytes_factor",
                 "gpu.l2_speedup", "gpu.l2_rmw_speedup", "gpu.overlap",
                 "power.idle", "power.light", "power.heavy", "power_modes[].power", "power_modes[].gpu_clock"),
    # quantities whose value must be a whole number (bit widths, neurons, cores): the models use them
    # as integers, and int() would silently truncate a 2.5
    "integer": ("capacity.neurons", "capacity.cores", "capacity.neurons_per_core", "capacity.cores_per_tile",
                "precision.weight_bits_max", "precision.state_bits", "gpu.cuda_cores", "gpu.sm_count"),
}
KIND = {key: kind for kind, keys in KEYS.items() for key in keys}
# prices of an earlier GPU model that a calibrated file may still carry: refused with what replaced them
RETIRED = {"gpu.bytes_per_event_sparse": "gpu.bytes_per_target_update", "gpu.bytes_per_event_dense":
           "gpu.bytes_per_target_update"}
TABLES = {key[:i] for key in KIND for i, c in enumerate(key) if c in ".["} | {"sources"}
BOUNDS = ("min", "max", "typical")
LATENCY_MODES = ("per_event", "tick", "real_time")
ALL_IN_EXCLUDES = ("energy.neuron_update", "energy.spike", "static")   # inside an all-in price
BUILTIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "targets")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class TargetError(HwmodelError):
    """A target file is malformed or lacks a price a model needs; names file and field."""


@dataclass(frozen=True)
class Price:
    """One sourced number from a target file."""
    field: str
    value: float
    unit: str
    evidence: str
    source: str                 # key into Target.sources
    bound: str | None = None


@dataclass
class Target:
    id: str
    name: str
    cls: str
    execution: str
    model: str
    path: str                   # as shown in messages, e.g. hwmodel/targets/loihi1.toml
    data: dict
    sources: dict

    # -- field access -----------------------------------------------------------------
    def node(self, dotted: str):
        """The raw node at a dotted path, or None when absent."""
        cur = self.data
        for part in dotted.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return None
            cur = cur[part]
        return cur

    def has(self, dotted: str) -> bool:
        return self.node(dotted) is not None

    def has_value(self, dotted: str) -> bool:
        q = self.node(dotted)
        return isinstance(q, dict) and q.get("value") != "null"

    def need(self, dotted: str, unit: str, why: str = "", node=None) -> Price:
        """The price at ``dotted``; TargetError if it is missing, null or in another unit."""
        q = self.node(dotted) if node is None else node
        need = f"the {self.model} model needs it" + (f" ({why})" if why else "")
        if q is None:
            raise TargetError(f"{self.path}: field '{dotted}' is missing; {need}")
        if not isinstance(q, dict) or "value" not in q:
            raise TargetError(f"{self.path}: field '{dotted}' must be a quantity {{value, unit, evidence, source}}")
        if q["value"] == "null":
            raise TargetError(f"{self.path}: field '{dotted}' is null (not published) but {need}; "
                              f"give a calibrated value in a --target-file")
        if q["unit"] != unit:
            raise TargetError(f"{self.path}: field '{dotted}.unit' must be {unit!r}, got {q['unit']!r}")
        return Price(dotted, float(q["value"]), unit, q["evidence"], q["source"], q.get("bound"))

    def power_modes(self) -> list[dict]:
        return list(self.data.get("power_modes", []))

    def mode(self, name: str | None) -> tuple[int, dict] | None:
        """(index, table) of a power mode; the first is the default; None when the target has none."""
        modes = self.power_modes()
        if not modes:
            if name is not None:
                raise TargetError(f"{self.path}: target {self.id!r} has no power modes (got --power-mode {name!r})")
            return None
        if name is None:
            return 0, modes[0]
        for k, m in enumerate(modes):
            if m["name"].lower() == name.lower():
                return k, m
        raise TargetError(f"{self.path}: unknown power mode {name!r} for target {self.id!r} "
                          f"(have {', '.join(m['name'] for m in modes)})")


# -- discovery ---------------------------------------------------------------------------
def list_targets() -> list[str]:
    """Ids of the built-in targets (the file names in hwmodel/targets/)."""
    return sorted(f[:-5] for f in os.listdir(BUILTIN_DIR) if f.endswith(".toml"))


def load_target(ref: str | os.PathLike) -> Target:
    """Load a built-in target by id, or a user target file by path (``--target-file``)."""
    ref = os.fspath(ref)
    if ref.endswith(".toml") or os.sep in ref or os.path.isfile(ref):
        if not os.path.isfile(ref):
            raise TargetError(f"{ref}: target file not found")
        return _load(ref, ref)
    if ref not in list_targets():
        raise TargetError(f"unknown target {ref!r} (known: {', '.join(list_targets())}; "
                          f"or pass a file with --target-file)")
    return _load(os.path.join(BUILTIN_DIR, ref + ".toml"), f"hwmodel/targets/{ref}.toml")


def _load(path: str, shown: str) -> Target:
    from .files import FileError, parse_toml, read_bytes, decode
    try:
        data = parse_toml(decode(read_bytes(path), shown), shown)
    except FileError as e:
        raise TargetError(str(e)) from None
    except tomllib.TOMLDecodeError as e:
        raise TargetError(f"{shown}: not valid TOML ({e})") from None
    return from_data(data, shown)


def from_data(data: dict, shown: str) -> Target:
    """A target from parsed TOML (``extends`` resolved), validated; errors name ``shown``."""
    if "extends" in data:                       # a calibrated file that overrides a built-in one
        base_id = data.pop("extends")
        if base_id not in list_targets():
            raise TargetError(f"{shown}: field 'extends' must name a built-in target id, got {base_id!r}")
        if "id" not in data:
            raise TargetError(f"{shown}: field 'id' is missing (a file that extends {base_id!r} needs its own id)")
        data = _merge(load_target(base_id).data, data)
    return validate(data, shown)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "value" not in v:
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


# -- validation --------------------------------------------------------------------------
MAX_PRICE = 1e30       # largest quantity value: x a 64-bit count stays far from float overflow


def validate(data: dict, shown: str) -> Target:
    def err(msg):
        raise TargetError(f"{shown}: {msg}")

    _known(data, "", shown)                     # first: a misspelled 'clas' is named as such
    if data.get("schema") != SCHEMA:
        err(f"field 'schema' must be {SCHEMA!r}, got {data.get('schema')!r}")
    for key in ("id", "name", "class", "execution"):
        if not isinstance(data.get(key), str) or not data[key]:
            err(f"field '{key}' is missing" if key not in data else f"field '{key}' must be a non-empty string")
    if not _ID.match(data["id"]):
        err(f"field 'id' must be lower-case letters, digits, '.', '_' or '-', got {data['id']!r}")
    if data["class"] not in CLASSES:
        err(f"field 'class' must be one of {CLASSES}, got {data['class']!r}")
    if data["execution"] not in EXECUTIONS:
        err(f"field 'execution' must be one of {EXECUTIONS}, got {data['execution']!r}")
    model = MODELS.get((data["class"], data["execution"]))
    if model is None:
        err(f"field 'execution': no cost model for class {data['class']!r} with execution {data['execution']!r}")
    sources = data.get("sources")
    if not isinstance(sources, dict):
        err("field 'sources' is missing (a table of citation strings)")
    for k, v in sources.items():
        if not isinstance(v, str) or not v.strip():
            err(f"field 'sources.{k}' must be a non-empty citation string")
    for k, v in data.items():
        if k != "sources":
            _walk(v, k, shown, sources)
    for k, m in enumerate(data.get("power_modes", [])):
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            err(f"field 'power_modes[{k}].name' is missing")
    names = [m["name"].lower() for m in data.get("power_modes", [])]
    if len(set(names)) != len(names):
        err("field 'power_modes': duplicate mode names")
    t = Target(data["id"], data["name"], data["class"], data["execution"], model, shown, data, sources)
    if model == "event_driven":
        if t.node("energy.scope") not in ("per_term", "all_in"):
            err("field 'energy.scope' must be 'per_term' or 'all_in'")
        if t.node("energy.scope") == "all_in":
            for f in ALL_IN_EXCLUDES:
                if t.has(f):
                    err(f"field '{f}' is not allowed with energy.scope 'all_in' (it is inside the all-in price)")
    lat = t.node("latency.mode")
    if t.has("latency") and lat not in LATENCY_MODES:
        err(f"field 'latency.mode' must be one of {LATENCY_MODES}, got {lat!r}")
    if t.has("static") and model in ("event_driven", "analytic", "dense_per_op") and not t.has("latency"):
        err("field 'latency' is missing; static power needs a latency model")
    return t


def _known(node, where, shown):
    """Refuse keys and tables that no reader knows (KEYS), suggesting the closest known name."""
    if isinstance(node, list):
        for i, v in enumerate(node):
            _known(v, f"{where}[{i}]", shown)
        return
    if not isinstance(node, dict) or "value" in node:      # a quantity's own keys: _quantity
        return
    table = re.sub(r"\[\d+\]", "[]", where)                # power_modes[2] -> power_modes[]
    for k, v in node.items():
        path, key = (f"{where}.{k}", f"{table}.{k}") if where else (k, k)
        if key in KIND or k == "note" or table == "sources":
            continue
        if key in RETIRED:
            raise TargetError(f"{shown}: field {path!r} is a price of an earlier GPU model (one price per "
                              f"synaptic event); this one prices an event as its synapse's bytes plus "
                              f"{RETIRED[key]!r}: run hwmodel calibrate on your measurements again")
        if f"{key}[]" in TABLES and not isinstance(v, list):
            raise TargetError(f"{shown}: field {path!r} must be an array of tables: write [[{path}]]")
        if key not in TABLES:
            names = sorted(_children(table))
            close = difflib.get_close_matches(k, names, n=1)
            if close:
                near = f"{where}.{close[0]}" if where else close[0]
                hint = f"did you mean {f'[{near}]' if _is_table(table, close[0]) else repr(near)}?"
            else:
                hint = f"known in {f'[{where}]' if where else 'the top level'}: {', '.join(names)}"
            what = f"table [{path}]" if isinstance(v, dict) and "value" not in v else f"key {path!r}"
            raise TargetError(f"{shown}: unknown {what} ({hint})")
        _known(v, path, shown)


def _is_table(table: str, name: str) -> bool:
    return (f"{table}.{name}" if table else name) in TABLES


def _children(table: str) -> set[str]:
    """The known names directly inside ``table`` ('' = the top level)."""
    pre = f"{table}." if table else ""
    return {re.split(r"[.\[]", n[len(pre):])[0] for n in KIND.keys() | TABLES if n.startswith(pre)} | {"note"}


def _walk(node, where, shown, sources):
    if isinstance(node, dict):
        if "value" in node:
            return _quantity(node, where, shown, sources)
        for k, v in node.items():
            _walk(v, f"{where}.{k}", shown, sources)
    elif isinstance(node, list):
        for k, v in enumerate(node):
            _walk(v, f"{where}[{k}]", shown, sources)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        raise TargetError(f"{shown}: field '{where}' is a bare number; write "
                          f"{{value, unit, evidence, source}} (every number needs a source)")


def _quantity(q, where, shown, sources):
    def err(msg):
        raise TargetError(f"{shown}: field '{where}{msg}")

    extra = sorted(set(q) - QUANTITY_KEYS)
    if extra:
        close = difflib.get_close_matches(extra[0], QUANTITY_KEYS, n=1)
        err(f".{extra[0]}' is not a quantity key (" + (f"did you mean {close[0]!r}? " if close else "")
            + f"allowed: {', '.join(sorted(QUANTITY_KEYS))})")
    v = q["value"]
    if not isinstance(q.get("unit"), str) or not q["unit"]:
        err(".unit' is missing" if "unit" not in q else f".unit' must be a unit string, got {q['unit']!r}")
    if "bound" in q and q["bound"] not in BOUNDS:
        err(f".bound' must be one of {BOUNDS}, got {q['bound']!r}")
    if v == "null":
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        err(f".value' must be a finite number or \"null\", got {v!r}")
    if v <= 0:
        err(f".value' must be > 0 (write \"null\" when not published), got {v!r}")
    if v > MAX_PRICE:
        err(f".value' = {v:g} is more than {MAX_PRICE:g} (no hardware quantity is this large; estimates from it "
            "overflow)")
    if KIND.get(re.sub(r"\[\d+\]", "[]", where)) == "integer" and not float(v).is_integer():
        err(f".value' must be a whole number, got {v!r}")
    if "evidence" not in q:
        err(".evidence' is missing")
    if q["evidence"] not in GRADES:
        err(f".evidence' must be one of {GRADES}, got {q['evidence']!r}")
    if "source" not in q:
        err(".source' is missing")
    if not isinstance(q["source"], str):
        err(f".source' must be a key of [sources], got {q['source']!r}")
    if q["source"] not in sources:
        err(f".source' names {q['source']!r}, which is not in [sources]")
