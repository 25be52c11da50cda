"""The continual study's plan (what runs, what is shared, what is chosen on validation) and the
reductions its tables and heat maps are made of, checked by hand on small made-up results."""
import importlib.util
import json
import math
from pathlib import Path

import pytest

from brian_snn.experiments.continual_study import VARIANTS, StudyConfig, choose, plan

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CFG = StudyConfig(grids={"asp-decay": {"decay": (1e-5, 3e-5)}, "spikedyn": {"x_tar": (0.05, 0.1)}},
                  models=("diehl-cook", "asp-decay", "spikedyn"), sizes=(200, 400), seeds=(0, 1, 2), select_seeds=(0, 1))


def _selection_results(selection, scores):
    """Validation results: (acc_new, acc_old) per (model, value), the same for every seed."""
    return {j["key"]: dict(zip(("acc_new", "acc_old"), scores[j["model"], next(iter(j["params"].values()))]))
            for j in selection}


def test_choice_is_the_best_mean_of_new_and_old_task_accuracy_on_validation(tmp_path):
    selection, _, _ = plan(CFG, tmp_path, "fp")
    assert len(selection) == 2 * 2 * 2 and {j["evaluate"] for j in selection} == {"val"}
    # asp: 1e-5 -> (0.9 + 0.5)/2 = 0.70, 3e-5 -> (0.7 + 0.8)/2 = 0.75; spikedyn: 0.05 -> 0.60, 0.1 -> 0.60 (tie: earlier)
    scores = {("asp-decay", 1e-5): (0.9, 0.5), ("asp-decay", 3e-5): (0.7, 0.8),
              ("spikedyn", 0.05): (0.6, 0.6), ("spikedyn", 0.1): (0.7, 0.5)}
    assert choose(CFG, selection, _selection_results(selection, scores)) == {"asp-decay": {"decay": 3e-5},
                                                                             "spikedyn": {"x_tar": 0.05}}


def test_final_runs_test_once_and_share_the_spikedyn_rows(tmp_path):
    selection, _, _ = plan(CFG, tmp_path, "fp")
    scores = {("asp-decay", 1e-5): (0.9, 0.9), ("asp-decay", 3e-5): (0.1, 0.1),
              ("spikedyn", 0.05): (0.1, 0.1), ("spikedyn", 0.1): (0.9, 0.9)}
    _, chosen, final = plan(CFG, tmp_path, "fp", _selection_results(selection, scores))
    comp, abl = final["comparison"], final["ablation"]
    assert len(comp) == 2 * 3 * 3 and {j["evaluate"] for j in comp} == {"test"}
    assert {json.dumps(j["params"]) for j in comp if j["model"] == "asp-decay"} == {'{"decay": 1e-05}'}
    assert len(abl) == len(VARIANTS) * 3 * 2
    by_name = {}
    for name, j in abl:
        by_name.setdefault(name, []).append(j)
    # SpikeDyn's continual ablation rows are the comparison's SpikeDyn N=200 runs (same keys: run once)
    sd200 = {j["key"] for j in comp if (j["model"], j["n_exc"]) == ("spikedyn", 200)}
    assert {j["key"] for j in by_name["SpikeDyn"] if j["kind"] == "continual"} == sd200
    # the added decay is the baseline's chosen rate; every variant keeps the chosen x_tar unless it removes it
    assert all(j["params"]["decay"] == 1e-5 for j in by_name["+ explicit weight decay"])
    assert all(j["params"]["x_tar"] == 0.1 for name, j in abl if "depression" not in name and "all four" not in name)
    assert all(j["params"] == {"x_tar": 0.0, "inhibitory_layer": 1, "lr_adaptation": 0.0, "theta_plus_mV": 0.0}
               for j in by_name["- all four defaults"])
    # runs of one structure share a group; in each group every continual run comes before the static ones
    for name, jobs in by_name.items():
        kinds = [j["kind"] for j in jobs]
        assert kinds == ["continual"] * 3 + ["static"] * 3
    order = [j["kind"] for _, j in abl if j["group"] == ["spikedyn", 200, 0, False]]
    assert order == sorted(order)          # "continual" < "static"


def test_cell_wise_interval_of_accuracy_matrices_by_hand():
    mod = _load("continual_mnist")
    runs = [{"matrix": [[1.0], [0.5, 0.9]]}, {"matrix": [[1.0], [0.7, 0.9]]}]
    mean, half = mod.matrix_summary(runs)
    assert mean[1, 0] == pytest.approx(0.6)
    # two seeds: t(0.975, 1) = 12.706; sd = 0.1414; half = 12.706 * 0.1414 / sqrt(2) = 1.2706
    assert half[1, 0] == pytest.approx(12.7062 * 0.1, rel=1e-4)
    assert half[1, 1] == 0 and math.isnan(mean[0, 1])


