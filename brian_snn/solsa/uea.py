"""Loader for UEA-style multivariate time-series sets stored as ``.npz`` with ``data[n, T, C]``, ``label[n]``.

A set is a folder with ``train_data.npz`` and ``test_data.npz`` (the layout of the SOLSA authors'
follow-up repository).  Variable-length series in that layout are padded at the end with NaN rows
(all channels NaN); those rows become zeros.  Any other NaN or infinity, a wrong shape or dtype, or
train/test that disagree is an error naming the file and the problem.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .errors import SolsaError
from .tasks import Task, shared_data_dir

SPLIT_FILES = {"train": "train_data.npz", "test": "test_data.npz"}


def uea_dir(data_dir=None) -> Path:
    return Path(data_dir) if data_dir else shared_data_dir("uea")


def available_sets(data_dir=None) -> list:
    d = uea_dir(data_dir)
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if (p / SPLIT_FILES["train"]).is_file())


def load_npz(path) -> tuple:
    """Read one split: returns (data float64 [n, T, C], label int [n], padding mask bool [n, T])."""
    path = Path(path)
    if not path.is_file():
        raise SolsaError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("data", "label") if k not in f.files]
            if missing:
                raise SolsaError(f"{path}: missing array(s) {', '.join(missing)} (has {', '.join(f.files) or 'none'})")
            data, label = f["data"], f["label"]
    except SolsaError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SolsaError(f"{path}: not a readable .npz file ({type(exc).__name__})") from None
    if data.ndim != 3 or min(data.shape) < 1:
        raise SolsaError(f"{path}: 'data' must be [n, T, C] and non-empty, got shape {data.shape}")
    if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
        raise SolsaError(f"{path}: 'data' must be real numbers, got dtype {data.dtype}")
    if label.ndim != 1 or len(label) != len(data):
        raise SolsaError(f"{path}: 'label' must be [n] with n = {len(data)}, got shape {label.shape}")
    if not np.issubdtype(label.dtype, np.number):
        raise SolsaError(f"{path}: 'label' must be numeric, got dtype {label.dtype}")
    label_f = label.astype(float)
    if not np.all(np.isfinite(label_f)) or np.any(label_f != np.round(label_f)):
        raise SolsaError(f"{path}: 'label' must hold integer class ids")
    data = data.astype(float)
    nan = np.isnan(data)
    if np.any(np.isinf(data)):
        raise SolsaError(f"{path}: 'data' contains infinite values")
    rows = np.zeros(data.shape[:2], dtype=bool)
    if nan.any():
        rows = nan.all(axis=2)                      # [n, T] fully-NaN steps
        if np.any(nan & ~rows[:, :, None]):
            raise SolsaError(f"{path}: 'data' contains NaN outside trailing padding rows")
        # padding must be trailing: once a row is NaN, every later row is
        if np.any(np.diff(rows.astype(int), axis=1) < 0):
            raise SolsaError(f"{path}: 'data' has NaN rows that are not at the end of a series")
        data = np.where(nan, 0.0, data)
    return data, label.astype(int), rows


def load_uea(name: str, data_dir=None, standardize: bool = True) -> Task:
    """Load set ``name`` (a folder under ``data_dir``, default ``shared/data/uea``) as a :class:`Task`.

    Labels are re-indexed to 0..K-1 (sorted original ids, kept in ``info['labels']``).  With
    ``standardize`` each channel is z-scored with the training set's statistics (padding excluded).
    """
    d = uea_dir(data_dir)
    folder = d / str(name)
    if not folder.is_dir():
        avail = available_sets(d)
        hint = f"available: {', '.join(avail)}" if avail else f"no sets found in {d}"
        raise SolsaError(f"unknown UEA set {name!r} ({hint})")
    xtr, ytr, pad_tr = load_npz(folder / SPLIT_FILES["train"])
    xte, yte, pad_te = load_npz(folder / SPLIT_FILES["test"])
    if xtr.shape[1:] != xte.shape[1:]:
        raise SolsaError(f"{folder}: train [T, C] = {xtr.shape[1:]} but test [T, C] = {xte.shape[1:]}")
    classes = np.unique(ytr)
    unseen = sorted(set(np.unique(yte).tolist()) - set(classes.tolist()))
    if unseen:
        raise SolsaError(f"{folder}: test labels {unseen} do not occur in the training set")
    if len(classes) < 2:
        raise SolsaError(f"{folder}: the training set has fewer than two classes")
    index = {int(c): k for k, c in enumerate(classes)}
    ytr = np.array([index[int(c)] for c in ytr])
    yte = np.array([index[int(c)] for c in yte])
    info = dict(source=str(folder), labels=[int(c) for c in classes], padded_rows_train=int(pad_tr.sum()),
                padded_rows_test=int(pad_te.sum()), standardized=bool(standardize))
    if standardize:
        valid = ~pad_tr
        mu = xtr[valid].mean(axis=0)
        sd = xtr[valid].std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        # padded steps stay at zero input
        xtr = np.where(valid[:, :, None], (xtr - mu) / sd, 0.0)
        xte = np.where(~pad_te[:, :, None], (xte - mu) / sd, 0.0)
    # shuffle both splits once (seeded): the files are sorted by class, and subsets must keep all classes
    rng = np.random.default_rng(0)
    otr, ote = rng.permutation(len(xtr)), rng.permutation(len(xte))
    return Task(f"uea:{name}", "classification", xtr[otr], ytr[otr], xte[ote], yte[ote], len(classes), info)
