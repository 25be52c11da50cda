"""GPU time and energy of a clock-driven SNN simulation, fitted to published size sweeps.

A GPU simulator (Brian2CUDA, GeNN) advances one time step in two overlapping streams: the host
issues K kernel launches after its own per-step work, while the GPU runs them.  A step whose
kernels are short costs the launch floor; one whose kernels are long costs their work.  C blocking
device-to-host copies per step wait for both (docs/targets.md §3.3):

    floor  = h_family · (s_simulator + K · t_launch)                         host, per step
    work   = Σ_pathways (R / B) · t_row_sim
             + [Σ_pathways E · (b_syn · m(F, r_l2) + f_sim · b_target · m(T, r_rmw))
                + f_sim · f_update · b_neuron · U] / (bandwidth · steps)
    m(X, r) = hit / r + (1 − hit),   hit = min(1, L2 / X)                    cache vs DRAM
    t      = steps · ( C · t_copy_family + smax_p(floor, work) ),   smax_p(a, b) = (a^p + b^p)^(1/p)

A synaptic event streams its synapse's stored bytes b_syn (weight, index, plastic variables: the
row is read contiguously) and read-modify-writes one postsynaptic target (an atomic add into the
target population's input or, with dendritic delays, into a delay ring buffer).  F is a pathway's
synapse footprint, T the bytes of the target array its events land in (all slots of a ring
buffer): each pays 1/r of its DRAM price for the share that fits the device's L2.  Streaming from
L2 is bounded by r_l2 ≤ 4 (microbenchmarks measure L2 at about 2.9x the DRAM throughput on Pascal
and Volta: Jia et al. 2018, arXiv 1804.06826); a target update that hits L2 saves a DRAM round
trip of a whole sector, so r_rmw is fitted (≤ 100).  b_target is the fitted DRAM price of one
target update (in bytes of DRAM time).  R is the presynaptic spikes whose
synapse rows a pathway's kernel walks (events / fan-out): GeNN's kernels loop over the step's
spikes inside each thread block, so a spike costs t_row_genn of latency however short its row;
Brian2CUDA gives each spike its own blocks (t_row_brian2cuda, fitted, comes out ~0); on a Jetson
t_row scales like the kernel latency (tau_jetson / tau_desktop).  A Jetson's host is no faster
than a desktop's (h_jetson ≥ 1).  p is fitted: p → ∞ is a hard max, p = 1 the sum of both
streams.  A neuron update streams b_neuron bytes, counted from the model (each state variable
and postsynaptic input read and written, a random generator's state read and written where the
update draws numbers); f_update (fitted) is the achieved DRAM bytes per counted byte.  B copies
of a batch (GeNN) run in one grid: their bytes all stream, but each copy walks only its own
spikes' rows, side by side with the others, so a step's row-walk latency is one copy's.

Power is per device and per **scope** (wall: developer kit at the socket; module: the module's
input rail, tegrastats VDD_IN; soc: CPU/GPU/SoC rails, VDD_CPU_GPU_CV + VDD_SOC), from published
readings in hwmodel/data/jetson_power.json:

    P = P_idle + (1 − u) · (P_light − P_idle) + u · (P_heavy − P_idle),   u = streaming share of the run

P_light is the power of a launch-bound GPU workload, P_heavy of a bandwidth-bound one; u is the
share of the run's time spent streaming bytes (launch floors, kernel start-up and row walks wait
on latency and count as launch-bound).

``fit()`` fits the time parameters by least squares on log(predicted / measured) over the rows of
hwmodel/data/gpu_calibration.json marked ``"split": "fit"`` (each sweep weighted as one
measurement); rows marked ``heldout`` are never fitted and give the validation errors.  Pure
functions and data: nothing here reads a target file.
"""
from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, replace

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
CAL_PATH = os.path.join(DATA, "gpu_calibration.json")
POWER_PATH = os.path.join(DATA, "jetson_power.json")
FAMILIES = ("desktop", "jetson")
SIMULATORS = ("genn", "brian2cuda")
SCOPES = ("wall", "module", "soc")
REGIMES = ("launch-bound", "transition", "bandwidth-bound")
TIME_PARAMS = ("h_jetson", "s_genn", "s_brian2cuda", "t_launch", "t_copy_desktop",
               "t_copy_jetson", "tau_desktop", "tau_jetson", "t_row_genn", "t_row_brian2cuda", "b_target", "r_l2",
               "r_rmw", "f_update", "b_fp64", "f_genn3", "p")
