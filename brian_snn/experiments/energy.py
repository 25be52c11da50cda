"""Hardware cost of a run on the Jetson Nano (and any other hwmodel target), for issue 4.

The built-in ``jetson-nano`` target refuses to estimate: the per-time-step overhead of a GPU
simulator on a Jetson is not published.  We derive one the way ``examples/user_network_energy.py``
documents it -- one CUDA kernel per Brian2 code object per time step, about 10 us per kernel
launch (brian2cuda nvprof logs, reference/brian2_ecosystem.md §2) -- and mark it
``evidence = "derived"``.  It is a lower bound, and it dominates the Jetson estimate of these
small networks: read Jetson energies as "launch-bound", and compare models by their kernel
counts and operation counts, not as measured joules.
"""
from __future__ import annotations

import copy

import hwmodel
from hwmodel.targets import load_target, validate

LAUNCH_S = 10e-6                 # ~10 us per CUDA kernel launch (derived, see module docstring)
LAUNCH_SOURCE = ("brian2cuda dev/benchmarks_old nvprof: ~10 us per cudaLaunch "
                 "(reference/brian2_ecosystem.md); x kernels per step of the model")


def derived_jetson_target(n_kernels: int, base: str = "jetson-nano", launch_s: float = LAUNCH_S):
    """``base`` (a built-in GPU target) with ``gpu.per_step_overhead = n_kernels x launch_s``,
    evidence "derived".  Returns an ``hwmodel.Target`` (nothing is written to disk)."""
    if isinstance(n_kernels, bool) or int(n_kernels) != n_kernels or n_kernels < 1:
        raise ValueError(f"n_kernels must be a positive integer, got {n_kernels!r}")
    n_kernels = int(n_kernels)
    data = copy.deepcopy(load_target(base).data)
    data["id"] = f"{base}-derived-k{n_kernels}"
    data["name"] = f"{data['name']}; per-step overhead derived: {n_kernels} kernels x {launch_s * 1e6:g} us"
    data.setdefault("sources", {})["launch"] = LAUNCH_SOURCE
    data.setdefault("gpu", {})["per_step_overhead"] = {
        "value": n_kernels * launch_s, "unit": "s", "evidence": "derived", "source": "launch",
        "note": f"{n_kernels} kernels per step x {launch_s:g} s per launch (lower bound)"}
    return validate(data, f"derived from {base} ({n_kernels} kernels per step)")


def kernels_per_step(objects) -> int:
    """Code objects a GPU simulator runs every time step for a model's Brian2 objects.

    Counted from the objects themselves (no run needed): every code runner (state updater,
    thresholder, resetter, custom event / run_regularly operation, synaptic pathway) is one
    kernel, and every synaptic pathway needs one more to push its spikes into the queue.
    Bookkeeping objects (names starting with ``_``: the schedule controller, spike counters,
    monitors) are left out -- on a device the input schedule would come from the host.
    """
    from brian2.core.base import BrianObject
    from brian2.groups.group import CodeRunner
    from brian2.synapses.synapses import SynapticPathway

    seen, n = set(), 0

    def walk(obj):
        nonlocal n
        if id(obj) in seen or not isinstance(obj, BrianObject):
            return
        seen.add(id(obj))
        if obj.name.startswith("_") or getattr(getattr(obj, "group", None), "name", "x").startswith("_"):
            return
        if isinstance(obj, SynapticPathway):
            n += 2
        elif isinstance(obj, CodeRunner):
            n += 1
        for child in getattr(obj, "contained_objects", []):
            walk(child)

    for o in objects:
        walk(o)
    return n


def estimate(counts, target, weight_bits: int | None = None) -> dict:
    """``hwmodel.estimate`` as a compact dict (per-sample energy and latency, memory), or
    ``{"error": ...}`` when the target cannot price these counts."""
    try:
        e = hwmodel.estimate(counts, target, weight_bits=weight_bits)
    except (hwmodel.TargetError, hwmodel.EstimateError) as err:
        return {"target": getattr(target, "id", str(target)), "error": str(err)}
    return {"target": e.target, "phase": e.phase, "evidence": e.evidence,
            "energy_j_per_sample": e.per_sample["energy_j"],
            "latency_s_per_sample": e.per_sample["latency_s"],
            "energy_j_total": e.energy_j["total"], "memory_bytes": e.memory_bytes["total"],
            "memory_breakdown": e.memory_bytes["breakdown"], "weight_bits": e.weight_bits,
            "notes": e.notes}
