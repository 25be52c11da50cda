"""TopSpark under the protocol: one tuning budget per window, choices on validation only, the
test split run only for the kept candidates."""
import pytest

from brian_snn.experiments.timestep import study
from brian_snn.experiments.timestep.rules import Settings, base_params
from brian_snn.experiments.timestep.study import StudyConfig, candidates, choose

RULES = {m: {"theta_plus": 0.5, "infer:intensity": 1.0} for m in ("spikedyn", "diehl-cook")}   # not the defaults
CFG = StudyConfig(data={"dataset": "embedded"}, n_val=200, windows_ms=(350.0, 100.0, 25.0), seeds=(0, 1),
                  rules=RULES)


def test_every_window_has_the_same_budget_and_the_full_window_tunes_only_its_learning_rate():
    for m in CFG.models:
        sizes = {w: len(candidates(CFG, m, w)) for w in CFG.windows_ms}
        assert set(sizes.values()) == {3}
        full = candidates(CFG, m, 350.0)
        base = base_params(m)
        for (label, train, infer), f in zip(full, CFG.full_eta):
            assert infer == Settings() and train.intensity0 == Settings().intensity0
            assert train.params.get("nu_post", base["nu_post"]) == pytest.approx(f * base["nu_post"])
            assert set(train.params) <= {"nu_pre", "nu_post"}
        # strength 0 is the plain window; strength 1 the rules as given: theta_plus x (350/25)^0.5
        plain, _, strong = candidates(CFG, m, 25.0)
        assert plain[1] == Settings() and plain[2] == Settings()
        assert strong[1].params["theta_plus_mV"] == pytest.approx(base["theta_plus_mV"] * 14 ** 0.5)
        assert strong[2].intensity0 == pytest.approx(2.0 * 14)         # infer:intensity exponent 1


def _val(best):
    """Mean validation accuracies where ``best[(model, window)]`` is the winning candidate's score."""
    val = {}
    for m in CFG.models:
        for w in CFG.windows_ms:
            labels = [lab for lab, _, _ in candidates(CFG, m, w)]
            for i, lab in enumerate(labels):
                val[m, w, lab] = best[m, w] - 0.05 * (i != 1)       # the middle candidate wins
    return val


def test_choose_keeps_the_best_candidate_and_the_shortest_window_within_the_tolerance():
    best = {("spikedyn", 350.0): 0.80, ("spikedyn", 100.0): 0.785, ("spikedyn", 25.0): 0.70,
            ("diehl-cook", 350.0): 0.80, ("diehl-cook", 100.0): 0.77, ("diehl-cook", 25.0): 0.79}
    c = choose(CFG, _val(best))
    assert c["spikedyn"]["kept"] == {350.0: "eta x1.5", 100.0: "rules x0.5", 25.0: "rules x0.5"}
    assert c["spikedyn"]["chosen_window_ms"] == 100.0        # 78.5 within 2 points of 80; 70 is not
    assert c["diehl-cook"]["chosen_window_ms"] == 25.0       # 79 within; 100 ms (77) is not, the shortest is


def test_test_split_runs_only_for_kept_candidates_and_never_decides(monkeypatch, tmp_path):
    """Selection results whose test accuracies would pick other candidates: the record follows validation."""
    planned = []

    def fake_run_jobs(jobs, evaluate, cache_dir, scheduler, workers, log, describe):
        planned.append([j for j in jobs if j["stage"] == "test"])
        out = {}
        for j in jobs:
            good = j["candidate"] in ("eta x1", "rules x1")          # best on validation
            if j["stage"] == "selection":
                out[j["key"]] = {"val_accuracy": (0.8 if good else 0.6) - (j["window_ms"] < 100) * 0.1,
                                 "train_counts": {}, "train_sim_s": 1.0, "train_samples": 10, "state": {},
                                 "assignments": [], "wall_s": 0}
            else:
                out[j["key"]] = {"test_accuracy": 0.5, "test_counts": {}, "test_sim_s": 1.0, "test_samples": 5,
                                 "wall_s": 0}
        return out

    monkeypatch.setattr(study, "run_jobs", fake_run_jobs)
    rec = study.run_study(CFG, workers=1, out_dir=tmp_path, log=lambda *a: None)
    assert planned[0] == []
    tests = planned[1]
    assert len(tests) == len(CFG.models) * len(CFG.windows_ms) * len(CFG.seeds)
    assert {t["candidate"] for t in tests} == {"eta x1", "rules x1"}
    assert rec["selected_on"] == "validation"
    assert rec["selection"]["chosen_window_ms"] == {"spikedyn": 100.0, "diehl-cook": 100.0}
    assert all("val_accuracy" in r and "test_accuracy" in r for r in rec["runs"]) and not rec["missing"]
