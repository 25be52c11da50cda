"""Parameter enhancement (pure): knobs scaled with the window, ``value(T) = value(T0) * (T0/T)**alpha``."""
from __future__ import annotations

from dataclasses import dataclass, field, replace


from .models import BASE_RESET_GAP_MV, BASE_TAU_E_MS, BASE_THRESHOLD_GAP_MV

from .windows import (BASE_INTENSITY, BASE_MIN_SPIKES, BASE_WINDOW_MS, COMPILED_KNOBS, DEFAULT_RULES,
                      INFERENCE_KNOBS, KNOBS, MAX_PIXEL_RATE_PER_INTENSITY, MODELS, P_CAP, _number, check_dt,
                      check_window)


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
    from ...models import get_model_spec
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


def sensitivity_candidates(rows, allow_compiled=False):
    """Every (model, row, alpha, accuracy, presentations) of a sensitivity summary a rule may pick:
    compiled knobs only when ``allow_compiled``.  ``presentations``: (per training sample, per test
    sample) at that alpha."""
    for row in rows:
        if row["knob"] in COMPILED_KNOBS and not allow_compiled:
            continue
        slots = {float(k): v for k, v in row["presentations_by_alpha"].items()}
        for a, acc in row["accuracy_by_alpha"].items():
            yield row["model"], row, float(a), acc, slots[float(a)]


def rules_from_sensitivity(rows, max_presentation_increase=0.15, min_gain_pp=1.0, allow_compiled=False) -> dict:
    """Enhancement rules from a sensitivity summary (:func:`summarise_sensitivity` rows, also as
    read back from JSON): per model, the single knob/exponent with the highest accuracy whose
    presentations per training sample stay within ``1 + max_presentation_increase`` of the
    unenhanced short window's (a knob must not buy accuracy with boost-rule repeats, i.e. with
    time), gaining at least ``min_gain_pp``.  Compiled knobs only when ``allow_compiled`` (they
    cost a build per window).  Pure."""
    best = dict.fromkeys(row["model"] for row in rows)
    for m, row, a, acc, slots in sensitivity_candidates(rows, allow_compiled):
        limit = row["unenhanced_presentations"][0] * (1 + max_presentation_increase)
        if slots[0] > limit or _points(acc - row["unenhanced"]) < min_gain_pp:
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
            intensity0=BASE_INTENSITY, phase="train", at_steps_used=False) -> Settings:
    """Enhanced settings for a window: every knob ``k`` of ``rules`` scaled by
    ``(base_window / window) ** rules[k]`` (a pure function of the window).

    ``phase``: ``"train"`` (training), ``"infer"`` (inference of the network trained with these
    rules) or ``"infer-only"`` (inference of a network trained at the full window).

    ``at_steps_used`` (adaptive windows; ``window_ms`` is then the maximum window): in training the
    threshold increment's enhancement follows the steps each slot's input really lasted -- the
    model rescales a slot's threshold growth by ``(window / used) ** alpha`` when its input ends
    (``theta_window_alpha``, models/diehl_cook.py).  The other knobs keep the maximum window's
    value: they act before the length of a presentation is known (the input rate is set when it
    starts) or through learned weights."""
    dt = check_dt(dt_ms)
    w, w0 = check_window(window_ms, dt), check_window(base_window_ms, dt)
    if w > w0:
        raise ValueError(f"window {w:g} ms is longer than the full window {w0:g} ms")
    train, infer, infer_only = phase_knobs(check_rules(rules)[check_model(model)])
    knobs = {"train": train, "infer": infer, "infer-only": infer_only}.get(phase)
    if knobs is None:
        raise ValueError(f"phase must be train, infer or infer-only, got {phase!r}")
    r = w0 / w
    out = apply_factors(model, {k: r ** a for k, a in knobs.items()}, dt, params, intensity0)
    if at_steps_used and phase == "train" and knobs.get("theta_plus"):
        out = replace(out, params=dict(out.params, theta_window_alpha=float(knobs["theta_plus"])))
    return out


def inference_part(settings: Settings, model, dt_ms=0.5, params=None, intensity0=BASE_INTENSITY) -> Settings:
    """The part of ``settings`` that acts with learning off, for a network trained without it
    (threshold included: its shift goes onto the learned theta)."""
    keep = {k: f for k, f in settings.factors.items() if k in INFERENCE_KNOBS}
    return apply_factors(model, keep, dt_ms, params, intensity0)
