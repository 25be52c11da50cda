"""The NIR vocabulary brian-snn understands: node types, their fields, and the one-line error."""
from __future__ import annotations

import numpy as np

from ..errors import BrianSnnError


class NirError(BrianSnnError, ValueError):
    """A NIR graph or file this package cannot use; the message names the node and its type."""


# parameters of each supported node type (required ones; optional ones get NIR's defaults)
NEURONS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"),
    "IF": ("r", "v_threshold"),
    "LI": ("tau", "r", "v_leak"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak"),
    "I": ("r",),
}
SPIKING = ("LIF", "CubaLIF", "IF")
LINEAR = {"Affine": ("weight", "bias"), "Linear": ("weight",), "Scale": ("scale",), "Flatten": ("input_type",),
          "Conv1d": ("weight", "stride", "padding", "dilation", "groups", "bias"),
          "Conv2d": ("weight", "stride", "padding", "dilation", "groups", "bias"),
          "SumPool2d": ("kernel_size", "stride", "padding"), "AvgPool2d": ("kernel_size", "stride", "padding"),
          "Delay": ("delay",), "Threshold": ("threshold",)}     # (Threshold: spikes of a non-spiking node)
ENDS = {"Input": ("shape",), "Output": ("shape",)}
SUPPORTED = tuple(ENDS) + tuple(LINEAR) + tuple(NEURONS)
TIME_CONSTANTS = ("tau", "tau_syn", "tau_mem")      # > 0 (seconds); a Delay's delay: >= 0 (seconds)
_WHY = {
    "NIRGraph": "nested graphs are not supported (flatten the subgraph into the parent)",
}


def unsupported(name, kind) -> NirError:
    why = _WHY.get(kind, "unknown node type")
    return NirError(f"node {name!r} ({kind}): {why}; supported: {', '.join(SUPPORTED)}")


def flat(value, n, name, kind, key):
    a = np.asarray(value, dtype=float).reshape(-1)
    if a.size == 1 and n != 1:
        a = np.full(n, float(a[0]))
    if a.size != n:
        raise NirError(f"node {name!r} ({kind}): field {key!r} has {a.size} values for {n} neurons")
    if not np.all(np.isfinite(a)):
        raise NirError(f"node {name!r} ({kind}): field {key!r} has NaN or infinite values")
    if key == "delay" and np.any(a < 0):
        raise NirError(f"node {name!r} ({kind}): field 'delay' must be >= 0 (seconds), got {a.min():g}")
    if key in TIME_CONSTANTS and np.any(a <= 0):
        raise NirError(f"node {name!r} ({kind}): field {key!r} must be > 0 (a time constant in seconds), "
                       f"got {a.min():g}")
    return a
