"""The two run-time enhancements shared by all engines: scheduled weight update and early stop.

Scheduled update (from the SOLSA authors' public code, ``point_num`` / ``point_update_period`` in
``ivanzzh/Exploring-Spike-Encoder-Designs-for-Near-Sensor-Edge-Computing``): at first only the last step T-1 updates.
Every ``period``-th epoch the summed |dW[t]| per step is recorded; the steps are ranked, the mask
becomes the top P-1 steps plus T-1, and that round's top step (not T-1) is remembered.  After P-1
rounds the mask is frozen to {remembered steps, T-1}.  Switched off, every step updates (plain online).

Early stop (our reading of the intent of ``confidence`` in that repository's ``utils.py``): after a
warm-up of P*R epochs, each update step at which the
sample is confidently right (target count >= p_thr x total output count so far) is a hit; after
ceil(P/2) hits no more updates are applied to that sample.
"""
from __future__ import annotations

import math

import numpy as np

from .config import TrainConfig


class UpdateSchedule:
    def __init__(self, T: int, cfg: TrainConfig):
        self.T, self.P, self.R, self.enabled = int(T), cfg.points, cfg.period, cfg.scheduled
        self.mask = np.zeros(self.T)
        self.mask[-1] = 1.0
        if not self.enabled:
            self.mask[:] = 1.0
        self.rounds = 0
        self.remembered: list = []

    @property
    def frozen(self) -> bool:
        return self.rounds >= self.P - 1

    def measuring(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (0-based) records |dW| per step for re-ranking."""
        return self.enabled and not self.frozen and (epoch + 1) % self.R == 0

    def end_epoch(self, epoch: int, record) -> None:
        if not self.measuring(epoch):
            return
        record = np.asarray(record, dtype=float)
        order = [int(t) for t in np.argsort(-record, kind="stable")]
        self.remembered.append(order[0] if order[0] != self.T - 1 else order[1 % self.T])
        self.rounds += 1
        self.mask[:] = 0.0
        self.mask[-1] = 1.0
        chosen = self.remembered if self.frozen else order[: self.P - 1]
        self.mask[chosen] = 1.0

    @property
    def steps(self) -> list:
        return [int(t) for t in np.flatnonzero(self.mask)]


def early_stop_active(cfg: TrainConfig, epoch: int) -> bool:
    return cfg.early_stop and epoch >= cfg.points * cfg.period


def hits_needed(cfg: TrainConfig) -> int:
    return int(math.ceil(cfg.points / 2))


def confident(counts, target_onehot, p_thr: float) -> bool:
    """Batch criterion: the fraction of samples whose target count is >= p_thr of their total
    (and non-zero) is at least p_thr.  For one sample: right with probability >= p_thr."""
    counts = np.asarray(counts, dtype=float)
    tot = counts.sum(axis=1)
    tc = np.sum(counts * target_onehot, axis=1)
    ok = (tot > 0) & (tc >= p_thr * tot)
    return bool(np.mean(ok) >= p_thr)
