"""NeuroBench-style workload and static metrics from a counts record (NeuroBench: Yik et al., Nat. Commun.
16:1545, 2025; metric definitions of NeuroBench/neurobench v2.3.0, neurobench/metrics/).

NeuroBench measures a PyTorch model with hooks; here the same quantities come from exact counts:
- synaptic operations per sample: ``effective_acs`` (spike inputs are binary, so every synaptic
  event is an accumulate), ``effective_macs`` (0: no graded inputs in a counts record) and
  ``dense`` (every synapse every step);
- activation sparsity: 1 − spikes / (neurons × steps) over the network's neuron populations
  (those that receive a pathway; pure input populations are data, not activations);
- connection sparsity: missing synapses of each pathway's dense pre×post matrix count as zero
  weights (zero *values* of existing weights are not in a counts record);
- footprint: weights + indices + neuron state in bytes at the chosen bit widths.
"""
from __future__ import annotations

from . import cost
from .counts import Counts


def neurobench(counts: Counts, weight_bits: dict[str, int] | int | None = None, state_bits: int = 32) -> dict:
    """NeuroBench-style metrics; per-sample values are None when the record has no samples."""
    counts = counts.check()                # impossible counts would give sparsities below 0
    per = counts.samples or None
    sizes = {p.name: p.n for p in counts.populations}
    posts = {s.post for s in counts.pathways}
    act = [p for p in counts.populations if p.name in posts] or counts.populations
    numel = sum(p.n for p in act) * counts.steps
    full = sum(sizes[s.pre] * sizes[s.post] for s in counts.pathways)
    bits = _bits(counts, weight_bits)
    mem = cost.memory_bytes([_pop(p) for p in counts.populations],
                            [dict(_path(s), weight_bits=bits[s.name]) for s in counts.pathways],
                            state_bits, training=False)
    return {
        "synaptic_operations": {
            "effective_acs": counts.synaptic_events / per if per else None,
            "effective_macs": 0.0 if per else None,
            "dense": counts.n_synapses * counts.steps / per if per else None},
        "activation_sparsity": 1 - sum(p.spikes for p in act) / numel if numel else None,
        "connection_sparsity": round(1 - counts.n_synapses / full, 4) if full else None,
        "footprint_bytes": mem["total"] - mem["breakdown"]["traces"],
    }


def _bits(counts: Counts, weight_bits) -> dict[str, int]:
    if isinstance(weight_bits, dict):
        return weight_bits
    return {s.name: weight_bits or s.weight_bits for s in counts.pathways}


def _pop(p) -> dict:
    return {"name": p.name, "n": p.n, "spikes": p.spikes, "neuron_updates": p.neuron_updates,
            "state_vars": p.state_vars}


def _path(s) -> dict:
    return {"name": s.name, "pre": s.pre, "post": s.post, "n_synapses": s.n_synapses,
            "events": s.synaptic_events, "plasticity_updates": s.plasticity_updates,
            "weight_bits": s.weight_bits, "plastic": s.plastic,
            "pre_traces": s.pre_traces, "post_traces": s.post_traces}
