"""How far the GPU model (hwmodel.gpu) can be trusted: predicted vs published measured times,
grouped by regime and device family, on rows it was fitted on (leave-one-sweep-out and
leave-one-device-out) and on held-out rows it never saw (with the coverage of the intervals an
estimate prints).  ``record()`` is what ``hwmodel validate --json`` prints and what
benchmarks/results/gpu_validation.json keeps; ``text``/``markdown`` render it; ``plot_sweeps``
draws predicted against measured time over network size for every sweep.
"""
from __future__ import annotations

import math

import numpy as np

from . import gpu


def time_rows() -> list[dict]:
    """Every timed row.  Fitted rows: the error when refitted without the row's sweep (``error``)
    and without its device (``lodo_error``); held-out rows: the full fit's error (it never saw
    them), its interval and whether the measurement lies inside.  Error = predicted / measured − 1."""
    cal, p = gpu.calibration_set(), gpu.fitted()
    loso, lodo = gpu.loo_residuals("sweep"), gpu.loo_residuals("device")
    fit_devices = {r["device"] for r in gpu.timed_runs("fit")}
    rows = []
    for r in gpu.timed_runs():
        m = r["time_s"]
        pred = gpu.predict(p, r, "time_s", cal["devices"])
        reg = gpu.run_regime(p, r, cal["devices"])
        held = r.get("split", "fit") == "heldout"
        row = {"id": r["id"], "device": r["device"], "family": cal["devices"][r["device"]]["family"],
               "simulator": r["simulator"], "sweep": r.get("sweep"), "split": "heldout" if held else "fit",
               "neurons": r["neurons"], "steps": r["steps"], "batch": r.get("batch", 1),
               "kernels_per_step": r["kernels_per_step"],
               "synaptic_events": r.get("synaptic_events"), "regime": reg, "measured_s": m, "predicted_s": pred,
               "source": r["source"], "where": r["where"]}
        if held:
            lo, hi = gpu.interval_factors(reg, r["device"] in fit_devices)
            row |= {"error": pred / m - 1, "interval_s": [pred * lo, pred * hi],
                    "covered": pred * lo <= m <= pred * hi}
        else:
            row |= {"error": math.exp(-loso[r["id"]]) - 1, "lodo_error": math.exp(-lodo[r["id"]]) - 1}
        rows.append(row)
    return rows


def power_rows() -> list[dict]:
    """Measured mean power of every calibration row with a power reading vs the model's, in the
    row's scope (``power_scope``).  The fitted rows' readings are also the power model's data
    (in-sample); a held-out row's are not.  A row with a time also gets its energy error (the
    measured power over the measured time against the predicted power over the predicted time)."""
    cal, p = gpu.calibration_set(), gpu.fitted()
    out = []
    for r in cal["runs"]:
        if "mean_power_w" not in r or r.get("energy_only") or r.get("excluded"):
            continue
        dev, bw, l2, fp64 = gpu.device_of(r, cal["devices"])
        w = gpu.workload_of(r)
        parts = gpu.time_parts(gpu.device_prices(p, dev["family"], w.simulator, w.generation), bw, l2, w, fp64)
        scope = r.get("power_scope", "wall").split()[0]     # (a scope name, then its description)
        if dev["family"] == "jetson":
            pw = {k: v[:3] for k, v in gpu.jetson_power(r["device"], scope, dev.get("tdp_w")).items()}
        else:
            d = gpu.desktop_power(dev["tdp_w"])
            pw = {"idle": d["idle"][:3], "light": d["idle"][:3], "heavy": d["heavy"][:3]}
        pred = gpu.mean_power(pw, gpu.work_share(parts))
        row = {"id": r["id"], "device": r["device"], "scope": scope, "measured_w": r["mean_power_w"],
               "predicted_w": pred, "error": pred / r["mean_power_w"] - 1,
               "in_sample": r.get("split", "fit") != "heldout"}
        if "time_s" in r and not r.get("exclude_total"):
            row["energy_error"] = pred * parts["total"] / (r["mean_power_w"] * r["time_s"]) - 1
        out.append(row)
    return out


