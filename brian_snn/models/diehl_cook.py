"""Diehl & Cook (2015): conductance LIF excitatory and inhibitory layers, adaptive threshold,
triplet-like STDP on input->excitatory, column normalisation.  Parameters as in the original
code (Diehl & Cook, Front. Comput. Neurosci. 9:99, 2015; peter-u-diehl/stdp-mnist @ d527ca3,
``Diehl&Cook_spiking_MNIST.py``); our implementation choices are listed
in docs/methods.md."""
from dataclasses import dataclass

import numpy as np
from brian2 import ms, mV

from ..encoding import PRE_TRACE, Presentation, build_schedule, spike_counter
from .base import BuiltModel, ModelSpec
from ..copies import Builder
from ..standalone_templates import declare_frozen_transmission

# Excitatory neuron: conductance-based LIF with an adaptive threshold theta (it grows by
# theta_plus at every spike while learning and decays with tau_theta).  xpost1/xpost2 are
# the postsynaptic STDP traces; wsum is this neuron's input-weight sum, kept current by the
# plasticity code so that normalisation needs no per-step sum.
EXC_EQS = """
dv/dt = ((v_rest_e - v) + ge * (E_exc - v) + gi * (E_inh_e - v)) / tau_e : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
dtheta/dt = -theta * plastic / tau_theta : volt
wsum : 1
nspikes : 1
boundary : 1 (linked)
real : 1                      # the controller's, copied at each slot boundary: a real sample
nchanged : 1                  # input weights this neuron's plasticity changed (|dw| > 0), this run
plastic : 1 (shared)
theta_plus : volt (shared)
tau_theta : second (shared)
norm : 1 (shared)
"""
EXC_THRESHOLD = "v > theta - theta_offset + v_thresh_e"
EXC_RESET = """
v = v_reset_e
theta += theta_plus * plastic
nspikes += 1
"""
POST_TRACES = """
dxpost1/dt = -xpost1 / tau_post1 : 1
dxpost2/dt = -xpost2 / tau_post2 : 1
"""
POST_TRACES_RESET = """
xpost1 = 1
xpost2 = 1
"""

INH_EQS = """
dv/dt = ((v_rest_i - v) + ge * (E_exc - v) + gi * (E_inh_i - v)) / tau_i : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
"""

# TopSpark's adaptive window with the threshold enhancement at the steps actually used (issue 26;
# spec.theta_window_alpha = the rule's exponent a of theta_plus x (T0/T)^a): theta_plus is enhanced
# for the maximum window T_max while the input is on; when it ends, after T_used, the threshold
# gained from this slot's spikes is rescaled by (T_max / T_used)^a, so that it is the growth the
# enhancement at T_used would have given.  Spikes after the input ended (the rest) keep T_max's.
WINDOW_THETA_EQS = """
theta_slot : volt             # threshold gained from this slot's spikes while its input was on
input_end : 1 (linked)
window_ratio : 1 (linked)
"""
WINDOW_THETA_RESET = "theta_slot += theta_plus * plastic\n"
WINDOW_THETA_RESCALE = """theta += theta_slot * (window_ratio ** {alpha} - 1)
theta_slot = 0*mV"""

