"""The results protocol (docs/methods.md): fixed and recorded splits, choices on validation, intervals over
seeds, result files that say where every number came from.

* :func:`protocol_splits` cuts a data set's training part into train and validation (seeded,
  stratified) and keeps its test part; each part is recorded by size, class counts and a SHA-256
  of its labels and images, so a result file names exactly the data it was measured on.
* :func:`t_interval` / :func:`summarise`: mean and the half-width of the 95 % Student-t interval
  over seeds; :func:`paired`: the same for per-seed differences (a difference is called one only
  when its interval excludes 0).
* :func:`provenance`: git commit, code fingerprint and date of a result file.
"""
from __future__ import annotations

import hashlib
import math
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import Dataset
from .data.mnist import stratified_indices
from .jobs import code_fingerprint


def _digest(x, y) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(y).tobytes())
    h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()[:16]


@dataclass
class Splits:
    """Train, validation and test parts of one data set (uint8 images [n, pixels], labels [n])."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    record: dict

    def dataset(self, evaluate=("val",)) -> Dataset:
        """A Dataset that trains on ``train`` and tests on the named parts, concatenated in the
        order given (``("val", "test")``: the first ``len(y_val)`` test predictions are validation)."""
        xs = [getattr(self, f"x_{p}") for p in evaluate]
        ys = [getattr(self, f"y_{p}") for p in evaluate]
        return Dataset(self.name, self.x_train, self.y_train, np.concatenate(xs), np.concatenate(ys),
                       f"{self.record['source']}; protocol split, evaluated on {'+'.join(evaluate)}")


def protocol_splits(dataset: Dataset, n_val: int, seed: int = 0) -> Splits:
    """Validation = a seeded stratified ``n_val`` of ``dataset``'s training part; train = the rest;
    test = its test part, untouched."""
    fit, val = stratified_indices(dataset.y_train, dataset.n_train - n_val, n_val, seed)
    x_tr, y_tr = dataset.x_train[fit], dataset.y_train[fit]
    x_va, y_va = dataset.x_train[val], dataset.y_train[val]
    parts = {"train": (x_tr, y_tr), "val": (x_va, y_va), "test": (dataset.x_test, dataset.y_test)}
    record = {"source": dataset.source, "split_seed": seed, "stratified": True,
              **{p: {"n": int(len(y)), "class_counts": np.bincount(y, minlength=10).tolist(), "sha256": _digest(x, y)}
                 for p, (x, y) in parts.items()}}
    return Splits(x_tr, y_tr, x_va, y_va, dataset.x_test, dataset.y_test, dataset.name, record)


def t_interval(values, level=0.95):
    """(mean, half-width of the Student-t confidence interval); half-width NaN for one value."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("t_interval: no values")
    if v.size == 1:
        return float(v[0]), math.nan
    from scipy.stats import t
    return float(v.mean()), float(t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))


def summarise(values, level=0.95) -> dict:
    mean, half = t_interval(values, level)
    return {"mean": mean, "ci95": half, "n": len(values), "values": [float(x) for x in values]}


def paired(a, b, level=0.95) -> dict:
    """``a - b`` per seed (same order): mean, interval, whether the interval excludes 0 (``differs``,
    one comparison alone) and the two-sided p-value of the paired t-test (``p``; for :func:`holm`)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    s = summarise(d, level)
    s["differs"] = bool(not math.isnan(s["ci95"]) and abs(s["mean"]) > s["ci95"])
    s["p"] = t_test_p(d)
    return s


def t_test_p(d) -> float:
    """Two-sided p-value of the one-sample t-test of mean(d) = 0 (NaN for one value; 0 when every
    value is the same non-zero number, 1 when all are 0)."""
    d = np.asarray(d, dtype=float)
    if d.size < 2:
        return math.nan
    sd = d.std(ddof=1)
    if sd == 0:
        return 0.0 if d.mean() != 0 else 1.0
    from scipy.stats import t
    return float(2 * t.sf(abs(d.mean()) / (sd / math.sqrt(d.size)), d.size - 1))


def holm(pvalues, alpha=0.05) -> list[bool]:
    """Holm's step-down correction: which of ``pvalues`` are rejected at familywise level ``alpha``
    (the k-th smallest p is compared with alpha / (m - k + 1); rejection stops at the first that is
    not).  A NaN p-value is never rejected and counts as a comparison."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (math.isnan(pvalues[i]), pvalues[i]))
    out = [False] * m
    for k, i in enumerate(order):
        p = pvalues[i]
        if math.isnan(p) or p > alpha / (m - k):
            break
        out[i] = True
    return out


def provenance(files) -> dict:
    """Where a result came from: git commit (``+dirty`` when the tree has changes), the
    fingerprint of the code that computed it, and the date."""
    root = Path(__file__).resolve().parents[1]

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit != "unknown" else "unknown"
    if dirty is True:
        commit += "+dirty"
    return {"git_commit": commit, "dirty": dirty, "code_fingerprint": code_fingerprint(files),
            "date": time.strftime("%Y-%m-%d")}
