"""Continual protocol (issue 4): task parsing, sample plan, accuracy-matrix bookkeeping by hand,
a tiny compiled network over 3 tasks (recomputed from its raw responses, resumed after an
interruption, weights on the b-bit grid), CLI errors."""
import json
import math

import numpy as np
import pytest

import hwmodel
from brian_snn.backend import BackendError, check_compiler
from brian_snn.data import load_embedded
from brian_snn.experiments import continual as C
from brian_snn.cli import main
from brian_snn.models.diehl_cook import weight_quantum

nan = float("nan")


def _compiler_or_skip():
    try:
        check_compiler()
    except BackendError as e:
        pytest.skip(str(e))


# -- input checking ------------------------------------------------------------------------
def test_parse_tasks():
    assert C.parse_tasks("0,1,2") == ((0,), (1,), (2,))
    assert C.parse_tasks(" 3 + 1 , 9") == ((3, 1), (9,))
    assert C.parse_tasks([[0, 1], 2]) == ((0, 1), (2,))
    for bad, words in [("0,0,1", "more than once"), ("0,11", "outside 0..9"), ("a,b", "not a class"),
                       ("", "empty"), ("0,,1", "empty task"), ("1+1", "more than once"), ("-1", "not a class")]:
        with pytest.raises(ValueError, match=words):
            C.parse_tasks(bad)


def test_plan_tasks_equal_samples_no_replay():
    ds = load_embedded()
    tasks = C.parse_tasks("4,0+7,2")
    plan = C.plan_tasks(ds, tasks, samples_per_task=21, label_per_class=5, test_per_class=8, seed=3)
    for task, idx in zip(tasks, plan.train):
        assert len(idx) == 21 and len(set(idx)) == 21
        assert set(ds.y_train[idx]) == set(task)                 # only this task's classes
    assert sorted(np.bincount(ds.y_train[plan.train[1]], minlength=10)[[0, 7]]) == [10, 11]
    for c in (4, 0, 7, 2):
        task_idx = plan.train[[k for k, t in enumerate(tasks) if c in t][0]]
        assert set(plan.label[c]) <= set(task_idx) and len(plan.label[c]) == 5    # already seen
        assert len(plan.test[c]) == 8 and np.all(ds.y_test[plan.test[c]] == c)
    with pytest.raises(ValueError, match="class 5 has only 90 training samples"):
        C.plan_tasks(ds, C.parse_tasks("5"), 91, 5, 8)
    with pytest.raises(ValueError, match="test samples"):
        C.plan_tasks(ds, C.parse_tasks("5"), 10, 5, 46)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="samples_per_task"):
        C.ContinualConfig(samples_per_task=0)
    with pytest.raises(ValueError, match="label_per_class"):
        C.ContinualConfig(samples_per_task=10, label_per_class=11)
    with pytest.raises(ValueError, match="more than once"):
        C.ContinualConfig(tasks="1,2,1")
    with pytest.raises(ValueError, match="unknown model 'aspx'"):
        C.model_spec("aspx", 10)
    with pytest.raises(ValueError, match="no parameter 'nu_pre'"):
        C.model_spec("spikedyn", 10, nu_pre=0.1)


# -- bookkeeping, by hand ------------------------------------------------------------------
def test_accuracy_row_hand_case():
    tasks = ((0,), (1,), (2,))
    # labelling responses of 4 neurons: n0 prefers class 0, n1 class 1, n2 never fires,
    # n3 answers both equally (tie -> the lower class, 0)
    lab = np.array([[5, 0, 0, 2], [3, 1, 0, 2],      # class 0: means 4, .5, 0, 2
                    [0, 6, 0, 2], [1, 4, 0, 2]])     # class 1: means .5, 5, 0, 2
    lab_y = np.array([0, 0, 1, 1])
    test = np.array([[2, 0, 0, 0],     # y=0: class-0 score (2+0)/2 = 1, class-1 score 0 -> 0 (right)
                     [0, 3, 0, 1],     # y=0: 0.5 vs 3 -> 1 (wrong)
                     [0, 2, 0, 0],     # y=1: 0 vs 2 -> 1 (right)
                     [0, 0, 5, 0],     # y=1: only the unlabelled neuron fires -> no answer (wrong)
                     [1, 1, 0, 1]])    # y=1: 1 vs 1 -> tie -> 0 (wrong)
    test_y = np.array([0, 0, 1, 1, 1])
    row, assign, pred, pooled_old = C.evaluate_row(lab, lab_y, test, test_y, tasks, t=1)
    assert assign.tolist() == [0, 1, -1, 0]
    assert pred.tolist() == [0, 1, 1, -1, 0]
    assert row[0] == 0.5 and row[1] == pytest.approx(1 / 3) and math.isnan(row[2])
    assert pooled_old == 0.5
    # after the first task only class 0 exists: any labelled response predicts 0
    row0, _, pred0, old0 = C.evaluate_row(lab[:2], lab_y[:2], test[:2], test_y[:2], tasks, t=0)
    assert pred0.tolist() == [0, 0] and row0[0] == 1.0 and math.isnan(old0)


