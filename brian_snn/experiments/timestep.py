"""TopSpark (issue 5, ``brian-snn timestep``): timestep reduction for training and inference,
parameter enhancement, and a trade-off policy.

TopSpark's paper text is not available; everything below is our reconstruction (reasons in
docs/methods.md, "TopSpark (issue 5)"; usage in docs/topspark.md).

* **Timesteps.**  A sample is shown for a *window* ``T`` (input on) followed by a rest that
  scales with it (``rest = T x rest_ratio``, 150/350 by default, rounded to a multiple of dt), so
  the simulated steps per presentation are ``(T + rest) / dt``.  Latency and energy come from
  the exact counts of each run (every repeat of the boost rule included) priced by hwmodel.
* **Analysis.**  For every model, size and window: train *and* infer at ``T`` (``baseline``),
  the same with enhanced parameters (``enhanced``), and the network trained at the full window
  inferred at ``T`` (``inference-only``, with and without the inference-side enhancements).
* **Enhancement.**  A knob ``k`` (input rate, threshold, reset, membrane time constant, theta
  increment, learning rates, weight norm, inhibition) is scaled with the window by
  ``value(T) = value(T0) * (T0 / T) ** alpha_k``; :func:`enhance` is a pure function of the
  window.  The exponents come from a one-at-a-time sensitivity analysis
  (:func:`run_sensitivity`).
* **Policy.**  :func:`choose` picks, among measured rows, the one maximising
  ``w_a A/A0 - w_l L/L0 - w_t Et/Et0 - w_i Ei/Ei0`` subject to ``A >= A0 - tolerance`` (and any
  latency / energy budgets), where index 0 is the baseline at the full window.

Window lengths are run-time values: the binary is built for the full window's slot and a run
with shorter slots ends itself after its last one (:mod:`brian_snn.encoding`), so a whole sweep
uses one build per model and size (on the ``cuda`` backend, whose runs cannot end early, one per
window).  Every other value here (model parameters, intensities, thresholds via the initial
theta, data, state) is run-time too; the two compiled knobs (reset, membrane time constant) cost
one build per value (:mod:`.timestep_models`).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import jobs as jobs_runner
from ..data import load_described
from ..files import replacing
from ..jobs import job_key
from .energy import JETSON           # the built-in Jetson Nano target
from .timestep_models import (BASE_RESET_GAP_MV, BASE_TAU_E_MS, BASE_THRESHOLD_GAP_MV,
                              tuned_spec)

MODELS = ("diehl-cook", "spikedyn")
BASE_WINDOW_MS = 350.0
REST_RATIO = 150.0 / 350.0            # Diehl & Cook's 150 ms rest after 350 ms, kept proportional
BASE_INTENSITY = 2.0                  # Presentation.intensity0 default (63.75 Hz for a white pixel)
BASE_MIN_SPIKES = 5                   # Presentation.min_spikes default (Diehl & Cook's boost rule)
MAX_PIXEL_RATE_PER_INTENSITY = 255.0 / 8.0    # Hz per unit of intensity (encoding.py)
P_CAP = 0.5                           # cap of a white pixel's spike probability per step
TOPSPARK_HEADLINE = {"latency": 3.9, "energy_train": 3.5, "energy_inference": 3.3, "accuracy_pp": 2.0}

# knob -> what it scales (docs/methods.md); "compiled" knobs need one build per value
KNOBS = {
    "intensity": "input rate (Presentation.intensity0; capped so a white pixel fires with p <= 0.5 per step)",
    "threshold": "initial firing-threshold gap above rest (13 mV; set through the initial theta)",
    "reset": "gap from threshold down to the reset potential (13 mV; compiled)",
    "tau_m": "excitatory membrane time constant (100 ms; compiled)",
    "theta_plus": "adaptive-threshold increment per spike (theta_plus_mV)",
    "eta": "learning rates (nu_post; Diehl & Cook also nu_pre)",
    "norm": "input-weight column sum (norm)",
    "inhibition": "lateral inhibition strength (w_lat for SpikeDyn, w_ie for Diehl & Cook)",
    "min_spikes": "boost rule: spikes a presentation needs before the next sample (5; rounded, >= 0)",
}
COMPILED_KNOBS = ("reset", "tau_m")
INFERENCE_KNOBS = ("intensity", "threshold", "reset", "tau_m", "inhibition", "min_spikes")   # act when plastic = 0
# Enhancement exponents per model: value(T) = value(T0) * (T0/T)**alpha.  They are what
# derived_rules() gives for the measured analyses, in the order they ran: three greedy training
# rounds (benchmarks/timestep_sensitivity{,_round2,_round3}.json), then the inference knobs
# (timestep_inference_sensitivity.json); a test checks that they agree (docs/methods.md).
DEFAULT_RULES = {"spikedyn": {"theta_plus": 0.5, "eta": 0.25, "intensity": -0.25, "infer:intensity": 1.0},
                 "diehl-cook": {"theta_plus": 0.5, "eta": 0.25, "infer:intensity": 1.0}}
SENSITIVITY_FILES = ("timestep_sensitivity.json", "timestep_sensitivity_round2.json",
                     "timestep_sensitivity_round3.json", "timestep_inference_sensitivity.json")
SENSITIVITY_ALPHAS = (-0.5, 0.5, 1.0)

DEFAULT_WEIGHTS = {"accuracy": 1.0, "latency": 1.0, "energy_train": 1.0, "energy_inference": 1.0}
_METRIC = {"latency": "latency_s", "energy_train": "energy_train_j", "energy_inference": "energy_inference_j"}
VARIANTS = ("baseline", "enhanced", "inference-only", "inference-only-enhanced")


# ------------------------------------------------------------------------------------------
# windows
# ------------------------------------------------------------------------------------------
def _number(name, v):
    if isinstance(v, bool):
        raise ValueError(f"{name} must be a number, got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return x


def check_dt(dt_ms) -> float:
    dt = _number("dt", dt_ms)
    if dt <= 0:
        raise ValueError(f"dt must be > 0 ms, got {dt_ms!r}")
    return dt


def check_window(window_ms, dt_ms) -> float:
    """A presentation window in ms: finite, > 0 and a whole number of dt steps."""
    dt = check_dt(dt_ms)
    w = _number("window", window_ms)
    if w <= 0:
        raise ValueError(f"window must be > 0 ms, got {window_ms!r}")
    steps = w / dt
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise ValueError(f"window {w:g} ms is not a multiple of dt ({dt:g} ms)")
    return w


def check_windows(windows, dt_ms) -> list:
    ws = [check_window(w, dt_ms) for w in windows]
    if not ws:
        raise ValueError("no window given")
    if len(set(ws)) != len(ws):
        raise ValueError(f"windows repeat a value: {', '.join(f'{w:g}' for w in windows)}")
    return sorted(ws, reverse=True)


def rest_ms(window_ms, dt_ms, rest_ratio=REST_RATIO) -> float:
    """Rest after a window: ``window x rest_ratio`` rounded to whole steps, at least one step."""
    dt = check_dt(dt_ms)
    r = _number("rest ratio", rest_ratio)
    if r < 0:
        raise ValueError(f"rest ratio must be >= 0, got {rest_ratio!r}")
    return max(1, int(round(check_window(window_ms, dt) * r / dt))) * dt


def steps_per_presentation(window_ms, dt_ms, rest_ratio=REST_RATIO) -> int:
    return int(round((check_window(window_ms, dt_ms) + rest_ms(window_ms, dt_ms, rest_ratio)) / dt_ms))


def presentation(window_ms, dt_ms=0.5, rest_ratio=REST_RATIO, intensity0=BASE_INTENSITY, min_spikes=None):
    from ..encoding import Presentation
    return Presentation(t_on_ms=check_window(window_ms, dt_ms), t_rest_ms=rest_ms(window_ms, dt_ms, rest_ratio),
                        dt_ms=dt_ms, intensity0=intensity0,
                        min_spikes=BASE_MIN_SPIKES if min_spikes is None else int(min_spikes))


# ------------------------------------------------------------------------------------------
# parameter enhancement (pure)
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """What a run changes relative to the model's defaults."""
    params: dict = field(default_factory=dict)      # model parameters (tau_e_ms/reset_gap_mV compiled)
    intensity0: float = BASE_INTENSITY
    theta_shift_mV: float = 0.0                     # added to theta (initial for training, learned for inference-only)
    factors: dict = field(default_factory=dict)     # knob -> factor applied
    capped: tuple = ()                              # knobs limited by a cap
    min_spikes: int | None = None                   # boost-rule criterion (None: the default 5)

    def to_dict(self):
        d = {"params": dict(self.params), "intensity0": self.intensity0,
             "theta_shift_mV": self.theta_shift_mV, "factors": dict(self.factors), "capped": list(self.capped)}
        if self.min_spikes is not None:
            d["min_spikes"] = self.min_spikes
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(dict(d["params"]), d["intensity0"], d["theta_shift_mV"], dict(d["factors"]), tuple(d["capped"]),
                   d.get("min_spikes"))


def check_model(model):
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    return model


