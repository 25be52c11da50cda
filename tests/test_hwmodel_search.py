"""Pareto front and constraint filtering, checked against fronts worked out by hand."""
import pytest

from hwmodel import estimate, pareto_front
from hwmodel.search import dominates, feasible

PTS = [  # (accuracy up, energy down, memory down)
    {"id": "a", "accuracy": 0.90, "energy_j": {"total": 5.0}, "memory_bytes": {"total": 100}},
    {"id": "b", "accuracy": 0.85, "energy_j": {"total": 2.0}, "memory_bytes": {"total": 100}},
    {"id": "c", "accuracy": 0.80, "energy_j": {"total": 3.0}, "memory_bytes": {"total": 120}},  # dominated by b
    {"id": "d", "accuracy": 0.92, "energy_j": {"total": 9.0}, "memory_bytes": {"total": 400}},
    {"id": "e", "accuracy": 0.85, "energy_j": {"total": 2.0}, "memory_bytes": {"total": 100}},  # equal to b
    {"id": "f", "accuracy": None, "energy_j": {"total": 0.1}, "memory_bytes": {"total": 1}},    # not ranked
]
OBJ = {"accuracy": "max", "energy_j.total": "min", "memory_bytes.total": "min"}


def ids(points):
    return [p["id"] for p in points]


def test_front_by_hand():
    assert ids(pareto_front(PTS, OBJ)) == ["a", "b", "d", "e"]
    assert ids(pareto_front(PTS, [("energy_j.total", "min")])) == ["f"]
    assert ids(pareto_front(PTS, {"accuracy": "max", "energy_j.total": "min"})) == ["a", "b", "d", "e"]


def test_constraints():
    c = {"memory_bytes.total": ("<=", 150), "accuracy": (">=", 0.85)}
    assert ids(feasible(PTS, c)) == ["a", "b", "e"]
    assert ids(pareto_front(PTS, OBJ, c)) == ["a", "b", "e"]
    assert ids(pareto_front(PTS, OBJ, lambda p: p["id"] != "b")) == ["a", "d", "e"]


def test_dominates_and_errors():
    assert dominates(PTS[1], PTS[2], OBJ) and not dominates(PTS[1], PTS[4], OBJ)
    with pytest.raises(ValueError, match="sense must be 'min' or 'max'"):
        pareto_front(PTS, {"accuracy": "up"})
    with pytest.raises(ValueError, match="operator must be one of"):
        feasible(PTS, {"accuracy": ("=>", 1)})


def test_works_on_estimate_objects():
    from hwmodel import Counts
    c = Counts.from_dict({
        "schema": "hwmodel-counts/1", "dt_s": 1e-3, "steps": 10, "samples": 1, "phase": "inference",
        "populations": [{"name": "i", "n": 4, "spikes": 4, "neuron_updates": 0},
                        {"name": "o", "n": 2, "spikes": 1, "neuron_updates": 20}],
        "pathways": [{"name": "io", "pre": "i", "post": "o", "n_synapses": 8, "synaptic_events": 8}]})
    ests = [estimate(c, t, weight_bits=b) for t, b in (("loihi1", 8), ("spinnaker2", 8), ("loihi1", 2))]
    front = pareto_front(ests, {"energy_j.total": "min", "memory_bytes.total": "min"})
    # spinnaker2 has no static term: 8 x 450 pJ + 20 x 2.19 nJ = 4.74e-8 J, below Loihi's
    # 0.104 W x (10 x 113 ns + ...) > 1.2e-7 J; memory: spinnaker2 8 + 6 x 4 = 32 B, Loihi (24-bit
    # state) 8 + 18 = 26 B at 8 bits, 2 + 18 = 20 B at 2 bits (same energy) -> front: spinnaker2, loihi1@2
    assert ests[1].energy_j["total"] == pytest.approx(8 * 450e-12 + 20 * 2.19e-9)
    assert [e.memory_bytes["total"] for e in ests] == [26, 32, 20]
    assert [(e.target, e.weight_bits["io"]) for e in front] == [("spinnaker2", 8), ("loihi1", 2)]