_UNITS = {"h_jetson": "1", "s_genn": "s", "s_brian2cuda": "s", "t_launch": "s",
          "t_copy_desktop": "s", "t_copy_jetson": "s", "tau_desktop": "s", "tau_jetson": "s", "t_row_genn": "s",
          "t_row_brian2cuda": "s", "b_target": "B", "r_l2": "1", "r_rmw": "1", "f_update": "1", "b_fp64": "B",
          "f_genn3": "1", "p": "1"}
_X0 = {"h_jetson": 2.0, "s_genn": 4e-6, "s_brian2cuda": 8e-6, "t_launch": 3e-6,
       "t_copy_desktop": 10e-6, "t_copy_jetson": 4e-6, "tau_desktop": 3e-6, "tau_jetson": 6e-6, "t_row_genn": 2e-7,
       "t_row_brian2cuda": 2e-8, "b_target": 64.0, "r_l2": 3.0, "r_rmw": 4.0, "f_update": 1.5, "b_fp64": 500.0,
       "f_genn3": 1.0, "p": 4.0}
_BOUNDS = {"s": (1e-9, 1e-2), "B": (1e-2, 1e5), "1": (1e-2, 1e3)}
_BOUNDS_OF = {"r_l2": (1.0, 4.0), "r_rmw": (1.0, 100.0), "p": (1.0, 50.0), "h_jetson": (1.0, 20.0)}
SLOW_FP64 = 1 / 16                            # FP64/FP32 throughput at or below which float64 updates pay b_fp64
LAUNCH_BOUND, BANDWIDTH_BOUND = 0.5, 2.0      # work / floor of a step at the regimes' edges


def simulator_kind(label: str | None) -> str:
    """genn for GeNN (and Brian2GeNN) runs; brian2cuda for everything else (brian-snn's GPU path)."""
    return "genn" if label and "genn" in label.lower() else "brian2cuda"


@dataclass(frozen=True)
class Pathway:
    """One synaptic pathway as the kernels see it."""
    events: float             # synaptic events + plasticity updates (each touches one synapse)
    footprint: float          # bytes of its weights and indices
    rows: float = 0.0         # presynaptic spikes whose rows the kernel walks (events / fan-out)
    synapse_bytes: float = 8.0    # bytes an event streams: the synapse's stored variables and index
    target_bytes: float = 0.0     # bytes of the array its events' target updates land in
    target_writes: float | None = None   # read-modify-writes of that array; None: one per event


def target_writes(simulator: str, dense: bool, events: float, steps: float, targets: float) -> float | None:
    """Writes of a pathway's postsynaptic input array.  GeNN's postsynaptic-parallel kernel over a
    dense matrix (its default span, no dendritic delays) gives each thread one target, which sums
    the step's spikes' weights in a register and writes once (``PostSpan::shouldAccumulateInRegister``):
    at most one write per target and step.  Otherwise (brian2cuda, sparse GeNN) every event
    updates its target: None."""
    return min(events, steps * targets) if simulator == "genn" and dense else None


@dataclass(frozen=True)
class Workload:
    """What the time model needs from a run (counts already summed over batched copies)."""
    steps: float
    kernels: float            # K, per step
    copies: float             # C, blocking device-to-host copies per step
    updates: float            # U, neuron updates
    pathways: tuple = ()      # of Pathway
    simulator: str = "brian2cuda"
    generation: str = ""      # "genn3" for GeNN 3.x (its own kernel-work factor)
    float64: bool = False     # the simulation's floating-point type is float64 (Brian2's default)
    neuron_bytes: float = 8.0     # bytes a neuron update reads and writes (state, inputs, RNG state), counted
    batch: float = 1.0        # copies of the network that each kernel runs side by side (GeNN's batch)


