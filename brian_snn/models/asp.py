"""ASP, Adaptive Synaptic Plasticity (Panda, Allred, Ramanathan & Roy, "ASP: Learning to Forget with
Adaptive Synaptic Plasticity in Spiking Neural Networks", IEEE JETCAS 2018, arXiv:1703.07655),
as far as its public text specifies it -- the baseline SpikeDyn was compared with.

What the public text says (the abstract and a survey's summary; the paper's body, with its
equations and constants, was not available to us -- docs/methods.md, "ASP"):

* STDP on the input -> excitatory synapses of the Diehl & Cook network (input, excitatory and
  inhibitory layers), plus an *adaptive weight decay*: the synaptic weights *leak*, and "the leak
  rate of the synaptic weights is modulated based on the temporal correlation between the spiking
  patterns of the pre- and post-synaptic neurons", so that insignificant information is gradually
  forgotten while significant, old information is retained;
* the leak is towards a baseline, in two phases (decay and recovery: a decayed weight recovers
  when the pattern returns, through STDP).

How we realise it (every formula below is ours; the paper's are not public):

* ``sig`` (per synapse, in [0, 1]) is the pre/post correlation seen at the postsynaptic neuron's
  last spike while learning: the presynaptic trace at that moment, ``x_pre = exp(-(t - t_pre) /
  tau_pre)`` (1 if the input fired just before the output, 0 if it was silent);
* the weight leaks towards the baseline ``w_base = norm / N_in`` with the time constant
  ``tau = tau_fast + (tau_slow - tau_fast) * sig``: correlated (significant) synapses leak slowly,
  uncorrelated ones fast;
* the leak is applied once per training sample, at the sample boundary, as the exact solution of
  ``dw/dt = -(w - w_base) / tau`` over one sample: ``w <- w_base + (w - w_base) exp(-1 / tau)``
  with ``tau`` in samples -- then Diehl & Cook's normalisation (a leak towards the column mean keeps
  the column sum, so normalisation does not undo it);
* the decay phase is this leak; the recovery phase is Diehl & Cook's STDP re-potentiating a
  leaked weight when its pattern returns.
"""
from dataclasses import dataclass

from .diehl_cook import STDP_ON_POST, W_HIGH, W_LOW, DiehlCook, common_synapses
from ..encoding import PRE_TRACE, Presentation

# The correlation of the pair at a postsynaptic spike (before the potentiation that uses the same trace).
RECORD_CORRELATION = f"sig = sig + plastic_post * ({PRE_TRACE} - sig)\n"
ASP_SYN_EQS = """
sig : 1                      # pre/post correlation at the postsynaptic neuron's last spike (0..1)
tau_fast : 1 (shared)        # leak time constant of an uncorrelated synapse, in training samples
tau_slow : 1 (shared)        # ... of a fully correlated one (sig = 1)
"""
# Once per training sample (the 'renorm' event: a sample boundary while learning), before normalisation.
LEAK = f"""
w_new = clip(w + (norm_post / N_incoming - w) * (1 - exp(-1 / (tau_fast + (tau_slow - tau_fast) * sig))), {W_LOW}, {W_HIGH})
wsum_post += w_new - w
w = w_new
"""


def leak_factor(sig, tau_fast, tau_slow):
    """The fraction of (w - w_base) a synapse keeps over one training sample."""
    import numpy as np
    return np.exp(-1.0 / (tau_fast + (tau_slow - tau_fast) * np.asarray(sig, dtype=float)))


@dataclass(frozen=True)
class Asp(DiehlCook):
    """Diehl & Cook + ASP's correlation-modulated weight leak (reconstructed, module docstring)."""
    NAME = "asp"
    RUNTIME = DiehlCook.RUNTIME + ("tau_fast_samples", "tau_slow_samples")
    tau_fast_samples: float = 3000.0     # ours: about one continual stream (10 tasks x 300 samples)
    tau_slow_samples: float = 1e6        # ours: significant synapses practically do not leak

    POSITIVE = DiehlCook.POSITIVE + ("tau_fast_samples", "tau_slow_samples")

    def sizes(self) -> dict:
        d = super().sizes()
        m, floats, paths = d["synapses"]["input_exc"]
        d["synapses"]["input_exc"] = (m, floats + 1, paths + 1)     # sig; the leak pathway
        return d

    def build(self, images, order, presentation: Presentation, builder=None):
        from ..copies import Builder
        from ..encoding import build_schedule, spike_counter
        from .base import BuiltModel
        from .diehl_cook import (NORMALISE, POST_TRACES, POST_TRACES_RESET, STDP_ON_PRE, build_exc_layer,
                                 build_inhibitory_layer, build_input_synapses, runtime_targets)
        b = builder or Builder()
        ctrl, inp, images_ta, order_ta, book = build_schedule(images, order, presentation, builder=b,
                                                              input_end=bool(self.theta_window_alpha))
        exc, book_exc = build_exc_layer(self, b, ctrl, extra_eqs=POST_TRACES, extra_reset=POST_TRACES_RESET)
        syn = build_input_synapses(self, b, inp, exc, STDP_ON_PRE, RECORD_CORRELATION + STDP_ON_POST, NORMALISE,
                                   extra_eqs=ASP_SYN_EQS, on_events={"leak": ("renorm", LEAK)},
                                   frozen={"pre": "ge_post", "post": None})
        # order within a boundary step: copy 'real' (-1), leak (0), normalise (1), bookkeeping (2), potentiation (3)
        syn.normalise.order = 1
        inh, (e2i, i2e), layer_targets = build_inhibitory_layer(self, b, exc)
        targets = dict(runtime_targets(exc, syn), **layer_targets,
                       tau_fast_samples=(syn, "tau_fast", 1), tau_slow_samples=(syn, "tau_slow", 1))
        objs = [ctrl, inp, exc, inh, syn, e2i, i2e, spike_counter(exc, ctrl, b), book_exc] + book
        return BuiltModel(objs, exc, syn, ctrl, inp, images_ta, order_ta, targets,
                          populations=[inp, exc, inh], inhibition=[e2i, i2e], per_copy=b.unshared)


__all__ = ["Asp", "leak_factor", "common_synapses"]
