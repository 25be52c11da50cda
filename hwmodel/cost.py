"""Pure cost functions: counts and prices in, joules / seconds / bytes out (no I/O, no targets).

Formulas: per-event sums for event-driven targets and per-op sums for dense CPU/GPU devices (as
keras-spiking's ModelEnergy), the analytic ASIC/MCU model of Lemaire et al., ICONIP 2022
(arXiv:2210.13107) with Horowitz, ISSCC 2014 per-op energies, and time x power for GPUs;
docs/targets.md explains each, its sources and its limits.
A price of ``None`` means "this term is not part of the target's price table": the term is left
out of the breakdown (the caller decides whether that is allowed).
"""
from __future__ import annotations

import math

NEUROBENCH_LEAKY_OPS = 4    # ops per LIF update: decay mul, input add, reset mul, reset sub (NeuroBench v2.3.0, neuron_operations.py, Leaky)


def priced_terms(counts_and_prices: dict[str, tuple[float, float | None]]) -> dict[str, float]:
    """Σ count × price, per term; terms with a None price or a zero count are left out."""
    return {term: n * e for term, (n, e) in counts_and_prices.items() if e is not None and n}


# -- event-driven (neuromorphic) ---------------------------------------------------------------
def per_event_time_s(steps: int, work: dict[str, tuple[float, float | None]], sync_s: float,
                     cores: int) -> float:
    """Wall time when per-event times are known: the events' busy time spread evenly over the
    cores in use, plus one barrier synchronisation per time step (Loihi: mesh-wide barrier, Davies et al.,
    IEEE Micro 38(1), 2018, Table 2)."""
    busy = sum(n * t for n, t in work.values() if t is not None)
    return busy / max(cores, 1) + steps * sync_s


def cores_used(neurons: int, neurons_per_core: int, cores: int) -> int:
    return max(1, min(cores, math.ceil(neurons / neurons_per_core)))


def tiles_used(cores: int, cores_per_tile: int) -> int:
    """Mesh tiles holding ``cores`` cores packed tile by tile (no placement model)."""
    return max(1, math.ceil(cores / cores_per_tile))


def barrier_sync_s(tiles: int, tiles_all: int, sync_1_s: float, sync_all_s: float) -> float:
    """Barrier time for ``tiles`` tiles in use, linear in log2(tiles) between the published end
    points: sync_1_s with 1 tile and sync_all_s with all ``tiles_all`` tiles (Loihi: 113 ns at 1,
    465 ns at 32 tiles, Davies 2018 Table 2).  Outside [1, tiles_all] the tile count is clipped."""
    tiles = max(1, min(tiles, tiles_all))
    if tiles_all <= 1:
        return sync_1_s
    return sync_1_s + (sync_all_s - sync_1_s) * math.log2(tiles) / math.log2(tiles_all)


# -- analytic ASIC / MCU (Lemaire et al., ICONIP 2022) ---------------------------------------------
def lemaire_sram_j(n_elements: int, bits: int, per_bit_j: float, base_j: float) -> float:
    """Energy of one SRAM access for a memory that holds ``n_elements`` values of ``bits`` each:
    E = 1.09e-5 pJ/bit · (n·bits) + 13.2 pJ in the ICONIP fit (per_bit_j, base_j from the target)."""
    return per_bit_j * n_elements * bits + base_j


def lemaire_terms(pathways: list[dict], populations: list[dict], state_bits: int,
                  add_j: float, mul_j: float | None, sram) -> dict[str, float]:
    """Lemaire-style E_ops + E_addr + E_mem for fully-connected (or sparse) spiking layers.

    pathways: dicts with events, plasticity_updates, n_synapses, weight_bits, post_n.
    populations: dicts with n, neuron_updates, spikes (only populations that are simulated).
    sram(n_elements, bits) -> J per access.  Leaky neurons: one leak MAC + one bias ACC per update,
    one ACC per reset (spike), one ACC + one address ACC per synaptic event, weight read per event,
    potential read + write per event and per update, bias read per update.  A plasticity update
    (our extension, not in Lemaire) = weight read + weight write + one MAC.
    """
    t = dict.fromkeys(("ops_synaptic", "addressing", "ops_neuron", "ops_reset", "mem_weights",
                       "mem_potentials", "mem_bias", "plasticity"), 0.0)
    for s in pathways:
        e_w = sram(s["n_synapses"], s["weight_bits"])
        e_v = sram(s["post_n"], state_bits)
        t["ops_synaptic"] += s["events"] * add_j
        t["addressing"] += s["events"] * add_j
        t["mem_weights"] += s["events"] * e_w
        t["mem_potentials"] += 2 * s["events"] * e_v
        if s["plasticity_updates"]:
            t["plasticity"] += s["plasticity_updates"] * (2 * e_w + mul_j + add_j)
    for g in populations:
        e_v = sram(g["n"], state_bits)
        if g["neuron_updates"]:
            t["ops_neuron"] += g["neuron_updates"] * (mul_j + 2 * add_j)
        t["ops_reset"] += g["spikes"] * add_j
        t["mem_bias"] += g["neuron_updates"] * e_v
        t["mem_potentials"] += 2 * g["neuron_updates"] * e_v
    return {k: v for k, v in t.items() if v}


# -- memory footprint (packed weights + CSR indices + neuron state, NeuroBench-style) ------------
def pathway_bytes(n_pre: int, n_post: int, n_synapses: int, weight_bits: int) -> tuple[int, int]:
    """(weight bytes, index bytes): packed weights; a full n_pre×n_post pathway is a dense matrix
    (no indices), anything else CSR with ceil(log2 n_post)-bit column indices and
    ceil(log2(n_synapses+1))-bit row pointers."""
    w = math.ceil(n_synapses * weight_bits / 8)
    if n_synapses == n_pre * n_post:
        return w, 0
    idx_bits = n_synapses * max(1, math.ceil(math.log2(max(n_post, 2))))
    ptr_bits = (n_pre + 1) * max(1, math.ceil(math.log2(n_synapses + 1)))
    return w, math.ceil((idx_bits + ptr_bits) / 8)


def memory_bytes(populations: list[dict], pathways: list[dict], state_bits: int, training: bool) -> dict:
    """Footprint by part: weights, indices, neuron state, and (training only) plasticity traces."""
    sizes = {p["name"]: p["n"] for p in populations}
    weights = indices = traces = 0
    for s in pathways:
        w, i = pathway_bytes(sizes[s["pre"]], sizes[s["post"]], s["n_synapses"], s["weight_bits"])
        weights += w
        indices += i
        if training and s["plastic"]:
            words = s["pre_traces"] * sizes[s["pre"]] + s["post_traces"] * sizes[s["post"]]
            traces += math.ceil(words * state_bits / 8)
    state = sum(math.ceil(p["n"] * p["state_vars"] * state_bits / 8) for p in populations)
    parts = {"weights": weights, "indices": indices, "state": state, "traces": traces}
    return {"total": sum(parts.values()), "breakdown": parts}
