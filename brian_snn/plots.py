"""Figures people would rather look at than read (matplotlib, Agg backend, PNG files)."""
import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def receptive_fields(weights, path, assignments=None, title=None, max_neurons=400):
    """Input weights of each excitatory neuron as a 28x28 tile, in a square grid."""
    plt = _plt()
    w = np.asarray(weights)
    n = min(w.shape[1], max_neurons)
    side = int(np.sqrt(w.shape[0]))
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    canvas = np.full((rows * (side + 1), cols * (side + 1)), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        canvas[r * (side + 1):r * (side + 1) + side, c * (side + 1):c * (side + 1) + side] = \
            w[:, k].reshape(side, side)
    fig, ax = plt.subplots(figsize=(max(4, cols * 0.45), max(4, rows * 0.45)))
    im = ax.imshow(canvas, cmap="hot_r", interpolation="nearest")
    if assignments is not None and cols <= 20:
        for k in range(n):
            r, c = divmod(k, cols)
            ax.text(c * (side + 1) + 1, r * (side + 1) + 5, str(assignments[k]), color="tab:blue", fontsize=6)
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, fraction=0.03, label="weight")
    ax.set_title(title or f"receptive fields ({n} neurons)")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
