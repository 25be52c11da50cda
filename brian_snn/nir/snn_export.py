"""A trained Diehl & Cook / SpikeDyn network (inference, learning off) as a NIR graph.

Input(784) -> Linear(W^T) -> CubaLIF(exc) -> Output, with lateral inhibition as a loop
CubaLIF -> Linear(L) -> CubaLIF (an edge closing a loop acts one step later).  Voltages are in mV
(dimensionless numbers), times in seconds.  Per excitatory neuron j:

* ``tau_mem = tau_e`` (100 ms), ``v_leak = v_rest_e`` (-65), ``v_reset = v_reset_e`` (-65);
* ``v_threshold = v_thresh_e - theta_offset + theta_j`` (-52 - 20 + theta_j mV; the model's
  threshold ``v > theta - theta_offset + v_thresh_e``) with theta_j the *learned* threshold: exact in
  inference, where learning is off and theta does not move;
* the input Linear holds the learned weights W^T exactly (a weight is the conductance jump ``ge += w``);
* ``tau_syn = tau_ge`` (1 ms); ``w_in = tau_ge / dt``: a NIR spike is the value 1 for one step, so the
  synaptic current's integral ``w_in * w * dt`` equals the conductance's ``w * tau_ge`` (same charge);
* **approximated**: the conductance drive ``ge (E_exc - v)`` becomes a current ``r * I`` with
  ``r = E_exc - v_ref``, the driving force at a fixed potential ``v_ref`` (``v_ref='mid'``, the
  default: half-way between rest and each neuron's threshold, where a neuron that is about to fire
  spends its time; ``'rest'``: v_rest_e; or a number in mV).  Measured on a trained SpikeDyn
  (benchmarks/results/nir_snn_agreement.json): 'mid' keeps the accuracy, 'rest' loses ~9 points
  (at rest the inhibition's driving force is too small and the excitation's too large); 'mid' is the
  default chosen on validation (benchmarks/results/defaults_selection.json, three networks);
* **approximated**: lateral inhibition ``gi (E_inh_e - v)`` (tau_gi = 2 ms) enters the same current
  (tau_syn = tau_ge) with the same charge at ``v_ref``:
  ``L_jk = w_lat * tau_gi * (E_inh_e - v_ref) / (tau_ge * (E_exc - v_ref))`` for j != k, 0 on the
  diagonal.  SpikeDyn's direct inhibition (``w_lat``) maps as is; Diehl & Cook's exc -> inh -> exc
  loop is collapsed to the same matrix with ``w_ie`` in place of ``w_lat`` (one inhibitory spike per
  excitatory spike, w_ei = 10.4 lifts an inhibitory neuron over threshold at once), so the
  inhibitory layer and its ~1 step of latency disappear;
* **not in NIR**: the 5 ms refractory period (NIR's LIF has none); input Poisson encoding (rate =
  pixel / 8 * intensity Hz, one spike per step at most) happens outside the graph, as does the repeat
  of weak presentations at higher intensity.

:func:`conductance_reference` simulates the original conductance network (refractory period,
conductances, learned weights and thresholds frozen) on given input spikes, so the two can be compared
on the same input (``benchmarks/nir_snn_agreement.py``).
"""
from __future__ import annotations

import json

import numpy as np

from .nodes import NirError

MODELS = ("diehl-cook", "spikedyn", "asp-decay", "asp")
V_REFS = ("rest", "mid")


def _constants():
    from brian2 import mV, ms
    from ..models.diehl_cook import NEURON_CONSTANTS as C
    mv = {k: float(C[k] / mV) for k in ("v_rest_e", "v_reset_e", "v_thresh_e", "theta_offset", "E_exc", "E_inh_e")}
    s = {k: float(C[k] / ms) * 1e-3 for k in ("tau_e", "tau_ge", "tau_gi")}
    return {**mv, **s}


def load_snn(path) -> dict:
    """The trained network of a ``brian-snn train`` results file: model name, its parameters, the
    weights [784, N], the learned thresholds theta (volts), the neuron labels and the presentation."""
    from ..store import StoreError, open_results
    with open_results(path, what="a brian-snn train results file") as f:
        cfg = json.loads(f.attrs["config"])
        model = cfg.get("model")
        if model not in MODELS:
            raise NirError(f"{path}: model {model!r} has no NIR export (Diehl & Cook / SpikeDyn: {', '.join(MODELS)})")
        if "weights" not in f or "thresholds_theta_V" not in f:
            raise StoreError(f"{path}: holds no trained weights and thresholds (training did not finish?)")
        out = {"model": model, "params": dict(cfg.get("model_params", {})),
               "presentation": dict(cfg.get("presentation_params", {})),
               "w": np.asarray(f["weights"], float), "theta": np.asarray(f["thresholds_theta_V"], float).ravel(),
               "assignments": np.asarray(f["assignments"]) if "assignments" in f else None}
    return out


