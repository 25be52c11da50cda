"""RMSprop / SGD on numpy arrays, written with the same expressions as the Brian2 update code
(``v += (1 - rho)(g^2 - v)``) so that the two engines round identically."""
from __future__ import annotations

import numpy as np

from .config import TrainConfig


class Optimizer:
    def __init__(self, cfg: TrainConfig):
        self.kind, self.rho, self.eps = cfg.optimizer, cfg.rho, cfg.opt_eps
        self.state: dict = {}

    def delta(self, key, grad, lr):
        """Return the parameter change for gradient ``grad`` (caller adds it)."""
        grad = np.asarray(grad, dtype=float)
        if self.kind == "sgd":
            return -lr * grad
        v = self.state.get(key)
        if v is None:
            v = np.zeros_like(grad)
        v = v + (1.0 - self.rho) * (grad ** 2 - v)
        self.state[key] = v
        return -lr * grad / (np.sqrt(v) + self.eps)
