"""Scheduled update, early stop and adaptive filter: hand-computed behaviour and the off switches."""
import numpy as np
import pytest

from brian_snn.solsa import ModelParams, SolsaError, TrainConfig
from brian_snn.solsa.schedule import UpdateSchedule, confident, early_stop_active, hits_needed
from brian_snn.solsa.tasks import make_patterns
from brian_snn.solsa.trainers import train

P = ModelParams()


def test_schedule_starts_at_last_step_and_reranks_by_gradient():
    s = UpdateSchedule(10, TrainConfig(points=4, period=2))
    assert s.steps == [9]
    assert not s.measuring(0) and s.measuring(1) and not s.measuring(2)
    rec = np.zeros(10)
    rec[[2, 5, 7, 9]] = [5.0, 3.0, 4.0, 10.0]       # T-1 ranks first: the remembered step is the second (2)
    s.end_epoch(1, rec)
    assert s.steps == [2, 7, 9]                    # top P-1 = {9, 2, 7} plus T-1
    assert s.remembered == [2]
    rec2 = np.zeros(10)
    rec2[[4, 6, 8]] = [9.0, 8.0, 7.0]
    s.end_epoch(3, rec2)
    assert s.steps == [4, 6, 8, 9]
    s.end_epoch(5, np.arange(10.0))               # third round: top is 9 -> remembered 8; then frozen
    assert s.frozen and s.remembered == [2, 4, 8]
    assert s.steps == [2, 4, 8, 9]
    assert not s.measuring(7)
    s.end_epoch(7, np.ones(10))                    # frozen: no change
    assert s.steps == [2, 4, 8, 9]


def test_schedule_off_updates_every_step():
    s = UpdateSchedule(6, TrainConfig(scheduled=False))
    assert s.steps == list(range(6)) and not s.measuring(1)


def test_confidence_criterion_by_hand():
    onehot = np.array([[0, 1, 0.0]])
    assert confident([[0, 9, 1]], onehot, 0.9)          # 9/10 >= 0.9
    assert not confident([[1, 8, 1]], onehot, 0.9)      # 0.8
    assert not confident([[0, 0, 0]], onehot, 0.9)      # silent is not confident
    assert not confident([[9, 1, 0]], onehot, 0.6)      # wrong class
    batch = np.array([[1, 0.0], [1, 0], [0, 1]])
    assert confident([[5, 0], [3, 0], [0, 2]], batch, 0.9)
    assert confident([[5, 0], [3, 0], [2, 0]], batch, 0.6)       # 2 of 3 samples right: 0.67 >= 0.6
    assert not confident([[5, 0], [3, 0], [2, 0]], batch, 0.9)   # 0.67 < 0.9
    assert hits_needed(TrainConfig(points=5)) == 3
    cfg = TrainConfig(points=2, period=3)
    assert not early_stop_active(cfg, 5) and early_stop_active(cfg, 6)
    assert not early_stop_active(cfg.replace(early_stop=False), 50)


def _task():
    return make_patterns(n_train=20, n_test=20, classes=2, channels=10, T=16, jitter=0, p_drop=0.0,
                         p_noise=0.0, seed=3)


def test_early_stop_skips_updates_only_when_on():
    task = _task()
    cfg = TrainConfig(epochs=6, points=2, period=1, lr=0.02, init_scale=2.0, scheduled=False)
    on = train("solsa", task, [8], P, cfg, engine="numpy")
    off = train("solsa", task, [8], P, cfg.replace(early_stop=False), engine="numpy")
    full = len(task.x_train) * task.T
    assert all(h["updates"] == full for h in off.history)
    assert all(h["updates"] == full for h in on.history[:2])      # warm-up P*R = 2 epochs
    assert on.history[-1]["updates"] < full


def test_adaptive_filter_off_keeps_alpha_beta():
    task = _task()
    cfg = TrainConfig(epochs=2, lr=0.02, adaptive_filter=False)
    for method in ("solsa", "bptt"):
        r = train(method, task, [6], P, cfg, engine="numpy")
        assert r.final["alpha"] == [P.alpha0, P.alpha0] and r.final["beta"] == [P.beta0, P.beta0]
    r = train("solsa", task, [6], P, cfg.replace(adaptive_filter=True), engine="numpy")
    assert r.final["alpha"] != [P.alpha0, P.alpha0]
    assert all(P.alpha_min <= a <= P.alpha_max for a in r.final["alpha"])


def test_simplified_rule_has_no_filter_and_schedule_counts():
    task = _task()
    cfg = TrainConfig(epochs=2, points=3, period=1, early_stop=False)
    r = train("online-simple", task, [6], P, cfg, engine="numpy")
    assert r.final["alpha"] == [0.0, 0.0] and r.final["beta"] == [1.0, 1.0]
    n = len(task.x_train)
    assert r.history[0]["updates"] == n            # epoch 1: only the last step
    assert r.history[1]["updates"] in (2 * n, 3 * n)  # re-ranked after epoch 1: top P-1 steps plus T-1
    assert 1 <= len(r.schedule) <= 3


def test_bad_settings_raise_one_line_errors():
    for bad in (dict(lr=float("nan")), dict(lr=-1.0), dict(epochs=-1), dict(points=0), dict(p_thr=0.4),
                dict(optimizer="adam"), dict(batch=0)):
        with pytest.raises(SolsaError) as exc:
            TrainConfig(**bad)
        assert "\n" not in str(exc.value)
    for bad in (dict(lam=1.5), dict(sigma=0.0), dict(v_reset=-0.1), dict(alpha0=float("inf")), dict(spike="x")):
        with pytest.raises(SolsaError):
            ModelParams(**bad)
    with pytest.raises(SolsaError, match="unknown method"):
        train("eprop", _task(), [4])
