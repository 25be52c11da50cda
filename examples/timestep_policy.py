"""TopSpark's trade-off policy at run time: re-choose the timestep when the mission changes.

Run:  .venv/bin/python examples/timestep_policy.py [RESULTS]

RESULTS is a ``timestep.json`` written by ``brian-snn timestep`` (default: the measured one in
benchmarks/).  Nothing is simulated: the stored table (accuracy, latency, training and inference
energy per window, each from the exact counts of its run) is re-weighed for four missions.
"""
import sys
from pathlib import Path

from brian_snn.experiments import timestep as ts

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "benchmarks" / "timestep_acceptance.json"
stored = ts.load(path)

missions = {
    "default (accuracy within 2 pp, all weights 1)": dict(),
    "low battery (energy weighs 3x)": dict(weights={"energy_train": 3, "energy_inference": 3}),
    "accuracy first (within 0.5 pp, accuracy weighs 10x)": dict(tolerance_pp=0.5, weights={"accuracy": 10}),
    "hard real time (latency <= 40 ms per sample)": dict(max_latency_s=0.040),
}
for name, kw in missions.items():
    res = ts.tabulate(stored, **kw)
    print(f"\n{name}")
    for c in res["selection"]["configs"]:
        s, q = c["selected"], c["ratios"]
        if s is None:
            print(f"  {c['model']:>10} N={c['n_exc']}: no window meets the constraints")
            continue
        print(f"  {c['model']:>10} N={c['n_exc']}: {s['variant']:<24} train {s['train_window_ms']:>5g} ms, "
              f"infer {s['infer_window_ms']:>5g} ms | latency {q['latency']:.2f}x, E_train {q['energy_train']:.2f}x, "
              f"E_inf {q['energy_inference']:.2f}x lower, accuracy {q['accuracy_pp']:+.1f} pp")