def base_params(model) -> dict:
    """Default values of the run-time parameters the knobs act on."""
    from ..models import get_model_spec
    spec = get_model_spec(check_model(model), n_exc=1)
    return {k: float(getattr(spec, k)) for k in spec.RUNTIME}


PHASES = ("train", "infer")


def _knob_alphas(rules) -> dict:
    """``{knob: alpha}``; a knob may carry a phase prefix: ``train:knob`` (training only) or
    ``infer:knob`` (inference only; a knob that acts with learning off)."""
    out = {}
    for k, a in dict(rules).items():
        phase, _, knob = k.rpartition(":")
        if knob not in KNOBS:
            raise ValueError(f"unknown knob {knob!r}; choose from {', '.join(KNOBS)}")
        if phase and phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r} in {k!r}; use train:KNOB or infer:KNOB")
        if phase == "infer" and knob not in INFERENCE_KNOBS:
            raise ValueError(f"{knob} does not act with learning off; inference knobs: {', '.join(INFERENCE_KNOBS)}")
        out[k] = _number(f"exponent of {k}", a)
    return out


def phase_knobs(rules_m: dict) -> tuple:
    """Split one model's rules into (training knobs, inference knobs for a network trained with
    them, inference knobs for a network trained without them).  An unprefixed knob acts in
    training and -- where it acts with learning off -- in inference, except ``threshold``: its
    training shift of theta is already in the learned theta, so it is re-applied only to a
    network trained elsewhere."""
    both = {k: a for k, a in rules_m.items() if ":" not in k}
    train = dict(both, **{k.split(":", 1)[1]: a for k, a in rules_m.items() if k.startswith("train:")})
    extra = {k.split(":", 1)[1]: a for k, a in rules_m.items() if k.startswith("infer:")}
    infer_only = dict({k: a for k, a in both.items() if k in INFERENCE_KNOBS}, **extra)
    infer = dict({k: a for k, a in both.items() if k in INFERENCE_KNOBS and k != "threshold"}, **extra)
    return train, infer, infer_only


def check_rules(rules) -> dict:
    """Enhancement rules, normalised to ``{model: {knob: alpha}}``.  Accepts that form or a flat
    ``{knob: alpha}`` that applies to every model."""
    rules = dict(DEFAULT_RULES if rules is None else rules)
    if any(k in MODELS for k in rules):
        bad = [k for k in rules if k not in MODELS]
        if bad:
            raise ValueError(f"rules mix models and knobs ({bad[0]!r}); give {{knob: alpha}} or {{model: {{knob: alpha}}}}")
        return {m: _knob_alphas(rules.get(m, {})) for m in MODELS}
    flat = _knob_alphas(rules)
    return {m: dict(flat) for m in MODELS}


def format_rules(rules) -> str:
    r = check_rules(rules)
    parts = [f"{m}: " + (", ".join(f"{k}×(T0/T)^{a:g}" for k, a in r[m].items()) or "none") for m in r]
    return "; ".join(parts)


def _points(accuracy_difference) -> float:
    """Percentage points, rounded to 1e-9: accuracies are counts over test images, so a
    difference that is exactly on a threshold must not fall either side by float rounding."""
    return round(100 * accuracy_difference, 9)


def rules_from_sensitivity(rows, max_presentation_increase=0.15, min_gain_pp=1.0, allow_compiled=False) -> dict:
    """Enhancement rules from a sensitivity summary (:func:`summarise_sensitivity` rows, also as
    read back from JSON): per model, the single knob/exponent with the highest accuracy whose
    presentations per training sample stay within ``1 + max_presentation_increase`` of the
    unenhanced short window's (a knob must not buy accuracy with boost-rule repeats, i.e. with
    time), gaining at least ``min_gain_pp``.  Compiled knobs only when ``allow_compiled`` (they
    cost a build per window).  Pure."""
    best = {}
    for row in rows:
        m = row["model"]
        best.setdefault(m, None)
        if row["knob"] in COMPILED_KNOBS and not allow_compiled:
            continue
        limit = row["unenhanced_presentations"][0] * (1 + max_presentation_increase)
        slots = {float(k): v for k, v in row["presentations_by_alpha"].items()}
        for a, acc in row["accuracy_by_alpha"].items():
            a = float(a)
            if slots[a][0] > limit or _points(acc - row["unenhanced"]) < min_gain_pp:
                continue
            if best[m] is None or acc > best[m][2]:
                best[m] = (row["knob"], a, acc)
    return {m: ({} if b is None else {b[0]: b[1]}) for m, b in best.items()}


def apply_factors(model, factors, dt_ms=0.5, params=None, intensity0=BASE_INTENSITY, p_cap=P_CAP) -> Settings:
    """Settings with each knob's default value multiplied by its factor (pure).

    ``params`` are the caller's parameter overrides (the base the factors multiply)."""
    check_model(model)
    dt = check_dt(dt_ms)
    base = dict(base_params(model), **(params or {}))
    out = dict(params or {})
    intensity, shift, capped, fac, min_spikes = _number("intensity", intensity0), 0.0, [], {}, None
    for k, f in dict(factors).items():
        if k not in KNOBS:
            raise ValueError(f"unknown knob {k!r}; choose from {', '.join(KNOBS)}")
        f = _number(f"factor of {k}", f)
        if f <= 0:
            raise ValueError(f"factor of {k} must be > 0, got {f!r}")
        fac[k] = f
        if k == "intensity":
            intensity *= f
            cap = p_cap / (MAX_PIXEL_RATE_PER_INTENSITY * dt * 1e-3)
            if intensity > cap:
                intensity, capped = cap, capped + ["intensity"]
        elif k == "threshold":
            shift = BASE_THRESHOLD_GAP_MV * (f - 1.0)
        elif k == "reset":
            out["reset_gap_mV"] = float(base.get("reset_gap_mV", BASE_RESET_GAP_MV)) * f
        elif k == "tau_m":
            out["tau_e_ms"] = float(base.get("tau_e_ms", BASE_TAU_E_MS)) * f
        elif k == "theta_plus":
            out["theta_plus_mV"] = base["theta_plus_mV"] * f
        elif k == "eta":
            for p in ("nu_pre", "nu_post"):
                if p in base:
                    out[p] = base[p] * f
        elif k == "norm":
            out["norm"] = base["norm"] * f
        elif k == "inhibition":
            p = "w_lat" if "w_lat" in base else "w_ie"
            out[p] = base[p] * f
        elif k == "min_spikes":
            min_spikes = int(round(BASE_MIN_SPIKES * f))
    return Settings(out, float(intensity), float(shift), fac, tuple(capped), min_spikes)


def enhance(model, window_ms, base_window_ms=BASE_WINDOW_MS, dt_ms=0.5, rules=None, params=None,
            intensity0=BASE_INTENSITY, phase="train") -> Settings:
    """Enhanced settings for a window: every knob ``k`` of ``rules`` scaled by
    ``(base_window / window) ** rules[k]`` (a pure function of the window).

    ``phase``: ``"train"`` (training), ``"infer"`` (inference of the network trained with these
    rules) or ``"infer-only"`` (inference of a network trained at the full window)."""
    dt = check_dt(dt_ms)
    w, w0 = check_window(window_ms, dt), check_window(base_window_ms, dt)
    if w > w0:
        raise ValueError(f"window {w:g} ms is longer than the full window {w0:g} ms")
    train, infer, infer_only = phase_knobs(check_rules(rules)[check_model(model)])
    knobs = {"train": train, "infer": infer, "infer-only": infer_only}.get(phase)
    if knobs is None:
        raise ValueError(f"phase must be train, infer or infer-only, got {phase!r}")
    r = w0 / w
    return apply_factors(model, {k: r ** a for k, a in knobs.items()}, dt, params, intensity0)


def inference_part(settings: Settings, model, dt_ms=0.5, params=None, intensity0=BASE_INTENSITY) -> Settings:
    """The part of ``settings`` that acts with learning off, for a network trained without it
    (threshold included: its shift goes onto the learned theta)."""
    keep = {k: f for k, f in settings.factors.items() if k in INFERENCE_KNOBS}
    return apply_factors(model, keep, dt_ms, params, intensity0)


# ------------------------------------------------------------------------------------------
# trade-off policy (pure)
# ------------------------------------------------------------------------------------------
def check_weights(weights) -> dict:
    w = dict(DEFAULT_WEIGHTS)
    for k, v in dict(weights or {}).items():
        if k not in DEFAULT_WEIGHTS:
            raise ValueError(f"unknown weight {k!r}; choose from {', '.join(DEFAULT_WEIGHTS)}")
        v = _number(f"weight {k}", v)
        if v < 0:
            raise ValueError(f"weight {k} must be >= 0, got {v!r}")
        w[k] = v
    if sum(w.values()) <= 0:
        raise ValueError("at least one weight must be > 0")
    return w


def check_tolerance(tol) -> float:
    t = _number("accuracy tolerance", tol)
    if t < 0:
        raise ValueError(f"accuracy tolerance must be >= 0 percentage points, got {tol!r}")
    return t


