"""Your own network model for ``brian-snn train``: a ModelSpec subclass in a file of your own.

    .venv/bin/brian-snn train --model examples/own_model.py:SoftBoundDC --neurons 100 --out own.h5

``--model FILE.py:CLASS`` loads CLASS from this file: a ``@dataclass(frozen=True)`` subclass of
``brian_snn.models.ModelSpec`` (here of the built-in Diehl & Cook model) whose ``build()`` returns
the Brian2 objects as a ``BuiltModel``.  Every object is made through the ``Builder`` it is given
(``brian_snn.copies.Builder``), so ``--copies`` and the cpp/cuda backends work unchanged; the
fields of the dataclass are the ``--param NAME=VALUE`` parameters (``RUNTIME``: changed without
recompiling).  Everything else (data, training loop, labelling, counts for hwmodel, ``evaluate``)
is the same as for the built-in models.

This one is Diehl & Cook with *soft-bounded* potentiation: a weight grows by
``eta_potent * x_pre * x_post2 * (wmax - w) ** mu`` instead of a fixed step, so strong weights
grow more slowly (``mu = 0``: the original rule).
"""
from dataclasses import dataclass

from brian_snn.copies import Builder
from brian_snn.encoding import PRE_TRACE, Presentation, build_schedule, spike_counter
from brian_snn.models import BuiltModel
from brian_snn.models.diehl_cook import (NORMALISE, POST_TRACES, POST_TRACES_RESET, STDP_ON_PRE, W_HIGH, W_LOW,
                                         DiehlCook, build_exc_layer, build_inhibitory_layer,
                                         build_input_synapses, runtime_targets)

SOFT_STDP_ON_POST = f"""
w_new = clip(w + eta_potent * {PRE_TRACE} * xpost2_post * clip(wmax - w, 0, wmax) ** mu * plastic_post, {W_LOW}, {W_HIGH})
wsum_post += w_new - w
w = w_new
"""
SOFT_EQS = "mu : 1 (shared)         # soft-bound exponent of the potentiation\n"


@dataclass(frozen=True)
class SoftBoundDC(DiehlCook):
    """Diehl & Cook with soft-bounded potentiation (module text)."""
    RUNTIME = DiehlCook.RUNTIME + ("mu",)
    mu: float = 0.5

    def build(self, images, order, presentation: Presentation, builder=None) -> BuiltModel:
        b = builder or Builder()
        ctrl, inp, images_ta, order_ta, book = build_schedule(images, order, presentation, builder=b)
        exc, book_exc = build_exc_layer(self, b, ctrl, extra_eqs=POST_TRACES, extra_reset=POST_TRACES_RESET)
        syn = build_input_synapses(self, b, inp, exc, STDP_ON_PRE, SOFT_STDP_ON_POST, NORMALISE, extra_eqs=SOFT_EQS)
        inh, (e2i, i2e), layer_targets = build_inhibitory_layer(self, b, exc)
        targets = dict(runtime_targets(exc, syn), **layer_targets, mu=(syn, "mu", 1))
        objs = [ctrl, inp, exc, inh, syn, e2i, i2e, spike_counter(exc, ctrl, b), book_exc] + book
        return BuiltModel(objs, exc, syn, ctrl, inp, images_ta, order_ta, targets,
                          populations=[inp, exc, inh], inhibition=[e2i, i2e], per_copy=b.unshared)