def summary(rows: list[dict]) -> dict:
    """Median and worst |error| by split, regime and family; held-out interval coverage."""
    out = {}
    for split in ("fit", "heldout"):
        sel = [r for r in rows if r["split"] == split]
        groups = {"all": sel}
        groups |= {f"regime:{g}": [r for r in sel if r["regime"] == g] for g in gpu.REGIMES}
        groups |= {f"family:{f}": [r for r in sel if r["family"] == f] for f in gpu.FAMILIES}
        if any(r["batch"] > 1 for r in sel):      # batched runs (copies in parallel) apart from batch 1
            groups |= {"batch:1": [r for r in sel if r["batch"] == 1],
                       "family:jetson, batch 1": [r for r in sel if r["family"] == "jetson" and r["batch"] == 1],
                       "batch:>1": [r for r in sel if r["batch"] > 1]}
        out[split] = {}
        for name, g in groups.items():
            if not g:
                continue
            e = sorted(abs(r["error"]) for r in g)
            d = {"rows": len(g), "median_abs_error": float(np.median(e)), "worst_abs_error": e[-1]}
            if split == "heldout":
                d["coverage"] = sum(r["covered"] for r in g) / len(g)
            else:
                d["median_abs_lodo_error"] = float(np.median([abs(r["lodo_error"]) for r in g]))
            out[split][name] = d
    return out


def intervals() -> dict:
    """The interval factors an estimate prints, by regime, for a device with rows of its own
    (leave-one-sweep-out) and one without (leave-one-device-out)."""
    return {reg: {"own_device": list(gpu.interval_factors(reg, True)),
                  "transferred": list(gpu.interval_factors(reg, False))} for reg in gpu.REGIMES}


def record() -> dict:
    rows = time_rows()
    return {"schema": "hwmodel-gpu-validation/1", "parameters": gpu.fitted(), "intervals": intervals(), "summary": summary(rows), "time": rows, "power": power_rows(),
            "heldout_rule": gpu.calibration_set().get("heldout_rule")}


def _pct(x):
    return f"{100 * x:+.0f} %"


def _summary_lines(s: dict) -> list[str]:
    out = []
    for split, label in (("heldout", "held out (never fitted)"), ("fit", "fitted rows, leave-one-sweep-out")):
        for name, d in s.get(split, {}).items():
            extra = (f", interval coverage {100 * d['coverage']:.0f} %" if "coverage" in d else
                     f", leave-one-device-out median {100 * d['median_abs_lodo_error']:.0f} %")
            out.append(f"{label:34s} {name:26s} {d['rows']:3d} rows: median |error| "
                       f"{100 * d['median_abs_error']:.0f} %, worst {100 * d['worst_abs_error']:.0f} %{extra}")
    return out


def _ordered(rows):
    return sorted(rows, key=lambda r: (r["split"] != "heldout", gpu.REGIMES.index(r["regime"]), r["family"],
                                       r["sweep"] or r["id"], r["neurons"]))


def text(rec: dict) -> list[str]:
    head = ["run", "split", "regime", "device", "N", "measured s", "predicted s", "error", "device-out error"]
    body = [[r["id"], r["split"], r["regime"], r["device"], f"{r['neurons']:,}", f"{r['measured_s']:.4g}",
             f"{r['predicted_s']:.4g}", _pct(r["error"]), _pct(r["lodo_error"]) if "lodo_error" in r else
             ("in interval" if r["covered"] else "OUTSIDE interval")] for r in _ordered(rec["time"])]
    w = [max(len(x[k]) for x in [head] + body) for k in range(len(head))]
    out = ["  ".join(c.ljust(n) if k < 4 else c.rjust(n) for k, (c, n) in enumerate(zip(line, w)))
           for line in [head] + body]
    out += [""] + _summary_lines(rec["summary"])
    out += [f"interval (range of the leave-out errors) {reg}: own device x"
            f"{v['own_device'][0]:.2f}..x{v['own_device'][1]:.2f}, transferred x{v['transferred'][0]:.2f}.."
            f"x{v['transferred'][1]:.2f}" for reg, v in rec["intervals"].items()]
    out += [f"power {p['id']} ({p['device']}, {p['scope']}, {'in-sample' if p['in_sample'] else 'HELD OUT'}): "
            f"measured {p['measured_w']:.4g} W, model {p['predicted_w']:.4g} W ({_pct(p['error'])})"
            + (f"; energy {_pct(p['energy_error'])}" if "energy_error" in p else "") for p in rec["power"]]
    return out