# Input -> excitatory synapses: triplet-like STDP (depression at presynaptic spikes from the
# fast postsynaptic trace; potentiation at postsynaptic spikes from the presynaptic trace times
# the slow postsynaptic trace read before its reset).
STDP_SYN_EQS = """
w : 1
eta_depress : 1 (shared)
eta_potent : 1 (shared)
"""
# The bounds of every weight update.  A frozen network (plastic = 0) must keep its weights exactly,
# but normalisation can leave a weight above wmax, which clip() would pull back at the next spike:
# frozen, the bounds open up.  Learning, they are exactly 0 and wmax (0 * 1e30 = 0), bit for bit.
W_LOW = "-(1 - plastic_post) * 1e30"
W_HIGH = "wmax + (1 - plastic_post) * 1e30"
STDP_ON_PRE = f"""
ge_post += w
w_new = clip(w - eta_depress * xpost1_post * plastic_post, {W_LOW}, {W_HIGH})
wsum_post += w_new - w
w = w_new
"""
STDP_ON_POST = f"""
w_new = clip(w + eta_potent * {PRE_TRACE} * xpost2_post * plastic_post, {W_LOW}, {W_HIGH})
wsum_post += w_new - w
w = w_new
"""
# Before every training sample each neuron's input weights are rescaled to sum to `norm`.
# Runs on the excitatory 'renorm' event (a sample boundary while learning).
NORMALISE = "w = w * norm_post / (wsum_post + 1e-12)"
RENORM_ALL = "plastic > 0.5 and boundary > 0.5"     # (the shared flag first: frozen, the loop is skipped)
# Sample-boundary bookkeeping, run by the controller's boundary spike through a one-to-all
# bookkeeping pathway, *after* the normalisation (which reads wsum).
EXC_AT_BOUNDARY = """
wsum_post = wsum_post + plastic_post * int(wsum_post > 0) * (norm_post - wsum_post)
nspikes_post = 0
"""

# -- Optional: input weights held at b bits in the simulation (spec.weight_bits > 0; issue 4) ------
# Ours (docs/methods.md): unsigned b-bit codes k = 0..2^b-1 on [0, wmax], w = k * w_q with
# w_q = wmax / (2^b - 1).  Every write of w is rounded onto that grid: stochastically while
# learning (unbiased, so updates smaller than one step still act on average), to the nearest
# level when plastic = 0 (a weight on the grid then stays exactly where it is).  The step w_q is
# a run-time value, so every bit width shares one compiled binary.
QUANT_EQS = "w_q : 1 (shared)\n"
QUANTISE_W_NEW = "w_new = w_q * floor(w_new / w_q + 0.5 + plastic_post * (rand() - 0.5))"


def quantised(code):
    """``code`` with every ``w_new = clip(...)`` followed by rounding onto the weight grid."""
    out = []
    for line in code.strip("\n").split("\n"):
        out.append(line)
        if line.strip().startswith("w_new = clip("):
            out.append(QUANTISE_W_NEW)
    return "\n".join(out) + "\n"


def quantised_normalise(normalise):
    """A normalisation ``w = <expr>`` whose result is rounded onto the grid (stochastically)."""
    lhs, expr = normalise.split("=", 1)
    if lhs.strip() != "w":
        raise ValueError(f"cannot quantise normalisation code {normalise!r}")
    return f"w = w_q * floor(({expr.strip()}) / w_q + rand())"


def counting_changes(code):
    """``code`` that also counts, per post-synaptic neuron, the writes that change a weight
    (``nchanged``, only in slots showing a real sample): a block ending in ``w = w_new``, or a
    one-line ``w = <expr>`` (normalisation).  Code that does not write ``w`` is returned as is."""
    lines = code.strip("\n").split("\n")
    count = "nchanged_post += real_post * int(w_new != w)"
    if lines[-1].strip() == "w = w_new":
        return "\n".join(lines[:-1] + [count, lines[-1]]) + "\n"
    if len(lines) == 1 and lines[0].split("=", 1)[0].strip() == "w":
        return f"w_new = {lines[0].split('=', 1)[1].strip()}\n{count}\nw = w_new\n"
    return code


def weight_quantum(bits, wmax=1.0):
    """Grid step of b-bit weights on [0, wmax]; 0.0 (no grid) for bits = 0."""
    return 0.0 if not bits else float(wmax) / (2 ** int(bits) - 1)


def quantise_weights(w, bits, wmax=1.0):
    """Round weights to the nearest level of the b-bit grid (bits = 0: an unchanged copy)."""
    w = np.asarray(w, dtype=float)
    if not bits:
        return w.copy()
    q = weight_quantum(bits, wmax)
    return np.clip(np.round(w / q), 0, 2 ** int(bits) - 1) * q


