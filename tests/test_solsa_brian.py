"""The Brian2 SOLSA network against the numpy reference: forward pass, multi-layer gradients, and a whole
online training run with scheduled updates, early stop and the adaptive filter (runtime / numpy target);
the cpp_standalone backend once, under ``-m slow``."""
import numpy as np
import pytest

from brian_snn.solsa import ModelParams, Network, TrainConfig, forward, online_gradients
from brian_snn.solsa.tasks import make_patterns, make_sines
from brian_snn.solsa.trainers import train

P = ModelParams()


def test_brian2_forward_equals_numpy_forward():
    from brian_snn.solsa.brian_net import BrianSolsa
    rng = np.random.default_rng(2)
    net = Network.init([12, 10, 3], P, rng, scale=2.5)
    x = (rng.random((3, 25, 12)) < 0.25).astype(float)
    with BrianSolsa(net.copy(), P, TrainConfig(), 3, 25) as bn:
        out = bn.monitor_forward(x)
    ref = forward(net, P, x).out
    assert ref.sum() > 0
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("readout", ["spikes", "membrane"])
def test_brian2_multilayer_gradient_equals_numpy_online(readout):
    from brian_snn.solsa.brian_net import BrianSolsa
    rng = np.random.default_rng(4)
    net = Network.init([10, 12, 8, 3], P, rng, scale=2.5, readout=readout)
    x = (rng.random((1, 30, 10)) < 0.25).astype(float)
    y = np.zeros((1, 30, 3))
    y[:, :, 2] = 1.0
    ref = online_gradients(net, P, x, y)
    with BrianSolsa(net.copy(), P, TrainConfig(), 1, 30, record_gradient=True) as bn:
        gW, gA, gB = bn.gradient_run(x, y)
    for l in range(3):
        assert np.max(np.abs(ref.W[l])) > 0
        np.testing.assert_allclose(gW[l], ref.W[l], rtol=1e-9, atol=1e-12 * np.max(np.abs(ref.W[l])))
    np.testing.assert_allclose(gA, ref.alpha, rtol=1e-9)
    np.testing.assert_allclose(gB, ref.beta, rtol=1e-9)


def _easy_task():
    return make_patterns(n_train=16, n_test=16, classes=2, channels=10, T=16, jitter=0, p_drop=0.0,
                         p_noise=0.0, seed=3)


def test_brian2_training_equals_numpy_training_with_all_enhancements():
    """Same data order, schedule re-ranking, early stop and alpha/beta learning: identical parameters."""
    task = _easy_task()
    cfg = TrainConfig(epochs=5, points=3, period=1, lr=0.02, lr_filter=0.005, init_scale=2.0)
    rb = train("solsa", task, [8], P, cfg, engine="brian2")
    rn = train("solsa", task, [8], P, cfg, engine="numpy")
    for l in range(2):
        np.testing.assert_allclose(rb.net.W[l], rn.net.W[l], rtol=0, atol=1e-10)
    np.testing.assert_allclose(rb.net.alpha, rn.net.alpha, atol=1e-12)
    np.testing.assert_allclose(rb.net.beta, rn.net.beta, atol=1e-12)
    assert [h["updates"] for h in rb.history] == [h["updates"] for h in rn.history]
    assert rb.schedule == rn.schedule
    # the enhancements were really exercised: schedule re-ranked, alpha learned, early stop skipped updates
    assert len(rb.schedule) > 1
    assert not np.allclose(rb.net.alpha, P.alpha0)
    full = len(task.x_train) * len(rb.schedule)
    assert rb.history[-1]["updates"] < full


def test_brian2_training_regression_membrane_readout():
    task = make_sines(n_train=3, channels=12, T=30, rate=0.2, seed=1)
    cfg = TrainConfig(epochs=2, scheduled=False, lr=0.01, lr_filter=0.001, init_scale=2.0)
    rb = train("solsa", task, [10], P, cfg, engine="brian2")
    rn = train("solsa", task, [10], P, cfg, engine="numpy")
    for l in range(2):
        np.testing.assert_allclose(rb.net.W[l], rn.net.W[l], rtol=0, atol=1e-10)
    assert rb.history[-1]["updates"] == 3 * 30


@pytest.mark.slow
def test_cpp_standalone_training_equals_runtime(tmp_path):
    """One compile for two seeds (the second goes in through run_args): both equal the runtime results,
    and the process is back in runtime mode afterwards."""
    from brian_snn.solsa.trainers import open_session
    task = _easy_task()
    cfg = TrainConfig(epochs=3, points=3, period=1, lr=0.02, lr_filter=0.005, init_scale=2.0)
    with open_session(task, [8], P, cfg, backend="cpp", directory=str(tmp_path / "cpp")) as session:
        rcs = [train("solsa", task, [8], P, cfg.replace(seed=s), session=session) for s in (0, 1)]
    from brian2 import get_device
    assert type(get_device()).__name__ == "RuntimeDevice"
    for seed, rc in zip((0, 1), rcs):
        rr = train("solsa", task, [8], P, cfg.replace(seed=seed), engine="brian2", backend="runtime")
        for l in range(2):
            np.testing.assert_allclose(rc.net.W[l], rr.net.W[l], rtol=0, atol=1e-9)
        np.testing.assert_allclose(rc.net.alpha, rr.net.alpha, atol=1e-10)
        assert [h["updates"] for h in rc.history] == [h["updates"] for h in rr.history]
        assert rc.schedule == rr.schedule
        assert rc.engine == "brian2-cpp"
    assert not np.allclose(rcs[0].net.W[0], rcs[1].net.W[0])
