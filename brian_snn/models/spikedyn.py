"""SpikeDyn (Putra & Shafique, DAC 2021), as reconstructed here.

The paper's formulas are not public.  What it names, and how we realise each part (reasons
in docs/methods.md; none of these formulas is the authors'):

* direct lateral inhibition: no inhibitory layer; every excitatory spike adds ``w_lat`` to the
  inhibitory conductance of all other excitatory neurons (exc -> exc, all but self);
* reduction of spurious updates: no weight update at presynaptic spikes (in Diehl & Cook
  every input spike touches all its synapses); weights change only when the postsynaptic
  neuron fires, and only the columns of neurons that fired are renormalised;
* weight decay: at a postsynaptic spike, inputs that were silent (presynaptic trace near 0)
  lose ``eta * x_tar`` -- an activity-gated decay that, unlike a uniform decay, is not undone
  by normalisation;
* adaptive learning rate: ``eta_j = eta / (1 + learned_j / n_half)``, where ``learned_j``
  counts the samples neuron j has learned from; well-trained neurons consolidate, fresh ones
  stay plastic (what continual learning needs).  ``lr_forget = f`` (ours, issue 26) makes the
  count recency-keyed: after every training sample it is multiplied by ``1 - f`` before the
  sample's own count is added, so a neuron that stopped winning regains plasticity with a time
  constant of about 1/f samples (0: the lifetime count, the default);
* adaptive threshold: the Diehl & Cook theta mechanism with its own increment and time
  constant.

Switches for ablations (each keeps the others; the defaults are the model above):
``inhibitory_layer=1`` replaces direct lateral inhibition by Diehl & Cook's inhibitory layer
(``w_ei``, ``w_ie``); ``lr_adaptation=0`` a fixed learning rate; ``theta_plus_mV=0`` no adaptive
threshold (Diehl & Cook's mechanism); ``x_tar=0`` no depression of silent inputs (Diehl & Cook's
post-synaptic rule has the same target); ``min_response=k`` our criterion for a spurious update:
a neuron learns from its k-th and later spikes in a sample only (a weak, accidental response
changes nothing; 0 or 1: every spike learns); ``decay=f`` our explicit weight decay: after every
training sample, the input weights of each neuron that did not learn from it (no response of
``min_response`` spikes) relax a fraction f towards the uniform value norm / N_in -- unused
features fade, the column sum is kept (0: off, the default; it adds a pathway over the synapses of
silent neurons, so it is compiled in only when f > 0).
"""
from dataclasses import dataclass

from ..encoding import PRE_TRACE, Presentation, build_schedule, spike_counter
from .base import BuiltModel, ModelSpec
from ..copies import Builder
from .diehl_cook import (NORMALISE, W_HIGH, W_LOW, QuantisedWeights, build_exc_layer, build_inhibitory_layer, build_input_synapses,
                         common_synapses, runtime_targets)

LEARNED_EQS = """
learned : 1                   # samples this neuron has learned from (adaptive learning rate)
n_half : 1 (shared)
lr_forget : 1 (shared)        # fraction of the count forgotten per training sample (0: lifetime count)
lr_adaptation : 1 (shared)    # 1: the adaptive learning rate; 0: a fixed one
min_response : 1 (shared)     # spikes in a sample before a neuron's spikes potentiate
"""
# nspikes_post counts this sample's spikes before the present one (synapses run before resets)
POTENTIATE = f"""
w_new = clip(w + plastic_post * int(nspikes_post + 1 >= min_response_post) * eta_potent / (1 + lr_adaptation_post * learned_post / n_half_post) * ({PRE_TRACE} - x_tar), {W_LOW}, {W_HIGH})
wsum_post += w_new - w
w = w_new
"""
# A neuron learned from the sample: it responded with at least min_response spikes.
LEARNED = "nspikes{s} > 0 and nspikes{s} >= min_response{s}"
# Renormalise only the columns that changed in the last sample (that learned).
RENORM_ACTIVE = "plastic > 0.5 and boundary > 0.5 and " + LEARNED.format(s="")
# Explicit weight decay (decay > 0): the columns of neurons that did not learn from the sample.
UNUSED = f"plastic > 0.5 and boundary > 0.5 and not ({LEARNED.format(s='')})"
RELAX = """
w_new = w + decay * (norm_post / N_incoming - w)
wsum_post += w_new - w
w = w_new
"""
EXC_AT_BOUNDARY = f"""
learned_post = learned_post * (1 - plastic_post * lr_forget_post) + plastic_post * int({LEARNED.format(s='_post')})
wsum_post = wsum_post + plastic_post * int({LEARNED.format(s='_post')}) * int(wsum_post > 0) * (norm_post - wsum_post)
nspikes_post = 0
"""


def learning_targets(exc, syn):
    """Run-time parameter -> (object, variable, unit) of SpikeDyn's learning rule and threshold."""
    targets = runtime_targets(exc, syn)
    del targets["nu_pre"]
    targets.update(x_tar=(syn, "x_tar", 1), n_half=(exc, "n_half", 1), lr_adaptation=(exc, "lr_adaptation", 1),
                   lr_forget=(exc, "lr_forget", 1),
                   min_response=(exc, "min_response", 1))
    return targets