class QuantisedWeights:
    """Mixin for specs with a ``weight_bits`` field (0 = full precision).  ``weight_bits`` is a
    run-time value; only *whether* weights are quantised is structural (one binary for all widths)."""

    def __post_init__(self):
        super().__post_init__()
        b = self.weight_bits
        if isinstance(b, bool) or float(b) != int(b) or not 0 <= int(b) <= 32:
            raise ValueError(f"{self.NAME}: weight_bits must be an integer in 0..32 (0 = full precision), got {b!r}")

    def structure(self) -> dict:
        d = super().structure()
        if self.weight_bits:
            d["quantised_weights"] = True
        return d

    @property
    def w_quantum(self) -> float:
        return weight_quantum(self.weight_bits, NEURON_CONSTANTS["wmax"])


NEURON_CONSTANTS = dict(
    v_rest_e=-65 * mV, v_reset_e=-65 * mV, v_thresh_e=-52 * mV, theta_offset=20 * mV,
    E_exc=0 * mV, E_inh_e=-100 * mV, tau_e=100 * ms,
    v_rest_i=-60 * mV, v_reset_i=-45 * mV, v_thresh_i=-40 * mV, E_inh_i=-85 * mV, tau_i=10 * ms,
    tau_ge=1 * ms, tau_gi=2 * ms, tau_post1=20 * ms, tau_post2=40 * ms, wmax=1.0,
)
METHOD = "linear_implicit"


@dataclass(frozen=True)
class DiehlCook(QuantisedWeights, ModelSpec):
    NAME = "diehl-cook"
    RUNTIME = ("nu_pre", "nu_post", "norm", "theta_plus_mV", "tau_theta_ms", "w_ei", "w_ie", "weight_bits")
    NORMALISE_CODE = NORMALISE       # (class attributes, not parameters: subclasses change them)
    SYN_EQS_EXTRA = ""
    nu_pre: float = 1e-4
    nu_post: float = 1e-2
    norm: float = 78.0
    theta_plus_mV: float = 0.05
    tau_theta_ms: float = 1e7
    w_ei: float = 10.4               # exc -> inh, one-to-one
    w_ie: float = 17.0               # inh -> exc, all but self
    tau_pre_ms: float = 20.0
    weight_bits: int = 0             # > 0: input weights held at this many bits in the simulation
    theta_window_alpha: float = 0.0  # adaptive window: theta growth follows the steps used (WINDOW_THETA_EQS)

    POSITIVE = ("norm", "tau_theta_ms", "tau_pre_ms")
    SIGNED = ("theta_window_alpha",)

    def sizes(self) -> dict:
        n, m = self.n_exc, self.n_input
        return {"neurons": {"input": m, "exc": n, "inh": n},
                "synapses": dict(common_synapses(self), exc_inh=(n, 0, 1), inh_exc=(n * (n - 1), 0, 1))}

    def build(self, images, order, presentation: Presentation, builder=None) -> BuiltModel:
        b = builder or Builder()
        ctrl, inp, images_ta, order_ta, book = build_schedule(images, order, presentation, builder=b,
                                                              input_end=bool(self.theta_window_alpha))
        exc, book_exc = build_exc_layer(self, b, ctrl, extra_eqs=POST_TRACES, extra_reset=POST_TRACES_RESET)
        syn = build_input_synapses(self, b, inp, exc, STDP_ON_PRE, STDP_ON_POST, self.NORMALISE_CODE,
                                   extra_eqs=self.SYN_EQS_EXTRA, frozen={"pre": "ge_post", "post": None})
        inh, (e2i, i2e), layer_targets = build_inhibitory_layer(self, b, exc)
        targets = dict(runtime_targets(exc, syn), **layer_targets)
        objs = [ctrl, inp, exc, inh, syn, e2i, i2e, spike_counter(exc, ctrl, b), book_exc] + book
        return BuiltModel(objs, exc, syn, ctrl, inp, images_ta, order_ta, targets,
                          populations=[inp, exc, inh], inhibition=[e2i, i2e], per_copy=b.unshared)