def device_prices(p: dict, family: str, simulator: str, generation: str = "") -> dict:
    """The fitted parameters as one device's prices (the names a target file may override):
    sync, launch, host_copy, kernel_latency, row_walk in s; bytes_per_target_update in B;
    update_bytes_factor (achieved DRAM bytes per counted byte of a neuron update);
    fp64_update_bytes (B: a float64 update on a slow-FP64 device); l2_speedup, l2_rmw_speedup and
    overlap (the smooth max's exponent) dimensionless; stream_factor (achieved / stored bytes of a
    synapse row read) is 1 in the model itself and exists so that a calibration can scale every
    byte of kernel work."""
    h = p["h_jetson"] if family == "jetson" else 1.0
    f = p["f_genn3"] if generation == "genn3" else 1.0
    return {"sync": h * p[f"s_{simulator}"], "launch": h * p["t_launch"],
            "host_copy": p[f"t_copy_{family}"], "kernel_latency": p[f"tau_{family}"],
            "row_walk": p[f"t_row_{simulator}"] * p[f"tau_{family}"] / p["tau_desktop"],
            "stream_factor": 1.0, "bytes_per_target_update": f * p["b_target"],
            "update_bytes_factor": f * p["f_update"],
            "fp64_update_bytes": p["b_fp64"], "l2_speedup": p["r_l2"], "l2_rmw_speedup": p["r_rmw"],
            "overlap": p["p"]}


def l2_factor(footprint: float, l2_bytes: float, speedup: float) -> float:
    """m(X): the share of its DRAM time an access costs when part of the footprint X fits in L2."""
    hit = 1.0 if footprint <= 0 else min(1.0, (l2_bytes or 0.0) / footprint)
    return hit / speedup + (1.0 - hit)


def floor_step_s(q: dict, w: Workload) -> float:
    """Host issue time of one step: synchronisation and K launches."""
    return q["sync"] + w.kernels * q["launch"]


def work_parts(q: dict, bandwidth: float, l2_bytes: float, w: Workload, synapses=True, neurons=True,
               fp64_ratio: float = 1.0) -> tuple[float, float]:
    """Kernel work of the whole run as (row-walk latency, streaming time) in s, optionally of only
    its synaptic or its neuron kernels.  A batch's copies walk their rows side by side, so the
    latency of a step is one copy's (rows / batch); their bytes all stream.  Float64 neuron
    updates on a device with slow FP64 (``fp64_ratio`` <= SLOW_FP64) are compute-bound and cost
    fp64_update_bytes of DRAM time each, whatever their counted bytes."""
    b, t = 0.0, 0.0
    if synapses:
        for s in w.pathways:
            writes = s.events if s.target_writes is None else s.target_writes
            b += (s.events * q["stream_factor"] * s.synapse_bytes * l2_factor(s.footprint, l2_bytes, q["l2_speedup"])
                  + writes * q["bytes_per_target_update"] * l2_factor(s.target_bytes, l2_bytes, q["l2_rmw_speedup"]))
            t += s.rows * q["row_walk"] / w.batch
    if neurons:
        slow = w.float64 and fp64_ratio <= SLOW_FP64
        b += w.updates * (q["fp64_update_bytes"] if slow else q["update_bytes_factor"] * w.neuron_bytes)
    return t, b / bandwidth


def work_s(q: dict, bandwidth: float, l2_bytes: float, w: Workload, synapses=True, neurons=True,
           fp64_ratio: float = 1.0) -> float:
    """Kernel work of the whole run (:func:`work_parts` summed)."""
    return sum(work_parts(q, bandwidth, l2_bytes, w, synapses, neurons, fp64_ratio))


def smax(a: float, b: float, p: float) -> float:
    m = max(a, b)
    return 0.0 if m <= 0 else m * ((a / m) ** p + (b / m) ** p) ** (1.0 / p)


def time_parts(q: dict, bandwidth: float, l2_bytes: float, w: Workload, fp64_ratio: float = 1.0) -> dict:
    """{total, floor, latency, work, stream, copies} in s for the whole run, and the step's regime.
    The GPU stream of a step is its K kernels' start-up latencies plus their work (row walks and
    streamed bytes: ``stream`` is the latter); it overlaps the host's issue floor; the blocking
    copies follow both."""
    steps = max(w.steps, 1e-300)
    walk, stream_s = work_parts(q, bandwidth, l2_bytes, w, fp64_ratio=fp64_ratio)
    floor, work = floor_step_s(q, w), (walk + stream_s) / steps
    gpu_step = w.kernels * q["kernel_latency"] + work
    step = w.copies * q["host_copy"] + smax(floor, gpu_step, q["overlap"])
    return {"total": w.steps * step, "floor": w.steps * floor, "latency": w.steps * w.kernels * q["kernel_latency"],
            "work": w.steps * work, "stream": stream_s, "copies": w.steps * w.copies * q["host_copy"],
            "regime": regime(max(floor, w.kernels * q["kernel_latency"]), work)}


