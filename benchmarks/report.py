"""The README's result sections, generated from the committed result files (benchmarks/results/*.json).

    .venv/bin/python benchmarks/report.py            # rewrite every generated section of README.md
    .venv/bin/python benchmarks/report.py --check    # exit 1 when a README number differs from its file

A generated section sits between ``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``; NAME is a
result file ``benchmarks/results/NAME.json`` and a renderer below.  Energies are priced here, from
each run's exact counts, on three target families: the Jetson Nano (hwmodel's fitted GPU model, with
its interval), Loihi 1 and the 45 nm ASIC.  Mean ± half-width of the 95 % t-interval over seeds.
"""
import argparse
import json
import math
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import hwmodel  # noqa: E402
from brian_snn.protocol import paired, summarise  # noqa: E402

TARGETS = {"jetson-nano": "Jetson Nano", "loihi1": "Loihi 1", "asic-45nm": "45 nm ASIC"}
BLOCK = re.compile(r"(<!-- report:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /report:(?P=name) -->)", re.S)


def _decimals(x, significant=3):
    """Decimals that show ``x`` to about ``significant`` digits."""
    return 0 if x == 0 or abs(x) >= 10 ** (significant - 1) else significant - 1 - math.floor(math.log10(abs(x)))


def pm(s, scale=1.0, digits=None, unit=""):
    """``mean ± ci`` of a summary (``± n/a`` for one seed); ``digits`` None: 3 significant digits."""
    mean = s["mean"] * scale
    d = _decimals(mean) if digits is None else digits
    ci = "n/a" if s["ci95"] != s["ci95"] else f"{s['ci95'] * scale:.{d}f}"
    return f"{mean:.{d}f} ± {ci}{unit}"


def energy(run, phase, target):
    """(energy per sample J, [low, high] of the model's interval or None)."""
    est = hwmodel.estimate(hwmodel.Counts.from_dict(run["counts"][phase]), target)
    return est.per_sample["energy_j"], est.per_sample.get("energy_interval_j")