# Our ASP-style decay (ours, not ASP: the published baseline is ``asp``, models/asp.py).  Diehl & Cook plus a
# decay of unused features: at every training sample boundary, the input weights of each neuron
# that stayed silent in the sample move a fraction `decay` towards the uniform baseline
# norm / N_incoming.  The column sum stays `norm`, so normalisation does not undo the decay.
NORMALISE_DECAY = ("w = (w * norm_post / (wsum_post + 1e-12)) * (1 - decay * int(nspikes_post < 0.5))"
                   " + decay * int(nspikes_post < 0.5) * norm_post / N_incoming")


@dataclass(frozen=True)
class AspDecay(DiehlCook):
    """Ours: Diehl & Cook with an ASP-*style* activity-dependent weight decay (the earlier stand-in
    for ASP; ASP as its public text describes it is ``asp``).  ``decay``: fraction per sample."""
    NAME = "asp-decay"
    RUNTIME = DiehlCook.RUNTIME + ("decay",)
    NORMALISE_CODE = NORMALISE_DECAY
    SYN_EQS_EXTRA = "decay : 1 (shared)\n"
    decay: float = 1e-5             # chosen on validation (benchmarks/results/continual_mnist.json, "selection")


def common_synapses(spec) -> dict:
    """Pathways every model has: input -> exc (w; pre, post and normalise events), the schedule's
    rate setter (controller -> input) and the exc bookkeeping (controller -> exc, exc -> controller)."""
    n, m = spec.n_exc, spec.n_input
    return {"input_exc": (m * n, 1, 3), "_set_rates": (m, 0, 1), "_exc_boundary": (n, 0, 2),
            "_spike_counter": (n, 0, 1)}


def build_exc_layer(spec, b, ctrl, renorm=RENORM_ALL, extra_eqs="", extra_reset="",
                    at_boundary=EXC_AT_BOUNDARY, events=None):
    """The excitatory layer and its sample-boundary bookkeeping; ``events``: more custom events.
    With ``spec.theta_window_alpha`` the threshold growth follows the steps a slot's input really
    lasted (:data:`WINDOW_THETA_EQS`; the controller must mark input ends: ``build_schedule(...,
    input_end=True)``)."""
    ns = NEURON_CONSTANTS
    alpha = float(getattr(spec, "theta_window_alpha", 0.0))
    if alpha:
        extra_eqs, extra_reset = extra_eqs + WINDOW_THETA_EQS, extra_reset + WINDOW_THETA_RESET
        events, at_boundary = dict(events or {}, input_end="input_end > 0.5"), at_boundary + "theta_slot_post = 0*mV\n"
    exc = b.neurons(spec.n_exc, EXC_EQS + extra_eqs, "exc", threshold=EXC_THRESHOLD,
                    reset=EXC_RESET + extra_reset, refractory=5 * ms, method=METHOD,
                    events={"renorm": renorm, **(events or {})}, namespace=ns)
    b.link(exc, "boundary", ctrl, np.zeros(spec.n_exc, dtype=int))
    if alpha:
        for var in ("input_end", "window_ratio"):
            b.link(exc, var, ctrl, np.zeros(spec.n_exc, dtype=int))
        # before the synapses: on a boundary step (no rest) the bookkeeping would zero theta_slot first
        exc.run_on_event("input_end", WINDOW_THETA_RESCALE.format(alpha=repr(alpha)), when="before_synapses")
    exc.v = NEURON_CONSTANTS["v_rest_e"] - 40 * mV
    exc.theta = 20 * mV
    # (Brian cannot read a linked variable from synapse code, so ``real`` is copied, first thing)
    book = b.synapses(ctrl, exc, on_pre={"pre": at_boundary, "real": "real_post = real_pre"}, name="_exc_boundary")
    b.connect(book)
    book.real.order = -1
    book.pre.order = 2          # after normalise (1), which reads wsum; before potentiation (3)
    return exc, book


