"""Figures people would rather look at than read (matplotlib, Agg backend, PNG files).

Each figure has a ``*_figure`` function that returns a matplotlib ``Figure`` (built without
pyplot, so no global state) and a function that writes it as a PNG; tests read the texts of the
figure.
"""
import numpy as np

CLASS_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                 "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def receptive_fields_figure(weights, assignments=None, title=None, max_neurons=400, model=None,
                            accuracy=None, n_test=None, dataset=None):
    """Input weights of each excitatory neuron as a square tile (28x28 for MNIST) in a grid.

    With ``assignments`` (the class each neuron votes for, -1 = never fired while labelling)
    the tiles are sorted by class and each is labelled with it.  The title names the model, N
    and, when given, the test accuracy (a fraction) on ``n_test`` samples of ``dataset``;
    ``title`` replaces the first line."""
    from matplotlib.figure import Figure
    w = np.asarray(weights, dtype=float)
    n_all = w.shape[1]
    n = min(n_all, max_neurons)
    side = int(round(np.sqrt(w.shape[0])))
    if side * side != w.shape[0]:
        raise ValueError(f"receptive fields: {w.shape[0]} inputs is not a square image")
    order = np.arange(n)
    labels = None
    if assignments is not None:
        a = np.asarray(assignments).astype(int)[:n]
        order = np.array(sorted(range(n), key=lambda k: (a[k] < 0, a[k], k)))   # classes 0..9, unassigned last
        labels = a[order]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    gap = 2
    canvas = np.full((rows * (side + gap) - gap, cols * (side + gap) - gap), np.nan)
    for slot, k in enumerate(order):
        r, c = divmod(slot, cols)
        canvas[r * (side + gap):r * (side + gap) + side, c * (side + gap):c * (side + gap) + side] = \
            w[:, k].reshape(side, side)
    tile_in = 0.85 if cols <= 10 else 0.6            # inches per tile: labels stay readable
    fig = Figure(figsize=(cols * tile_in + 1.6, rows * tile_in + 1.3))
    ax = fig.subplots()
    vmax = float(np.nanmax(canvas)) if np.isfinite(canvas).any() else 1.0
    im = ax.imshow(np.ma.masked_invalid(canvas), cmap="gray_r", vmin=0.0, vmax=vmax or 1.0,
                   interpolation="nearest")
    ax.set_facecolor("white")
    if labels is not None:
        for slot, lab in enumerate(labels):
            r, c = divmod(slot, cols)
            ax.text(c * (side + gap) + 0.5, r * (side + gap) + 0.5, "none" if lab < 0 else str(lab),
                    ha="left", va="top", fontsize=9, fontweight="bold",
                    color="0.4" if lab < 0 else CLASS_COLOURS[lab % 10],
                    bbox={"boxstyle": "square,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.85})
    ax.set_axis_off()
    cb = fig.colorbar(im, ax=ax, fraction=0.035, pad=0.02)
    cb.set_label("input → excitatory weight w (dimensionless: ge += w per input spike)", fontsize=10)
    cb.ax.tick_params(labelsize=10)
    head = title or (f"{model + ', ' if model else ''}N = {n_all} excitatory neurons: receptive fields")
    lines = [head]
    if accuracy is not None:
        lines.append(f"test accuracy {100 * accuracy:.1f} %" + (f" on {n_test} test samples" if n_test else "")
                     + (f" ({dataset})" if dataset else ""))
    shown = f"{n} of {n_all} neurons" if n < n_all else f"{n} neurons"
    lines.append(f"{shown}, {side}×{side} input weights each"
                 + ("; label = assigned class, tiles sorted by it ('none' = never fired while labelling)"
                    if labels is not None else ""))
    ax.set_title("\n".join(lines[:-1]), fontsize=13)
    ax.text(0.5, -0.01, lines[-1], transform=ax.transAxes, ha="center", va="top", fontsize=10)
    fig.tight_layout()
    return fig


def receptive_fields(weights, path, assignments=None, title=None, max_neurons=400, model=None, accuracy=None,
                     n_test=None, dataset=None, force=False):
    """Write :func:`receptive_fields_figure` as a PNG (the one writer rule: a new file or
    ``force``); returns ``path``."""
    from .files import save_figure
    fig = receptive_fields_figure(weights, assignments, title, max_neurons, model, accuracy, n_test, dataset)
    return save_figure(fig, path, force, dpi=110, bbox_inches="tight")


def receptive_fields_from_results(results, path, max_neurons=400, force=False):
    """Receptive fields of a results dict (``train_and_evaluate`` / ``store.read_results``):
    model, N, test accuracy, test sample count and data set taken from it."""
    cfg, sc, arr = results.get("config") or {}, results.get("scalars") or {}, results["arrays"]
    return receptive_fields(arr["weights"], path, arr.get("assignments"), max_neurons=max_neurons,
                            model=cfg.get("model"), accuracy=sc.get("accuracy"), n_test=sc.get("n_test"),
                            dataset=(cfg.get("data") or {}).get("dataset"), force=force)