def static_mnist(res) -> str:
    runs = res["runs"]
    cells = sorted({(r["n_exc"], r["epochs"]) for r in runs})
    models = list(dict.fromkeys(r["model"] for r in runs))
    group = {(m, n, e): sorted((r for r in runs if (r["model"], r["n_exc"], r["epochs"]) == (m, n, e)),
                               key=lambda r: r["seed"]) for m in models for n, e in cells}
    group = {k: v for k, v in group.items() if v}
    sp, sel = res["split"], res["selection"]
    seeds = sorted({r["seed"] for r in runs})
    energies = {(m, n, e, ph, t): [energy(r, ph, t) for r in rs]
                for (m, n, e), rs in group.items() for ph in ("training", "inference") for t in TARGETS}
    out = [f"Protocol: train {sp['train']['n']:,} / validation {sp['val']['n']:,} / test {sp['test']['n']:,} "
           f"images of the 8,000-image MNIST pool (seeded, stratified; split seed {sp['split_seed']}), seeds "
           f"{', '.join(map(str, seeds))} (initial weights, order, input noise), mean ± 95 % t-interval.  "
           f"SpikeDyn's x_tar chosen on **validation** ({', '.join(f'{x}: {100 * a:.1f} %' for x, a in sel['val_accuracy'].items())}"
           f" at N = {sel['neurons']}, {sel['epochs']} epoch) → **{sel['chosen']}**; Diehl & Cook as published.  "
           f"Test touched once per run.  Code {res['provenance']['git_commit'][:10]}, {res['provenance']['date']}."]
    if res.get("missing"):
        out[0] += (f"  **{len(res['missing'])} planned run(s) did not finish** and are not in the tables: "
                   + "; ".join(f"{d['model']} N={d['n_exc']} {d['epochs']} ep seed {d['seed']}" for d in res["missing"]) + ".")
    out += ["", "| model | N | epochs | validation % | **test %** | plasticity updates / training sample |",
            "|---|---|---|---|---|---|"]
    for (m, n, e), rs in group.items():
        upd = summarise([sum(p["plasticity_updates"] for p in r["counts"]["training"]["pathways"])
                         / r["counts"]["training"]["samples"] for r in rs])
        out.append(f"| {m} | {n} | {e} | {pm(summarise([r['val_accuracy'] for r in rs]), 100, 2)} | "
                   f"**{pm(summarise([r['test_accuracy'] for r in rs]), 100, 2)}** | {upd['mean']:,.0f} |")
    out += ["", "Energy per sample (mJ), priced from each run's counts (Jetson: [the model's interval]):", "",
            "| model | N | epochs | " + " | ".join(f"training, {t}" for t in TARGETS.values()) + " | "
            + " | ".join(f"inference, {t}" for t in TARGETS.values()) + " |",
            "|---|---|---|" + "---|" * (2 * len(TARGETS))]
    for (m, n, e), rs in group.items():
        row = [m, str(n), str(e)]
        for ph in ("training", "inference"):
            for t in TARGETS:
                vals = energies[m, n, e, ph, t]
                cell = pm(summarise([v for v, _ in vals]), 1e3)
                if vals[0][1]:
                    lo, hi = (1e3 * sum(iv[i] for _, iv in vals) / len(vals) for i in (0, 1))
                    cell += f" [{lo:.{_decimals(lo)}f}, {hi:.{_decimals(hi)}f}]"
                row.append(cell)
        out.append("| " + " | ".join(row) + " |")
    out += ["", "SpikeDyn − Diehl & Cook, paired by seed (✓: the interval excludes 0):", "",
            "| N | epochs | Δ test accuracy (pp) | " + " | ".join(f"Δ training energy, {t}" for t in TARGETS.values())
            + " | " + " | ".join(f"Δ inference energy, {t}" for t in TARGETS.values()) + " |",
            "|---|---|---|" + "---|" * (2 * len(TARGETS))]
    for n, e in cells:
        a, b = group.get(("diehl-cook", n, e)), group.get(("spikedyn", n, e))
        if not a or not b or [r["seed"] for r in a] != [r["seed"] for r in b]:
            continue
        d = paired([r["test_accuracy"] for r in b], [r["test_accuracy"] for r in a])
        row = [str(n), str(e), pm(d, 100, 2) + (" ✓" if d["differs"] else "")]
        for ph in ("training", "inference"):
            for t in TARGETS:
                ea, eb = ([v for v, _ in energies[m, n, e, ph, t]] for m in ("diehl-cook", "spikedyn"))
                rel = paired([y / x - 1 for x, y in zip(ea, eb)], [0.0] * len(ea))
                row.append(pm(rel, 100, 0, " %") + (" ✓" if rel["differs"] else ""))
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


RENDERERS = {"static_mnist": static_mnist}


def render(name, results=HERE / "results") -> str:
    path = Path(results) / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"report: {path} is missing (the README has a section '{name}')")
    return RENDERERS[name](json.loads(path.read_text()))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 when a generated section differs from its file")
    p.add_argument("--readme", default=str(HERE.parent / "README.md"))
    p.add_argument("--results", default=str(HERE / "results"), help="folder of the result files")
    a = p.parse_args(argv)
    readme = Path(a.readme)
    text = readme.read_text()
    stale = []

    def fill(m):
        body = render(m["name"], a.results)
        if body != m["body"]:
            stale.append(m["name"])
        return m.group(1) + body + m.group(4)
    new = BLOCK.sub(fill, text)
    if a.check:
        if stale:
            print(f"report: README sections differ from their result files: {', '.join(stale)} "
                  "(run benchmarks/report.py)", file=sys.stderr)
            return 1
        print(f"report: {len(BLOCK.findall(text))} README section(s) match their result files")
        return 0
    readme.write_text(new)
    print(f"report: {len(stale)} section(s) rewritten ({', '.join(stale) or 'none changed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