def objective(row, ref, weights) -> float:
    """``w_a A/A0 - sum_k w_k X_k/X_k0`` (costs: latency, training and inference energy)."""
    a0 = ref["accuracy"] if ref["accuracy"] > 0 else 1.0
    s = weights["accuracy"] * row["accuracy"] / a0
    for k, key in _METRIC.items():
        if weights[k] == 0:
            continue
        x, x0 = row.get(key), ref.get(key)
        if x is None or x0 is None or not x0 > 0:
            who = "the reference has no positive" if x0 is None or not x0 > 0 else f"the row {describe_row(row)} has no"
            raise ValueError(f"cannot weigh {k}: {who} {key} (was the target able to price the counts?)")
        s -= weights[k] * x / x0
    return s


# budgets: row key -> (name in the explanation, display unit, factor from the stored SI value)
BUDGETS = {"latency_s": ("latency", "ms", 1e3), "energy_train_j": ("training energy", "mJ", 1e3),
           "energy_inference_j": ("inference energy", "mJ", 1e3)}


def _two(x, y, unit=""):
    """``x`` and ``y`` with the fewest decimals (1..6) that tell them apart."""
    for d in range(1, 7):
        a, b = f"{x:.{d}f}", f"{y:.{d}f}"
        if a != b:
            break
    return a + unit, b + unit, d


def violations(row, ref, tolerance_pp=2.0, **budgets) -> list:
    """Every constraint ``row`` breaks, each as a dict: ``constraint`` (``accuracy`` or a budget
    key), ``value`` and ``limit`` (display units: pp vs the full window, ms or mJ per sample),
    ``excess`` (how far past the limit, same units), ``relative`` (excess / |limit|, None when
    the limit is 0 or the value is missing), ``short`` (for the table) and ``text``.  An empty
    list: the row is feasible."""
    tol = check_tolerance(tolerance_pp)
    out = []
    d = 100.0 * (row["accuracy"] - ref["accuracy"])
    if row["accuracy"] < ref["accuracy"] - tol / 100.0 - 1e-12:
        a, b, k = _two(d, -tol)
        miss = -tol - d
        out.append({"constraint": "accuracy", "value": d, "limit": -tol, "excess": miss,
                    "relative": miss / (100.0 * ref["accuracy"] - tol) if 100.0 * ref["accuracy"] > tol else None,
                    "short": f"accuracy {d:+.{k}f} pp (limit -{tol:g})",
                    "text": f"accuracy {d:+.{k}f} pp vs the full window < -{tol:g} pp allowed "
                            f"({miss:.{k}f} pp short)"})
    for key, v in budgets.items():
        if v is None:
            continue
        name, unit, f = BUDGETS[key]
        lim = f * float(v)
        x = row.get(key)
        if x is None:
            out.append({"constraint": key, "value": None, "limit": lim, "excess": None, "relative": None,
                        "short": f"{name} n/a (max {lim:g})",
                        "text": f"{name} n/a (the target could not price it) vs max {lim:g} {unit}/sample"})
        elif x > float(v):
            a, b, k = _two(f * x, lim)
            out.append({"constraint": key, "value": f * x, "limit": lim, "excess": f * x - lim,
                        "relative": (f * x - lim) / lim if lim > 0 else None,
                        "short": f"{name} {a} {unit} (max {lim:g})",
                        "text": f"{name} {a} {unit}/sample > max {lim:g} {unit} (+{f * x - lim:.{k}f} {unit}"
                                + (f", {x / float(v):.2f}× the budget)" if lim > 0 else ")")})
    return out


def _up(x, digits=3):
    """``x`` rounded *up* to ``digits`` significant digits (a limit that admits ``x``)."""
    if not x > 0:
        return x
    q = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return round(math.ceil(round(x / q, 9)) * q, 12)


def describe_row(row) -> str:
    """``enhanced, train 25 ms / infer 25 ms`` (how the policy's explanations name a row)."""
    return f"{row['variant']}, train {row['train_window_ms']:g} ms / infer {row['infer_window_ms']:g} ms"


def closest(scored):
    """Among infeasible scored rows, the one nearest to feasible: smallest sum of relative
    misses (each miss divided by its limit; a missing value counts as infinitely far), then the
    fewest broken constraints, then the higher score.  Returns ``(row, admit)`` where ``admit``
    names the relaxed limits that would make it feasible (``tolerance_pp``, ``max_latency_ms``,
    ``max_energy_train_mj``, ``max_energy_inference_mj``), or ``(None, {})``."""
    bad = [s for s in scored if s.get("violations")]
    if not bad:
        return None, {}

    def dist(s):
        rel = [v["relative"] for v in s["violations"]]
        return (math.inf if any(r is None for r in rel) else sum(rel), len(rel), -s["score"])
    best = min(bad, key=dist)
    if dist(best)[0] == math.inf:
        return best, {}
    names = {"accuracy": "tolerance_pp", "latency_s": "max_latency_ms", "energy_train_j": "max_energy_train_mj",
             "energy_inference_j": "max_energy_inference_mj"}
    return best, {names[v["constraint"]]: (-v["value"] if v["constraint"] == "accuracy" else v["value"])
                  for v in best["violations"]}


def explain(scored) -> dict:
    """Why rows were excluded: ``excluded`` (one entry per infeasible row: variant, windows,
    ``violations`` and ``text``), ``counts`` (constraint -> number of rows it excluded) and, when
    nothing is feasible, ``closest`` (the nearest row and the limits that would admit it)."""
    excluded = [{"variant": s["variant"], "train_window_ms": s["train_window_ms"],
                 "infer_window_ms": s["infer_window_ms"], "violations": s["violations"],
                 "text": f"{describe_row(s)}: " + "; ".join(v["text"] for v in s["violations"])}
                for s in scored if s.get("violations")]
    counts = {}
    for e in excluded:
        for v in e["violations"]:
            counts[v["constraint"]] = counts.get(v["constraint"], 0) + 1
    out = {"candidates": len(scored), "excluded": excluded, "counts": counts, "closest": None}
    if excluded and len(excluded) == len(scored):
        row, admit = closest(scored)
        units = {"tolerance_pp": "pp", "max_latency_ms": "ms", "max_energy_train_mj": "mJ",
                 "max_energy_inference_mj": "mJ"}
        label = {"tolerance_pp": "accuracy tolerance", "max_latency_ms": "max latency",
                 "max_energy_train_mj": "max training energy", "max_energy_inference_mj": "max inference energy"}
        how = " and ".join(f"{label[k]} >= {_up(v):g} {units[k]}" for k, v in admit.items())
        out["closest"] = {"variant": row["variant"], "train_window_ms": row["train_window_ms"],
                          "infer_window_ms": row["infer_window_ms"], "accuracy": row["accuracy"],
                          "violations": row["violations"], "admit": admit,
                          "text": f"{describe_row(row)}: " + "; ".join(v["text"] for v in row["violations"])
                                  + (f"; feasible with {how}" if how else "")}
    return out


def choose(rows, ref, tolerance_pp=2.0, weights=None, max_latency_s=None, max_energy_train_j=None,
           max_energy_inference_j=None):
    """Pick the best row under the constraints.  Returns ``(selected or None, scored)`` where
    every scored row is a copy with ``score``, ``feasible``, ``violations`` (every broken
    constraint with its numbers, :func:`violations`) and ``reason`` (their texts).  Ties: the
    more accurate, then the longer inference window."""
    tol, w = check_tolerance(tolerance_pp), check_weights(weights)
    budgets = {"latency_s": max_latency_s, "energy_train_j": max_energy_train_j,
               "energy_inference_j": max_energy_inference_j}
    for k, v in budgets.items():
        if v is not None and (_number(k, v) < 0):
            raise ValueError(f"budget {k} must be >= 0, got {v!r}")
    scored = []
    for r in rows:
        vs = violations(r, ref, tol, **budgets)
        scored.append(dict(r, score=objective(r, ref, w), feasible=not vs, violations=vs,
                           reason="; ".join(v["text"] for v in vs)))
    feas = [s for s in scored if s["feasible"]]
    best = max(feas, key=lambda s: (round(s["score"], 12), s["accuracy"], s["infer_window_ms"])) if feas else None
    return best, scored


def ratios(row, ref) -> dict:
    def q(k):
        return ref[k] / row[k] if row.get(k) and ref.get(k) is not None else None
    return {"latency": q("latency_s"), "energy_train": q("energy_train_j"),
            "energy_inference": q("energy_inference_j"), "accuracy_pp": 100 * (row["accuracy"] - ref["accuracy"])}


