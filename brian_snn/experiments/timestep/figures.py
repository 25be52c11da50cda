"""Figures of the sweep and of the sensitivity analysis."""
from __future__ import annotations


import numpy as np


from .windows import BASE_WINDOW_MS, REST_RATIO


def timestep_figure(res):
    """The figure of :func:`plot_timestep` (a matplotlib ``Figure``, not saved).

    x-axis: the input window per test sample in ms, the table's ``infer ms`` column (the same
    for every variant; the simulated steps a sample takes, rest and boost-rule repeats
    included, are the table's ``steps/sample``).  Per model and N: test accuracy above, the
    latency and training-energy reductions per sample below, each panel labelled."""
    from matplotlib.figure import Figure
    rows = res["rows"]
    cfg = res.get("config", {})
    dt, rest = cfg.get("dt_ms", 0.5), cfg.get("rest_ratio", REST_RATIO)
    tol = res["selection"]["tolerance_pp"]
    models = list(dict.fromkeys(r["model"] for r in rows))
    sizes = sorted({r["n_exc"] for r in rows})
    # one column per size; per model a row of accuracy panels above a row of ratio panels
    fig = Figure(figsize=(5.2 * len(sizes), 4.2 * 2 * len(models)))
    axes = fig.subplots(2 * len(models), len(sizes), squeeze=False)
    styles = {"baseline": ("tab:blue", "o-"), "enhanced": ("tab:red", "s-"),
              "inference-only": ("tab:green", "^--"), "inference-only-enhanced": ("tab:purple", "v--")}
    xlabel = "input window per test sample, ms\n(table: 'infer ms'; simulated steps: 'steps/sample')"
    for model in models:
        for n in sizes:
            rs = [r for r in rows if (r["model"], r["n_exc"]) == (model, n)]
            ax, ax2 = axes[2 * models.index(model), sizes.index(n)], axes[2 * models.index(model) + 1, sizes.index(n)]
            if not rs:
                ax.set_visible(False)
                ax2.set_visible(False)
                continue
            ref = max((r for r in rs if r["variant"] == "baseline"), key=lambda r: r["infer_window_ms"])
            full = ref["infer_window_ms"]
            for v, (colr, st) in styles.items():
                pts = [r for r in rs if r["variant"] == v and r is not ref]
                if not pts:
                    continue
                pts = sorted(pts + [ref], key=lambda r: r["infer_window_ms"])   # the full window starts every variant
                x = [r["infer_window_ms"] for r in pts]
                ax.errorbar(x, [100 * r["accuracy"] for r in pts], yerr=[100 * r["accuracy_std"] for r in pts],
                            fmt=st, color=colr, label=v, ms=5, capsize=2)
                if v in ("baseline", "enhanced"):
                    q = [r.get("ratios", {}) for r in pts]
                    for key, alpha, what in (("latency", 1.0, "latency"), ("energy_train", 0.45, "training energy")):
                        y = [z.get(key) or np.nan for z in q]
                        at = f", {y[0]:.1f}× at {x[0]:g} ms" if np.isfinite(y[0]) else ""
                        ax2.plot(x, y, st, color=colr, alpha=alpha, label=f"{v}: {what}{at}")
            ax.axhline(100 * ref["accuracy"] - tol, color="grey", ls=":", lw=1.2,
                       label=f"tolerance: full window − {tol:g} pp")
            right = max(r["infer_window_ms"] for r in rs)
            for r in rs:
                if r.get("selected"):
                    x, y = r["infer_window_ms"], 100 * r["accuracy"]
                    ax.plot([x], [y], marker="*", ms=16, color="gold", mec="k", ls="none",
                            label="selected by the policy")
                    ax.annotate(f"selected: {r['variant']}, {x:g} ms, {y:.1f} %", (x, y), textcoords="offset points",
                                xytext=(-8, 9) if x == right else (8, 9), ha="right" if x == right else "left",
                                fontsize=9)
            ticks = sorted({r["infer_window_ms"] for r in rs})
            for a in (ax, ax2):
                a.set_xscale("log")
                a.set_xticks(ticks, [f"{t:g}" for t in ticks])
                a.minorticks_off()
                a.tick_params(labelsize=10)
                a.set_xlabel(xlabel, fontsize=10)
                a.grid(alpha=0.25)
            none = "" if any(r.get("selected") for r in rs) else "\nnothing feasible (table: 'excluded by')"
            ax.set_title(f"{model}, N = {n}: test accuracy{none}", fontsize=12)
            ax.set_ylabel("test accuracy (%)", fontsize=11)
            ax2.set_title(f"{model}, N = {n}: cost per sample ({res['target']})", fontsize=12)
            ax2.set_ylabel(f"× lower than at the full window ({full:g} ms)", fontsize=11)
            ax.legend(fontsize=8, loc="best")
            ax2.legend(fontsize=8, loc="upper right")
    _title_and_layout(fig, f"TopSpark sweep: accuracy and cost vs the input window (dt {dt:g} ms; each window "
                           f"is followed by a rest of window × {rest:.2f})", fontsize=13)
    return fig