def markdown(rec: dict) -> list[str]:
    """Summary by regime and family, then the held-out rows (the README's table)."""
    out = ["| rows | regime / family | n | median \\|error\\| | worst \\|error\\| | interval coverage / device-out median |",
           "|---|---|---|---|---|---|"]
    for split, label in (("heldout", "held out"), ("fit", "fitted (sweep-out)")):
        for name, d in rec["summary"].get(split, {}).items():
            last = (f"{100 * d['coverage']:.0f} %" if "coverage" in d else f"{100 * d['median_abs_lodo_error']:.0f} %")
            out.append(f"| {label} | {name.replace(':', ' ')} | {d['rows']} | {100 * d['median_abs_error']:.0f} % | "
                       f"{100 * d['worst_abs_error']:.0f} % | {last} |")
    out += ["", "| held-out run | device | N | regime | measured s | predicted s | error | in interval |",
            "|---|---|---|---|---|---|---|---|"]
    for r in _ordered([r for r in rec["time"] if r["split"] == "heldout"]):
        out.append(f"| {r['id']} | {r['device']} | {r['neurons']:,} | {r['regime']} | {r['measured_s']:.4g} | "
                   f"{r['predicted_s']:.4g} | {_pct(r['error'])} | {'yes' if r['covered'] else 'no'} |")
    held = [p for p in rec["power"] if not p["in_sample"]]
    if held:
        out += ["", "| held-out power | device | scope | measured W | predicted W | power error | energy error |",
                "|---|---|---|---|---|---|---|"]
        out += [f"| {p['id']} | {p['device']} | {p['scope']} | {p['measured_w']:.3g} | {p['predicted_w']:.3g} | "
                f"{_pct(p['error'])} | {_pct(p['energy_error']) if 'energy_error' in p else '--'} |" for p in held]
    out += ["", "| interval (by regime) | own device | transferred device |", "|---|---|---|"]
    out += [f"| {reg} | x{v['own_device'][0]:.2f} .. x{v['own_device'][1]:.2f} | x{v['transferred'][0]:.2f} .. "
            f"x{v['transferred'][1]:.2f} |" for reg, v in rec["intervals"].items()]
    return out


def plot_sweeps(rec: dict, path: str) -> None:
    """Measured (points) and predicted (lines) time over neurons, one panel per sweep of three or
    more sizes; held-out sweeps with the interval an estimate prints."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = {}
    for r in rec["time"]:
        if r["sweep"]:
            sweeps.setdefault(r["sweep"], []).append(r)
    sweeps = {k: v for k, v in sweeps.items() if len(v) >= 3}        # a shape needs three sizes
    names = sorted(sweeps, key=lambda k: (sweeps[k][0]["split"] != "heldout", k))
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        g = sorted(sweeps[name], key=lambda r: r["neurons"])
        n = [r["neurons"] for r in g]
        ax.loglog(n, [r["measured_s"] for r in g], "o", color="k", label="measured")
        ax.loglog(n, [r["predicted_s"] for r in g], "-", color="C0", label="model")
        held = g[0]["split"] == "heldout"
        if held:
            ax.fill_between(n, [r["interval_s"][0] for r in g], [r["interval_s"][1] for r in g], color="C0",
                            alpha=0.2, label="printed interval")
        ax.set_title(f"{name}\n{g[0]['device']}, {'HELD OUT' if held else 'fitted'}", fontsize=9)
        ax.set_xlabel("neurons")
        if n[-1] < 20 * n[0]:          # a narrow sweep: its own sizes as ticks (log minor labels would overlap)
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xticks(n, [f"{x:,}" for x in n], fontsize=7)
        ax.set_ylabel("time (s)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("hwmodel GPU model vs published size sweeps (time of the whole run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
