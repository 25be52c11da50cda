"""GPU time and energy of a clock-driven SNN simulation, fitted to published measurements.

The model has the structure of a GPU simulator's time step (docs/targets.md §3.3):

    t_step_fixed = h_family · (s_simulator + K · t_launch) + C · t_copy_family   host side, per step
    t_work       = f_sim · (b_event · (E + W) + b_update · U) / bandwidth          kernels, whole run
    t            = steps · t_step_fixed + t_work
    E_joules     = P_idle · t + P_busy · t_work + P_host · steps · t_step_fixed

K kernels and C blocking device-to-host copies per step come from the simulator (the counts);
E synaptic events, U neuron updates, W plasticity updates are the exact counts.  b_event and
b_update are *achieved* bytes per event / update (time × bandwidth), so kernel time moves between
devices with their published bandwidth; h_family is how much slower a Jetson's host side is than a
desktop's; copies have their own price per family (PCIe on a desktop, shared memory on a Jetson);
f_sim is 1 except for GeNN 3.2, whose kernels were slower than GeNN 4's per byte.  Powers are fractions of the device's TDP, fitted on measured devices.

``fit()`` fits the time parameters by least squares on log(predicted / measured) over the
calibration set (hwmodel/data/gpu_calibration.json); ``loo_residuals()`` refits without each run
(or each device) to give the errors that become every estimate's interval.  Pure functions and
data: nothing here reads a target file.
"""
from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, replace

import numpy as np

CAL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "gpu_calibration.json")
FAMILIES = ("desktop", "jetson")
SIMULATORS = ("genn", "brian2cuda")
TIME_PARAMS = ("h_jetson", "s_genn", "s_brian2cuda", "t_launch", "t_copy_desktop", "t_copy_jetson",
               "b_event", "b_update", "f_genn3")
_UNITS = {"h_jetson": "1", "s_genn": "s", "s_brian2cuda": "s", "t_launch": "s", "t_copy_desktop": "s",
          "t_copy_jetson": "s", "b_event": "B", "b_update": "B", "f_genn3": "1"}
_X0 = {"h_jetson": 2.0, "s_genn": 8e-6, "s_brian2cuda": 20e-6, "t_launch": 2e-6, "t_copy_desktop": 5e-6,
       "t_copy_jetson": 5e-6, "b_event": 200.0, "b_update": 200.0, "f_genn3": 1.0}


def simulator_kind(label: str | None) -> str:
    """genn for GeNN (and Brian2GeNN) runs; brian2cuda for everything else (brian-snn's GPU path)."""
    return "genn" if label and "genn" in label.lower() else "brian2cuda"


@dataclass(frozen=True)
class Workload:
    """What the time model needs from a run (counts already summed over batched copies)."""
    steps: float
    kernels: float            # K, per step
    copies: float             # C, blocking device-to-host copies per step
    events: float             # E
    updates: float            # U
    plasticity: float         # W
    simulator: str = "brian2cuda"
    generation: str = ""      # "genn3" for GeNN 3.x (its own kernel-work factor)


def device_prices(p: dict, family: str, simulator: str, generation: str = "") -> dict:
    """The fitted parameters as one device's prices (the names a target file may override):
    sync, launch, host_copy in s; bytes_per_event, bytes_per_update in B."""
    h = p["h_jetson"] if family == "jetson" else 1.0
    f = p["f_genn3"] if generation == "genn3" else 1.0
    return {"sync": h * p[f"s_{simulator}"], "launch": h * p["t_launch"], "host_copy": p[f"t_copy_{family}"],
            "bytes_per_event": f * p["b_event"], "bytes_per_update": f * p["b_update"]}


def host_s(q: dict, w: Workload) -> float:
    """Host-side time of the run: per step, synchronisation, K launches and C copies."""
    return w.steps * (q["sync"] + w.kernels * q["launch"] + w.copies * q["host_copy"])


def kernel_s(q: dict, bandwidth: float, w: Workload) -> float:
    """Kernel time of the whole run from achieved bytes per event / update."""
    return (q["bytes_per_event"] * (w.events + w.plasticity) + q["bytes_per_update"] * w.updates) / bandwidth


def energy_j(idle_w: float, busy_w: float, host_w: float, total_s: float, over_s: float,
             work_s_: float) -> tuple[float, float, float]:
    """(total, static, dynamic): idle power over the whole run, busy power while kernels run,
    host power while the simulator is overhead-bound."""
    static = idle_w * total_s
    dynamic = busy_w * work_s_ + host_w * over_s
    return static + dynamic, static, dynamic


# -- calibration data ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def calibration_set() -> dict:
    with open(CAL_PATH, encoding="utf-8") as f:
        return json.load(f)


