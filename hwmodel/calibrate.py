"""``hwmodel calibrate``: fit a GPU target to your own measured runs (NVML, tegrastats, a meter).

The built-in GPU model (hwmodel.gpu, docs/targets.md §3.3) splits a step into a host side (launch
floor F and blocking copies C) and a GPU stream (kernel latencies L and work W) that overlap.  Your
runs rescale the two sides:

    t = a·C + smax_p(a·F, b·(L + W))        E − P_idle·t = ΔP_light·(t − b·S) + ΔP_heavy·b·S

F, C, L, W (of which S streams bytes; the rest of W is row-walk latency) and p are the built-in
model's for each run's counts; a, b > 0 are a least-squares fit on log(model / measured); the two
dynamic powers >= 0 a non-negative least-squares fit (closed form).  A measured idle power is recorded as ``power.idle``; launch-bound and bandwidth-bound
power as ``power.light`` / ``power.heavy`` (idle + their dynamic part), in the measurements'
``power_scope``.  The calibrated target (a TOML that ``extends`` the base) holds the rescaled
prices with evidence ``calibrated`` and overrides the built-in fit.

Input, ``hwmodel-measurements/1`` JSON::

    {"schema": "hwmodel-measurements/1", "target": "jetson-nano", "power_mode": null,
     "idle_w": 1.9, "power_scope": "module input (VDD_IN, tegrastats)",
     "source": "tegrastats 100 ms, brian2cuda 1.0a7, ...",
     "runs": [{"label": "dc-N100", "counts": {hwmodel-counts/1} | "counts_file": "c.json",
               "time_s": 1.9, "energy_j": 4.2, "holdout": false}, ...]}

Runs marked ``holdout`` (or, when none is, every ``holdout_every``-th run) are not used for the fit;
the report gives the estimate-vs-measured error on them.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field

from .counts import Counts, CountsError, load_counts
from .errors import HwmodelError
from .estimate import EstimateError, estimate
from .targets import Target, TargetError, load_target

SCHEMA = "hwmodel-measurements/1"


class CalibrationError(HwmodelError):
    """Bad measurements or a target that cannot be calibrated (one line)."""


@dataclass
class Run:
    label: str
    counts: Counts
    time_s: float
    energy_j: float | None
    holdout: bool = False


@dataclass
class Fit:
    target: str
    base: str
    power_mode: str | None
    host_scale: float             # a: fitted host-side time (launch floor, copies) / the built-in model's
    work_scale: float             # b: fitted GPU-stream time (kernel latency, work) / the built-in model's
    light_w: float | None         # power of a launch-bound run (idle + its dynamic part)
    heavy_w: float | None         # power of a bandwidth-bound run
    idle_w: float | None
    fit_runs: list
    holdout_runs: list
    rows: list = field(default_factory=list)      # per run: label, set, time/energy measured vs estimated
    error: dict = field(default_factory=dict)     # {"fit"|"holdout": {"time": mean |rel err|, "energy": ...}}
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# -- reading -----------------------------------------------------------------------------------
def _num(d, key, where, required=True, positive=True):
    v = d.get(key)
    if v is None:
        if required:
            raise CalibrationError(f"{where}: field '{key}' is missing")
        return None
    try:
        ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(float(v))
    except OverflowError:
        ok = False
    if not ok:
        raise CalibrationError(f"{where}: field '{key}' must be a finite number, got {_short(v)}")
    if positive and v <= 0:
        raise CalibrationError(f"{where}: field '{key}' must be > 0, got {v!r}")
    if key in LIMITS and v > LIMITS[key][0]:
        raise CalibrationError(f"{where}: field '{key}' = {v:.4g} is more than {LIMITS[key][0]:g} {LIMITS[key][1]}")
    return float(v)


# Largest measurement accepted: beyond these the fit's sums overflow (and no bench measures them).
LIMITS = {"time_s": (1e9, "s (31 years)"), "energy_j": (1e12, "J"), "idle_w": (1e6, "W")}


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _str(d, key, where, required=False):
    v = d.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v:
        raise CalibrationError(f"{where}: field '{key}' must be a non-empty string, got {_short(v)}")
    return v


def _bool(d, key, where):
    v = d.get(key, False)
    if not isinstance(v, bool):
        raise CalibrationError(f"{where}: field '{key}' must be true or false, got {_short(v)}")
    return v


def load_measurements(path) -> dict:
    """Read and check a measurements file; counts are loaded (inline or from ``counts_file``)."""
    from .files import FileError, parse_json, read_text
    path = os.fspath(path)
    try:
        data = parse_json(read_text(path), path)
    except FileError as e:
        raise CalibrationError(str(e)) from None
    except json.JSONDecodeError as e:
        raise CalibrationError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    return parse_measurements(data, path)


def parse_measurements(data: dict, shown: str = "<measurements>") -> dict:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise CalibrationError(f"{shown}: field 'schema' must be {SCHEMA!r}, got {got!r}")
    runs_in = data.get("runs")
    if not isinstance(runs_in, list) or not runs_in:
        raise CalibrationError(f"{shown}: field 'runs' must be a non-empty list")
    base_dir = os.path.dirname(os.path.abspath(shown)) if os.path.exists(shown) else os.getcwd()
    for key in ("target", "power_mode", "power_scope", "source"):
        _str(data, key, shown)
    runs = []
    for k, r in enumerate(runs_in):
        where = f"{shown}: runs[{k}]"
        if not isinstance(r, dict):
            raise CalibrationError(f"{where} must be an object")
        if "counts" in r:
            try:
                c = Counts.from_dict(r["counts"], f"{where}.counts")
            except CountsError as e:
                raise CalibrationError(str(e)) from None
        elif "counts_file" in r:
            p = _str(r, "counts_file", where, required=True)
            p = p if os.path.isabs(p) else os.path.join(base_dir, p)
            try:
                c = load_counts(p)
            except CountsError as e:
                raise CalibrationError(f"{where}.counts_file: {e}") from None
        else:
            raise CalibrationError(f"{where}: field 'counts' (or 'counts_file') is missing")
        runs.append(Run(_str(r, "label", where) or f"run{k}", c, _num(r, "time_s", where),
                        _num(r, "energy_j", where, required=False), _bool(r, "holdout", where)))
    out = dict(data)
    out["runs"] = runs
    out["_raw_runs"] = [dict(r, counts_file=os.path.join(base_dir, r["counts_file"])) if "counts_file" in r
                        else {} for r in runs_in]
    if "idle_w" in data:
        out["idle_w"] = _num(data, "idle_w", shown, required=False)
    return out


# -- fitting -----------------------------------------------------------------------------------
def _nnls2(x1, x2, y):
    """min Σ (y - a x1 - b x2)^2 subject to a, b >= 0 (closed form over the active sets)."""
    def sse(a, b):
        return sum((yi - a * u - b * v) ** 2 for u, v, yi in zip(x1, x2, y))
    s11, s22 = sum(u * u for u in x1), sum(v * v for v in x2)
    s12 = sum(u * v for u, v in zip(x1, x2))
    s1y, s2y = sum(u * yi for u, yi in zip(x1, y)), sum(v * yi for v, yi in zip(x2, y))
    cands = [(0.0, 0.0)]
    det = s11 * s22 - s12 * s12
    if det > 1e-12 * max(s11 * s22, 1e-300):
        a, b = (s22 * s1y - s12 * s2y) / det, (s11 * s2y - s12 * s1y) / det
        if a >= 0 and b >= 0:
            cands.append((a, b))
    if s22 > 0:
        cands.append((0.0, max(0.0, s2y / s22)))
    if s11 > 0:
        cands.append((max(0.0, s1y / s11), 0.0))
    return min(cands, key=lambda ab: sse(*ab))


_SCALE_MIN = 1e-6


def _scaled_time(sp: dict, a: float, b: float, overlap: float) -> float:
    """The model's time with the host side scaled by a and the GPU stream by b."""
    from .gpu import smax
    return a * sp["host_copies"] + smax(a * sp["launch_floor"], b * (sp["kernel_latency"] + sp["kernel_work"]), overlap)


