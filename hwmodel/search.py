"""Pareto fronts under constraints, for model search (e.g. accuracy ↑, energy ↓, memory ↓).

Points are mappings (or objects with attributes, e.g. Estimate); keys may be dotted paths into
nested mappings: ``"energy_j.total"``, ``"memory_bytes.total"``, ``"per_sample.energy_j"``.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Iterable, Mapping

SENSES = ("min", "max")
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


def get(point: Any, key: str):
    """Value at a dotted key of a mapping/object; None when absent."""
    cur = point
    for part in key.split("."):
        if isinstance(cur, Mapping):
            cur = cur.get(part)
        else:
            cur = getattr(cur, part, None)
        if cur is None:
            return None
    return cur


def _objectives(objectives) -> list[tuple[str, str]]:
    items = list(objectives.items()) if isinstance(objectives, Mapping) else list(objectives)
    if not items:
        raise ValueError("pareto_front: no objectives given")
    for key, sense in items:
        if sense not in SENSES:
            raise ValueError(f"pareto_front: objective {key!r} sense must be 'min' or 'max', got {sense!r}")
    return items


def dominates(a, b, objectives) -> bool:
    """a is no worse than b in every objective and strictly better in at least one."""
    better = False
    for key, sense in _objectives(objectives):
        x, y = get(a, key), get(b, key)
        if sense == "max":
            x, y = -x, -y
        if x > y:
            return False
        better |= x < y
    return better


def feasible(points: Iterable, constraints: Mapping[str, tuple[str, float]] | Callable | None) -> list:
    """Points meeting every constraint, e.g. ``{"memory_bytes.total": ("<=", 2e6),
    "accuracy": (">=", 0.8)}`` or a predicate; a point lacking a constrained value is infeasible."""
    points = list(points)
    if constraints is None:
        return points
    if callable(constraints):
        return [p for p in points if constraints(p)]
    for key, (op, _) in constraints.items():
        if op not in _OPS:
            raise ValueError(f"constraint on {key!r}: operator must be one of {list(_OPS)}, got {op!r}")
    return [p for p in points
            if all(get(p, k) is not None and _OPS[op](get(p, k), v) for k, (op, v) in constraints.items())]


def pareto_front(points: Iterable, objectives: Mapping[str, str] | Iterable[tuple[str, str]],
                 constraints: Mapping[str, tuple[str, float]] | Callable | None = None) -> list:
    """Non-dominated feasible points, in input order.

    objectives: ``{"accuracy": "max", "energy_j.total": "min"}`` (or a list of pairs).
    Points missing an objective value are treated as infeasible (cannot be ranked).
    Duplicate points (equal in every objective) are all kept.
    """
    objs = _objectives(objectives)
    cands = [p for p in feasible(points, constraints) if all(get(p, k) is not None for k, _ in objs)]
    return [p for p in cands if not any(dominates(q, p, objs) for q in cands if q is not p)]