# ------------------------------------------------------------------------------------------
# configuration
# ------------------------------------------------------------------------------------------
@dataclass
class TimestepConfig:
    models: tuple = ("spikedyn", "diehl-cook")
    neurons: tuple = (100,)
    windows_ms: tuple = (350.0, 200.0, 100.0, 50.0, 25.0)
    dt_ms: float = 0.5
    rest_ratio: float = REST_RATIO
    seeds: tuple = (0,)
    epochs: int = 1
    label_samples: int | None = None
    rules: dict = field(default_factory=lambda: check_rules(DEFAULT_RULES))
    variants: tuple = VARIANTS
    backend: str = "cpp"
    chunk_slots: int = 250
    data: dict = field(default_factory=lambda: {"dataset": "embedded"})

    def __post_init__(self):
        self.models = tuple(check_model(m) for m in self.models)
        if not self.models:
            raise ValueError("no model given")
        self.neurons = tuple(int(n) for n in self.neurons)
        if not self.neurons or min(self.neurons) < 1:
            raise ValueError("neurons must be positive integers")
        self.dt_ms = check_dt(self.dt_ms)
        self.windows_ms = tuple(check_windows(self.windows_ms, self.dt_ms))
        rest_ms(self.windows_ms[0], self.dt_ms, self.rest_ratio)
        self.seeds = tuple(int(s) for s in self.seeds) or (0,)
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs!r}")
        if self.label_samples is not None and int(self.label_samples) < 1:
            raise ValueError(f"label samples must be >= 1, got {self.label_samples!r}")
        self.rules = check_rules(self.rules)
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad:
            raise ValueError(f"unknown variant {bad[0]!r}; choose from {', '.join(VARIANTS)}")
        if "baseline" not in self.variants:
            self.variants = ("baseline",) + tuple(self.variants)
        # canonical data description (job keys, and so the resume cache, depend on it)
        self.data = {k: v for k, v in dict(self.data).items()
                     if v is not None and not (k == "data_seed" and v == 0)}

    @property
    def base_window_ms(self):
        return self.windows_ms[0]


# ------------------------------------------------------------------------------------------
# one evaluation (runs in this process or in a Dask worker)
# ------------------------------------------------------------------------------------------
_WORKER = {"backends": {}}


def _backend(name, chunk_slots, max_slot_ms):
    from ..backend import get_backend
    key = (name, int(chunk_slots), float(max_slot_ms))
    if key not in _WORKER["backends"]:
        _WORKER["backends"][key] = get_backend(name, chunk_slots=int(chunk_slots), max_slot_ms=float(max_slot_ms))
    return _WORKER["backends"][key]


def _strip(state):
    return {k: np.asarray(v, dtype=float) for k, v in state.items() if not k.startswith("ctrl_")}


def evaluate(job: dict) -> dict:
    """Train (unless ``job['state']`` is given) at ``train_window_ms`` with ``train_settings``,
    label and test at ``infer_window_ms`` with ``infer_settings``.  Plain data in and out."""
    from ..readout import assign_labels, predict
    from ..runner import present
    from .train_eval import image_table, initial_state
    t_start = time.perf_counter()
    cfg = job["config"]
    ds = load_described(cfg["data"])
    images = image_table(ds)
    bk = _backend(cfg["backend"], cfg["chunk_slots"], cfg["max_slot_ms"])
    seed, dt, rr = int(job["seed"]), cfg["dt_ms"], cfg["rest_ratio"]
    n_train, n_test = len(ds.y_train), len(ds.y_test)
    n_in = ds.x_train.shape[1]
    out = {"job": {k: v for k, v in job.items() if k not in ("input", "config", "group")}, "pid": os.getpid()}
    state = job["input"]["state"] if "input" in job else None
    if state is None:
        ts = Settings.from_dict(job["train_settings"])
        spec = tuned_spec(job["model"], job["n_exc"], n_in, **ts.params)
        pres = presentation(job["train_window_ms"], dt, rr, ts.intensity0, ts.min_spikes)
        st = initial_state(spec, seed)
        st["theta"] = st["theta"] + ts.theta_shift_mV * 1e-3
        rng = np.random.default_rng(seed)
        counts, wall, slots, build = None, 0.0, 0, 0.0
        for epoch in range(int(cfg["epochs"])):
            run = present(spec, bk, pres, images, rng.permutation(n_train), st, plastic=1, phase="training",
                          seed=seed * 1000 + epoch * 10, progress=False)
            st = _strip(run.state)
            counts = run.counts if counts is None else counts + run.counts
            wall += run.sim_wall_s
            slots += run.presentations
            build += run.build_s
        state = st
        out.update(train_counts=counts.to_dict(), train_wall_s=wall, train_presentations=slots,
                   train_samples=n_train * int(cfg["epochs"]), state=state)
    else:
        state = _strip(state)
        build = 0.0
    inf = Settings.from_dict(job["infer_settings"])
    spec = tuned_spec(job["model"], job["n_exc"], n_in, **inf.params)
    pres = presentation(job["infer_window_ms"], dt, rr, inf.intensity0, inf.min_spikes)
    frozen = dict(state, theta=state["theta"] + inf.theta_shift_mV * 1e-3)
    n_label = n_train if cfg.get("label_samples") is None else min(int(cfg["label_samples"]), n_train)
    lab = present(spec, bk, pres, images, np.arange(n_label), frozen, plastic=0, phase="inference",
                  seed=seed * 1000 + 501, progress=False)
    assignments, _ = assign_labels(lab.responses, ds.y_train[:n_label])
    test = present(spec, bk, pres, images, n_train + np.arange(n_test), frozen, plastic=0, phase="inference",
                   seed=seed * 1000 + 502, progress=False)
    pred = predict(test.responses, assignments)
    out.update(accuracy=float((pred == ds.y_test).mean()), infer_counts=test.counts.to_dict(),
               infer_wall_s=test.sim_wall_s, infer_presentations=test.presentations, test_samples=n_test,
               spikes_per_test_sample=float(test.responses.sum(axis=1).mean()),
               kernels=test.counts.extra.get("kernels_per_step"), build_s=build + lab.build_s + test.build_s,
               wall_s=time.perf_counter() - t_start)
    return out


# ------------------------------------------------------------------------------------------
# jobs of the timestep analysis
# ------------------------------------------------------------------------------------------
def plan_jobs(cfg: TimestepConfig) -> list:
    """Jobs, full-window baselines first; inference-only jobs name the job whose state they use."""
    c = _cfg_dict(cfg)
    base = Settings().to_dict()
    jobs = []
    for model in cfg.models:
        for n in cfg.neurons:
            for seed in cfg.seeds:
                w0 = cfg.base_window_ms
                j0 = dict(model=model, n_exc=n, seed=seed, variant="baseline", train_window_ms=w0,
                          infer_window_ms=w0, train_settings=base, infer_settings=base, config=c)
                j0["key"] = job_key(j0)
                jobs.append(j0)
                for w in cfg.windows_ms[1:]:
                    enh = enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="train")
                    enh_inf = enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="infer")
                    inf_enh = enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="infer-only")
                    specs = {"baseline": (w, base, w, base, None),
                             "enhanced": (w, enh.to_dict(), w, enh_inf.to_dict(), None),
                             "inference-only": (w0, base, w, base, j0["key"]),
                             "inference-only-enhanced": (w0, base, w, inf_enh.to_dict(), j0["key"])}
                    for v in cfg.variants:
                        if v == "inference-only-enhanced" and not inf_enh.factors:
                            continue          # no knob acts with learning off: same as inference-only
                        tw, tset, iw, iset, dep = specs[v]
                        j = dict(model=model, n_exc=n, seed=seed, variant=v, train_window_ms=tw,
                                 infer_window_ms=iw, train_settings=tset, infer_settings=iset, config=c,
                                 after=dep)
                        j["key"] = job_key(j)
                        jobs.append(j)
    return jobs


def _cfg_dict(cfg):
    d = asdict(cfg)
    out = {k: d[k] for k in ("dt_ms", "rest_ratio", "epochs", "label_samples", "backend", "chunk_slots", "data")}
    # every window's slot fits the full window's: one binary serves the whole sweep
    out["max_slot_ms"] = cfg.base_window_ms + rest_ms(cfg.base_window_ms, cfg.dt_ms, cfg.rest_ratio)
    out["code"] = code_fingerprint()
    return out


def code_fingerprint() -> str:
    """Hash of the source files that decide what a run computes (models, encoding, integration,
    backend, runner, readout, this module's evaluate).  Part of every job key, so cached runs of
    an older model version are never mixed with new ones."""
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "models").glob("*.py")) + [root / f for f in (
        "encoding.py", "integration.py", "backend.py", "runner.py", "readout.py", "activity.py")]
    files += [Path(__file__).with_name("timestep_models.py"), Path(__file__).with_name("train_eval.py")]
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.name.encode() + f.read_bytes())
    h.update(inspect.getsource(evaluate).encode())
    return h.hexdigest()[:12]


def _stored_job(j):
    return dict({k: v for k, v in j.items() if k != "config"}, code=j["config"].get("code"))


def _git_head():
    import subprocess
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_jobs(jobs, out_dir=None, scheduler=None, workers=2, serial=False, log=print):
    """Run ``jobs`` on the job runner (jobs sharing a compiled binary in one process, inference-
    only jobs after the job whose state they use); finished jobs are cached in ``out_dir/jobs``.
    Returns results by job key (without the states)."""
    results = jobs_runner.run_jobs(with_groups(jobs), evaluate, None if out_dir is None else Path(out_dir) / "jobs",
                                   scheduler, 1 if serial else workers, log, _progress)
    for r in results.values():
        r.pop("state", None)
    return results


def with_groups(jobs):
    """Jobs that use the same compiled binaries form one group (run in one process)."""
    for j in jobs:
        j["group"] = sorted({str(b) for b in _binaries(j)})
    return jobs


