"""``hwmodel compare --plot``: energy and latency per sample per target, every bar labelled; GPU
estimates carry their interval as an error bar (low to high, named in the bar's label).

:func:`compare_figure` returns a matplotlib ``Figure`` (built without pyplot: no global state);
:func:`compare_chart` writes it as a PNG.
"""
from __future__ import annotations

import re
import textwrap

_PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))
LOG_SPAN = 30.0           # largest / smallest value above which an axis is logarithmic


def si(x, unit) -> str:
    """``0.000123, 'J'`` -> ``'123 µJ'`` (3 significant digits; values >= 1 keep the base unit)."""
    if x is None:
        return "n/a"
    if x == 0:
        return f"0 {unit}"
    for f, p in _PREFIXES:
        if abs(x) >= f * 0.9995:
            return f"{x / f:.3g} {p}{unit}"
    f, p = _PREFIXES[-1]
    return f"{x / f:.3g} {p}{unit}"


def _short(msg, n=100) -> str:
    """A failure message without target-file paths, cut to ``n`` characters."""
    m = re.sub(r"\(\S+\.toml: ([^)]*)\)", r"(\1)", str(msg or "cannot price these counts"))
    m = re.sub(r"^\S+\.toml: ", "", m)
    return m if len(m) <= n else m[:n - 1].rstrip() + "…"


def _panel(ax, names, vals, unit, quantity, why_missing, first=True, intervals=None):
    """Horizontal bars of ``vals`` (None: an 'n/a' note instead of a bar), each labelled; a row with an
    interval ``[low, high]`` in ``intervals`` (GPU targets) gets an error bar from low to high and its
    label names the range.  Returns whether the axis is logarithmic."""
    from matplotlib.transforms import blended_transform_factory
    intervals = intervals or [None] * len(vals)
    ivs = [iv if v is not None and iv is not None else None for v, iv in zip(vals, intervals)]
    have = [v for v in vals if v is not None and v > 0]
    ends = [x for iv in ivs if iv for x in iv if x > 0]
    log = bool(have) and max(have) / min(have) > LOG_SPAN
    y = list(range(len(names)))
    ax.barh([i for i, v in zip(y, vals) if v is not None], [v for v in vals if v is not None],
            color="tab:blue", height=0.7)
    rows = [i for i, iv in enumerate(ivs) if iv]
    if rows:                                          # the interval of a GPU estimate, as an error bar
        ax.errorbar([vals[i] for i in rows], rows, xerr=[[max(vals[i] - ivs[i][0], 0.0) for i in rows],
                                                         [max(ivs[i][1] - vals[i], 0.0) for i in rows]],
                    fmt="none", ecolor="black", elinewidth=1.2, capsize=5, label="interval (GPU estimates)")
    if log:
        ax.set_xscale("log")
        lo, hi = min(have + ends), max(have + ends)
        ax.set_xlim(lo / 3, hi * 30)                  # room for the labels right of the bars
    elif have:
        ax.set_xlim(0, max(have + ends) * (2.0 if rows else 1.45))   # a range label needs more room
    edge = blended_transform_factory(ax.transAxes, ax.transData)     # x: axes fraction, y: row
    for i, v in zip(y, vals):
        if v is None:
            ax.text(0.01, i, textwrap.fill(f"n/a: {why_missing[i]}", 62, subsequent_indent="  "), va="center",
                    ha="left", fontsize=8.5, color="tab:red", style="italic", transform=edge)
        elif log and not v > 0:
            ax.text(0.01, i, si(v, unit), va="center", ha="left", fontsize=10, transform=edge)
        elif ivs[i]:
            ax.text(max(v, ivs[i][1]), i, f" {si(v, unit)} ({si(ivs[i][0], unit)} – {si(ivs[i][1], unit)})",
                    va="center", ha="left", fontsize=10)
        else:
            ax.text(v, i, f" {si(v, unit)}", va="center", ha="left", fontsize=10)
    if first:                                         # (shared y: set and invert once)
        ax.set_yticks(y, names, fontsize=10)
        ax.set_ylim(len(names) - 0.5, -0.5)           # first row on top, n/a rows included
    ax.set_xlabel(f"{quantity} ({unit}{', log scale' if log else ''})", fontsize=11)
    ax.tick_params(axis="x", labelsize=10)
    ax.grid(axis="x", alpha=0.3)
    return log


def compare_figure(rows, counts_name=None):
    """``rows``: ``(target ref, Estimate or None, failure message)`` as ``hwmodel compare`` makes
    them.  Two panels, energy and latency per sample (total energy when the counts have no
    samples), values written on every bar with units, targets that could not price the counts
    (or have no latency model) marked n/a with the reason; the title names the phase."""
    from matplotlib.figure import Figure
    ok = [e for _, e, _ in rows if e is not None]
    per = bool(ok) and all(e.per_sample["energy_j"] is not None for e in ok)
    phase = ok[0].phase if ok else "unknown"
    samples = ok[0].per_sample.get("samples") if ok else None
    names = [r if e is None else f"{r} [{e.evidence or '?'}]" for r, e, _ in rows]
    energy = [None if e is None else (e.per_sample["energy_j"] if per else e.energy_j["total"]) for _, e, _ in rows]
    latency = [None if e is None else (e.per_sample["latency_s"] if per else e.latency_s) for _, e, _ in rows]
    e_iv = [None if e is None else (e.per_sample.get("energy_interval_j") if per else e.energy_j.get("interval"))
            for _, e, _ in rows]
    l_iv = [None if e is None else (e.per_sample.get("latency_interval_s") if per else e.latency_interval_s)
            for _, e, _ in rows]
    failed = [_short(m) for _, e, m in rows]
    no_lat = ["cannot price these counts (reason on the left)" if e is None else "this target has no latency model"
              for _, e, _ in rows]
    fig = Figure(figsize=(14, 1.6 + 0.42 * len(rows)))
    ax_e, ax_l = fig.subplots(1, 2, sharey=True)
    what = "per sample" if per else "in total"
    _panel(ax_e, names, energy, "J", f"energy {what}", failed, intervals=e_iv)
    _panel(ax_l, names, latency, "s", f"latency {what}", no_lat, first=False, intervals=l_iv)
    ax_e.set_title(f"energy {what}", fontsize=12)
    ax_l.set_title(f"latency {what}", fontsize=12)
    ax_l.tick_params(axis="y", labelleft=False)
    src = f" of {counts_name}" if counts_name else ""
    fig.suptitle(f"hwmodel compare: {phase} phase{src}"
                 + (f", {samples} samples" if samples else "")
                 + " (target [evidence grade]; n/a = cannot price / not modelled"
                + ("; error bars: the GPU model's interval" if any(e_iv + l_iv) else "") + ")", fontsize=13)
    fig.tight_layout()
    return fig


def compare_chart(rows, path, counts_name=None, force=False, inputs=()):
    """Write :func:`compare_figure` as a PNG (under the rule of :mod:`hwmodel.files`); returns ``path``."""
    from .files import save_figure
    return save_figure(compare_figure(rows, counts_name), path, force, inputs=inputs, dpi=110)

