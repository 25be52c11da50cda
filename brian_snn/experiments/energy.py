"""Hardware cost of a run on any hwmodel target, as a compact dict for the experiment tables.

The experiments price their counts on the built-in ``jetson-nano`` target (and ``loihi1`` and
others): hwmodel's GPU model reads the kernels launched per step from the counts record itself
(``kernels_per_step``, counted by :func:`brian_snn.activity.kernels_per_step`).
"""
from __future__ import annotations

import hwmodel

JETSON = "jetson-nano"           # the built-in Jetson Nano target the experiments price on


def estimate(counts, target, weight_bits: int | None = None) -> dict:
    """``hwmodel.estimate`` as a compact dict (per-sample energy and latency with their
    intervals when the target gives them, memory), or ``{"error": ...}`` when the target cannot
    price these counts."""
    try:
        e = hwmodel.estimate(counts, target, weight_bits=weight_bits)
    except (hwmodel.TargetError, hwmodel.EstimateError) as err:
        return {"target": getattr(target, "id", str(target)), "error": str(err)}
    return {"target": e.target, "phase": e.phase, "evidence": e.evidence,
            "energy_j_per_sample": e.per_sample["energy_j"],
            "latency_s_per_sample": e.per_sample["latency_s"],
            "energy_interval_j_per_sample": e.per_sample.get("energy_interval_j"),
            "latency_interval_s_per_sample": e.per_sample.get("latency_interval_s"),
            "energy_j_total": e.energy_j["total"], "memory_bytes": e.memory_bytes["total"],
            "memory_breakdown": e.memory_bytes["breakdown"], "weight_bits": e.weight_bits,
            "notes": e.notes}