def _progress(j, r):
    built = f", build {r['build_s']:.0f} s" if r.get("build_s", 0) > 0.5 else ""
    return f"{_describe(j)}: accuracy {100 * r['accuracy']:.1f} % ({r['wall_s']:.0f} s{built})"


def _binaries(j):
    """The compiled binaries a job uses, in order (training, inference)."""
    def key(window, settings):
        p = settings["params"]
        # the window is run-time, except on cuda (its runs cannot end early)
        w = window if j["config"]["backend"] == "cuda" else None
        return (j["model"], j["n_exc"], w, p.get("tau_e_ms"), p.get("reset_gap_mV"))
    train = [] if j.get("after") else [key(j["train_window_ms"], j["train_settings"])]
    return train + [key(j["infer_window_ms"], j["infer_settings"])]


def _describe(j):
    w = (f"window {j['infer_window_ms']:g} ms" if j["train_window_ms"] == j["infer_window_ms"]
         else f"trained {j['train_window_ms']:g} ms, inferred {j['infer_window_ms']:g} ms")
    probe = f" {j['knob']}×(T0/T)^{j['alpha']:g}" if j.get("knob") not in (None, "none", "full-window") else ""
    return f"{j['model']} N={j['n_exc']} seed {j['seed']} {j['variant']}{probe} {w}"


# ------------------------------------------------------------------------------------------
# table: price the counts, aggregate seeds, ratios, policy
# ------------------------------------------------------------------------------------------
def price(counts_dict, target=JETSON):
    from hwmodel.counts import Counts
    from .energy import estimate
    return estimate(Counts.from_dict(counts_dict), target)


def _sum_counts(dicts):
    from hwmodel.counts import Counts
    total = None
    for d in dicts:
        c = Counts.from_dict(d)
        total = c if total is None else total + c
    return total.to_dict()


def _with_kernels(counts_dict, result):
    """A stored counts record with ``kernels_per_step``: results stored before counts records
    carried it have the job's count beside them (``kernels``)."""
    if "kernels_per_step" in counts_dict or result.get("kernels") is None:
        return counts_dict
    return dict(counts_dict, kernels_per_step=result["kernels"])


def build_rows(jobs, results, target=JETSON) -> list:
    """One row per (model, N, variant, windows): accuracy averaged over seeds, counts summed over
    seeds and priced per sample.  Inference-only rows carry the training cost of their state."""
    groups = {}
    for j in jobs:
        g = (j["model"], j["n_exc"], j["variant"], j["train_window_ms"], j["infer_window_ms"])
        groups.setdefault(g, []).append(j)
    rows = []
    for (model, n, variant, tw, iw), js in groups.items():
        rs = [results[j["key"]] for j in js]
        train_src = [results[j["after"]] if j.get("after") else results[j["key"]] for j in js]
        tc = _sum_counts([_with_kernels(r["train_counts"], r) for r in train_src])
        ic = _sum_counts([_with_kernels(r["infer_counts"], r) for r in rs])
        kern_i = ic.get("kernels_per_step")
        et, ei = price(tc, target), price(ic, target)
        acc = np.array([r["accuracy"] for r in rs])
        dt = js[0]["config"]["dt_ms"]
        row = {"model": model, "n_exc": n, "variant": variant, "train_window_ms": tw, "infer_window_ms": iw,
               "timesteps": int(round(iw / dt)),
               "steps_per_presentation": steps_per_presentation(iw, dt, js[0]["config"]["rest_ratio"]),
               "accuracy": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
               "seeds": [j["seed"] for j in js],
               "latency_s": ei.get("latency_s_per_sample"), "latency_train_s": et.get("latency_s_per_sample"),
               "energy_train_j": et.get("energy_j_per_sample"), "energy_inference_j": ei.get("energy_j_per_sample"),
               "target": ei.get("target"), "evidence": ei.get("evidence"),
               "price_error": ei.get("error") or et.get("error"),
               "steps_per_test_sample": ic["steps"] / max(ic["samples"], 1),
               "presentations_per_train_sample": sum(r["train_presentations"] for r in train_src)
               / max(sum(r["train_samples"] for r in train_src), 1),
               "presentations_per_test_sample": sum(r["infer_presentations"] for r in rs)
               / max(sum(r["test_samples"] for r in rs), 1),
               "spikes_per_test_sample": float(np.mean([r["spikes_per_test_sample"] for r in rs])),
               "cpu_ms_per_train_sample": 1e3 * sum(r["train_wall_s"] for r in train_src)
               / max(sum(r["train_samples"] for r in train_src), 1),
               "cpu_ms_per_test_sample": 1e3 * sum(r["infer_wall_s"] for r in rs)
               / max(sum(r["test_samples"] for r in rs), 1),
               "kernels_per_step": kern_i,
               "settings": js[0]["infer_settings"] if variant != "enhanced" else js[0]["train_settings"]}
        rows.append(row)
    order = {m: i for i, m in enumerate(dict.fromkeys(j["model"] for j in jobs))}
    rows.sort(key=lambda r: (order[r["model"]], r["n_exc"], -r["infer_window_ms"], VARIANTS.index(r["variant"])))
    return rows


def select_all(rows, tolerance_pp=2.0, weights=None, variants=None, **budgets) -> dict:
    """Reference, ratios, policy choice per (model, N) with the reasons for every exclusion
    (``explanation``, :func:`explain`); headline averaged over them."""
    configs, chosen = [], []
    for key in dict.fromkeys((r["model"], r["n_exc"]) for r in rows):
        rs = [r for r in rows if (r["model"], r["n_exc"]) == key]
        ref = next(r for r in rs if r["variant"] == "baseline" and r["train_window_ms"] == r["infer_window_ms"]
                   and r["infer_window_ms"] == max(x["infer_window_ms"] for x in rs))
        for r in rs:
            r["ratios"] = ratios(r, ref)
        cand = [r for r in rs if variants is None or r["variant"] in variants or r is ref]
        best, scored = choose(cand, ref, tolerance_pp, weights, **budgets)
        for r in rs:
            r["selected"] = False
        for r, s in zip(cand, scored):
            r.update(score=s["score"], feasible=s["feasible"], violations=s["violations"], reason=s["reason"],
                     selected=s is best)
        configs.append({"model": key[0], "n_exc": key[1], "reference_accuracy": ref["accuracy"],
                        "selected": None if best is None else {k: best[k] for k in (
                            "variant", "train_window_ms", "infer_window_ms", "accuracy")},
                        "ratios": None if best is None else best["ratios"],
                        "explanation": explain(scored)})
        if best is not None:
            chosen.append(best["ratios"])
    head = {}
    if chosen:
        for k in ("latency", "energy_train", "energy_inference", "accuracy_pp"):
            vals = [c[k] for c in chosen if c[k] is not None]
            head[k] = float(np.mean(vals)) if vals else None
    return {"configs": configs, "headline": head, "tolerance_pp": check_tolerance(tolerance_pp),
            "weights": check_weights(weights), "budgets": budgets,
            "variants": list(variants) if variants else None}


def _f(x, fmt):
    return "n/a" if x is None else format(x, fmt)


def format_budgets(budgets) -> str:
    """``latency <= 20 ms/sample, training energy <= 500 mJ/sample`` (or '')."""
    parts = []
    for key, (name, unit, f) in BUDGETS.items():
        v = (budgets or {}).get(f"max_{key}")
        if v is not None:
            parts.append(f"{name} <= {f * float(v):g} {unit}/sample")
    return ", ".join(parts)