def build_inhibitory_layer(spec, b, exc):
    """Diehl & Cook's inhibitory layer: exc -> inh one-to-one (``w_ei``), inh -> exc all but self
    (``w_ie``).  Returns (inh group, [exc_inh, inh_exc], run-time targets)."""
    inh = b.neurons(spec.n_exc, INH_EQS, "inh", threshold="v > v_thresh_i", reset="v = v_reset_i",
                    refractory=2 * ms, method=METHOD, namespace=NEURON_CONSTANTS)
    inh.v = NEURON_CONSTANTS["v_rest_i"] - 40 * mV
    e2i = b.synapses(exc, inh, "w_ei : 1 (shared)", on_pre="ge_post += w_ei", name="exc_inh")
    b.connect(e2i, j="i")
    i2e = b.synapses(inh, exc, "w_ie : 1 (shared)", on_pre="gi_post += w_ie", name="inh_exc")
    b.connect(i2e, condition="i != j")
    return inh, [e2i, i2e], {"w_ei": (e2i, "w_ei", 1), "w_ie": (i2e, "w_ie", 1)}


def build_input_synapses(spec, b, inp, exc, on_pre, on_post, normalise, extra_eqs="", on_events=None, frozen=None):
    """Input -> excitatory synapses; ``on_events``: more pathways, {name: (exc event, code)};
    ``frozen``: {"pre" or "post": target or None}, the caller's word that while ``plastic`` is 0
    that pathway's code changes nothing but ``target += w`` (None: nothing) -- its updates are
    scaled by the flag and its bounds open up -- so frozen passes may run only that
    (standalone_templates.declare_frozen_transmission).  Not with quantised weights: their
    rounding draws a random number even when frozen."""
    quantised_weights = bool(getattr(spec, "weight_bits", 0))
    if quantised_weights:
        on_pre, on_post = quantised(on_pre), quantised(on_post)
        normalise, extra_eqs = quantised_normalise(normalise), extra_eqs + QUANT_EQS
    on_pre, on_post, normalise = (counting_changes(c) for c in (on_pre, on_post, normalise))
    more = {name: counting_changes(code) for name, (_, code) in (on_events or {}).items()}
    syn = b.synapses(inp, exc, STDP_SYN_EQS + extra_eqs,
                     on_pre={"pre": on_pre},
                     on_post={"post": on_post, "normalise": normalise, **more},
                     on_event={"pre": "spike", "post": "spike", "normalise": "renorm",
                               **{name: event for name, (event, _) in (on_events or {}).items()}},
                     namespace=dict(wmax=NEURON_CONSTANTS["wmax"], tau_pre=spec.tau_pre_ms * ms),
                     name="input_exc")
    b.connect(syn)
    if not quantised_weights:
        for name, target in (frozen or {}).items():
            declare_frozen_transmission(getattr(syn, name), "plastic_post", target, target and "w")
    # Order within the synapses slot of a boundary step: normalise (1), then the boundary
    # bookkeeping that sets wsum = norm (2), then the potentiation of a spike on that very step (3),
    # whose change must count against the new wsum.
    syn.post.order = 3
    if spec.max_delay_ms > 0:
        # Heterogeneous delays, compiled in: the spike queue is prepared before run_args apply.
        syn.delay = b.per_copy(synaptic_delays_ms(spec)) * ms
    return syn


def runtime_targets(exc, syn):
    """Run-time parameter -> (object, variable, unit factor)."""
    targets = {"nu_pre": (syn, "eta_depress", 1), "nu_post": (syn, "eta_potent", 1), "norm": (exc, "norm", 1),
               "theta_plus_mV": (exc, "theta_plus", mV), "tau_theta_ms": (exc, "tau_theta", ms)}
    if "w_q" in syn.variables:          # quantised weights: the grid step (spec.w_quantum)
        targets["w_quantum"] = (syn, "w_q", 1)
    if "decay" in syn.variables:        # asp-decay; SpikeDyn's explicit decay
        targets["decay"] = (syn, "decay", 1)
    return targets


def initial_weights(spec, rng):
    """Diehl & Cook's initialisation: (U[0,1) + 0.01) * 0.3, in Brian's synapse order (i-major)."""
    return (rng.random(spec.n_input * spec.n_exc) + 0.01) * 0.3


def synaptic_delays_ms(spec):
    """Input delays, uniform in [0, max_delay], fixed per structure seed (same on every backend)."""
    rng = np.random.default_rng(spec.structure_seed)
    return rng.uniform(0, spec.max_delay_ms, spec.n_input * spec.n_exc)
