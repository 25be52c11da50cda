"""A trained SOLSA network as a NIR graph: Input -> Linear -> CubaLIF -> Linear -> ... -> Output.

SOLSA (``brian_snn.solsa.reference``) is a discrete-time map with one step = ``dt``::

    F[t] = alpha F[t-1] + beta s[t]            V[t] = lam V[t-1] + W F[t] - V_r O[t-1]      O[t] = V[t] > theta

Because the filter is linear and shared by a layer, ``W F`` is a per-neuron synaptic current
``I[t] = alpha I[t-1] + beta W s[t]``: a current-based LIF.  The NIR parameters (per layer):

* ``tau_syn = -dt / ln(alpha)``, ``tau_mem = -dt / ln(lam)``: the decays per step are exact;
* ``w_in = beta / (1 - alpha)``, ``r = 1 / (1 - lam)``: the steady response to a constant input
  (``beta / ((1 - alpha)(1 - lam))`` per unit of ``W s``) is exact;
* ``v_threshold = theta``, ``v_leak = 0``; ``v_reset = theta - V_r / lam``: NIR resets to a value at
  the spike, SOLSA subtracts ``V_r`` one step later, so the two agree when the spiking V is ``theta``
  (they differ by ``lam`` x the overshoot);
* a membrane readout (no spikes, no reset) is a CubaLI node.

Not exact: the reset (above) and the coupling of I into V within a step (SOLSA adds this step's new
I to V at once; the continuous equations integrate I over the step).  :func:`agreement` measures it.

``form='exact'`` writes SOLSA's map itself with NIR nodes: per layer an LI filter per input channel
(``tau = -dt/ln alpha``, ``r = beta/(1 - alpha)``: exactly ``F <- alpha F + beta s`` for an input held
over the step), Linear(W), an LI membrane (``tau = -dt/ln lam``, ``r = 1/(1 - lam)``: ``V <- lam V + x``),
a Threshold(theta) for the spikes and a reset loop Threshold -> Delay(dt) -> Scale(-V_r) -> membrane
(the soft reset one step later).  It needs an importer with Threshold and Delay nodes; its cost is
SOLSA's own (the filtered values F go through W every step, a dense product).
"""
from __future__ import annotations

import math

import numpy as np

from .nodes import NirError


FORMS = ("cubalif", "exact")


def solsa_to_nir(net, params, dt: float = 1e-3, form: str = "cubalif"):
    """A ``nir.NIRGraph`` of a SOLSA :class:`~brian_snn.solsa.reference.Network` with its
    :class:`~brian_snn.solsa.config.ModelParams`; ``dt`` seconds per step (see the module docstring).
    ``form``: ``cubalif`` (one CubaLIF per layer, approximate) or ``exact`` (LI filter, LI membrane,
    Threshold and a delayed reset loop: SOLSA's map exactly)."""
    import nir
    if form not in FORMS:
        raise NirError(f"unknown NIR form {form!r} (choose from {', '.join(FORMS)})")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise NirError(f"dt must be a finite time > 0 in seconds, got {dt!r}")
    lam = float(params.lam)
    if not 0 < lam < 1:
        raise NirError(f"lam = {lam:g}: NIR needs a membrane decay 0 < lam < 1 (a finite tau_mem > 0)")
    nodes = {"input": nir.Input(input_type=np.array([net.sizes[0]]))}
    edges, prev = [], "input"
    for l, W in enumerate(net.W, start=1):
        a, b = float(net.alpha[l - 1]), float(net.beta[l - 1])
        if not 0 < a < 1:
            raise NirError(f"layer {l}: alpha = {a:g}: NIR needs a filter decay 0 < alpha < 1 (a finite tau_syn > 0)")
        readout = net.readout == "membrane" and l == net.n_layers
        add = _exact_layer if form == "exact" else _cubalif_layer
        prev = add(nodes, edges, prev, l, np.asarray(W, dtype=float), a, b, lam, params, dt, readout)
    nodes["output"] = nir.Output(output_type=np.array([net.sizes[-1]]))
    edges.append((prev, "output"))
    meta = {"source": "brian-snn SOLSA export", "dt_s": float(dt), "form": form,
            "mapping": ("CubaLIF: tau_syn=-dt/ln(alpha), tau_mem=-dt/ln(lam), w_in=beta/(1-alpha), "
                        "r=1/(1-lam), v_reset=theta-V_r/lam (SOLSA's soft reset approximated)") if form == "cubalif"
            else ("LI filter (tau=-dt/ln(alpha), r=beta/(1-alpha)) -> Linear(W) -> LI membrane (tau=-dt/ln(lam), "
                  "r=1/(1-lam)) -> Threshold(theta); Threshold -> Delay(dt) -> Scale(-V_r) -> membrane")}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _cubalif_layer(nodes, edges, prev, l, W, a, b, lam, params, dt, readout):
    import nir
    n = W.shape[0]
    full = lambda v: np.full(n, float(v))                          # noqa: E731
    common = dict(tau_syn=full(-dt / math.log(a)), tau_mem=full(-dt / math.log(lam)),
                  r=full(1 / (1 - lam)), v_leak=full(0.0), w_in=full(b / (1 - a)))
    if readout:
        name, node = f"li{l}", nir.CubaLI(**common)
    else:
        name = f"lif{l}"
        node = nir.CubaLIF(**common, v_threshold=full(params.theta),
                           v_reset=full(params.theta - params.v_reset / lam))
    nodes[f"linear{l}"] = nir.Linear(weight=W.copy())
    nodes[name] = node
    edges += [(prev, f"linear{l}"), (f"linear{l}", name)]
    return name


