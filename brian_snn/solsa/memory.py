"""Learning memory of SOLSA, BPTT and the simplified online rule: analytical counts and measured peaks.

"Learning memory" = what a method keeps, beyond the weights and the optimiser state (which all methods
share), in order to compute its parameter updates, per batch:

* BPTT (naive) stores the history of every layer: F (N_{l-1}), V and O (N_l each) at all T steps.
* BPTT (lean, :mod:`.bptt_lean`) stores V (N_l) at all T steps, overwritten by dE/dV, and the hidden
  layers' spikes as bits; the filters are recomputed.  The same exact gradient: the fair baseline.
* SOLSA stores the current state F, V, O, eps_prev, one eligibility trace per synapse, and (adaptive
  filter) q, r (N_{l-1}) and h, g (N_l): constant in T, quadratic in width.
* The simplified rule stores V, O and one presynaptic trace per input channel: constant in T, linear
  in width.

The measured numbers are the ``tracemalloc`` peak of one learning pass of the numpy engines (forward,
gradient and an in-place parameter change), started after the weights and data exist.  They include what
the analytic count leaves out (temporaries, BPTT's reverse-pass arrays, one gradient buffer).
"""
from __future__ import annotations

import math
import tracemalloc

import numpy as np

from .config import ModelParams
from .errors import SolsaError, check_int
from .bptt_lean import bptt_lean
from .reference import Network, OnlineLearner, bptt

MEMORY_METHODS = ("solsa", "bptt", "bptt-lean", "online-simple")


def _pairs(sizes):
    sizes = [check_int("layer size", n) for n in sizes]
    if len(sizes) < 2:
        raise SolsaError(f"need at least input and output sizes, got {sizes}")
    return list(zip(sizes[:-1], sizes[1:]))


def learning_floats(method: str, sizes, T: int, adaptive_filter: bool = True) -> dict:
    """Number of floats per sample, by component, that ``method`` keeps for learning."""
    T = check_int("T", T)
    pairs = _pairs(sizes)
    if method == "bptt":
        return {"stored F (T x N_in)": T * sum(m for m, _ in pairs),
                "stored V, O (2 T x N_out)": 2 * T * sum(n for _, n in pairs)}
    if method == "bptt-lean":
        return {"stored V, then dE/dV (T x N_out)": T * sum(n for _, n in pairs)}
    if method == "solsa":
        parts = {"traces e (N_in x N_out)": sum(m * n for m, n in pairs),
                 "state F, V, O, eps_prev": sum(m + 3 * n for m, n in pairs)}
        if adaptive_filter:
            parts["filter traces q, r, h, g"] = sum(2 * m + 2 * n for m, n in pairs)
        return parts
    if method == "online-simple":
        return {"presynaptic traces (N_in)": sum(m for m, _ in pairs),
                "state V, O": sum(2 * n for _, n in pairs)}
    raise SolsaError(f"unknown method {method!r} (choose from {', '.join(MEMORY_METHODS)})")