def test_ablation_table_shows_paired_differences_against_spikedyn():
    report = _load("report")
    counts = json.loads((ROOT / "benchmarks" / "results" / "static_mnist.json").read_text())["runs"][0]["counts"]

    def run(variant, kind, seed, value):
        r = {"variant": variant, "kind": kind, "model": "spikedyn", "n_exc": 200, "seed": seed, "params": {},
             "counts": counts}
        return r | ({"acc_new": value, "acc_old": value} if kind == "continual" else {"test_accuracy": value})
    ref, lr = [0.80, 0.90, 0.70], [0.70, 0.80, 0.70]
    runs = [run(v, k, s, vals[s]) for v, vals in (("SpikeDyn", ref), ("- adaptive learning rate", lr))
            for k in ("continual", "static") for s in range(3)]
    res = {"runs": runs, "config": {"ablation_epochs": 1}, "selection": {"chosen": {"spikedyn": {"x_tar": 0.05}}},
           "variants": [{"name": "SpikeDyn", "what": "all"}, {"name": "- adaptive learning rate", "what": "fixed"}]}
    text = report.spikedyn_ablation(res)
    row = next(line for line in text.splitlines() if line.startswith("| − adaptive learning rate"))
    # d = [-0.1, -0.1, 0]: mean -6.67 points, sd 5.774, half = 4.3027 * 5.774 / sqrt(3) = 14.34 points
    assert row.count("(Δ -6.7 ± 14.3)") == 3
    assert "| 73.3 ± 14.3 (Δ" in row          # mean of 0.7, 0.8, 0.7 with the same half-width


def test_records_from_finished_runs_name_variants_and_the_missing(tmp_path):
    """run_study(finished_only=True) assembles the two result files from the cache alone."""
    from brian_snn.experiments.continual_study import run_study, source_files
    from brian_snn.jobs import ResultCache
    from brian_snn.protocol import provenance
    cfg = StudyConfig(data={"dataset": "embedded"}, n_val=200, sizes=(200,), seeds=(0, 1),
                      models=("diehl-cook", "asp-decay", "spikedyn"),
                      grids={"asp-decay": {"decay": (1e-5, 3e-5)}, "spikedyn": {"x_tar": (0.05, 0.1)}},
                      select_seeds=(0,))
    fp = provenance(source_files())["code_fingerprint"]
    cache = ResultCache(tmp_path / "jobs")
    with pytest.raises(ValueError, match="selection run"):
        run_study(cfg, tmp_path, finished_only=True, log=lambda *a: None)
    selection, _, _ = plan(cfg, tmp_path, fp)
    scores = {("asp-decay", 1e-5): (0.5, 0.5), ("asp-decay", 3e-5): (0.6, 0.6),
              ("spikedyn", 0.05): (0.7, 0.7), ("spikedyn", 0.1): (0.6, 0.6)}
    results = _selection_results(selection, scores)
    for j in selection:
        cache.save(j["key"], results[j["key"]])
    _, chosen, final = plan(cfg, tmp_path, fp, results)
    done = [j for j in final["comparison"] if j["seed"] == 0] + [j for name, j in final["ablation"]
                                                                 if name == "- adaptive learning rate"]
    for j in done:
        cache.save(j["key"], {"acc_new": 0.5, "acc_old": 0.5} if j["kind"] == "continual" else {"test_accuracy": 0.5})
    rec = run_study(cfg, tmp_path, finished_only=True, log=lambda *a: None)
    comp, abl = rec["continual_mnist"], rec["spikedyn_ablation"]
    assert comp["selection"]["chosen"] == chosen == {"asp-decay": {"decay": 3e-5}, "spikedyn": {"x_tar": 0.05}}
    assert len(comp["runs"]) == 3 and len(comp["missing"]) == 3 and {r["seed"] for r in comp["runs"]} == {0}
    # SpikeDyn's seed-0 comparison run is also the ablation's reference row, under its variant name
    assert sorted((r["variant"], r["kind"], r["seed"]) for r in abl["runs"]) == sorted(
        [("SpikeDyn", "continual", 0)] + [("- adaptive learning rate", k, s) for k in ("continual", "static")
                                          for s in (0, 1)])
    assert len(abl["runs"]) + len(abl["missing"]) == len(VARIANTS) * 2 * 2
    assert abl["split"]["val"]["n"] == 200 and comp["selected_on"] == "validation"
