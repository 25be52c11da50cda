"""Estimate energy, latency and memory of a hand-written counts record on several targets.

    python examples/hwmodel_estimate.py

The counts describe one 350 ms inference window (dt 0.5 ms) of a 784-input, 400-excitatory
network: write such a record by hand, or get it from a brian-snn results file
(``hwmodel.load_counts("run.h5", "inference")``).  No brian2 needed.
"""
import hwmodel

counts = hwmodel.Counts.from_dict({
    "schema": "hwmodel-counts/1", "dt_s": 0.0005, "steps": 700, "samples": 1, "phase": "inference",
    "populations": [
        {"name": "input", "n": 784, "spikes": 1500, "neuron_updates": 0, "state_vars": 0},
        {"name": "exc", "n": 400, "spikes": 20, "neuron_updates": 400 * 700, "state_vars": 3}],
    "pathways": [
        {"name": "input_exc", "pre": "input", "post": "exc", "n_synapses": 784 * 400,
         "synaptic_events": 1500 * 400, "plasticity_updates": 0, "weight_bits": 32}]})

print(f"{'target':18s} {'energy/sample':>14s} {'latency':>10s} {'memory':>10s}  evidence")
for target in ("loihi1", "truenorth", "spinnaker", "spinnaker2", "asic-45nm", "arm-cortex-a", "jetson-nano"):
    try:
        bits = 1 if target == "truenorth" else 8
        e = hwmodel.estimate(counts, target, weight_bits=bits)
    except (hwmodel.TargetError, hwmodel.EstimateError) as err:
        print(f"{target:18s} n/a  ({str(err)[:90]}...)")
        continue
    lat = "n/a" if e.latency_s is None else f"{e.latency_s:.3g} s"
    print(f"{target:18s} {e.per_sample['energy_j']:12.3g} J {lat:>10s} {e.memory_bytes['total']:>8,d} B  {e.evidence}")

# memory footprint by weight precision, and the Pareto front of (energy, memory) on the 45 nm ASIC
points = [hwmodel.estimate(counts, "asic-45nm", weight_bits=b) for b in (32, 16, 8, 4)]
for e in points:
    print(f"asic-45nm  {e.weight_bits['input_exc']:2d}-bit weights: {e.memory_bytes['breakdown']['weights']:>9,d} B, "
          f"{e.energy_j['total']:.3g} J")
front = hwmodel.pareto_front(points, {"energy_j.total": "min", "memory_bytes.total": "min"})
print("Pareto front (energy, memory):", [e.weight_bits["input_exc"] for e in front], "bits")
print("NeuroBench-style metrics:", hwmodel.neurobench(counts))