def _title_and_layout(fig, text, fontsize=13):
    """A figure title wrapped to the figure's width (one column of panels is narrower than the
    title: unwrapped, it was cut at both edges) and the panels laid out below its lines."""
    import textwrap
    w_in, h_in = fig.get_size_inches()
    chars = max(20, int(0.92 * w_in * 72 / (0.6 * fontsize)))     # ~0.6 em per character, 8 % margin
    lines = textwrap.wrap(text, chars)
    fig.suptitle("\n".join(lines), fontsize=fontsize, y=1 - 4 / (h_in * 72), va="top")
    fig.tight_layout()                    # (tight_layout keeps the panels below the figure title)


def plot_timestep(res, path, force=True):
    """Accuracy and latency/energy reductions vs the input window in ms (:func:`timestep_figure`);
    ``force``: replace an existing file (the default inside the sweep's own folder)."""
    from ...files import save_figure
    return save_figure(timestep_figure(res), path, force, dpi=110)


def sensitivity_figure(res):
    """Bars: test accuracy per knob and exponent α at the short window, against the unenhanced
    and full-window accuracies (a matplotlib ``Figure``; exponents stored as JSON keys work too)."""
    from matplotlib.figure import Figure
    rows = res["rows"]
    keys = list(dict.fromkeys((r["model"], r["n_exc"]) for r in rows))
    fig = Figure(figsize=(6.5 * len(keys), 6.2))
    axes = fig.subplots(1, len(keys), squeeze=False)
    w0 = max((res.get("config") or {}).get("windows_ms") or [BASE_WINDOW_MS])     # the full window
    for ax, key in zip(axes[0], keys):
        rs = [r for r in rows if (r["model"], r["n_exc"]) == key]
        by = [{float(a): v for a, v in r["accuracy_by_alpha"].items()} for r in rs]
        alphas = sorted({a for b in by for a in b})
        x = np.arange(len(rs))
        width = 0.8 / max(len(alphas), 1)
        for i, a in enumerate(alphas):
            ax.bar(x + (i - (len(alphas) - 1) / 2) * width, [100 * b.get(a, np.nan) for b in by], width,
                   label=f"α = {a:g}")
        ax.axhline(100 * rs[0]["unenhanced"], color="k", ls="--", lw=1.2,
                   label=f"unenhanced at {res['window_ms']:g} ms: {100 * rs[0]['unenhanced']:.1f} %")
        ax.axhline(100 * rs[0]["full_window"], color="grey", ls=":", lw=1.2,
                   label=f"full window ({w0:g} ms): {100 * rs[0]['full_window']:.1f} %")
        ax.set_xticks(x, [r["knob"] for r in rs], rotation=30, ha="right", fontsize=10)
        ax.tick_params(axis="y", labelsize=10)
        ax.set_xlabel("knob (scaled one at a time)", fontsize=11)
        ax.set_ylabel("test accuracy (%)", fontsize=11)
        ax.set_title(f"{key[0]}, N = {key[1]}: knob × ({w0:g} ms / T)^α at T = {res['window_ms']:g} ms", fontsize=12)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4)   # below: no bar hidden
    fig.tight_layout()
    return fig


def plot_sensitivity(res, path, force=True):
    from ...files import save_figure
    return save_figure(sensitivity_figure(res), path, force, dpi=110, bbox_inches="tight")