def lateral_weight(params: dict, model: str, v_ref) -> np.ndarray | float:
    """Off-diagonal weight of the collapsed lateral inhibition (see the module docstring)."""
    c = _constants()
    layer = model in ("diehl-cook", "asp-decay", "asp") or int(params.get("inhibitory_layer", 0))
    w = float(params.get("w_ie", 17.0) if layer else params.get("w_lat", 17.0))
    return w * c["tau_gi"] * (c["E_inh_e"] - v_ref) / (c["tau_ge"] * (c["E_exc"] - v_ref))


def thresholds_mV(theta_V) -> np.ndarray:
    """Per-neuron firing threshold in mV: v_thresh_e - theta_offset + theta."""
    c = _constants()
    return c["v_thresh_e"] - c["theta_offset"] + np.asarray(theta_V, float) * 1e3


def snn_to_nir(w, theta, model: str = "spikedyn", params: dict | None = None, dt: float = 0.5e-3,
               v_ref="mid"):
    """A ``nir.NIRGraph`` of a Diehl & Cook / SpikeDyn inference network: ``w`` [n_in, N] learned
    weights, ``theta`` [N] learned thresholds (volts), ``dt`` seconds per step (the spike = 1 for one
    step convention fixes ``w_in = tau_ge / dt``), ``v_ref`` the potential of the driving forces."""
    import nir
    if model not in MODELS:
        raise NirError(f"model {model!r} has no NIR export (choose from {', '.join(MODELS)})")
    if not (isinstance(dt, (int, float)) and np.isfinite(dt) and dt > 0):
        raise NirError(f"dt must be a finite time > 0 in seconds, got {dt!r}")
    params = dict(params or {})
    w = np.asarray(w, float)
    theta = np.asarray(theta, float).ravel()
    if w.ndim != 2 or w.shape[1] != theta.size:
        raise NirError(f"weights {w.shape} and thresholds {theta.shape} do not match ([n_in, N] and [N])")
    c = _constants()
    n = theta.size
    thr = thresholds_mV(theta)
    if v_ref == "rest":
        vr = np.full(n, c["v_rest_e"])
    elif v_ref == "mid":
        vr = (c["v_rest_e"] + thr) / 2
    elif isinstance(v_ref, (int, float)) and np.isfinite(v_ref):
        vr = np.full(n, float(v_ref))
    else:
        raise NirError(f"v_ref must be 'rest', 'mid' or a potential in mV, got {v_ref!r}")
    if np.any(vr >= c["E_exc"]) or np.any(vr <= c["E_inh_e"]):
        raise NirError(f"v_ref must lie between E_inh_e ({c['E_inh_e']:g}) and E_exc ({c['E_exc']:g}) mV")
    full = lambda v: np.full(n, float(v))                          # noqa: E731
    lif = nir.CubaLIF(tau_syn=full(c["tau_ge"]), tau_mem=full(c["tau_e"]), r=c["E_exc"] - vr,
                      v_leak=full(c["v_rest_e"]), v_threshold=thr, v_reset=full(c["v_reset_e"]),
                      w_in=full(c["tau_ge"] / dt))
    # the inhibition's charge per excitatory spike, in units of the excitatory current of neuron j
    lat = lateral_weight(params, model, vr)                        # [N] per receiving neuron
    L = np.repeat(np.asarray(lat, float).reshape(-1, 1), n, axis=1)
    np.fill_diagonal(L, 0.0)
    nodes = {"input": nir.Input(input_type=np.array([w.shape[0]])), "input_exc": nir.Linear(weight=w.T.copy()),
             "exc": lif, "lateral": nir.Linear(weight=L), "output": nir.Output(output_type=np.array([n]))}
    edges = [("input", "input_exc"), ("input_exc", "exc"), ("exc", "lateral"), ("lateral", "exc"),
             ("exc", "output")]
    meta = {"source": f"brian-snn {model} inference export", "dt_s": float(dt),
            "v_ref": v_ref if isinstance(v_ref, str) else float(v_ref),
            "approximations": "conductances as currents with the driving force at v_ref; inhibition with "
                              "tau_ge instead of tau_gi (same charge); no refractory period; "
                              + ("inhibitory layer collapsed to exc->exc; " if model != "spikedyn" else "")
                              + "Poisson encoding outside the graph"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def inference_to_nir(results_or_state, model: str | None = None, params: dict | None = None,
                     dt: float | None = None, v_ref="mid"):
    """:func:`snn_to_nir` of a results file path, or of a state dict ``{'w', 'theta'[, 'model',
    'params', 'presentation']}`` (as :func:`load_snn` returns).  ``dt`` defaults to the presentation's."""
    st = load_snn(results_or_state) if not isinstance(results_or_state, dict) else results_or_state
    model = model or st.get("model", "spikedyn")
    params = params if params is not None else st.get("params", {})
    if dt is None:
        dt = float(st.get("presentation", {}).get("dt_ms", 0.5)) * 1e-3
    return snn_to_nir(st["w"], st["theta"], model, params, dt, v_ref)


def poisson_input(images, rng, t_on_ms: float = 350.0, dt_ms: float = 0.5, intensity: float = 2.0):
    """The project's input encoding (brian_snn.encoding): per step a spike with probability
    rate * dt, rate = pixel / 8 * intensity Hz.  Returns a 0/1 array [samples, T, 784] (uint8)."""
    rate = np.asarray(images, float) / 8.0 * intensity                 # Hz
    T = int(round(t_on_ms / dt_ms))
    p = rate * dt_ms * 1e-3
    return (rng.random((len(images), T, rate.shape[1])) < p[:, None, :]).astype(np.uint8)


def conductance_reference(w, theta, spikes, model: str = "spikedyn", params: dict | None = None,
                          dt: float = 0.5e-3) -> np.ndarray:
    """Spike counts [samples, N] of the original conductance network (learning off: weights and
    thresholds frozen; refractory period; D&C's inhibitory layer or SpikeDyn's direct inhibition) on
    the given input spikes [samples, T, n_in]; every sample starts at rest (v = v_rest, no conductance),
    as the NIR graph's does.  Brian2 runtime (numpy target)."""
    from brian2 import (Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, Synapses, defaultclock, ms, mV,
                        second)
    from .. import integration  # noqa: F401  (registers the 'linear_implicit' state updater)
    from ..models.diehl_cook import INH_EQS, METHOD, NEURON_CONSTANTS
    from ..solsa.standalone import use_numpy_target
    use_numpy_target()
    params = dict(params or {})
    spikes = np.asarray(spikes)
    S, T, n_in = spikes.shape
    n = np.asarray(theta).size
    defaultclock.dt = dt * second
    eqs = """
dv/dt = ((v_rest_e - v) + ge * (E_exc - v) + gi * (E_inh_e - v)) / tau_e : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
theta : volt (constant)
"""
    ns = dict(NEURON_CONSTANTS)
    exc = NeuronGroup(n, eqs, threshold="v > theta - theta_offset + v_thresh_e", reset="v = v_reset_e",
                      refractory=5 * ms, method=METHOD, namespace=ns, name="ref_exc")
    exc.theta = np.asarray(theta, float) * 1e3 * mV
    exc.v = ns["v_rest_e"]
    ss, tt, ii = np.nonzero(spikes)
    inp = SpikeGeneratorGroup(n_in, ii, ((ss * T + tt) * dt) * second, name="ref_input")
    syn = Synapses(inp, exc, "w : 1 (constant)", on_pre="ge_post += w", name="ref_input_exc")
    syn.connect()
    syn.w = np.asarray(w, float).ravel()            # i-major, as Brian orders all-to-all synapses
    objs = [exc, inp, syn]
    layer = model in ("diehl-cook", "asp-decay", "asp") or int(params.get("inhibitory_layer", 0))
    if layer:
        inh = NeuronGroup(n, INH_EQS, threshold="v > v_thresh_i", reset="v = v_reset_i", refractory=2 * ms,
                          method=METHOD, namespace=ns, name="ref_inh")
        inh.v = ns["v_rest_i"]
        e2i = Synapses(exc, inh, on_pre=f"ge_post += {float(params.get('w_ei', 10.4))}", name="ref_exc_inh")
        e2i.connect(j="i")
        i2e = Synapses(inh, exc, on_pre=f"gi_post += {float(params.get('w_ie', 17.0))}", name="ref_inh_exc")
        i2e.connect(condition="i != j")
        inh.run_regularly("v = v_rest_i\nge = 0\ngi = 0\nlastspike = -1e9*second", dt=T * dt * second,
                          when="start", name="ref_inh_rest")
        objs += [inh, e2i, i2e]
    else:
        lat = Synapses(exc, exc, on_pre=f"gi_post += {float(params.get('w_lat', 17.0))}", name="ref_lateral")
        lat.connect(condition="i != j")
        objs.append(lat)
    exc.run_regularly("v = v_rest_e\nge = 0\ngi = 0\nlastspike = -1e9*second", dt=T * dt * second,
                      when="start", name="ref_exc_rest")
    mon = SpikeMonitor(exc, name="ref_exc_spikes")
    net = Network(*objs, mon)
    net.run(S * T * dt * second, namespace={})
    k = np.rint(np.asarray(mon.t_[:]) / dt).astype(int) // T
    counts = np.zeros((S, n), np.int64)
    np.add.at(counts, (k, np.asarray(mon.i[:])), 1)
    return counts