def packed_bytes(method: str, sizes, T: int) -> int:
    """Bytes per sample kept as bits: lean BPTT's hidden spikes (T rows of ceil(N_l / 8) bytes)."""
    if method != "bptt-lean":
        return 0
    return T * sum((n + 7) // 8 for _, n in _pairs(sizes)[:-1])


def learning_bytes(method: str, sizes, T: int, batch: int = 1, dtype_bytes: int = 8,
                   adaptive_filter: bool = True) -> int:
    floats = sum(learning_floats(method, sizes, T, adaptive_filter).values())
    return int((floats * dtype_bytes + packed_bytes(method, sizes, T)) * batch)


def crossover_T(sizes, adaptive_filter: bool = True, baseline: str = "bptt") -> int:
    """Smallest window T at which SOLSA's learning memory is below ``baseline``'s (analytic)."""
    solsa = learning_bytes("solsa", sizes, 1, adaptive_filter=adaptive_filter)
    per_step = learning_bytes(baseline, sizes, 1)          # BPTT's memory is T times its per-step part
    return int(math.floor(solsa / per_step)) + 1


def crossover_width(n_in: int, n_out: int, T: int, layers: int = 2, adaptive_filter: bool = True,
                    max_width: int = 4096) -> int | None:
    """Smallest hidden width H (``layers`` hidden layers of H) at which SOLSA stops winning at window T
    (None if it wins up to ``max_width``: with one hidden layer the traces grow only linearly in H)."""
    for H in range(1, max_width + 1):
        sizes = [n_in] + [H] * layers + [n_out]
        if (sum(learning_floats("solsa", sizes, T, adaptive_filter).values())
                >= sum(learning_floats("bptt", sizes, T).values())):
            return H
    return None


# ----------------------------------------------------------------------------- measured
def measure_peak(method: str, sizes, T: int, batch: int = 1, p: ModelParams | None = None,
                 seed: int = 0, adaptive_filter: bool = True) -> int:
    """tracemalloc peak (bytes) of one learning pass of ``method`` over one batch of length T."""
    p = p or ModelParams()
    T, batch = check_int("T", T), check_int("batch", batch)
    rng = np.random.default_rng(seed)
    if method == "online-simple":
        net = Network.init(sizes, p, rng, 2.0, alpha=0.0, beta=1.0)
    elif method in ("solsa", "bptt", "bptt-lean"):
        net = Network.init(sizes, p, rng, 2.0)
    else:
        raise SolsaError(f"unknown method {method!r} (choose from {', '.join(MEMORY_METHODS)})")
    x = (rng.random((batch, T, sizes[0])) < 0.2).astype(float)
    y = np.zeros((batch, T, sizes[-1]))
    y[:, :, 0] = 1.0
    lr = 1e-6
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        if method in ("bptt", "bptt-lean"):
            g = (bptt if method == "bptt" else bptt_lean)(net, p, x, y)
            for l, w in enumerate(net.W):
                g.W[l] *= lr            # in place: no temporary of the size of W
                w -= g.W[l]
            del g
        else:
            rule = "solsa" if method == "solsa" else "simple"
            learner = OnlineLearner(net, p, batch, rule, adaptive_filter)
            for t in range(T):
                _, gW, _, _ = learner.step(x[:, t], y[:, t])
                for l, w in enumerate(net.W):
                    gW[l] *= lr
                    w -= gW[l]
                del gW
            del learner
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return int(peak)


def measured_crossover_T(sizes, Ts, batch: int = 1, seed: int = 0) -> float | None:
    """First T in ``Ts`` (linearly interpolated between grid points) where measured SOLSA < BPTT."""
    Ts = sorted(int(t) for t in Ts)
    diff = [measure_peak("solsa", sizes, T, batch, seed=seed) - measure_peak("bptt", sizes, T, batch, seed=seed)
            for T in Ts]
    for k, d in enumerate(diff):
        if d < 0:
            if k == 0:
                return float(Ts[0])
            t0, t1, d0 = Ts[k - 1], Ts[k], diff[k - 1]
            return t0 + (t1 - t0) * d0 / (d0 - d)
    return None


# ----------------------------------------------------------------------------- sweeps + plot
def sweep(sizes_fn, values, T_fn, measure: bool = True, batch: int = 1, dtype_bytes: int = 8) -> list:
    """Rows {value, method, analytic_bytes, measured_bytes} for each value of the swept quantity."""
    rows = []
    for v in values:
        sizes, T = sizes_fn(v), T_fn(v)
        for m in MEMORY_METHODS:
            rows.append(dict(value=v, method=m, sizes=list(sizes), T=T,
                             analytic_bytes=learning_bytes(m, sizes, T, batch, dtype_bytes),
                             measured_bytes=measure_peak(m, sizes, T, batch) if measure else None))
    return rows


def memory_report(n_in: int = 6, hidden: int = 100, n_out: int = 4, layers: int = 2,
                  Ts=(5, 10, 20, 30, 50, 75, 100, 200, 400), widths=(16, 32, 64, 100, 128, 256),
                  T_fixed: int = 30, measure: bool = True) -> dict:
    """Sweeps over sequence length (fixed width) and width (fixed T), with the crossovers."""
    def sizes_w(H):
        return [n_in] + [H] * layers + [n_out]
    base = sizes_w(hidden)
    over_T = sweep(lambda T: base, Ts, lambda T: T, measure)
    over_w = sweep(sizes_w, widths, lambda H: T_fixed, measure)
    report = dict(sizes=base, T_fixed=T_fixed, over_T=over_T, over_width=over_w,
                  crossover_T_analytic=crossover_T(base),
                  crossover_T_analytic_lean=crossover_T(base, baseline="bptt-lean"),
                  crossover_width_analytic=crossover_width(n_in, n_out, T_fixed, layers))
    if measure:
        report["crossover_T_measured"] = _measured_cross(over_T)
        report["crossover_T_measured_lean"] = _measured_cross(over_T, baseline="bptt-lean")
        report["crossover_width_measured"] = _measured_cross(over_w, rising=True)
    return report


def _measured_cross(rows, rising: bool = False, baseline: str = "bptt"):
    """Interpolated value where measured SOLSA - ``baseline`` changes sign (falls below 0, or rises above 0)."""
    vals = sorted({r["value"] for r in rows})
    get = {(r["value"], r["method"]): r["measured_bytes"] for r in rows}
    diff = [get[(v, "solsa")] - get[(v, baseline)] for v in vals]
    for k in range(1, len(vals)):
        a, b = diff[k - 1], diff[k]
        if (not rising and a >= 0 > b) or (rising and a < 0 <= b):
            return vals[k - 1] + (vals[k] - vals[k - 1]) * a / (a - b)
    return None


def plot_report(report: dict, path, force=False) -> None:
    # Figure without pyplot: no global backend state is touched
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter
    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2)
    colors = {"solsa": "C0", "bptt": "C3", "bptt-lean": "C1", "online-simple": "C2"}
    for ax, key, xlabel, cross in ((axes[0], "over_T", "sequence length T (steps)", "T"),
                                   (axes[1], "over_width", "hidden width H", "width")):
        rows = report[key]
        for m in MEMORY_METHODS:
            rs = [r for r in rows if r["method"] == m]
            xs = [r["value"] for r in rs]
            ax.plot(xs, [r["analytic_bytes"] / 1024 for r in rs], "-", color=colors[m], label=f"{m} (analytic)")
            if rs and rs[0]["measured_bytes"] is not None:
                ax.plot(xs, [r["measured_bytes"] / 1024 for r in rs], "o--", color=colors[m], ms=4,
                        label=f"{m} (tracemalloc)")
        ana = report.get(f"crossover_{cross}_analytic")
        if ana:
            ax.axvline(ana, color="grey", lw=0.8, ls=":")
            ax.text(ana, ax.get_ylim()[1], f" crossover {ana}", va="top", fontsize=8, color="grey")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({r["value"] for r in rows})
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(v) for v in ticks], fontsize=7)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel("learning memory per sample (KiB)")
        ax.grid(alpha=0.3, which="both")
    s = report["sizes"]
    axes[0].set_title(f"layers {s}, float64")
    axes[1].set_title(f"[{s[0]}, H, H, {s[-1]}], T = {report['T_fixed']}")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    from ..files import save_figure
    save_figure(fig, path, force, dpi=120)