@dataclass(frozen=True)
class SpikeDyn(QuantisedWeights, ModelSpec):
    NAME = "spikedyn"
    RUNTIME = ("nu_post", "x_tar", "norm", "theta_plus_mV", "tau_theta_ms", "w_lat", "n_half", "weight_bits",
               "lr_adaptation", "min_response", "w_ei", "w_ie", "decay", "lr_forget")
    nu_post: float = 2e-3            # re-chosen on validation and kept: benchmarks/results/defaults_selection.json
    x_tar: float = 0.1               # decay target: inputs with a smaller trace lose weight
    norm: float = 78.0
    theta_plus_mV: float = 0.05
    tau_theta_ms: float = 1e7
    w_lat: float = 17.0              # direct lateral inhibition strength (D&C's inh->exc weight)
    n_half: float = 200.0            # samples after which a neuron's learning rate has halved (on/off: defaults_selection.json)
    tau_pre_ms: float = 20.0
    max_delay_ms: float = 0.0        # BindsNET's D&C v2 (SpikeDyn's base) has no synaptic delays
    weight_bits: int = 0             # > 0: input weights held at this many bits in the simulation
    inhibitory_layer: int = 0        # 1: D&C's inhibitory layer instead of direct lateral inhibition (ablation)
    lr_adaptation: float = 1.0       # 0: a fixed learning rate (ablation)
    lr_forget: float = 0.0           # > 0: the adaptive rate's count forgets this fraction per training sample
    min_response: float = 0.0        # spurious-update criterion (see the module docstring)
    decay: float = 0.0               # explicit weight decay per sample of neurons that did not learn (0: off)
    w_ei: float = 10.4               # inhibitory_layer = 1 only: exc -> inh, one-to-one
    w_ie: float = 17.0               # inhibitory_layer = 1 only: inh -> exc, all but self
    theta_window_alpha: float = 0.0  # adaptive window: theta growth follows the steps used (diehl_cook.WINDOW_THETA_EQS)

    POSITIVE = ("norm", "tau_theta_ms", "tau_pre_ms", "n_half")
    SIGNED = ("theta_window_alpha",)

    def __post_init__(self):
        super().__post_init__()
        if self.inhibitory_layer not in (0, 1):
            raise ValueError(f"{self.NAME}: inhibitory_layer must be 0 (direct lateral inhibition) or 1, "
                             f"got {self.inhibitory_layer!r}")
        object.__setattr__(self, "inhibitory_layer", int(self.inhibitory_layer))   # (--param gives 1.0)
        if self.lr_forget > 1:
            raise ValueError(f"{self.NAME}: lr_forget is a fraction per sample in [0, 1], got {self.lr_forget!r}")
        if self.decay > 1:
            raise ValueError(f"{self.NAME}: decay is a fraction per sample in [0, 1], got {self.decay!r}")

    def structure(self) -> dict:
        d = super().structure()
        if self.decay:                   # the decay pathway exists only when it is used
            d["weight_decay"] = True
        return d

    def sizes(self) -> dict:
        n = self.n_exc
        synapses = common_synapses(self)
        if self.decay:                   # one more event pathway on the input synapses
            m, floats, paths = synapses["input_exc"]
            synapses["input_exc"] = (m, floats, paths + 1)
        if self.inhibitory_layer:
            return {"neurons": {"input": self.n_input, "exc": n, "inh": n},
                    "synapses": dict(synapses, exc_inh=(n, 0, 1), inh_exc=(n * (n - 1), 0, 1))}
        return {"neurons": {"input": self.n_input, "exc": n},
                "synapses": dict(synapses, exc_exc=(n * (n - 1), 0, 1))}

    def build(self, images, order, presentation: Presentation, builder=None) -> BuiltModel:
        b = builder or Builder()
        ctrl, inp, images_ta, order_ta, book = build_schedule(images, order, presentation, builder=b,
                                                              input_end=bool(self.theta_window_alpha))
        decaying = bool(self.decay)
        exc, book_exc = build_exc_layer(self, b, ctrl, RENORM_ACTIVE, LEARNED_EQS, at_boundary=EXC_AT_BOUNDARY,
                                        events={"unused": UNUSED} if decaying else None)
        syn = build_input_synapses(self, b, inp, exc, "ge_post += w", POTENTIATE, NORMALISE,
                                   extra_eqs="x_tar : 1 (shared)\n" + ("decay : 1 (shared)\n" if decaying else ""),
                                   on_events={"relax": ("unused", RELAX)} if decaying else None,
                                   frozen={"post": None})
        targets = learning_targets(exc, syn)
        if self.inhibitory_layer:
            inh, lateral, layer_targets = build_inhibitory_layer(self, b, exc)
            targets.update(layer_targets)
        else:
            inh = None
            lat = b.synapses(exc, exc, "w_lat : 1 (shared)", on_pre="gi_post += w_lat", name="exc_exc")
            b.connect(lat, condition="i != j")
            lateral = [lat]
            targets["w_lat"] = (lat, "w_lat", 1)
        objs = [ctrl, inp, exc, syn, *lateral, spike_counter(exc, ctrl, b), book_exc] + book + ([inh] if inh else [])
        return BuiltModel(objs, exc, syn, ctrl, inp, images_ta, order_ta, targets,
                          populations=[inp, exc] + ([inh] if inh else []), inhibition=lateral, per_copy=b.unshared)