def workload_of(run: dict) -> Workload:
    n, steps = run["neurons"], run["steps"]
    return Workload(steps, run["kernels_per_step"], run["host_copies_per_step"],
                    run.get("synaptic_events") or 0.0, float(n) * steps,
                    run.get("plasticity_updates") or 0.0, simulator_kind(run["simulator"]),
                    "genn3" if run["simulator"].startswith("genn-3") else "")


def _observations(runs, devices):
    """(run, quantity, measured) for every timed quantity the model predicts."""
    obs = []
    for r in runs:
        if r.get("energy_only"):
            continue
        if "launch_api_s" in r:
            obs.append((r, "launch_api_s", r["launch_api_s"]))
            continue
        kernels = [q for q in ("neuron_kernel_s", "synapse_kernel_s") if q in r]
        obs += [(r, q, r[q]) for q in kernels]
        if r.get("exclude_total"):
            continue
        if len(kernels) == 2:      # the time is split: fit the host side on its own share
            obs.append((r, "overhead_s", r["time_s"] - r["neuron_kernel_s"] - r["synapse_kernel_s"]))
        elif "time_s" in r:
            obs.append((r, "time_s", r["time_s"]))
    return obs


def predict(p: dict, run: dict, quantity: str, devices: dict) -> float:
    dev = devices[run["device"]]
    if quantity == "launch_api_s":
        return p["t_launch"] * (p["h_jetson"] if dev["family"] == "jetson" else 1.0)
    w = workload_of(run)
    q, bw = device_prices(p, dev["family"], w.simulator, w.generation), dev["mem_bandwidth_Bps"]
    if quantity == "overhead_s":
        return host_s(q, w)
    if quantity == "neuron_kernel_s":
        return kernel_s(q, bw, replace(w, events=0.0, plasticity=0.0))
    if quantity == "synapse_kernel_s":
        return kernel_s(q, bw, replace(w, updates=0.0))
    return host_s(q, w) + kernel_s(q, bw, w)


def fit(runs: list[dict] | None = None) -> dict:
    """Least-squares fit of the time parameters on log(predicted / measured)."""
    from scipy.optimize import least_squares

    cal = calibration_set()
    runs = cal["runs"] if runs is None else runs
    devices = cal["devices"]
    obs = _observations(runs, devices)
    free = [k for k in TIME_PARAMS if _identifiable(k, runs, devices)]
    fixed = {k: _X0[k] for k in TIME_PARAMS if k not in free}

    def params(x):
        return dict(fixed, **{k: math.exp(v) for k, v in zip(free, x)})

    def resid(x):
        p = params(x)
        return [math.log(predict(p, r, q, devices) / m) for r, q, m in obs]

    x0 = [math.log(_X0[k]) for k in free]
    lo = [math.log(1e-9 if _UNITS[k] == "s" else 1e-3) for k in free]
    hi = [math.log(1e-2 if _UNITS[k] == "s" else 1e6) for k in free]
    sol = least_squares(resid, x0, bounds=(lo, hi))
    return params(sol.x)


def _identifiable(name: str, runs, devices) -> bool:
    """A parameter is fitted only when some run constrains it (else it keeps its start value,
    which never happens for the full set; it guards leave-one-out refits)."""
    timed = [r for r in runs if not r.get("energy_only")]
    fams = {devices[r["device"]]["family"] for r in timed}
    sims = {simulator_kind(r["simulator"]) for r in timed if "time_s" in r}
    if name == "h_jetson":
        return "jetson" in fams and "desktop" in fams
    if name.startswith("t_copy_"):
        return any(r.get("host_copies_per_step") and devices[r["device"]]["family"] == name[7:] for r in timed)
    if name.startswith("s_"):
        return name[2:] in sims
    if name == "f_genn3":
        return any(r["simulator"].startswith("genn-3") for r in timed)
    return True


@functools.lru_cache(maxsize=1)
def fitted() -> dict:
    return fit()


@functools.lru_cache(maxsize=2)
def loo_residuals(by: str = "run") -> dict:
    """log(measured / predicted) of each run's total time when the model is refitted without it
    (by="run") or without every run of its device (by="device")."""
    cal = calibration_set()
    runs, devices = cal["runs"], cal["devices"]
    out = {}
    for r in runs:
        if "time_s" not in r or r.get("exclude_total"):
            continue
        keep = [x for x in runs if (x["id"] != r["id"] if by == "run" else x["device"] != r["device"])]
        p = fit(keep)
        out[r["id"]] = math.log(r["time_s"] / predict(p, r, "time_s", devices))
    return out