def format_table(rows, selection, target=JETSON) -> str:
    lines = [f"energy and latency per sample: hwmodel, target {target}; ratios vs the baseline at the full window",
             "| model | N | variant | train ms | infer ms | steps/sample | accuracy % | Δ pp | latency ms | "
             "E_train mJ | E_inf mJ | latency × | E_train × | E_inf × | score | excluded by |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        q = r.get("ratios", {})
        mark = " ◀" if r.get("selected") else ("" if r.get("feasible", True) else " ✗")
        why = ("not offered to the policy" if "feasible" not in r
               else "; ".join(v["short"] for v in r.get("violations") or []))
        lines.append(
            f"| {r['model']} | {r['n_exc']} | {r['variant']}{mark} | {r['train_window_ms']:g} | {r['infer_window_ms']:g} "
            f"| {r['steps_per_test_sample']:.0f} | {100 * r['accuracy']:.1f} | {_f(q.get('accuracy_pp'), '+.1f')} "
            f"| {_f(r['latency_s'] and 1e3 * r['latency_s'], '.1f')} | {_f(r['energy_train_j'] and 1e3 * r['energy_train_j'], '.1f')} "
            f"| {_f(r['energy_inference_j'] and 1e3 * r['energy_inference_j'], '.1f')} | {_f(q.get('latency'), '.2f')} "
            f"| {_f(q.get('energy_train'), '.2f')} | {_f(q.get('energy_inference'), '.2f')} | {_f(r.get('score'), '.3f')} "
            f"| {why} |")
    lines.append("◀ selected by the policy, ✗ excluded (the last column says by which constraint); "
                 "infer ms = input window per test sample (the plot's x-axis); steps/sample = simulated "
                 "steps per test sample: (window + rest) / dt, plus boost-rule repeats")
    lines.append("")
    w = selection["weights"]
    budgets = format_budgets(selection.get("budgets"))
    lines.append(f"policy: accuracy within {selection['tolerance_pp']:g} pp of the full window"
                 + (f"; budgets: {budgets}" if budgets else "") + "; maximise "
                 f"{w['accuracy']:g}·A/A0 − {w['latency']:g}·L/L0 − {w['energy_train']:g}·Et/Et0 − "
                 f"{w['energy_inference']:g}·Ei/Ei0")
    names = {"accuracy": "accuracy", **{k: v[0] for k, v in BUDGETS.items()}}
    for c in selection["configs"]:
        s, q, ex = c["selected"], c["ratios"], c.get("explanation")
        if s is None:
            lines.append(f"  {c['model']} N={c['n_exc']}: nothing feasible"
                         + (f"; each of the {ex['candidates']} candidates breaks a constraint:" if ex else ""))
            if ex:
                lines += [f"    ✗ {e['text']}" for e in ex["excluded"]]
                if ex.get("closest"):
                    lines.append(f"    closest: {ex['closest']['text']}")
            continue
        lines.append(f"  {c['model']} N={c['n_exc']}: {s['variant']}, train {s['train_window_ms']:g} ms / infer "
                     f"{s['infer_window_ms']:g} ms -> latency {_f(q['latency'], '.2f')}×, training energy "
                     f"{_f(q['energy_train'], '.2f')}×, inference energy {_f(q['energy_inference'], '.2f')}× lower, "
                     f"accuracy {q['accuracy_pp']:+.1f} pp")
        if ex and ex["excluded"]:
            lines.append(f"    excluded {len(ex['excluded'])} of {ex['candidates']} candidates: "
                         + ", ".join(f"{names[k]} {n}" for k, n in ex["counts"].items())
                         + " (a row may break several; see the last column)")
    h = selection["headline"]
    t = TOPSPARK_HEADLINE
    if h:
        lines.append(f"ours (mean over {len([c for c in selection['configs'] if c['selected']])} configurations): "
                     f"latency {_f(h['latency'], '.2f')}×, training energy {_f(h['energy_train'], '.2f')}×, "
                     f"inference energy {_f(h['energy_inference'], '.2f')}× lower, accuracy {h['accuracy_pp']:+.1f} pp")
    lines.append(f"TopSpark (abstract, mean over its sizes/rules/workloads): latency {t['latency']}×, training energy "
                 f"{t['energy_train']}×, inference energy {t['energy_inference']}× lower, accuracy within {t['accuracy_pp']:g} %")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# the whole analysis
# ------------------------------------------------------------------------------------------
def run_timestep(cfg: TimestepConfig, out_dir=None, target=JETSON, tolerance_pp=2.0, weights=None,
                 policy_variants=None, scheduler=None, workers=2, serial=False, log=print, **budgets) -> dict:
    t0 = time.perf_counter()
    check_tolerance(tolerance_pp)
    check_weights(weights)
    jobs = plan_jobs(cfg)
    windows = ", ".join(f"{w:g}" for w in cfg.windows_ms)
    log(f"timestep analysis: {', '.join(cfg.models)}; N = {', '.join(map(str, cfg.neurons))}; windows {windows} ms "
        f"(dt {cfg.dt_ms:g} ms, rest x{cfg.rest_ratio:.3f}); seeds {', '.join(map(str, cfg.seeds))}; {len(jobs)} runs; "
        f"{len({b for j in jobs for b in _binaries(j)})} compiled binaries (window lengths are run-time values)")
    results = run_jobs(jobs, out_dir, scheduler, workers, serial, log)
    res = {"schema": "brian-snn-timestep/1", "config": asdict(cfg), "target": target,
           "jobs": [_stored_job(j) for j in jobs], "code": code_fingerprint(), "git": _git_head(),
           "results": results, "wall_s": time.perf_counter() - t0}
    return tabulate(res, target, tolerance_pp, weights, policy_variants, **budgets)


def tabulate(res, target=None, tolerance_pp=2.0, weights=None, policy_variants=None, **budgets) -> dict:
    """(Re-)price and (re-)select on stored results: no simulation (``--from``)."""
    target = target or res.get("target", JETSON)
    if target == "jetson-nano-derived":      # results stored before hwmodel priced Jetsons itself
        target = JETSON
    cfg = res["config"]
    c = {k: cfg[k] for k in ("dt_ms", "rest_ratio", "epochs", "label_samples", "backend", "chunk_slots", "data")}
    jobs = [dict(j, config=dict(c, code=j.get("code"))) for j in res["jobs"]]
    rows = build_rows(jobs, res["results"], target)
    sel = select_all(rows, tolerance_pp, weights, policy_variants, **budgets)
    return dict(res, target=target, rows=rows, selection=sel)


def save(res, out_dir, plot=True):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with replacing(out / "timestep.json") as tmp:
        tmp.write_text(json.dumps(res, indent=1, default=_json_default))
    if plot:
        plot_timestep(res, out / "timestep.png")
    return out / "timestep.json"


def load(path) -> dict:
    p = Path(path)
    if p.is_dir():
        p = p / "timestep.json"
    try:
        res = json.loads(p.read_text())
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not a JSON file ({e})") from None
    if res.get("schema") != "brian-snn-timestep/1":
        raise ValueError(f"{p}: not a 'brian-snn timestep' results file")
    return _renamed_dependency(res)


def _renamed_dependency(res):
    """Files written before the job runner name a job's dependency ``state_from``."""
    for j in res.get("jobs", []):
        if "state_" "from" in j:
            j["after"] = j.pop("state_" "from")
    return res


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(type(o).__name__)


def timestep_figure(res):
    """The figure of :func:`plot_timestep` (a matplotlib ``Figure``, not saved).

    x-axis: the input window per test sample in ms, the table's ``infer ms`` column (the same
    for every variant; the simulated steps a sample takes, rest and boost-rule repeats
    included, are the table's ``steps/sample``).  Per model and N: test accuracy above, the
    latency and training-energy reductions per sample below, each panel labelled."""
    from matplotlib.figure import Figure
    rows = res["rows"]
    cfg = res.get("config", {})
    dt, rest = cfg.get("dt_ms", 0.5), cfg.get("rest_ratio", REST_RATIO)
    tol = res["selection"]["tolerance_pp"]
    models = list(dict.fromkeys(r["model"] for r in rows))
    sizes = sorted({r["n_exc"] for r in rows})
    # one column per size; per model a row of accuracy panels above a row of ratio panels
    fig = Figure(figsize=(5.2 * len(sizes), 4.2 * 2 * len(models)))
    axes = fig.subplots(2 * len(models), len(sizes), squeeze=False)
    styles = {"baseline": ("tab:blue", "o-"), "enhanced": ("tab:red", "s-"),
              "inference-only": ("tab:green", "^--"), "inference-only-enhanced": ("tab:purple", "v--")}
    xlabel = "input window per test sample, ms\n(table: 'infer ms'; simulated steps: 'steps/sample')"
    for model in models:
        for n in sizes:
            rs = [r for r in rows if (r["model"], r["n_exc"]) == (model, n)]
            ax, ax2 = axes[2 * models.index(model), sizes.index(n)], axes[2 * models.index(model) + 1, sizes.index(n)]
            if not rs:
                ax.set_visible(False)
                ax2.set_visible(False)
                continue
            ref = max((r for r in rs if r["variant"] == "baseline"), key=lambda r: r["infer_window_ms"])
            full = ref["infer_window_ms"]
            for v, (colr, st) in styles.items():
                pts = [r for r in rs if r["variant"] == v and r is not ref]
                if not pts:
                    continue
                pts = sorted(pts + [ref], key=lambda r: r["infer_window_ms"])   # the full window starts every variant
                x = [r["infer_window_ms"] for r in pts]
                ax.errorbar(x, [100 * r["accuracy"] for r in pts], yerr=[100 * r["accuracy_std"] for r in pts],
                            fmt=st, color=colr, label=v, ms=5, capsize=2)
                if v in ("baseline", "enhanced"):
                    q = [r.get("ratios", {}) for r in pts]
                    for key, alpha, what in (("latency", 1.0, "latency"), ("energy_train", 0.45, "training energy")):
                        y = [z.get(key) or np.nan for z in q]
                        at = f", {y[0]:.1f}× at {x[0]:g} ms" if np.isfinite(y[0]) else ""
                        ax2.plot(x, y, st, color=colr, alpha=alpha, label=f"{v}: {what}{at}")
            ax.axhline(100 * ref["accuracy"] - tol, color="grey", ls=":", lw=1.2,
                       label=f"tolerance: full window − {tol:g} pp")
            right = max(r["infer_window_ms"] for r in rs)
            for r in rs:
                if r.get("selected"):
                    x, y = r["infer_window_ms"], 100 * r["accuracy"]
                    ax.plot([x], [y], marker="*", ms=16, color="gold", mec="k", ls="none",
                            label="selected by the policy")
                    ax.annotate(f"selected: {r['variant']}, {x:g} ms, {y:.1f} %", (x, y), textcoords="offset points",
                                xytext=(-8, 9) if x == right else (8, 9), ha="right" if x == right else "left",
                                fontsize=9)
            ticks = sorted({r["infer_window_ms"] for r in rs})
            for a in (ax, ax2):
                a.set_xscale("log")
                a.set_xticks(ticks, [f"{t:g}" for t in ticks])
                a.minorticks_off()
                a.tick_params(labelsize=10)
                a.set_xlabel(xlabel, fontsize=10)
                a.grid(alpha=0.25)
            none = "" if any(r.get("selected") for r in rs) else "\nnothing feasible (table: 'excluded by')"
            ax.set_title(f"{model}, N = {n}: test accuracy{none}", fontsize=12)
            ax.set_ylabel("test accuracy (%)", fontsize=11)
            ax2.set_title(f"{model}, N = {n}: cost per sample ({res['target']})", fontsize=12)
            ax2.set_ylabel(f"× lower than at the full window ({full:g} ms)", fontsize=11)
            ax.legend(fontsize=8, loc="best")
            ax2.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"TopSpark sweep: accuracy and cost vs the input window (dt {dt:g} ms; each window is followed "
                 f"by a rest of window × {rest:.2f})", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return fig


def plot_timestep(res, path):
    """Accuracy and latency/energy reductions vs the input window in ms (:func:`timestep_figure`)."""
    fig = timestep_figure(res)
    fig.savefig(path, dpi=110)
    return path


# ------------------------------------------------------------------------------------------
# sensitivity analysis (which knobs matter at a short window)
# ------------------------------------------------------------------------------------------
def _probes(cfg, window_ms, knobs, alphas, extra_alphas, phase):
    """What a sensitivity analysis probes: ``{knob: [alpha, ...]}`` (``extra_alphas`` refine
    single knobs; ``phase`` "" or "infer:" for the knob check), the full and the probed window,
    and the job config."""
    for k in list(knobs) + list(extra_alphas or {}):
        _knob_alphas({f"{phase}{k}": 1.0})
    per_knob = {k: [_number("alpha", a) for a in alphas] for k in knobs}
    for k, extra in (extra_alphas or {}).items():
        per_knob.setdefault(k, [])
        per_knob[k] += [_number("alpha", a) for a in extra if _number("alpha", a) not in per_knob[k]]
    w0 = cfg.base_window_ms
    w = check_window(window_ms, cfg.dt_ms)
    if w >= w0:
        raise ValueError(f"sensitivity window {w:g} ms must be shorter than the full window {w0:g} ms")
    return per_knob, w0, w, _cfg_dict(cfg)


def plan_sensitivity(cfg: TimestepConfig, window_ms, knobs=None, alphas=SENSITIVITY_ALPHAS, extra_alphas=None,
                     on_top=False) -> list:
    """One-at-a-time: at ``window_ms``, each knob alone scaled by ``(T0/T)**alpha`` for every
    alpha (``extra_alphas``: {knob: [alpha, ...]} adds refinements for single knobs); plus the
    unenhanced short window and the full window (references).  ``on_top``: the next round of a
    greedy forward selection -- the reference ("none") and every probe start from ``cfg.rules``
    (a probed knob already in the rules gets its exponent increased by alpha)."""
    knobs = list(KNOBS) if knobs is None else list(knobs)
    per_knob, w0, w, c = _probes(cfg, window_ms, knobs, alphas, extra_alphas, "")
    jobs = []
    for model in cfg.models:
        for n in cfg.neurons:
            for seed in cfg.seeds:
                def job(win, settings, knob, alpha, infer=None):
                    j = dict(model=model, n_exc=n, seed=seed, variant="sensitivity", knob=knob, alpha=alpha,
                             train_window_ms=win, infer_window_ms=win, train_settings=settings.to_dict(),
                             infer_settings=(infer or settings).to_dict(), config=c)
                    j["key"] = job_key(j)
                    return j
                jobs.append(job(w0, Settings(), "full-window", 0.0))
                base_t, base_i = {}, {}
                if on_top:
                    rules = {model: check_rules(cfg.rules)[model]}
                    base_t = enhance(model, w, w0, cfg.dt_ms, rules, phase="train").factors
                    base_i = enhance(model, w, w0, cfg.dt_ms, rules, phase="infer").factors
                jobs.append(job(w, apply_factors(model, base_t, cfg.dt_ms), "none", 0.0,
                                apply_factors(model, base_i, cfg.dt_ms)))
                for k, als in per_knob.items():
                    for a in als:
                        f = (w0 / w) ** a
                        st = apply_factors(model, dict(base_t, **{k: base_t.get(k, 1.0) * f}), cfg.dt_ms)
                        inf = dict(base_i)
                        if k in INFERENCE_KNOBS and k != "threshold":   # its shift is in the learned theta
                            inf[k] = base_i.get(k, 1.0) * f
                        jobs.append(job(w, st, k, a, apply_factors(model, inf, cfg.dt_ms)))
    return jobs


def summarise_sensitivity(jobs, results) -> list:
    """Per (model, N, knob): accuracy per alpha (mean over seeds), presentations per training and
    per test sample (boost-rule repeats: they cost latency and energy), the best alpha and its
    gain over the unenhanced short window; sorted by gain (the ranking)."""
    acc, slots = {}, {}
    for j in jobs:
        k = (j["model"], j["n_exc"], j["knob"], j["alpha"])
        r = results[j["key"]]
        acc.setdefault(k, []).append(r["accuracy"])
        slots.setdefault(k, []).append((r["train_presentations"] / r["train_samples"] if "train_samples" in r
                                        else float("nan"), r["infer_presentations"] / r["test_samples"]))
    out = []
    for model, n in dict.fromkeys((j["model"], j["n_exc"]) for j in jobs):
        a_none = float(np.mean(acc[(model, n, "none", 0.0)]))
        a_full = float(np.mean(acc[(model, n, "full-window", 0.0)]))
        s_none = np.mean(slots[(model, n, "none", 0.0)], axis=0).tolist()
        s_full = np.mean(slots[(model, n, "full-window", 0.0)], axis=0).tolist()
        knobs = dict.fromkeys(j["knob"] for j in jobs if (j["model"], j["n_exc"]) == (model, n)
                              and j["knob"] not in ("none", "full-window"))
        rows = []
        for k in knobs:
            keys = [key for key in acc if key[:3] == (model, n, k)]
            per = {key[3]: float(np.mean(acc[key])) for key in keys}
            per_slots = {key[3]: np.mean(slots[key], axis=0).tolist() for key in keys}
            best = max(per, key=lambda a: (per[a], -abs(a)))
            rows.append({"model": model, "n_exc": n, "knob": k, "accuracy_by_alpha": per,
                         "presentations_by_alpha": per_slots, "best_alpha": best,
                         "gain_pp": 100 * (per[best] - a_none), "unenhanced": a_none, "full_window": a_full,
                         "unenhanced_presentations": s_none, "full_window_presentations": s_full,
                         "seeds": len(acc[keys[0]])})
        rows.sort(key=lambda r: -r["gain_pp"])
        for i, r in enumerate(rows):
            r["rank"] = i + 1
        out.extend(rows)
    return out


def format_sensitivity(rows, window_ms, base_window_ms, phase="train") -> str:
    if not rows:
        return "no sensitivity results\n"
    idx, what = (0, "training") if phase == "train" else (1, "test")
    alphas = sorted({a for r in rows for a in r["accuracy_by_alpha"]})
    head = ("one-at-a-time sensitivity" if phase == "train" else
            "inference sensitivity (network trained with the training rules, re-inferred)")
    lines = [f"{head} at {window_ms:g} ms (full window {base_window_ms:g} ms): knob × (T0/T)^α; "
             f"test accuracy % (presentations per {what} sample)",
             "| model | N | rank | knob | " + " | ".join(f"α={a:g}" for a in alphas) + " | best α | gain pp |",
             "|---|---|---|---|" + "---|" * len(alphas) + "---|---|"]
    for r in rows:
        cells = []
        for a in alphas:
            if a in r["accuracy_by_alpha"]:
                cells.append(f"{100 * r['accuracy_by_alpha'][a]:.1f} ({r['presentations_by_alpha'][a][idx]:.1f})")
            else:
                cells.append("")
        lines.append(f"| {r['model']} | {r['n_exc']} | {r['rank']} | {r['knob']} | {' | '.join(cells)} "
                     f"| {r['best_alpha']:g} | {r['gain_pp']:+.1f} |")
    for key in dict.fromkeys((r["model"], r["n_exc"]) for r in rows):
        r0 = next(r for r in rows if (r["model"], r["n_exc"]) == key)
        ref = "unenhanced" if phase == "train" else "trained with the rules, no inference knob"
        lines.append(f"{key[0]} N={key[1]} ({r0['seeds']} seed(s)): full window {100 * r0['full_window']:.1f} % "
                     f"({r0['full_window_presentations'][idx]:.2f} presentations per {what} sample), {ref} at "
                     f"{window_ms:g} ms {100 * r0['unenhanced']:.1f} % ({r0['unenhanced_presentations'][idx]:.2f})")
    return "\n".join(lines) + "\n"


def plan_inference_sensitivity(cfg: TimestepConfig, window_ms, knobs=None, alphas=SENSITIVITY_ALPHAS,
                               extra_alphas=None) -> list:
    """Inference knobs, one at a time, on the network trained at ``window_ms`` with the training
    part of ``cfg.rules``: knob "none" = that network inferred with the rules' own inference
    settings (the reference), every other job re-infers it with one more knob scaled by
    ``(T0/T)**alpha``.  Default knobs: the run-time inference knobs."""
    knobs = [k for k in INFERENCE_KNOBS if k not in COMPILED_KNOBS] if knobs is None else list(knobs)
    per_knob, w0, w, c = _probes(cfg, window_ms, knobs, alphas, extra_alphas, "infer:")
    jobs = []
    for model in cfg.models:
        rules = {model: check_rules(cfg.rules)[model]}
        train = enhance(model, w, w0, cfg.dt_ms, rules, phase="train")
        infer = enhance(model, w, w0, cfg.dt_ms, rules, phase="infer")
        for n in cfg.neurons:
            for seed in cfg.seeds:
                base = dict(model=model, n_exc=n, seed=seed, variant="inference-sensitivity",
                            train_window_ms=w, infer_window_ms=w, train_settings=train.to_dict(), config=c)
                full = dict(base, knob="full-window", alpha=0.0, train_window_ms=w0, infer_window_ms=w0,
                            train_settings=Settings().to_dict(), infer_settings=Settings().to_dict())
                full["key"] = job_key(full)
                ref = dict(base, knob="none", alpha=0.0, infer_settings=infer.to_dict())
                ref["key"] = job_key(ref)
                jobs += [full, ref]
                for k, als in per_knob.items():
                    for a in als:
                        f = dict(infer.factors, **{k: infer.factors.get(k, 1.0) * (w0 / w) ** a})
                        j = dict(base, knob=k, alpha=a, infer_settings=apply_factors(model, f, cfg.dt_ms).to_dict(),
                                 after=ref["key"])
                        j["key"] = job_key(j)
                        jobs.append(j)
    return jobs


def inference_rules_from_sensitivity(rows, max_loss_pp=1.0, allow_compiled=False) -> dict:
    """Inference rules from an inference-sensitivity summary: per model, the knob/exponent with
    the fewest presentations per test sample (each repeat is a whole extra window) among those
    whose accuracy stays within ``max_loss_pp`` of the reference; ties: the more accurate.  Only
    knobs that cut presentations below the reference's count.  Returns ``{model: {"infer:knob":
    alpha}}``.  Pure."""
    best = {}
    for row in rows:
        m = row["model"]
        best.setdefault(m, None)
        if row["knob"] in COMPILED_KNOBS and not allow_compiled:
            continue
        slots = {float(k): v for k, v in row["presentations_by_alpha"].items()}
        for a, acc in row["accuracy_by_alpha"].items():
            a = float(a)
            p = slots[a][1]
            if _points(acc - row["unenhanced"]) < -max_loss_pp or p >= row["unenhanced_presentations"][1]:
                continue
            if best[m] is None or (p, -acc) < (best[m][3], -best[m][2]):
                best[m] = (row["knob"], a, acc, p)
    return {m: ({} if b is None else {f"infer:{b[0]}": b[1]}) for m, b in best.items()}


def run_sensitivity(cfg: TimestepConfig, window_ms, knobs=None, alphas=SENSITIVITY_ALPHAS, out_dir=None,
                    scheduler=None, workers=2, serial=False, log=print, extra_alphas=None, phase="train",
                    on_top=False) -> dict:
    """One-at-a-time sensitivity of the training knobs (``phase="train"``: train and infer at
    the short window; ``on_top``: on top of ``cfg.rules``, the next greedy round) or of the
    inference knobs (``phase="infer"``: re-infer the network trained with ``cfg.rules``)."""
    t0 = time.perf_counter()
    if phase == "train":
        jobs = plan_sensitivity(cfg, window_ms, knobs, alphas, extra_alphas, on_top)
        schema, name = "brian-snn-timestep-sensitivity/1", "sensitivity"
    elif phase == "infer":
        jobs = plan_inference_sensitivity(cfg, window_ms, knobs, alphas, extra_alphas)
        schema, name = "brian-snn-timestep-inference-sensitivity/1", "inference_sensitivity"
    else:
        raise ValueError(f"sensitivity phase must be train or infer, got {phase!r}")
    log(f"{'inference ' if phase == 'infer' else ''}sensitivity at {window_ms:g} ms: {len(jobs)} runs "
        f"(compiled knobs {', '.join(COMPILED_KNOBS)}: one build per value)")
    results = run_jobs(jobs, out_dir, scheduler, workers, serial, log)
    rows = summarise_sensitivity(jobs, results)
    res = {"schema": schema, "phase": phase,
           "rules": check_rules(cfg.rules) if phase == "infer" or on_top else None,
           "config": asdict(cfg), "window_ms": float(window_ms),
           "alphas": list(alphas), "extra_alphas": extra_alphas or {}, "rows": rows, "wall_s": time.perf_counter() - t0,
           "jobs": [_stored_job(j) for j in jobs], "code": code_fingerprint(), "git": _git_head(),
           "results": {k: {kk: vv for kk, vv in r.items() if kk not in ("train_counts", "infer_counts")}
                       for k, r in results.items()}}
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / f"{name}.json").write_text(json.dumps(res, indent=1, default=_json_default))
        plot_sensitivity(res, Path(out_dir) / f"{name}.png")
    return res