def regime(floor: float, work: float) -> str:
    r = work / floor if floor > 0 else math.inf
    return REGIMES[0] if r < LAUNCH_BOUND else REGIMES[2] if r > BANDWIDTH_BOUND else REGIMES[1]


def work_share(parts: dict) -> float:
    """u: the fraction of the run during which the GPU streams bytes from memory.  Launch floors,
    kernel start-up and row walks wait on latency with the memory system mostly idle: they draw
    the launch-bound power, not the bandwidth-bound one."""
    return min(1.0, parts["stream"] / parts["total"]) if parts["total"] > 0 else 0.0


# -- calibration data ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def calibration_set() -> dict:
    with open(CAL_PATH, encoding="utf-8") as f:
        return json.load(f)


def timed_runs(split: str | None = None) -> list[dict]:
    """Calibration rows with a total time (``split``: "fit", "heldout" or None for both)."""
    return [r for r in calibration_set()["runs"] if "time_s" in r and not r.get("exclude_total")
            and not r.get("excluded") and (split is None or r.get("split", "fit") == split)]


def bytes_per_synapse(run: dict) -> float:
    return run.get("bytes_per_synapse") or (8.0 if run.get("connectivity") != "dense" else 4.0)


def workload_of(run: dict) -> Workload:
    n, steps = run["neurons"], run["steps"]
    events = (run.get("synaptic_events") or 0.0) + (run.get("plasticity_updates") or 0.0)
    syn = run.get("synapses")
    fp = syn * bytes_per_synapse(run) if syn else math.inf
    updates = run.get("neuron_updates", float(n) * steps)       # a row may say fewer (groups without ODEs)
    fanout = run.get("fanout") or (syn / n if syn else 1.0)
    rows = (run.get("synaptic_events") or 0.0) / fanout
    f64 = run.get("precision") == "float64"
    target = run.get("target_bytes") or n * (8 if f64 else 4)     # else: one input variable per neuron
    sim = simulator_kind(run["simulator"])
    writes = target_writes(sim, run.get("connectivity") == "dense", events, steps * run.get("batch", 1),
                           target / (8 if f64 else 4))
    path = Pathway(events, fp, rows, bytes_per_synapse(run), target, writes)
    return Workload(steps, run["kernels_per_step"], run["host_copies_per_step"], updates, (path,),
                    sim, "genn3" if run["simulator"].startswith("genn-3") else "", f64,
                    run["neuron_bytes"] if updates else 0.0, run.get("batch", 1))


def _group(run: dict) -> str:
    return run.get("sweep") or run["id"]


def _observations(runs):
    """(run, quantity, measured, weight) for every timed quantity the model predicts; each sweep
    (or single row) carries a total weight of one measurement per quantity."""
    obs = []
    for r in runs:
        if r.get("energy_only") or r.get("excluded") or r.get("split", "fit") != "fit":
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
    size = {}
    for r, q, _ in obs:
        size[_group(r), q] = size.get((_group(r), q), 0) + 1
    return [(r, q, m, 1.0 / math.sqrt(size[_group(r), q])) for r, q, m in obs]


def device_of(run: dict, devices: dict) -> tuple[dict, float, float, float]:
    d = devices[run["device"]]
    return d, d.get("mem_bandwidth_Bps") or 0.0, d.get("l2_bytes") or 0.0, d.get("fp64_ratio") or 1.0


