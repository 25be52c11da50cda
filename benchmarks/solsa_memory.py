"""Learning memory of SOLSA vs BPTT (naive and lean) vs the simplified rule over sequence length and width.

    .venv/bin/python benchmarks/solsa_memory.py [OUT_PREFIX]     (default benchmarks/solsa_memory)

Writes OUT_PREFIX.json (full report), OUT_PREFIX.csv (one row per point and method) and OUT_PREFIX.png.
Layers [6, H, H, 4] as for RacketSports (6 channels, 4 classes); analytic float64 bytes and tracemalloc peaks.
"""
import csv
import json
import sys

from brian_snn.solsa.memory import memory_report, plot_report

prefix = sys.argv[1] if len(sys.argv) > 1 else "benchmarks/solsa_memory"
rep = memory_report(n_in=6, hidden=100, n_out=4, layers=2,
                    Ts=(5, 10, 20, 30, 50, 75, 100, 200, 400, 800), widths=(16, 32, 64, 100, 128, 160, 256, 400),
                    T_fixed=30)
with open(prefix + ".json", "w") as f:
    json.dump(rep, f, indent=1)
with open(prefix + ".csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["sweep", "value", "method", "sizes", "T", "analytic_bytes", "measured_bytes"])
    for key in ("over_T", "over_width"):
        for r in rep[key]:
            w.writerow([key, r["value"], r["method"], "-".join(map(str, r["sizes"])), r["T"],
                        r["analytic_bytes"], r["measured_bytes"]])
plot_report(rep, prefix + ".png")
print(f"crossover T: analytic {rep['crossover_T_analytic']}, measured {rep['crossover_T_measured']:.1f}; "
      f"against lean BPTT: analytic {rep['crossover_T_analytic_lean']}, measured {rep['crossover_T_measured_lean']:.1f}")
print(f"crossover width at T={rep['T_fixed']}: analytic {rep['crossover_width_analytic']}, "
      f"measured {rep['crossover_width_measured']:.0f}")
