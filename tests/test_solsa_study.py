"""The SOLSA protocol study (brian_snn/solsa/study.py): the validation split, the choice on validation
only, exact counts of a hand-sized network, and the README renderer (benchmarks/report.py)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from brian_snn.solsa import ModelParams, Network
from brian_snn.solsa import study
from brian_snn.solsa.study import StudyConfig, network_counts, stratified_split

ROOT = Path(__file__).resolve().parents[1]


def test_stratified_validation_split_is_disjoint_covers_every_class_and_is_deterministic():
    from brian_snn.solsa.uea import load_uea
    for y in (load_uea("Epilepsy").y_train, np.array([0] * 9 + [1] * 3 + [2] * 2)):
        fit, val = stratified_split(y, 0.2, seed=0)
        assert not set(fit) & set(val) and len(fit) + len(val) == len(y)
        for c in np.unique(y):
            n_val = int(np.sum(y[val] == c))
            assert n_val >= 1 and np.sum(y[fit] == c) >= 1
            assert n_val == max(1, int(np.floor(0.2 * np.sum(y == c) + 0.5)))
        again = stratified_split(y, 0.2, seed=0)
        assert np.array_equal(again[0], fit) and np.array_equal(again[1], val)
        assert not np.array_equal(stratified_split(y, 0.2, seed=1)[1], val)


def test_selection_runs_train_on_fit_and_evaluate_on_validation(monkeypatch):
    """train_job hands the trainer the fit part and the validation set (x_val); its test slot is empty."""
    import brian_snn.solsa.trainers as trainers
    seen = {}

    def fake_train(method, task, hidden, p, cfg, engine):
        seen.update(task=task, cfg=cfg, engine=engine)
        raise RuntimeError("stop")
    monkeypatch.setattr(trainers, "train", fake_train)
    cfg = StudyConfig()
    job = study.plan(StudyConfig(tasks=("RacketSports",), methods=("bptt",), seeds=(1,)))[2]
    with pytest.raises(RuntimeError):
        study.train_job(job)
    d = study.load_data("RacketSports", cfg.data())
    t = seen["task"]
    assert np.array_equal(t.x_val, d.x_val) and np.array_equal(t.x_train, d.x_fit) and len(t.x_test) == 0
    assert seen["engine"] == "numpy" and seen["cfg"].lr == 5e-3 and seen["cfg"].seed == 1
    assert d.record["fit"]["n"] + d.record["val"]["n"] == 151 and d.record["test"]["n"] == 152


VAL = {"solsa": [0.5, 0.8, 0.6, 0.7], "online-simple": [0.3, 0.2, 0.1, 0.4], "bptt": [0.6, 0.6, 0.9, 0.5]}
TEST = {"solsa": [0.9, 0.1, 0.2, 0.3], "online-simple": [0.9, 0.3, 0.2, 0.4], "bptt": [0.95, 0.2, 0.2, 0.3]}
# best validation: candidates 1, 3 and 2; best test: 0 (never to be chosen)


def _fake_study(tmp_path):
    """run_study with a job runner that returns synthetic validation accuracies (and a test accuracy it
    must not look at) and a tester that records which trained runs reach the test split."""
    tested = []

    def runner(jobs, evaluate, cache_dir, log=print, describe=None):
        out = {}
        for j in jobs:
            ci, m = j["candidate_index"], j["method"]
            out[j["key"]] = dict(method=m, val_accuracy=VAL[m][ci] + 0.01 * j["seed"], test_accuracy=TEST[m][ci],
                                 candidate_index=ci, train_seconds=2.0, job_seconds=2.5, updates=7,
                                 layer_spikes=[5.0, 3.0], schedule=[3], history=[])
        return out

    def tester(d, r, p, cfg):
        tested.append((d.name, r["candidate_index"]))
        sizes = [d.x_test.shape[2], *cfg.hidden, d.n_classes]
        counts = network_counts(sizes, [10, 4], 0, len(d.x_test), d.x_test.shape[1], d.analog, True,
                                "inference", cfg.dt_s)
        return {"test_accuracy": TEST[r["method"]][r["candidate_index"]], 
                "counts": {"inference": counts}}

    cfg = StudyConfig(tasks=("BasicMotions",), hidden=(3,), epochs=2)
    return study.run_study(cfg, tmp_path, log=lambda *a: None, runner=runner, tester=tester), tested


def test_choice_is_the_best_validation_mean_and_only_it_reaches_test(tmp_path):
    res, tested = _fake_study(tmp_path)
    sel = res["selection"]["BasicMotions"]
    assert sel["solsa"]["chosen"] == 1 and sel["bptt"]["chosen"] == 2
    assert sel["bptt"]["chosen_config"] == {"lr": 5e-3}
    assert sel["online-simple"]["chosen"] == 3
    assert tested == [("BasicMotions", c) for c in (1, 1, 1, 3, 3, 3, 2, 2, 2)]     # once per method and seed
    assert {r["candidate"] == study.candidates(r["method"])[sel[r["method"]]["chosen"]] for r in res["runs"]} == {True}
    assert res["selected_on"] == "validation" and not res["missing"]
    assert study.choose([[0.5, 0.7], [0.6, 0.6], [0.4, 0.8]]) == 0         # a tie goes to the earlier candidate
    tc = next(r for r in res["runs"] if r["method"] == "solsa")["counts"]["training"]
    assert tc["pathways"][0]["plasticity_updates"] == 6 * 3 * 7            # synapses x update steps applied
    assert "training" not in next(r for r in res["runs"] if r["method"] == "bptt")["counts"]


def test_counts_of_a_hand_sized_network_equal_hand_computed_spikes_and_events():
    """Input 2 -> hidden 1 -> output 2, no filter: channel 0 fires at t=0 (hidden fires: V = 2 > 1; the
    output 0 fires in the same step), channel 1 at t=1 (weight 0: nothing)."""
    p = ModelParams()
    net = Network([np.array([[2.0, 0.0]]), np.array([[2.0], [0.0]])], np.zeros(2), np.ones(2))
    x = np.zeros((2, 3, 2))
    x[:, 0, 0] = x[:, 1, 1] = 1.0
    d = study.TaskData("hand", x, np.zeros(2, int), x, np.zeros(2, int), x, np.zeros(2, int), 2, {})
    r = study.test_pass(d, {"state": {"W0": net.W[0], "W1": net.W[1], "alpha": net.alpha, "beta": net.beta}},
                        p, StudyConfig())
    assert r["test_accuracy"] == 1.0
    c = r["counts"]["inference"]
    assert (c["steps"], c["samples"]) == (6, 2)
    assert [(q["name"], q["spikes"], q["neuron_updates"], q["state_vars"]) for q in c["populations"]] == \
        [("input", 4, 0, 0), ("hidden1", 2, 6, 1), ("output", 2, 12, 1)]
    assert [(q["n_synapses"], q["synaptic_events"], q["plasticity_updates"]) for q in c["pathways"]] == \
        [(2, 4, 0), (2, 4, 0)]
    # analog input: a dense input, every channel an event every step; training: synapses x updates
    a = network_counts([2, 1, 2], [2, 2], 0, 2, 3, True, True, "training", 1e-3, updates=5, rule="solsa")
    assert a["populations"][0]["spikes"] == 2 * 6 and a["pathways"][0]["synaptic_events"] == 2 * 6 * 1
    assert [q["plasticity_updates"] for q in a["pathways"]] == [2 * 5, 2 * 5]
    assert a["eligibility_trace_updates"] == (2 + 4 + 2 + 2 + 2 + 4) * 6


def _report():
    spec = importlib.util.spec_from_file_location("report", ROOT / "benchmarks" / "report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_report_renders_the_solsa_section(tmp_path):
    res, _ = _fake_study(tmp_path)
    text = _report().solsa(res)
    assert "BasicMotions (UEA)" in text and "**validation**" in text
    assert "| paper (abstract) | | | | +14.2 | +5.0 | |" in text
    row = next(line for line in text.splitlines() if line.startswith("| BasicMotions (UEA) | 10.0 ± 0.0 |"))
    assert row.endswith("| -30.0 ± 0.0 ✓ | -10.0 ± 0.0 ✓ | P = 8 / every step / lr 0.005 |")   # Δ and choices
    assert "−72 %" in text and "Loihi 1" in text
