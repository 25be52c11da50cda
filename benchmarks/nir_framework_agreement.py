"""The NIR framework fixtures (tests/data/nir_frameworks/, written by nir_framework_fixtures.py) run under
every ``--semantics`` / ``--reset`` setting: output spikes ours / the framework's and the number of
(sample, step, neuron) cells that differ.  Needs neither snnTorch nor Norse; prints a markdown table
(docs/nir.md) and writes benchmarks/results/nir_frameworks.json.

    .venv/bin/python benchmarks/nir_framework_agreement.py
"""
import json
from pathlib import Path

import numpy as np

from brian_snn.nir import from_nir

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "nir_frameworks"
SETTINGS = [("exact", None), ("snntorch", "subtract"), ("snntorch", "zero"), ("norse", "value")]


def main():
    rows, table = {}, []
    for npz in sorted(DATA.glob("*.npz")):
        z = np.load(npz)
        x, y, dt = z["input"].astype(float), z["output"].astype(float), float(z["dt"])
        files = [npz.stem] + ([f"{npz.stem}-fixed"] if (DATA / f"{npz.stem}-fixed.nir").exists() else [])
        for f in files:
            cells = {}
            for sem, reset in SETTINGS:
                net = from_nir(DATA / f"{f}.nir", dt=dt, semantics=sem, reset=reset)
                (out,) = net.run(x).outputs.values()
                cells[f"{sem}/{reset or 'value'}"] = dict(ratio=round(float(out.sum() / y.sum()), 3),
                                                        differ=int((out != y).sum()), warnings=len(net.warnings))
            rows[f] = dict(framework=str(z["framework"]), dt=dt, reset=str(z["reset"]),
                           framework_spikes=int(y.sum()), cells=cells)
            table.append(f"| {f} ({z['framework']}, reset {z['reset']}) | {int(y.sum())} | " + " | ".join(
                f"{c['ratio']:.2f} / {c['differ']}" for c in cells.values()) + " |")
    head = ("| fixture (framework, its reset) | framework's output spikes | " +
            " | ".join(f"{s} {r or ''}".strip() for s, r in SETTINGS) + " |\n|---|---|" + "---|" * len(SETTINGS))
    print(head + "\n" + "\n".join(table))
    out = ROOT / "benchmarks" / "results" / "nir_frameworks.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