def test_summarise_hand_matrix():
    A = [[1.0, nan, nan], [0.5, 1 / 3, nan], [0.25, 0.5, 0.75]]
    s = C.summarise(A)
    assert s["acc_new"] == pytest.approx([1.0, 1 / 3, 0.75])
    assert math.isnan(s["acc_old"][0]) and s["acc_old"][1:] == pytest.approx([0.5, 0.375])
    assert s["mean_new"] == pytest.approx((1 / 3 + 0.75) / 2)        # tasks 2..T
    assert s["mean_old"] == pytest.approx((0.5 + 0.375) / 2)
    assert s["final_average"] == pytest.approx(0.5)
    part = C.summarise([[1.0, nan, nan], [0.5, 0.25, nan], [nan, nan, nan]])   # interrupted run
    assert part["tasks_done"] == 2 and part["final_average"] == pytest.approx(0.375)


# -- a tiny compiled network over 3 tasks -------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    return load_embedded().subset(n_train=200, n_test=100, seed=1)


TINY = dict(model="spikedyn", n_exc=10, tasks="0,1,2", samples_per_task=12, label_per_class=4,
            test_per_class=5, chunk_slots=5, weight_bits=8, seed=4)


def _recompute(stored, y_train, y_test, tasks):
    """The accuracy matrix from the stored raw responses, with plain loops (independent code)."""
    T = len(tasks)
    A = np.full((T, T), np.nan)
    for t in range(T):
        g = stored["tasks"][t]
        seen = [c for task in tasks[:t + 1] for c in task]
        lab_y, lab_r = y_train[g["label_index"]], g["label_responses"].astype(float)
        labels = []
        for j in range(lab_r.shape[1]):
            best, best_c = 0.0, -1
            for c in seen:                               # ascending: ties keep the lower class
                m = lab_r[lab_y == c, j].mean()
                if m > best:
                    best, best_c = m, c
            labels.append(best_c)
        labels = np.array(labels)
        ty, tr = y_test[g["test_index"]], g["test_responses"].astype(float)
        right = {k: [] for k in range(t + 1)}
        for r, y in zip(tr, ty):
            best, best_c = 0.0, -1
            for c in seen:
                if (labels == c).any():
                    s = r[labels == c].mean()
                    if s > best:
                        best, best_c = s, c
            right[[k for k, task in enumerate(tasks) if y in task][0]].append(best_c == y)
        for k in range(t + 1):
            A[t, k] = np.mean(right[k])
    return A