def derived_rules(res) -> dict:
    """The rules an analysis result (training, training on top of rules, or inference) implies,
    as ``{model: {knob: alpha}}``: a training round on top of rules returns those rules with the
    chosen knob added (exponents of the same knob add: the factors multiply); an inference
    analysis returns its ``infer:`` knob only.  Pure."""
    if res.get("phase", "train") == "infer":
        return inference_rules_from_sensitivity(res["rows"])
    new = rules_from_sensitivity(res["rows"])
    base = check_rules(res["rules"]) if res.get("rules") else {}
    out = {}
    for m, r in new.items():
        out[m] = dict(base.get(m, {}))
        for k, a in r.items():
            out[m][k] = out[m].get(k, 0.0) + a
    return out


def load_sensitivity(path, phase="train") -> dict:
    p = Path(path)
    if p.is_dir():
        p = p / ("sensitivity.json" if phase == "train" else "inference_sensitivity.json")
    try:
        res = json.loads(p.read_text())
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not a JSON file ({e})") from None
    if res.get("schema") not in ("brian-snn-timestep-sensitivity/1", "brian-snn-timestep-inference-sensitivity/1"):
        raise ValueError(f"{p}: not a 'brian-snn timestep --sensitivity' results file")
    return _renamed_dependency(res)


