"""Counts contract: round trips, added fields, summing chunks."""
import json

import h5py
import pytest

from hwmodel import Counts, CountsError, load_counts

D = {"schema": "hwmodel-counts/1", "dt_s": 5e-4, "steps": 700, "samples": 1, "phase": "training",
     "populations": [{"name": "in", "n": 3, "spikes": 4, "neuron_updates": 0},
                     {"name": "out", "n": 2, "spikes": 1, "neuron_updates": 1400, "state_vars": 3}],
     "pathways": [{"name": "p", "pre": "in", "post": "out", "n_synapses": 6, "synaptic_events": 8,
                   "plasticity_updates": 9, "weight_bits": 8, "plastic": True, "post_traces": 2}],
     "note": "extra fields survive"}


def test_json_and_hdf5_round_trip(tmp_path):
    c = Counts.from_dict(D)
    assert c.pathways[0].pre_traces == 1 and c.pathways[0].post_traces == 2
    assert Counts.from_json(c.to_json()).to_dict() == c.to_dict() and c.extra == {"note": "extra fields survive"}
    c.to_json(tmp_path / "c.json")
    assert load_counts(tmp_path / "c.json").to_dict() == c.to_dict()
    with h5py.File(tmp_path / "r.h5", "w") as f:
        c.to_hdf5(f.create_group("counts/training"))
    assert load_counts(tmp_path / "r.h5").to_dict() == c.to_dict()
    with pytest.raises(CountsError, match="no counts for phase 'inference'"):
        load_counts(tmp_path / "r.h5", "inference")


def test_old_records_without_new_fields_still_load():
    d = json.loads(json.dumps(D))
    del d["pathways"][0]["post_traces"], d["pathways"][0]["plastic"]
    p = Counts.from_dict(d).pathways[0]
    assert (p.plastic, p.pre_traces, p.post_traces) == (False, 1, 1)


def test_add_sums_counts_and_keeps_fields():
    c = Counts.from_dict(D)
    s = c + c
    assert (s.steps, s.samples, s.spikes, s.synaptic_events, s.plasticity_updates) == (1400, 2, 10, 16, 18)
    assert s.pathways[0].post_traces == 2 and s.populations[1].state_vars == 3 and s.pathways[0].plastic
    other = Counts.from_dict(dict(D, pathways=[dict(D["pathways"][0], n_synapses=5)]))
    with pytest.raises(CountsError, match="different networks"):
        c + other


def test_bool_fields_are_strict():
    d = json.loads(json.dumps(D))
    d["pathways"][0]["plastic"] = "no"
    with pytest.raises(CountsError, match=r"field 'pathways\[0\].plastic' must be true or false"):
        Counts.from_dict(d, "x.json")


def test_weight_changes_are_optional_summed_and_bounded():
    from hwmodel.counts import Counts, CountsError, PathwayCounts, PopulationCounts
    pops = [PopulationCounts("a", 2, 3, 20), PopulationCounts("b", 2, 1, 20)]

    def rec(changes, updates=10):
        return Counts(0.001, 10, 1, "training", pops,
                      [PathwayCounts("ab", "a", "b", 4, 6, updates, plastic=True, weight_changes=changes)])
    assert "weight_changes" not in rec(None).to_dict()["pathways"][0]           # not counted: left out
    assert (rec(3) + rec(4)).pathways[0].weight_changes == 7
    assert (rec(3) + rec(None)).pathways[0].weight_changes is None              # unknown stays unknown
    assert Counts.from_dict(rec(5).to_dict()).pathways[0].weight_changes == 5
    with pytest.raises(CountsError, match=r"weight_changes' = 11 is more than its plasticity updates = 10"):
        Counts.from_dict(rec(11).to_dict())
