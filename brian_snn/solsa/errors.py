"""Errors of the SOLSA sub-package: one class, a ValueError, with one-line messages."""
from __future__ import annotations

import math

from ..errors import BrianSnnError


class SolsaError(BrianSnnError, ValueError):
    """Bad input to the SOLSA toolkit (unknown task/method, invalid parameter, malformed data)."""


def check_finite(name: str, value, *, positive: bool = False, nonneg: bool = False,
                 low: float | None = None, high: float | None = None) -> float:
    """Return ``float(value)`` or raise a one-line :class:`SolsaError` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SolsaError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise SolsaError(f"{name} must be finite, got {value!r}")
    if positive and v <= 0:
        raise SolsaError(f"{name} must be > 0, got {v:g}")
    if nonneg and v < 0:
        raise SolsaError(f"{name} must be >= 0, got {v:g}")
    if low is not None and v < low:
        raise SolsaError(f"{name} must be >= {low:g}, got {v:g}")
    if high is not None and v > high:
        raise SolsaError(f"{name} must be <= {high:g}, got {v:g}")
    return v


def check_int(name: str, value, *, low: int = 1) -> int:
    """Return ``int(value)`` (no silent truncation) or raise a one-line :class:`SolsaError`."""
    if isinstance(value, bool):
        raise SolsaError(f"{name} must be an integer, got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise SolsaError(f"{name} must be an integer, got {value!r}") from None
    if not math.isfinite(f) or f != int(f):
        raise SolsaError(f"{name} must be an integer, got {value!r}")
    if int(f) < low:
        raise SolsaError(f"{name} must be >= {low}, got {int(f)}")
    return int(f)