def sensitivity_figure(res):
    """Bars: test accuracy per knob and exponent α at the short window, against the unenhanced
    and full-window accuracies (a matplotlib ``Figure``; exponents stored as JSON keys work too)."""
    from matplotlib.figure import Figure
    rows = res["rows"]
    keys = list(dict.fromkeys((r["model"], r["n_exc"]) for r in rows))
    fig = Figure(figsize=(6.5 * len(keys), 6.2))
    axes = fig.subplots(1, len(keys), squeeze=False)
    w0 = max((res.get("config") or {}).get("windows_ms") or [BASE_WINDOW_MS])     # the full window
    for ax, key in zip(axes[0], keys):
        rs = [r for r in rows if (r["model"], r["n_exc"]) == key]
        by = [{float(a): v for a, v in r["accuracy_by_alpha"].items()} for r in rs]
        alphas = sorted({a for b in by for a in b})
        x = np.arange(len(rs))
        width = 0.8 / max(len(alphas), 1)
        for i, a in enumerate(alphas):
            ax.bar(x + (i - (len(alphas) - 1) / 2) * width, [100 * b.get(a, np.nan) for b in by], width,
                   label=f"α = {a:g}")
        ax.axhline(100 * rs[0]["unenhanced"], color="k", ls="--", lw=1.2,
                   label=f"unenhanced at {res['window_ms']:g} ms: {100 * rs[0]['unenhanced']:.1f} %")
        ax.axhline(100 * rs[0]["full_window"], color="grey", ls=":", lw=1.2,
                   label=f"full window ({w0:g} ms): {100 * rs[0]['full_window']:.1f} %")
        ax.set_xticks(x, [r["knob"] for r in rs], rotation=30, ha="right", fontsize=10)
        ax.tick_params(axis="y", labelsize=10)
        ax.set_xlabel("knob (scaled one at a time)", fontsize=11)
        ax.set_ylabel("test accuracy (%)", fontsize=11)
        ax.set_title(f"{key[0]}, N = {key[1]}: knob × ({w0:g} ms / T)^α at T = {res['window_ms']:g} ms", fontsize=12)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4)   # below: no bar hidden
    fig.tight_layout()
    return fig


def plot_sensitivity(res, path):
    sensitivity_figure(res).savefig(path, dpi=110, bbox_inches="tight")
    return path