def predict(p: dict, run: dict, quantity: str, devices: dict) -> float:
    dev, bw, l2, fp64 = device_of(run, devices)
    if quantity == "launch_api_s":
        return p["t_launch"] * (p["h_jetson"] if dev["family"] == "jetson" else 1.0)
    w = workload_of(run)
    q = device_prices(p, dev["family"], w.simulator, w.generation)
    if quantity == "neuron_kernel_s":
        return work_s(q, bw, l2, w, synapses=False, fp64_ratio=fp64)
    if quantity == "synapse_kernel_s":
        return work_s(q, bw, l2, w, neurons=False)
    parts = time_parts(q, bw, l2, w, fp64)
    if quantity == "overhead_s":
        return max(parts["total"] - parts["work"], 1e-300)
    return parts["total"]


def fit(runs: list[dict] | None = None) -> dict:
    """Weighted least-squares fit of the time parameters on log(predicted / measured)."""
    from scipy.optimize import least_squares

    cal = calibration_set()
    runs = cal["runs"] if runs is None else runs
    devices = cal["devices"]
    obs = _observations(runs)
    free = [k for k in TIME_PARAMS if _identifiable(k, [o[0] for o in obs])]
    fixed = {k: _X0[k] for k in TIME_PARAMS if k not in free}

    def params(x):
        return dict(fixed, **{k: math.exp(v) for k, v in zip(free, x)})

    def resid(x):
        p = params(x)
        return [wt * math.log(max(predict(p, r, q, devices), 1e-300) / m) for r, q, m, wt in obs]

    bounds = [_BOUNDS_OF.get(k, _BOUNDS[_UNITS[k]]) for k in free]
    lo, hi = [math.log(b[0]) for b in bounds], [math.log(b[1]) for b in bounds]
    x0 = [min(max(math.log(_X0[k]), a + 1e-9), b - 1e-9) for k, a, b in zip(free, lo, hi)]
    sol = least_squares(resid, x0, bounds=(lo, hi))
    out = params(sol.x)
    for k in ("r_l2", "r_rmw"):      # no row whose synapses / targets fit its L2: no cache discount
        if k not in free:
            out[k] = 1.0
    return out


def _identifiable(name: str, runs) -> bool:
    """A parameter is fitted only when some fitted row constrains it (else it keeps its start
    value; this guards the leave-one-out refits)."""
    devices = calibration_set()["devices"]
    timed = [r for r in runs if "launch_api_s" not in r]
    fams = {devices[r["device"]]["family"] for r in timed}
    sims = {simulator_kind(r["simulator"]) for r in timed if "time_s" in r}
    evented = [r for r in timed if (r.get("synaptic_events") or 0) > 0]
    if name == "h_jetson":
        return "jetson" in fams and "desktop" in fams
    if name.startswith("tau_"):
        return name[4:] in fams
    if name.startswith("t_copy_"):
        return any(r.get("host_copies_per_step") and devices[r["device"]]["family"] == name[7:] for r in timed)
    if name.startswith("s_"):
        return name[2:] in sims
    if name.startswith("t_row_"):
        return any(simulator_kind(r["simulator"]) == name[6:] for r in evented)
    if name == "f_genn3":
        return any(r["simulator"].startswith("genn-3") for r in timed)
    if name == "b_fp64":
        return any(r.get("precision") == "float64" and (devices[r["device"]].get("fp64_ratio") or 1) <= SLOW_FP64
                   for r in timed)
    if name == "b_target":
        return bool(evented)
    if name == "r_l2":
        return any(r.get("synapses") and devices[r["device"]].get("l2_bytes", 0) >= r["synapses"] * bytes_per_synapse(r)
                   for r in evented)
    if name == "r_rmw":
        return any(devices[r["device"]].get("l2_bytes", 0) >= workload_of(r).pathways[0].target_bytes
                   for r in evented)
    return True


FIT_PATH = os.path.join(DATA, "gpu_fit.json")


