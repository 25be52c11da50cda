"""Tasks generated offline (seeded) plus MNIST row by row; the UEA loader is in :mod:`.uea`.

Every task is a :class:`Task`: inputs ``x[n, T, C]`` fed to layer 1 as its ``s`` (spikes or analog
values), labels (classification, spike-count readout) or target sequences (regression, membrane readout).
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SolsaError, check_finite, check_int

TASKS = ("patterns", "sines", "mnist-rows", "uea")


@dataclass
class Task:
    name: str
    kind: str                      # "classification" | "regression"
    x_train: np.ndarray
    y_train: np.ndarray            # labels [n] or targets [n, T, K]
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 0             # classification only
    info: dict = field(default_factory=dict)
    x_val: np.ndarray | None = None  # a validation set drawn by the generator (make_patterns' n_val)
    y_val: np.ndarray | None = None

    @property
    def readout(self) -> str:
        return "spikes" if self.kind == "classification" else "membrane"

    @property
    def n_inputs(self) -> int:
        return int(self.x_train.shape[2])

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.kind == "classification" else int(self.y_train.shape[2])

    @property
    def T(self) -> int:
        return int(self.x_train.shape[1])

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "Task":
        """First ``n`` samples of each split (the generators and loaders already shuffle)."""
        nt = len(self.x_train) if n_train is None else min(int(n_train), len(self.x_train))
        ne = len(self.x_test) if n_test is None else min(int(n_test), len(self.x_test))
        return Task(self.name, self.kind, self.x_train[:nt], self.y_train[:nt], self.x_test[:ne],
                    self.y_test[:ne], self.n_classes, dict(self.info, n_train=nt, n_test=ne), self.x_val, self.y_val)


#: environment variable naming a data root with ``uea/<Set>/`` and ``mnist/`` folders; used before the
#: packaged data (an explicit ``data_dir`` comes first)
DATA_ENV = "BRIAN_SNN_SHARED_DATA"
MNIST8K_FILES = ("mnist8k-images-idx3-ubyte.gz", "mnist8k-labels-idx1-ubyte.gz")


def env_data_dir(*parts) -> Path | None:
    """``$BRIAN_SNN_SHARED_DATA/<parts>`` when that variable is set (and not empty), else None."""
    base = os.environ.get(DATA_ENV)
    return Path(base).joinpath(*parts) if base else None


# ----------------------------------------------------------------------------- spike patterns
def make_patterns(n_train: int = 200, n_test: int = 200, classes: int = 4, channels: int = 20,
                  T: int = 40, spikes_per_channel: int = 2, jitter: int = 2, p_drop: float = 0.2,
                  p_noise: float = 0.02, seed: int = 0, n_val: int = 0) -> Task:
    """Rate-matched spatiotemporal patterns: every channel fires ``spikes_per_channel`` times in every
    class, so only spike *timing* carries the label.  Each sample shifts the pattern's spikes by up to
    ``jitter`` steps, deletes each with ``p_drop`` and adds noise spikes with ``p_noise`` per bin.
    Difficulty grows with classes, jitter, p_drop and p_noise.  ``n_val`` > 0 draws that many more
    samples of the same classes after the test set, as ``x_val`` / ``y_val`` (train and test do not
    change with ``n_val``)."""
    classes = check_int("classes", classes, low=2)
    channels = check_int("channels", channels)
    T = check_int("T", T, low=2)
    k = check_int("spikes_per_channel", spikes_per_channel)
    if k > T:
        raise SolsaError(f"spikes_per_channel ({k}) must be <= T ({T})")
    jitter = check_int("jitter", jitter, low=0)
    p_drop = check_finite("p_drop", p_drop, low=0.0, high=1.0)
    p_noise = check_finite("p_noise", p_noise, low=0.0, high=1.0)
    n_train, n_test = check_int("n_train", n_train), check_int("n_test", n_test)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    protos = np.zeros((classes, T, channels))
    for c in range(classes):
        for ch in range(channels):
            protos[c, rng.choice(T, k, replace=False), ch] = 1.0

    def draw(n):
        y = rng.integers(0, classes, n)
        X = np.zeros((n, T, channels))
        for m in range(n):
            tt, cc = np.nonzero(protos[y[m]])
            keep = rng.random(len(tt)) >= p_drop
            tt = np.clip(tt[keep] + rng.integers(-jitter, jitter + 1, keep.sum()), 0, T - 1)
            X[m, tt, cc[keep]] = 1.0
        X = np.maximum(X, (rng.random(X.shape) < p_noise).astype(float))
        return X, y

    xtr, ytr = draw(n_train)
    xte, yte = draw(n_test)
    n_val = check_int("n_val", n_val, low=0)
    xva, yva = draw(n_val) if n_val else (None, None)
    info = dict(classes=classes, channels=channels, T=T, spikes_per_channel=k, jitter=jitter,
                p_drop=p_drop, p_noise=p_noise, seed=seed, **({"n_val": n_val} if n_val else {}))
    return Task("patterns", "classification", xtr, ytr, xte, yte, classes, info, xva, yva)


# ----------------------------------------------------------------------------- sum of sines
def make_sines(n_train: int = 20, channels: int = 40, T: int = 200, rate: float = 0.05,
               outputs: int = 1, seed: int = 0) -> Task:
    """Sequence generation in the e-prop style: a frozen Poisson input pattern must be mapped to a
    target that is a sum of four sines with periods T, T/2, T/3, T/5 (random amplitudes in [0.5, 2]
    and phases), scaled to peak 1.  Train and test see the same frozen input (a generation task);
    ``n_train`` is the number of presentations per epoch.  Metric: normalised MSE."""
    channels, T = check_int("channels", channels), check_int("T", T, low=5)
    rate = check_finite("rate", rate, low=0.0, high=1.0)
    outputs, n_train = check_int("outputs", outputs), check_int("n_train", n_train)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    x = (rng.random((T, channels)) < rate).astype(float)
    t = np.arange(T)
    y = np.zeros((T, outputs))
    for k in range(outputs):
        for period in (T, T / 2, T / 3, T / 5):
            y[:, k] += rng.uniform(0.5, 2.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        y[:, k] /= np.max(np.abs(y[:, k]))
    X = np.repeat(x[None], n_train, axis=0)
    Y = np.repeat(y[None], n_train, axis=0)
    info = dict(channels=channels, T=T, rate=rate, outputs=outputs, seed=seed)
    return Task("sines", "regression", X, Y, x[None].copy(), y[None].copy(), 0, info)


# ----------------------------------------------------------------------------- MNIST rows
def read_idx(path) -> np.ndarray:
    """Read a (gzipped) IDX file into a numpy array; a one-line SolsaError if it is malformed."""
    path = Path(path)
    if not path.is_file():
        raise SolsaError(f"{path}: file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise SolsaError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SolsaError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise SolsaError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * d: 8 + 4 * d], "big") for d in range(ndim))
    if len(raw) - header != int(np.prod(shape)):
        raise SolsaError(f"{path}: IDX payload has {len(raw) - header} bytes, header says {int(np.prod(shape))}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def make_mnist_rows(n_train: int = 1000, n_test: int = 500, data_dir=None, seed: int = 0) -> Task:
    """MNIST row by row: T = 28 steps, 28 analog input channels (pixel / 255), 10 classes.

    The image pool is, in this order: the ``mnist8k-*`` IDX files in ``data_dir`` when given; those
    in ``$BRIAN_SNN_SHARED_DATA/mnist`` when that variable is set and the files are there; else the
    1,500 real MNIST images packaged with brian-snn (:func:`brian_snn.data.load_embedded`, its train
    then its test part).  A seeded permutation of the pool is split into disjoint train / test sets."""
    env = env_data_dir("mnist")
    if data_dir or (env is not None and all((env / f).is_file() for f in MNIST8K_FILES)):
        d = Path(data_dir) if data_dir else env
        images = read_idx(d / MNIST8K_FILES[0])
        labels = read_idx(d / MNIST8K_FILES[1])
        where = str(d)
    else:
        from brian_snn.data import DataError, load_embedded
        from brian_snn.data.mnist import EMBEDDED_FILE
        try:
            emb = load_embedded()
        except DataError as exc:
            raise SolsaError(str(exc)) from None
        images = np.concatenate([emb.x_train, emb.x_test]).reshape(-1, 28, 28)
        labels = np.concatenate([emb.y_train, emb.y_test])
        d = where = f"the packaged embedded MNIST ({EMBEDDED_FILE.name}, 1000 train + 500 test images)"
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise SolsaError(f"{d}: MNIST images {images.shape} and labels {labels.shape} do not match")
    n_train, n_test = check_int("n_train", n_train), check_int("n_test", n_test)
    if n_train + n_test > len(images):
        raise SolsaError(f"n_train + n_test = {n_train + n_test} exceeds the {len(images)} images in {d}")
    order = np.random.default_rng(check_int("seed", seed, low=0)).permutation(len(images))
    x = images[order].astype(float) / 255.0
    y = labels[order].astype(int)
    info = dict(source=where, seed=seed)
    return Task("mnist-rows", "classification", x[:n_train], y[:n_train],
                x[n_train:n_train + n_test], y[n_train:n_train + n_test], 10, info)