def _fit_scales(splits: list, times: list, overlap: float) -> tuple[float, float]:
    """(a, b) >= 0 minimising sum log^2(model / measured) (scipy least squares, from the
    additive fit's start)."""
    from scipy.optimize import least_squares
    a0, b0 = _nnls2([s["launch_floor"] + s["host_copies"] for s in splits],
                    [s["kernel_latency"] + s["kernel_work"] for s in splits], times)
    x0 = [math.log(max(a0, 1e-3)), math.log(max(b0, 1e-3))]
    res = lambda x: [math.log(_scaled_time(s, math.exp(x[0]), math.exp(x[1]), overlap) / tm)   # noqa: E731
                     for s, tm in zip(splits, times)]
    sol = least_squares(res, x0, bounds=([math.log(_SCALE_MIN)] * 2, [math.log(1e6)] * 2))
    return math.exp(sol.x[0]), math.exp(sol.x[1])


def _base_price(t: Target, est, name: str) -> float:
    """A GPU price of the base target as the estimate used it (listed or not)."""
    from . import gpu
    if f"gpu.{name}" in est.prices:
        return est.prices[f"gpu.{name}"]["value"]
    return gpu.device_prices(gpu.fitted(), t.node("gpu.family"), "brian2cuda")[name]


def calibrate(measurements: dict, base: str | None = None, power_mode: str | None = None,
              holdout_every: int = 3, target_id: str | None = None) -> tuple[Fit, str]:
    """Fit the GPU parameters; returns (Fit, calibrated target TOML text)."""
    base = base or measurements.get("target")
    if not base:
        raise CalibrationError("no base target: give --base ID or a 'target' field in the measurements")
    t = load_target(base)
    if t.model != "gpu_time_power":
        raise CalibrationError(f"target {t.id!r} uses the {t.model} model; calibrate fits GPU targets "
                               "(class gpu, execution clock_driven_sparse)")
    from .targets import _ID
    if target_id is not None and not _ID.match(target_id):     # also the default file name: no path in it
        raise CalibrationError(f"--id must be lower-case letters, digits, '.', '_' or '-' (it names the "
                               f"target and its file), got {target_id!r}")
    power_mode = power_mode or measurements.get("power_mode")
    mode = t.mode(power_mode)
    runs = measurements["runs"]
    if holdout_every < 0:
        raise CalibrationError(f"--holdout-every must be >= 0, got {holdout_every}")
    if not any(r.holdout for r in runs) and holdout_every:
        for k, r in enumerate(runs):
            r.holdout = (k % holdout_every == holdout_every - 1)
    fit_runs = [r for r in runs if not r.holdout]
    hold = [r for r in runs if r.holdout]
    if len(fit_runs) < 2:
        raise CalibrationError(f"need at least 2 runs to fit (have {len(fit_runs)} not held out); "
                               "add runs or use --holdout-every 0")
    parts, base_est = {}, None
    for r in runs:
        try:
            base_est = estimate(r.counts, t, power_mode=mode[1]["name"] if mode else None)
        except (EstimateError, TargetError) as err:
            raise CalibrationError(f"run {r.label!r}: {err}") from None
        parts[id(r)] = base_est.time_split_s
    overlap = base_est.prices["gpu.overlap"]["value"]
    host = [parts[id(r)]["launch_floor"] + parts[id(r)]["host_copies"] for r in fit_runs]
    stream = [parts[id(r)]["kernel_latency"] + parts[id(r)]["kernel_work"] for r in fit_runs]
    if len({(round(h / max(w, 1e-300), 9)) for h, w in zip(host, stream)}) < 2:
        raise CalibrationError("the fit runs all have the same share of host-side and kernel time: vary the "
                               "network size or its activity so that the two can be separated")
    a, b = _fit_scales([parts[id(r)] for r in fit_runs], [r.time_s for r in fit_runs], overlap)
    notes = []
    for name, v in (("host-side", a), ("kernel", b)):
        if v <= _SCALE_MIN * 1.001:
            notes.append(f"{name} scale fitted at its bound: the runs do not show that part")
    idle = measurements.get("idle_w")
    er = [r for r in fit_runs if r.energy_j is not None]
    light = heavy = None
    if er:
        if idle is None:
            idle = base_est.prices["power.idle"]["value"]
            notes.append(f"no idle_w measured: the built-in idle power {idle:.3g} W is kept")
        times = [_scaled_time(parts[id(r)], a, b, overlap) for r in er]
        work = [b * parts[id(r)]["kernel_streaming"] for r in er]     # the bandwidth-bound share (gpu.work_share)
        d_light, d_heavy = _nnls2([tm - w for tm, w in zip(times, work)], work,
                                  [r.energy_j - idle * tm for r, tm in zip(er, times)])
        if d_light == 0 and d_heavy == 0:
            notes.append("measured energies are at or below idle x time: dynamic power fitted as 0")
        for name, v in (("launch-bound", d_light), ("bandwidth-bound", d_heavy)):
            if v <= 0:
                notes.append(f"{name} power above idle fitted as 0 (at its bound)")
        light, heavy = idle + d_light, idle + d_heavy
    else:
        notes.append("no energy measurements: the built-in power parameters are kept")
    tid = target_id or f"{t.id}-calibrated"
    prices = {"launch": ("s", a), "sync": ("s", a), "host_copy": ("s", a), "kernel_latency": ("s", b), "row_walk": ("s", b),
              "stream_factor": ("1", b), "bytes_per_target_update": ("B", b), "update_bytes_factor": ("1", b)}
    gpu_over = {k: _base_price(t, base_est, k) * f for k, (u, f) in prices.items()}
    power = {"idle": idle, "light": light, "heavy": heavy} if er else {}
    if not er and idle is not None:
        notes.append("an idle power without energy measurements is not written: the built-in powers are kept")
    text = calibrated_toml(t, tid, {k: (prices[k][0], v) for k, v in gpu_over.items()}, power,
                           measurements.get("power_scope"),
                           measurements.get("source") or "own measurements (hwmodel calibrate)", len(fit_runs))
    cal = _load_text(text, tid)
    rows = []
    for r in runs:
        e = estimate(r.counts, cal, power_mode=mode[1]["name"] if mode else None)
        rows.append({"label": r.label, "set": "holdout" if r.holdout else "fit", "steps": r.counts.steps,
                     "time_s": r.time_s, "time_est_s": e.latency_s,
                     "time_rel_err": (e.latency_s - r.time_s) / r.time_s,
                     "energy_j": r.energy_j, "energy_est_j": e.energy_j["total"] if er else None,
                     "energy_rel_err": ((e.energy_j["total"] - r.energy_j) / r.energy_j
                                        if er and r.energy_j else None)})
    error = {}
    for name in ("fit", "holdout"):
        sel = [x for x in rows if x["set"] == name]
        if sel:
            te = [abs(x["time_rel_err"]) for x in sel]
            ee = [abs(x["energy_rel_err"]) for x in sel if x["energy_rel_err"] is not None]
            error[name] = {"runs": len(sel), "time_mean_abs_rel": sum(te) / len(te), "time_max_abs_rel": max(te),
                           "energy_mean_abs_rel": sum(ee) / len(ee) if ee else None,
                           "energy_max_abs_rel": max(ee) if ee else None}
    if not hold:
        notes.append("no held-out runs: the errors below are on the fitted runs only")
    fit = Fit(tid, t.id, mode[1]["name"] if mode else None, a, b, light, heavy, idle,
              [r.label for r in fit_runs], [r.label for r in hold], rows, error, notes)
    return fit, text


