"""Model search (issue 4): the Pareto front and selection on synthetic candidates (checked by
brute force), budgets, the analytic screen, and a real search on a Dask LocalCluster."""
import json
import math
import os

import h5py
import numpy as np
import pytest

import hwmodel

from brian_snn.backend import BackendError, check_compiler
from brian_snn.experiments import search as S
from brian_snn.data import load_described
from brian_snn.experiments.continual import ContinualConfig
from brian_snn.protocol import protocol_splits


def _brute_front(points, max_memory, max_energy):
    feas = [p for p in points if (max_memory is None or p["memory_bytes"] <= max_memory)
            and (max_energy is None or p["energy_j"] <= max_energy)]

    def dom(a, b):
        no_worse = a["energy_j"] <= b["energy_j"] and a["memory_bytes"] <= b["memory_bytes"] and a["accuracy"] >= b["accuracy"]
        better = a["energy_j"] < b["energy_j"] or a["memory_bytes"] < b["memory_bytes"] or a["accuracy"] > b["accuracy"]
        return no_worse and better

    return feas, [p["name"] for p in feas if not any(dom(q, p) for q in feas)]


@pytest.mark.parametrize("seed, max_memory, max_energy", [(0, None, None), (1, 6e5, None), (2, None, 0.9),
                                                          (3, 4e5, 1.1), (4, 1.0, None)])
def test_pareto_front_of_synthetic_candidates(seed, max_memory, max_energy):
    rng = np.random.default_rng(seed)
    pts = []
    for k in range(40):
        pts.append({"name": f"c{k}", "energy_j": float(rng.choice([0.5, 0.8, 1.0, 1.2]) + rng.integers(0, 3) * 0.1),
                    "memory_bytes": float(rng.choice([2e5, 4e5, 8e5])), "accuracy": float(rng.integers(50, 60) / 100)})
    pts.append(dict(pts[3], name="dup"))                 # an exact duplicate: both stay or both go
    feas, front, best = S.select(pts, max_memory, max_energy)
    want_feas, want_front = _brute_front(pts, max_memory, max_energy)
    assert [p["name"] for p in feas] == [p["name"] for p in want_feas]
    assert [p["name"] for p in front] == want_front
    if want_feas:
        top = max(p["accuracy"] for p in want_feas)
        tied = [p for p in want_feas if p["accuracy"] == top]
        expect = min(tied, key=lambda p: (p["energy_j"], p["memory_bytes"]))
        assert best["name"] == expect["name"] and best["name"] in want_front
    else:
        assert best is None and front == []


def test_pareto_hand_case():
    pts = [{"name": "a", "energy_j": 1.0, "memory_bytes": 100, "accuracy": 0.8},
           {"name": "b", "energy_j": 0.5, "memory_bytes": 100, "accuracy": 0.7},
           {"name": "c", "energy_j": 0.5, "memory_bytes": 200, "accuracy": 0.7},     # dominated by b
           {"name": "d", "energy_j": 2.0, "memory_bytes": 50, "accuracy": 0.6},
           {"name": "e", "energy_j": 2.0, "memory_bytes": 60, "accuracy": 0.6},      # dominated by d
           {"name": "f", "energy_j": 0.4, "memory_bytes": 300, "accuracy": 0.9}]
    _, front, best = S.select(pts)
    assert [p["name"] for p in front] == ["a", "b", "d", "f"] and best["name"] == "f"
    _, front, best = S.select(pts, max_memory=150)
    assert [p["name"] for p in front] == ["a", "b", "d"] and best["name"] == "a"
    _, front, best = S.select(pts, max_memory=150, max_energy=0.6)
    assert [p["name"] for p in front] == ["b"] and best["name"] == "b"


@pytest.mark.parametrize("kw, words", [({"max_memory": -1}, "max_memory"), ({"max_energy": float("nan")}, "max_energy"),
                                       ({"max_energy": "lots"}, "must be a number"),
                                       ({"max_memory": float("inf")}, "finite")])
def test_bad_budgets(kw, words):
    with pytest.raises(ValueError, match=words):
        S.select([], **kw)


