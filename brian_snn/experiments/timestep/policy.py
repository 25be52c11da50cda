"""The trade-off policy (pure): objective, constraints, the chosen row and why the others were excluded."""
from __future__ import annotations

import math


from .windows import DEFAULT_WEIGHTS, _METRIC, _number


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
