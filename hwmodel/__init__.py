"""hwmodel: exact SNN activity counts -> energy, latency and memory on hardware targets.

Never imports brian2: any simulator that can produce a ``hwmodel-counts/1`` record can use it.
"""
from .counts import Counts, CountsError, PathwayCounts, PopulationCounts, load_counts

__all__ = ["Counts", "CountsError", "PathwayCounts", "PopulationCounts", "load_counts"]