def interval_factors(calibrated_device: bool) -> tuple[float, float]:
    """Multipliers [low, high] for a predicted time: the extremes of the leave-one-out errors
    (leave-one-device-out for a device that has no runs of its own)."""
    res = list(loo_residuals("run" if calibrated_device else "device").values())
    return math.exp(min(0.0, min(res))), math.exp(max(0.0, max(res)))


# -- power --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def power_fractions(family: str) -> dict:
    """Power parameters of a device family as fractions of the device TDP, one value per measured
    row: idle (every row with an idle reading), host (rows that are overhead-bound: their power
    above idle), busy (rows with measured kernel times: power above idle per busy second, after
    the host share of the rest of the run)."""
    cal = calibration_set()
    rows = [(r, cal["devices"][r["device"]]) for r in cal["runs"] if "mean_power_w" in r]
    rows = [(r, d) for r, d in rows if d["family"] == family]
    idle = {r["id"]: r["idle_power_w"] / d["tdp_w"] for r, d in rows}
    host = {r["id"]: (r["mean_power_w"] - r["idle_power_w"]) / d["tdp_w"] for r, d in rows if r.get("energy_only")}
    h = float(np.mean(list(host.values()))) if host else 0.0
    busy = {}
    for r, d in rows:
        if r.get("energy_only") or r.get("exclude_total"):
            continue
        u = (r["neuron_kernel_s"] + r["synapse_kernel_s"]) / r["time_s"]      # measured busy share
        busy[r["id"]] = ((r["mean_power_w"] - r["idle_power_w"]) / d["tdp_w"] - h * (1 - u)) / u
    return {"idle": idle, "busy": busy, "host": host}


def power_params(family: str, tdp_w: float) -> dict:
    """{idle, busy, host: (point, low, high, [row ids])} in watts for a device of this family and
    TDP: the geometric mean of the measured fractions and their range.  A family without an
    overhead-bound row gets host power in [0, busy] (point: half the busy power)."""
    fr = power_fractions(family)
    out = {}
    for k in ("idle", "busy"):
        v = list(fr[k].values())
        out[k] = (_geo(v) * tdp_w, min(v) * tdp_w, max(v) * tdp_w, sorted(fr[k]))
    if fr["host"]:
        v = list(fr["host"].values())
        out["host"] = (_geo(v) * tdp_w, min(v) * tdp_w, max(max(v) * tdp_w, out["busy"][2]), sorted(fr["host"]))
    else:
        out["host"] = (out["busy"][0] / 2, 0.0, out["busy"][2], [])
    return out


def _geo(vals):
    return float(math.exp(np.mean(np.log(vals))))


# -- validation ---------------------------------------------------------------------------------
def validation_rows() -> list[dict]:
    """Predicted vs measured total time for every timed run of the calibration set: with the full
    fit, refitted without the run (leave-one-run-out) and without its device (leave-one-device-out).
    Errors are (predicted - measured) / measured."""
    cal = calibration_set()
    p = fitted()
    loo, lodo = loo_residuals("run"), loo_residuals("device")
    rows = []
    for r in cal["runs"]:
        if r["id"] not in loo:
            continue
        m = r["time_s"]
        rows.append({"id": r["id"], "device": r["device"], "simulator": r["simulator"], "steps": r["steps"],
                     "kernels_per_step": r["kernels_per_step"], "measured_s": m,
                     "predicted_s": predict(p, r, "time_s", cal["devices"]),
                     "loo_predicted_s": m / math.exp(loo[r["id"]]),
                     "loo_error": math.exp(-loo[r["id"]]) - 1, "lodo_error": math.exp(-lodo[r["id"]]) - 1,
                     "source": r["source"], "where": r["where"]})
    return rows


def power_rows() -> list[dict]:
    """Measured mean power vs the model's (full fit) for every run with a power reading."""
    cal = calibration_set()
    out = []
    for fam in FAMILIES:
        fr = power_fractions(fam)
        for r in cal["runs"]:
            d = cal["devices"][r["device"]]
            if "mean_power_w" not in r or d["family"] != fam or r.get("energy_only"):
                continue
            pw = power_params(fam, d["tdp_w"])
            t, over, work = r["time_s"], r["time_s"] - r["neuron_kernel_s"] - r["synapse_kernel_s"], \
                r["neuron_kernel_s"] + r["synapse_kernel_s"]
            e = energy_j(pw["idle"][0], pw["busy"][0], pw["host"][0], t, over, work)[0]
            out.append({"id": r["id"], "device": r["device"], "measured_w": r["mean_power_w"],
                        "predicted_w": e / t, "error": e / t / r["mean_power_w"] - 1,
                        "fitted_on": sorted(set(fr["idle"]) | set(fr["busy"]) | set(fr["host"]))})
    return out