# -- writing ------------------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def calibrated_toml(t: Target, tid: str, gpu_prices: dict, power: dict, scope: str | None,
                    source: str, n_runs: int) -> str:
    q = lambda v, u: {"value": float(f"{v:.6g}"), "unit": u, "evidence": "calibrated", "source": "calibration"}  # noqa: E731
    lines = [f"# Calibrated from {n_runs} measured runs by `hwmodel calibrate` (base: {t.id}).",
             f'extends = "{t.id}"', f'id = "{tid}"', f'name = {json.dumps(t.name + " (calibrated)")}',
             "", "[sources]", f"calibration = {json.dumps(source)}", "", "[gpu]"]
    lines += [f"{k} = {_toml_value(q(v, u))}" for k, (u, v) in gpu_prices.items()]
    if power or scope:
        lines += ["", "[power]"] + ([f"scope = {json.dumps(scope)}"] if scope else [])
        lines += [f"{k} = {_toml_value(dict(q(v, 'W'), evidence='measured') if k == 'idle' else q(v, 'W'))}"
                  for k, v in power.items() if v is not None]
    return "\n".join(lines) + "\n"


def _load_text(text: str, tid: str) -> Target:
    """The calibrated target, checked as ``hwmodel estimate --target-file`` will read it."""
    from .files import parse_toml
    from .targets import from_data
    return from_data(parse_toml(text, f"calibrated target {tid!r}"), f"calibrated target {tid!r}")


