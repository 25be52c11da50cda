"""Markdown table of results files: accuracy, operations per sample and hardware estimates.

(Throughput is not in it: these runs share the machine; benchmarks/throughput.py measures it.)

    .venv/bin/python benchmarks/report.py out/*.h5 [--target loihi1]
"""
import argparse

import hwmodel
from brian_snn.store import read_results


def row(path, target):
    r = read_results(path)
    c = r["config"]
    tr, inf = r["counts"]["training"], r["counts"]["inference"]
    e_tr = hwmodel.estimate(tr, target).per_sample["energy_j"]
    est_inf = hwmodel.estimate(inf, target)
    neuron_updates = sum(p.neuron_updates for p in tr.populations if p.name != "input") / tr.samples
    return (f"| {c['model']} | {c['n_exc']} | {c['epochs']} | {100 * r['scalars']['accuracy']:.2f} % "
            f"| {neuron_updates:,.0f} | {tr.synaptic_events / tr.samples:,.0f} "
            f"| {tr.plasticity_updates / tr.samples:,.0f} | {e_tr * 1e3:.3f} "
            f"| {est_inf.per_sample['energy_j'] * 1e3:.3f} | {est_inf.memory_bytes['total'] / 1024:,.0f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--target", default="loihi1")
    a = ap.parse_args()
    print(f"| model | N | epochs | test accuracy | neuron updates / training sample "
          f"(exc+inh) | synaptic events / training sample | plasticity updates / training sample "
          f"| {a.target} training mJ/sample | {a.target} inference mJ/sample | memory KiB |")
    print("|" + "---|" * 10)
    for f in a.files:
        print(row(f, a.target))


if __name__ == "__main__":
    main()
