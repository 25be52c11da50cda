"""hwmodel: exact SNN activity counts -> energy, latency and memory on hardware targets.

Never imports brian2: any simulator that can produce a ``hwmodel-counts/1`` record can use it.

    >>> import hwmodel
    >>> est = hwmodel.estimate("counts.json", "loihi1", weight_bits=8)
    >>> est.energy_j["total"], est.latency_s, est.memory_bytes["total"], est.evidence
"""
from .counts import Counts, CountsError, PathwayCounts, PopulationCounts, load_counts
from .errors import HwmodelError
from .estimate import Estimate, EstimateError, estimate
from .metrics import neurobench
from .search import dominates, feasible, pareto_front
from .targets import GRADES, Price, Target, TargetError, list_targets, load_target

__all__ = ["HwmodelError", "Counts", "CountsError", "PathwayCounts", "PopulationCounts", "load_counts",
           "Estimate", "EstimateError", "estimate", "neurobench",
           "dominates", "feasible", "pareto_front",
           "GRADES", "Price", "Target", "TargetError", "list_targets", "load_target"]