def report_lines(fit: Fit) -> list[str]:
    g = lambda x, f=".4g": "n/a" if x is None else format(x, f)      # noqa: E731
    out = [f"calibrated {fit.base} -> {fit.target} from {len(fit.fit_runs)} runs "
           f"({len(fit.holdout_runs)} held out)",
           f"  host-side time     x{g(fit.host_scale)} of the built-in model",
           f"  kernel work        x{g(fit.work_scale)} of the built-in model",
           f"  power              idle {g(fit.idle_w)} W, launch-bound {g(fit.light_w)} W, bandwidth-bound {g(fit.heavy_w)} W",
           f"  {'run':<22s} {'set':<8s} {'time_s':>10s} {'est_s':>10s} {'err':>7s} {'E_J':>10s} {'est_J':>10s} {'err':>7s}"]
    for r in fit.rows:
        pct = lambda x: "n/a" if x is None else f"{100 * x:+.1f}%"    # noqa: E731
        out.append(f"  {r['label'][:22]:<22s} {r['set']:<8s} {r['time_s']:>10.4g} {r['time_est_s']:>10.4g} "
                   f"{pct(r['time_rel_err']):>7s} {g(r['energy_j']):>10s} {g(r['energy_est_j']):>10s} "
                   f"{pct(r['energy_rel_err']):>7s}")
    for name, e in fit.error.items():
        out.append(f"  {name} error: time {100 * e['time_mean_abs_rel']:.1f} % mean / "
                   f"{100 * e['time_max_abs_rel']:.1f} % max"
                   + (f", energy {100 * e['energy_mean_abs_rel']:.1f} % mean / {100 * e['energy_max_abs_rel']:.1f} % max"
                      if e["energy_mean_abs_rel"] is not None else "") + f" ({e['runs']} runs)")
    out += [f"  note: {n}" for n in fit.notes]
    return out


