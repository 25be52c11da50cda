"""Model variants for the TopSpark sensitivity analysis (issue 5): membrane time constant and
reset potential of the excitatory layer as parameters.

In ``brian_snn.models`` both are compiled constants (``NEURON_CONSTANTS``): the generated code
contains them as numbers.  To sweep them without touching the models we subclass the model specs
with two *structural* fields, ``tau_e_ms`` and ``reset_gap_mV``; their values are part of
``structure()`` and therefore of the build key, so every value gets its own compiled binary
(and a cache entry), never a stale one.  ``tuned_spec`` returns the plain model spec when both are
at their defaults, so the default runs share the binaries of every other experiment.

``reset_gap_mV`` is the distance from the (initial) firing threshold down to the reset potential:
``v_reset = v_thresh_e - reset_gap`` (13 mV = the original -65 mV reset below the -52 mV
threshold).  It is a gap, not a potential, so that it stays a non-negative model parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from brian2 import ms, mV

from ...models import diehl_cook as _dc
from ...models import get_model_spec
from ...models.diehl_cook import DiehlCook
from ...models.spikedyn import SpikeDyn

BASE_TAU_E_MS = float(_dc.NEURON_CONSTANTS["tau_e"] / ms)                    # 100 ms
BASE_RESET_GAP_MV = float((_dc.NEURON_CONSTANTS["v_thresh_e"] - _dc.NEURON_CONSTANTS["v_reset_e"]) / mV)  # 13 mV
BASE_THRESHOLD_GAP_MV = float((_dc.NEURON_CONSTANTS["v_thresh_e"] - _dc.NEURON_CONSTANTS["v_rest_e"]) / mV)  # 13 mV
BASE_THETA0_MV = 20.0            # initial theta (train_eval.initial_state): threshold starts at -52 mV


class _TunedNeurons:
    """Mixin: build the model with the excitatory layer's tau_e and reset taken from the spec."""

    def __post_init__(self):
        super().__post_init__()
        if self.tau_e_ms <= 0:
            raise ValueError(f"{self.NAME}: tau_e_ms must be > 0, got {self.tau_e_ms!r}")

    def build(self, images, order, presentation, builder=None):
        consts = dict(_dc.NEURON_CONSTANTS)
        consts["tau_e"] = self.tau_e_ms * ms
        consts["v_reset_e"] = consts["v_thresh_e"] - self.reset_gap_mV * mV
        saved = _dc.NEURON_CONSTANTS
        # build_exc_layer() reads the module-level dict when it creates the group, and the group
        # keeps a reference to the dict it got: swap it for the duration of the build only.
        _dc.NEURON_CONSTANTS = consts
        try:
            return super().build(images, order, presentation, builder)
        finally:
            _dc.NEURON_CONSTANTS = saved


@dataclass(frozen=True)
class TunedDiehlCook(_TunedNeurons, DiehlCook):
    tau_e_ms: float = BASE_TAU_E_MS
    reset_gap_mV: float = BASE_RESET_GAP_MV


@dataclass(frozen=True)
class TunedSpikeDyn(_TunedNeurons, SpikeDyn):
    tau_e_ms: float = BASE_TAU_E_MS
    reset_gap_mV: float = BASE_RESET_GAP_MV


_TUNED = {"diehl-cook": TunedDiehlCook, "spikedyn": TunedSpikeDyn}
STRUCTURAL = ("tau_e_ms", "reset_gap_mV")


def tuned_spec(model: str, n_exc: int, n_input: int = 784, **params):
    """The model spec; a tuned subclass only when ``tau_e_ms`` / ``reset_gap_mV`` differ from
    the defaults (each such value is a separate compiled binary)."""
    if model not in _TUNED:
        get_model_spec(model)               # raises the usual "unknown model" ValueError
    structural = {k: float(params.pop(k)) for k in STRUCTURAL if k in params}
    known = {f.name for f in fields(_TUNED[model])}
    bad = sorted(set(params) - known)
    if bad:
        raise ValueError(f"{model}: unknown parameter {bad[0]!r}")
    default = {"tau_e_ms": BASE_TAU_E_MS, "reset_gap_mV": BASE_RESET_GAP_MV}
    if all(abs(structural.get(k, v) - v) < 1e-12 for k, v in default.items()):
        return get_model_spec(model, n_exc=n_exc, n_input=n_input, **params)
    return _TUNED[model](n_exc=n_exc, n_input=n_input, **params, **structural)