def test_tiny_network_three_tasks(tiny, tmp_path, monkeypatch):
    _compiler_or_skip()
    cfg = C.ContinualConfig(**TINY)
    tasks = cfg.task_list()
    # 1. interrupted inside the training of task 3, after its first chunk (checkpointed)
    calls = {"n": 0}
    real = C.present

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 5:                      # train 1, eval 1, train 2, eval 2, train 3
            def interrupt(*args, save=kw["on_chunk"]):
                save(*args)
                raise KeyboardInterrupt
            kw["on_chunk"] = interrupt
        return real(*a, **kw)

    monkeypatch.setattr(C, "present", flaky)
    out = tmp_path / "run.h5"
    with pytest.raises(KeyboardInterrupt):
        C.run_continual(cfg, tiny, out=out, progress=False, log=lambda *a: None)
    ck = C.read_continual(out)
    assert ck["checkpoint"]["meta"]["next_task"] == 2
    assert 0 < ck["checkpoint"]["meta"]["training"]["position"] < 12
    assert np.isnan(ck["arrays"]["accuracy_matrix"][2]).all() and not np.isnan(ck["arrays"]["accuracy_matrix"][1, :2]).any()
    monkeypatch.setattr(C, "present", real)
    logs = []
    C.run_continual(cfg, tiny, out=out, progress=False, log=logs.append)
    assert any("resuming" in m and "task 3/3, training sample" in m for m in logs)
    stored = C.read_continual(out)
    assert stored["checkpoint"] is None

    # 2. the same run without interruption gives the same results, bit for bit (resume is exact)
    seen = []                                     # the on_task hook sees every task's state and labels
    fresh = C.run_continual(cfg, tiny, out=tmp_path / "fresh.h5", progress=False, log=lambda *a: None,
                            on_task=lambda t, st, lab: seen.append((t, st, lab)))
    assert [t for t, _, _ in seen] == [0, 1, 2]
    for t, st, lab in seen:
        np.testing.assert_array_equal(lab, fresh["tasks"][t]["assignments"])
    assert all((seen[t + 1][1]["learned"] >= seen[t][1]["learned"]).all() for t in range(2))   # a count
    assert seen[-1][1]["learned"].sum() > 0
    np.testing.assert_array_equal(seen[-1][1]["w"].reshape(fresh["arrays"]["weights"].shape), fresh["arrays"]["weights"])
    A = stored["arrays"]["accuracy_matrix"]
    for name in ("accuracy_matrix", "weights", "thresholds_theta_V", "assignments"):
        np.testing.assert_array_equal(stored["arrays"][name], fresh["arrays"][name], err_msg=name)
    for t in range(3):
        for name, v in fresh["tasks"][t].items():
            np.testing.assert_array_equal(stored["tasks"][t][name], v, err_msg=f"task {t} {name}")
    for phase, c in fresh["counts"].items():
        assert stored["counts"][phase].to_dict() == c.to_dict()

    # 3. bookkeeping: recomputed from the raw responses with independent code
    np.testing.assert_allclose(A, _recompute(stored, tiny.y_train, tiny.y_test, tasks), equal_nan=True)
    assert np.isnan(A[np.triu_indices(3, 1)]).all() and not np.isnan(A[np.tril_indices(3)]).any()
    s = stored["scalars"]
    assert s["mean_new"] == pytest.approx((A[1, 1] + A[2, 2]) / 2)
    assert s["mean_old"] == pytest.approx((A[1, 0] + (A[2, 0] + A[2, 1]) / 2) / 2)
    for t in range(3):
        g = stored["tasks"][t]
        assert len(g["label_index"]) == 4 * (t + 1) and len(g["test_index"]) == 5 * (t + 1)
        assert set(tiny.y_train[g["train_index"]]) == {t}          # no replay

    # 4. counts: 12 training samples per task; frozen presentations (4 + 5) per learned class
    tr, inf = stored["counts"]["training"], stored["counts"]["inference"]
    assert tr.samples == 36 and inf.samples == 9 * (1 + 2 + 3)
    assert tr.pathway("input_exc").plasticity_updates > 0 and inf.pathway("input_exc").plasticity_updates == 0
    assert hwmodel.load_counts(out, "training").samples == 36          # hwmodel reads the file
    # kernels per step as brian2cuda launches them (SpikeDyn: exc 6 -- state updater, spike and renorm
    # thresholders 2 + 2, reset --, input 3 -- thresholder 2, reset, no state updater --, 4 pathways 1
    # each, none with heterogeneous delays)
    assert stored["scalars"]["kernels_per_step"] == tr.extra["kernels_per_step"] == inf.extra["kernels_per_step"] == 13
    assert tr.extra["simulator"] == "brian2"

    # 5. the weights were held at 8 bits in the simulation
    k = stored["arrays"]["weights"] / weight_quantum(8)
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    assert stored["arrays"]["weights"].max() <= 1.0 + 1e-12


def test_cli_continual_end_to_end(tiny, tmp_path, capsys):
    _compiler_or_skip()
    out = tmp_path / "c.h5"
    argv = ["continual", "--neurons", "10", "--tasks", "0,1", "--samples-per-task", "8", "--label-per-class", "3",
            "--test-per-class", "4", "--chunk", "16", "--weight-bits", "8", "--dataset", "embedded",
            "--train-samples", "200", "--test-samples", "100", "--data-seed", "1", "--out", str(out), "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    A = np.array(d["accuracy_matrix"], dtype=float)
    assert A.shape == (2, 2) and math.isnan(A[0, 1])
    assert (tmp_path / "c.png").stat().st_size > 1000
    e = d["row"]["energy"]["jetson-nano"]["training"]                  # the built-in Jetson target
    assert e["evidence"] in hwmodel.GRADES and e["energy_j_per_sample"] > 0 and e["weight_bits"]["input_exc"] == 8


@pytest.mark.parametrize("argv, words", [
    (["continual", "--model", "hopfield"], "unknown model 'hopfield'"),
    (["continual", "--tasks", "0,1,1"], "appears more than once"),
    (["continual", "--tasks", "0,12"], "outside 0..9"),
    (["continual", "--samples-per-task", "-3"], "positive integer"),
    (["continual", "--weight-bits", "40"], "0..32"),
    (["continual", "--param", "nu_pre=0.1"], "no parameter 'nu_pre'"),
    (["continual", "--param", "nu_post=nan"], "not a finite number"),
    (["continual", "--data-dir", "/nonexistent/dir"], "/nonexistent/dir"),
    (["compare", "--model", "spikedyn,bogus"], "unknown model 'bogus'"),
    (["compare", "--neurons=200,-4"], "outside"),
    (["compare", "--param", "nonsense=1"], "belongs to none"),
    (["compare", "--target", "toaster"], "unknown target 'toaster'"),
    (["search", "--max-memory=-5KB"], "memory budget"),
    (["search", "--max-energy", "nan"], "energy budget"),
    (["search", "--max-energy=-1"], "energy budget"),
    (["search", "--weight-bits", "0,8"], "outside 1..32"),
])
def test_cli_bad_input_one_line_error(argv, words, capsys, tmp_path):
    code = main(argv + (["--out", str(tmp_path / "x.h5")] if argv[0] == "continual" else
                        ["--out", str(tmp_path / "d")]))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err