def add_parser(sub):
    """Register ``hwmodel calibrate`` on the CLI's sub-parsers."""
    c = sub.add_parser("calibrate", help="fit a GPU target's per-step overhead / efficiency / power to measured runs")
    c.add_argument("measurements", metavar="MEASUREMENTS", help=f"{SCHEMA} JSON (runs: counts, time_s, energy_j)")
    c.add_argument("--base", metavar="ID", help="built-in GPU target to calibrate (default: the file's 'target')")
    c.add_argument("--power-mode", metavar="M", help="power mode the runs were measured in (default: the target's first)")
    c.add_argument("--holdout-every", type=int, default=3, metavar="N",
                   help="when no run is marked holdout, hold out every N-th run for the error report (0: none)")
    c.add_argument("--id", dest="target_id", metavar="ID", help="id of the calibrated target (default <base>-calibrated)")
    c.add_argument("--out", metavar="FILE", help="write the calibrated target TOML here (default <id>.toml)")
    c.add_argument("--force", action="store_true", help="overwrite --out when it exists")
    c.add_argument("--json", action="store_true", help="print the fit as one JSON object")
    return c


def run_cli(a) -> int:
    from .files import check_output, write_text
    m = load_measurements(a.measurements)
    inputs = [a.measurements] + [r.get("counts_file") for r in m.get("_raw_runs", [])]
    if a.out is not None:                           # refused before the fit
        check_output(a.out, a.force, inputs=inputs)
    fit, text = calibrate(m, base=a.base, power_mode=a.power_mode, holdout_every=a.holdout_every,
                          target_id=a.target_id)
    out = a.out or f"{fit.target}.toml"
    write_text(out, text, a.force, inputs=inputs)
    if a.json:
        print(json.dumps(dict(fit.to_dict(), file=out)))
    else:
        print("\n".join(report_lines(fit)))
        print(f"wrote {out} (use: hwmodel estimate COUNTS --target-file {out})")
    return 0