def _exact_layer(nodes, edges, prev, l, W, a, b, lam, params, dt, readout):
    """F = alpha F + beta s (LI per input channel), V = lam V + W F - V_r O[t-1] (LI + a reset loop
    through a one-step Delay), O = V > theta (Threshold): exact when the input is held over a step."""
    import nir
    n_in, n = W.shape[1], W.shape[0]
    nodes[f"filter{l}"] = nir.LI(tau=np.full(n_in, -dt / math.log(a)), r=np.full(n_in, b / (1 - a)),
                                 v_leak=np.zeros(n_in))
    nodes[f"linear{l}"] = nir.Linear(weight=W.copy())
    nodes[f"membrane{l}"] = nir.LI(tau=np.full(n, -dt / math.log(lam)), r=np.full(n, 1 / (1 - lam)),
                                   v_leak=np.zeros(n))
    edges += [(prev, f"filter{l}"), (f"filter{l}", f"linear{l}"), (f"linear{l}", f"membrane{l}")]
    if readout:
        return f"membrane{l}"
    nodes[f"spike{l}"] = nir.Threshold(threshold=np.full(n, float(params.theta)))
    nodes[f"delay{l}"] = nir.Delay(delay=np.full(n, float(dt)))
    nodes[f"reset{l}"] = nir.Scale(scale=np.full(n, -float(params.v_reset)))
    edges += [(f"membrane{l}", f"spike{l}"), (f"spike{l}", f"delay{l}"), (f"delay{l}", f"reset{l}"),
              (f"reset{l}", f"membrane{l}")]
    return f"spike{l}"


def agreement(ref, out) -> dict:
    """Spike agreement of two rasters [samples, T, n] (``ref`` the reference): the fraction of
    (sample, step, neuron) cells that agree, the fraction of the reference's spikes found at the same
    step (recall; within one step either way) and of the other's spikes that are the reference's
    (precision), the total counts
    and their ratio, and the fraction of samples whose most active output neuron (the spike-count
    readout's class) is the same."""
    ref, out = np.asarray(ref) > 0.5, np.asarray(out) > 0.5
    if ref.shape != out.shape:
        raise NirError(f"rasters differ in shape: {ref.shape} and {out.shape}")
    cr, co = ref.sum(axis=1), out.sum(axis=1)
    same_class = np.mean(np.argmax(cr, axis=1) == np.argmax(co, axis=1))
    both = int(np.sum(ref & out))
    near = out.copy()                                   # out spikes widened by one step either way
    near[:, 1:] |= out[:, :-1]
    near[:, :-1] |= out[:, 1:]
    within1 = int(np.sum(ref & near))
    return {"step_agreement": float(np.mean(ref == out)), "spikes_reference": int(ref.sum()),
            "same_step_recall": both / max(int(ref.sum()), 1), "same_step_precision": both / max(int(out.sum()), 1),
            "recall_within_1_step": within1 / max(int(ref.sum()), 1),
            "spikes_nir": int(out.sum()), "count_ratio": float(out.sum() / max(ref.sum(), 1)),
            "same_class": float(same_class)}


def load_solsa(path, task=None, method="solsa"):
    """(Network, ModelParams, task name) from a SOLSA results HDF5 (``brian-snn solsa --out``): the
    final weights of the first seed, the learned alpha / beta, the readout of the task's kind."""
    import json
    from ..solsa.config import ModelParams
    from ..solsa.reference import Network
    from ..solsa.store import SCHEMA
    from ..store import open_results
    with open_results(path, SCHEMA, "a SOLSA results file") as f:
        tasks = list(f["tasks"])
        if task is None:
            if len(tasks) != 1:
                raise NirError(f"{path}: holds tasks {', '.join(tasks)}: choose one with --task")
            task = tasks[0]
        if task not in f["tasks"]:
            raise NirError(f"{path}: no task {task!r} (have {', '.join(tasks)})")
        g = f["tasks"][task]
        if method not in g:
            raise NirError(f"{path}: task {task!r} has no method {method!r} (have {', '.join(g)})")
        m = g[method]
        Ws = [np.asarray(m[k]) for k in sorted((k for k in m if k.startswith("W") and k[1:].isdigit()),
                                                key=lambda k: int(k[1:]))]
        if not Ws:
            raise NirError(f"{path}: task {task!r}, method {method!r}: no weights stored")
        model = json.loads(f.attrs["experiment"]).get("model", {})
        kind = g.attrs["kind"]
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        readout = "spikes" if kind == "classification" else "membrane"
        net = Network(Ws, np.asarray(m["alpha"], float).reshape(-1), np.asarray(m["beta"], float).reshape(-1), readout)
    return net, ModelParams(**model), task


def write_nir(graph, path) -> None:
    """Write a graph with ``nir.write`` (atomically: a crash keeps the old file)."""
    import nir
    from ..files import replacing
    with replacing(path) as tmp:
        nir.write(tmp, graph)