def inputs_digest() -> str:
    """SHA-256 of what the fit depends on: the calibration set and this module's code."""
    import hashlib
    h = hashlib.sha256()
    for path in (CAL_PATH, os.path.abspath(__file__)):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def stored_fit() -> dict | None:
    """The committed fit (parameters and leave-out residuals; ``hwmodel validate --refit`` writes it)
    when it was made from the present calibration set and code; None when stale (refitted then)."""
    try:
        with open(FIT_PATH, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    return d if d.get("inputs_sha256") == inputs_digest() else None


@functools.lru_cache(maxsize=1)
def fitted() -> dict:
    s = stored_fit()
    return dict(s["parameters"]) if s else fit()


@functools.lru_cache(maxsize=2)
def loo_residuals(by: str = "sweep") -> dict:
    s = stored_fit()
    return dict(s["loo"][by]) if s else refit_loo(by)


def refit_loo(by: str) -> dict:
    """log(measured / predicted) of each fitted row's total time when the model is refitted without
    its sweep (by="sweep"; a row outside a sweep is its own) or without every row of its device
    (by="device")."""
    cal = calibration_set()
    runs, devices = cal["runs"], cal["devices"]
    key = _group if by == "sweep" else (lambda r: r["device"])
    out = {}
    for k in sorted({key(r) for r in timed_runs("fit")}):
        p = fit([x for x in runs if key(x) != k])
        for r in timed_runs("fit"):
            if key(r) == k:
                out[r["id"]] = math.log(r["time_s"] / predict(p, r, "time_s", devices))
    return out


def run_regime(p: dict, run: dict, devices: dict) -> str:
    dev, bw, l2, fp64 = device_of(run, devices)
    w = workload_of(run)
    q = device_prices(p, dev["family"], w.simulator, w.generation)
    return time_parts(q, bw, l2, w, fp64)["regime"]


@functools.lru_cache(maxsize=8)
def interval_factors(reg: str, calibrated_device: bool) -> tuple[float, float]:
    """Multipliers [low, high] for a predicted time in regime ``reg``: the range of the leave-out
    errors (measured / predicted) of the fitted rows in that regime -- refitted without the row's
    sweep for a device with rows of its own, and also without the row's device for a device
    without (the transfer it stands for).  A regime with fewer than 5 rows borrows every regime's."""
    cal, p = calibration_set(), fitted()
    res = [loo_residuals("sweep")] + ([] if calibrated_device else [loo_residuals("device")])
    rows = {r["id"]: r for r in timed_runs("fit")}
    mine = [v for d in res for k, v in d.items() if run_regime(p, rows[k], cal["devices"]) == reg]
    vals = mine if len(mine) >= 5 * len(res) else [v for d in res for v in d.values()]
    return math.exp(min(0.0, min(vals))), math.exp(max(0.0, max(vals)))


# -- power --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def power_set() -> dict:
    with open(POWER_PATH, encoding="utf-8") as f:
        return json.load(f)


_STATE = {"idle": "idle", "light": "busy-light", "heavy": "busy-heavy"}


def _readings(device: str, scope: str, state: str) -> list[dict]:
    """A device's readings usable as absolute values (not the ratio-only ones)."""
    d = power_set()["devices"].get(device) or {}
    return [r for r in d.get("readings", []) if r["scope"] == scope and r["state"] == _STATE[state]
            and r.get("use") != "ratio-only"]


def _scope_ratio(a: str, b: str, state: str, device: str) -> tuple[float, list] | None:
    """Geometric mean of P(scope a) / P(scope b) over sessions that read both at once: the
    device's own sessions when it has any, else every Jetson's whose soc scope covers the SoC."""
    def sessions(dev):
        out = {}
        for r in power_set()["devices"][dev].get("readings", []):
            if r.get("session") and r["state"] == _STATE[state]:
                out.setdefault(r["session"], {})[r["scope"]] = r["watts"]
        return [(f"{dev}:{s}", v[a] / v[b]) for s, v in out.items() if a in v and b in v and v[b] > 0]

    devs = power_set()["devices"]
    found = sessions(device) if device in devs else []
    if not found:
        found = [x for dev in devs if dev != device and devs[dev].get("soc_rails_complete", True)
                 for x in sessions(dev)]
    return (_geo([v for _, v in found]), [k for k, _ in found]) if found else None


def _fraction_of_tdp(scope: str, state: str) -> tuple[float, float, float, list] | None:
    """P / TDP in ``scope`` over Jetsons with readings: (geo mean, min, max, devices)."""
    vals, ids = [], []
    for dev, d in power_set()["devices"].items():
        rs = _readings(dev, scope, state)
        if rs and d.get("tdp_w") and (scope != "soc" or d.get("soc_rails_complete", True)):
            vals.append(_geo([r["watts"] for r in rs]) / d["tdp_w"])
            ids.append(dev)
    return (_geo(vals), min(vals), max(vals), ids) if vals else None


def _own_delta(device: str, scope: str, state: str, idle: tuple | None = None) -> list[float]:
    """Busy minus idle power of a device in one scope, one per own busy reading; the idle power is
    its own reading, or ``idle`` (transferred) when given."""
    busy = _readings(device, scope, state)
    own_idle = _readings(device, scope, "idle")
    i = _geo([r["watts"] for r in own_idle]) if own_idle else idle[0] if idle else None
    if not busy or i is None:
        return []
    return [r["watts"] - i for r in busy if r["watts"] > i]


def _delta_ratio(a: str, b: str, state: str, device: str) -> tuple[float, list] | None:
    """Dynamic power in scope a over scope b, over devices with their own busy and idle readings in
    both scopes (the same busy state first, else the other)."""
    for st in (state, "heavy" if state == "light" else "light"):
        pairs = [(dev, _geo(_own_delta(dev, a, st)) / _geo(_own_delta(dev, b, st))) for dev in power_set()["devices"]
                 if _own_delta(dev, a, st) and _own_delta(dev, b, st)]
        if pairs:
            return _geo([v for _, v in pairs]), [f"{d} ({_STATE[st]})" for d, _ in pairs]
    r = _scope_ratio(a, b, "idle", device)          # else: the whole power's ratio (supply, regulators)
    return (r[0], [f"idle sessions {', '.join(r[1])}"]) if r else None


def _busy_ratio(scope: str, state: str) -> tuple[float, float, float, list] | None:
    """P(state) / P(idle) in ``scope`` over devices with their own idle readings in that scope and
    a busy power there of their own (read, or derived from their own readings in another scope):
    (geo mean, min, max, ids)."""
    vals, ids = [], []
    for dev, d in power_set()["devices"].items():
        if scope == "soc" and not d.get("soc_rails_complete", True):
            continue
        idle = _own(dev, scope, "idle")
        busy = idle and _busy_within(dev, scope, state, idle, d.get("tdp_w"))
        if busy:
            vals.append(busy[0] / idle[0])
            ids.append(dev)
    return (_geo(vals), min(vals), max(vals), ids) if vals else None


def jetson_power(device: str, scope: str, tdp_w: float | None = None) -> dict:
    """{idle, light, heavy: (point, low, high, evidence, how)} in watts for a Jetson in ``scope``.

    Idle: the device's readings in that scope; else its idle in another scope times the ratio of
    the two scopes read together; else the Jetsons' idle power as a fraction of their TDP.
    Busy (light = launch-bound, heavy = bandwidth-bound): the device's readings in that scope; else
    idle + its dynamic power (busy − idle) read in another scope, times the ratio of dynamic power
    between the scopes; else idle × the busy/idle ratio of the Jetsons whose busy power in that
    scope is their own in one of those two ways; else the other busy state.  Anything borrowed from another device or scope is ``transferred``."""
    idle = _idle_power(device, scope, tdp_w)
    out = {"idle": idle, "light": _busy_power(device, scope, "light", idle, tdp_w),
           "heavy": _busy_power(device, scope, "heavy", idle, tdp_w)}
    for a, b, what in (("heavy", "light", "bandwidth-bound"), ("light", "heavy", "launch-bound")):
        if out[a] is None and out[b] is not None:
            out[a] = out[b][:3] + ("transferred", out[b][4] + f"; no {what} reading: taken as the other busy state")
    for state, v in out.items():
        if v is None:
            raise LookupError(f"no published {state} power for {device!r} in scope {scope!r} and nothing to "
                              "transfer it from")
    return out


def _own(device, scope, state):
    own = _readings(device, scope, state)
    if own:
        w = [r["watts"] for r in own]
        ev = max((r.get("evidence", "measured") for r in own), key=_GRADE_ORDER.index)
        return (_geo(w), min(w), max(w), ev, f"{device} {scope} {_STATE[state]}: "
                + ", ".join(f"{r['watts']:g} W ({r['source']})" for r in own))
    return None


def _idle_power(device, scope, tdp_w):
    own = _own(device, scope, "idle")
    if own:
        return own
    for other in SCOPES:
        base = _readings(device, other, "idle") if other != scope else []
        ratio = base and _scope_ratio(scope, other, "idle", device)
        if ratio:
            b = [r["watts"] * ratio[0] for r in base]
            return (_geo(b), min(b), max(b), "transferred", f"{device} {other} idle x {scope}/{other} ratio "
                    f"{ratio[0]:.3g} (sessions {', '.join(ratio[1])})")
    f = _fraction_of_tdp(scope, "idle") if tdp_w else None
    if f:
        return (f[0] * tdp_w, f[1] * tdp_w, f[2] * tdp_w, "transferred",
                f"no idle reading of {device}: {f[0]:.3g} x TDP {tdp_w:g} W (Jetsons {', '.join(f[3])})")
    return None


def _busy_within(device, scope, state, idle, tdp_w):
    """A device's busy power in ``scope`` from its own readings: read there, else its idle there plus
    its dynamic power read in another scope times the scopes' dynamic-power ratio."""
    own = _own(device, scope, state)
    if own or idle is None:
        return own
    for other in SCOPES:
        d = _own_delta(device, other, state, _idle_power(device, other, tdp_w)) if other != scope else []
        ratio = d and _delta_ratio(scope, other, state, device)
        if ratio:
            v = [idle[0] + x * ratio[0] for x in d]
            return (_geo(v), min(v), max(v), "transferred", f"idle {idle[0]:.3g} W + {device}'s {other} dynamic "
                    f"{_geo(d):.3g} W x {scope}/{other} dynamic ratio {ratio[0]:.3g} ({', '.join(ratio[1])})")
    return None


def _busy_power(device, scope, state, idle, tdp_w):
    """The device's own busy power (``_busy_within``), else its idle times the busy/idle ratio of the
    Jetsons that have one in that scope."""
    own = _busy_within(device, scope, state, idle, tdp_w)
    if own or idle is None:
        return own
    r = _busy_ratio(scope, state)
    if r:
        return (idle[0] * r[0], idle[1] * r[1], idle[2] * r[2], "transferred",
                f"idle {idle[0]:.3g} W x {_STATE[state]}/idle ratio {r[0]:.3g} of {', '.join(r[3])}")
    return None


_GRADE_ORDER = ["measured", "datasheet", "calibrated", "secondary", "derived", "transferred"]


def _geo(vals):
    return float(math.exp(np.mean(np.log(vals))))


def desktop_power(tdp_w: float) -> dict:
    """Desktop systems at the wall: idle and busy as fractions of the GPU's TDP from the rows of the
    calibration set that read both (whole system at the socket); {state: (point, low, high, rows)}."""
    rows = [r for r in calibration_set()["runs"] if "mean_power_w" in r and "idle_power_w" in r
            and calibration_set()["devices"][r["device"]]["family"] == "desktop"]
    idle = [r["idle_power_w"] / calibration_set()["devices"][r["device"]]["tdp_w"] for r in rows]
    busy = [r["mean_power_w"] / calibration_set()["devices"][r["device"]]["tdp_w"] for r in rows]
    ids = sorted(r["id"] for r in rows)
    return {"idle": (_geo(idle) * tdp_w, min(idle) * tdp_w, max(idle) * tdp_w, ids),
            "heavy": (_geo(busy) * tdp_w, min(busy) * tdp_w, max(busy) * tdp_w, ids)}


def mean_power(pw: dict, u: float, end: int = 0) -> float:
    """P = P_idle + (1 − u)(P_light − P_idle) + u (P_heavy − P_idle) at one end of the ranges
    (0 point, 1 low, 2 high)."""
    idle = pw["idle"][end]
    return idle + (1 - u) * (pw["light"][end] - idle) + u * (pw["heavy"][end] - idle)


def write_fit(path: str = FIT_PATH) -> dict:
    """Fit, refit leaving each sweep and each device out, and store the result (slow: minutes;
    ``hwmodel validate --refit``).  The cached fit of this process is replaced."""
    d = {"schema": "hwmodel-gpu-fit/1", "inputs_sha256": inputs_digest(), "parameters": fit(),
         "loo": {by: refit_loo(by) for by in ("sweep", "device")}}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(d, f, indent=1)
        f.write("\n")
    for cached in (stored_fit, fitted, loo_residuals, interval_factors):
        cached.cache_clear()
    return d