def test_candidates_validate():
    assert S.Candidate(200, 32).sim_bits == 0 and S.Candidate(200, 4).sim_bits == 4
    assert [c.name for c in S.candidate_grid([100, 200], [4, 32])] == [
        "spikedyn-N100-w4", "spikedyn-N100-w32", "spikedyn-N200-w4", "spikedyn-N200-w32"]
    for bad in [dict(n_exc=0), dict(n_exc=100, weight_bits=0), dict(n_exc=100, weight_bits=33)]:
        with pytest.raises(ValueError):
            S.Candidate(**bad)


def test_screen_memory_is_exact_and_prunes():
    base = ContinualConfig(n_exc=10, samples_per_task=10, label_per_class=2, test_per_class=2)
    cands = [S.Candidate(40, 4), S.Candidate(40, 16), S.Candidate(80, 8)]
    kept, dropped = S.screen(cands, base, "inference")
    mem = {k["candidate"].name: k["memory_bytes"] for k in kept}
    # weights by hand: input->exc 784*N plus lateral N*(N-1) weights at b bits; the rest (state,
    # lateral CSR indices) does not depend on the bit width
    w = lambda n, b: math.ceil(784 * n * b / 8) + math.ceil(n * (n - 1) * b / 8)
    assert mem["spikedyn-N40-w16"] - mem["spikedyn-N40-w4"] == w(40, 16) - w(40, 4)
    assert all(k["energy_lower_bound_j"] > 0 for k in kept)
    budget = (mem["spikedyn-N40-w4"] + mem["spikedyn-N40-w16"]) / 2
    kept2, dropped2 = S.screen(cands, base, "inference", max_memory=budget)
    assert [k["candidate"].name for k in kept2] == ["spikedyn-N40-w4"]
    assert {d["candidate"].name for d in dropped2} == {"spikedyn-N40-w16", "spikedyn-N80-w8"}
    assert "budget" in dropped2[0]["reason"]


def test_search_runs_on_local_cluster_with_two_workers(tmp_path):
    try:
        check_compiler()
    except BackendError as e:
        pytest.skip(str(e))
    # same model structure as tests/test_continual.py (one binary; bits are a run-time value)
    base = ContinualConfig(model="spikedyn", n_exc=10, tasks="0,1", samples_per_task=6, label_per_class=3,
                           test_per_class=4, chunk_slots=16, seed=1,
                           data={"dataset": "embedded", "n_train": 200, "n_test": 100, "data_seed": 1})
    cands = [S.Candidate(10, 4), S.Candidate(10, 8)]
    logs = []
    res = S.run_search(cands, base, energy_phase="training", workers=2, out_dir=tmp_path, log=logs.append, n_val=60)
    assert sorted(p["name"] for p in res["points"]) == ["spikedyn-N10-w4", "spikedyn-N10-w8"]
    # chosen on validation images; the selected candidate alone tested once, on the test images
    assert res["selected_on"] == "validation" and res["test"]["name"] == res["selected"]
    ds = load_described(base.data)
    parts = {"spikedyn-N10-w4.h5": protocol_splits(ds, 60, 0).y_val, f"{res['selected']}-test.h5": ds.y_test}
    for name, labels in parts.items():       # every tested image has a learned class (0 or 1) in that part
        with h5py.File(tmp_path / name) as f:
            seen = np.concatenate([f[f"tasks/{t}/test_index"][:] for t in f["tasks"]])
        assert len(seen) >= 8 and set(labels[seen]) == {0, 1}
    assert all(p["worker_pid"] != os.getpid() for p in res["points"])        # ran on Dask workers
    p4, p8 = res["points"]
    assert p4["worker_pid"] == p8["worker_pid"]          # one structure, one binary: one process
    assert sum(m.startswith("[") for m in logs) == 3      # progress as each run lands (2 + the test run)
    assert p4["memory_bytes"] < p8["memory_bytes"] and p4["energy_j"] > 0 and p4["evidence"] in hwmodel.GRADES
    # the result's front and selection are those of select() on its own points
    _, front, best = S.select(res["points"])
    assert res["pareto"] == [p["name"] for p in front] and res["selected"] == best["name"]
    assert (tmp_path / "spikedyn-N10-w4.h5").exists()
    S.plot_pareto(res, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
    json.dumps(res, default=str)
