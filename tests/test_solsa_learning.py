"""The default configuration learns a packaged UEA set (issue 13: the README's SOLSA command gave
8.1 % on JapaneseVowels after 2 epochs, below chance) and the analog-input rule picks the filter gain."""
import numpy as np
import pytest

from brian_snn.solsa import ModelParams, TrainConfig
from brian_snn.solsa.tasks import make_patterns
from brian_snn.solsa.trainers import analog_input, evaluate, initial_network, train
from brian_snn.solsa.uea import load_uea


def test_analog_inputs_start_layer1_at_unit_filter_gain():
    p, cfg = ModelParams(), TrainConfig()
    sizes = [12, 6, 6, 9]
    uea = load_uea("JapaneseVowels")
    assert analog_input(uea.x_train) and not analog_input(make_patterns(n_train=4, n_test=4).x_train)
    for method in ("solsa", "bptt"):
        net = initial_network(method, sizes, p, cfg, "spikes", analog=True)
        assert net.beta[0] == p.beta0_analog == 0.1 and list(net.beta[1:]) == [p.beta0, p.beta0]
        assert net.beta[0] / (1 - net.alpha[0]) == pytest.approx(1.0)        # DC gain 1 instead of 9
        assert list(initial_network(method, sizes, p, cfg, "spikes").beta) == [p.beta0] * 3   # spike input
        legacy = initial_network(method, sizes, ModelParams(beta0_analog=None), cfg, "spikes", analog=True)
        assert list(legacy.beta) == [p.beta0] * 3                            # the authors' code: beta0
    simple = initial_network("online-simple", sizes, p, cfg, "spikes", analog=True)
    assert list(simple.alpha) == [0.0] * 3 and list(simple.beta) == [1.0] * 3   # no filter: gain 1 already


def test_default_config_learns_japanese_vowels_above_chance():
    """Default ModelParams and TrainConfig, only the epochs bounded (2, the issue's run) and the hidden
    layers narrowed to 32 for speed; the numpy engines (equal to the Brian2 engine: test_solsa_brian.py).

    Threshold 3 x chance = 1/3 on the test split (9 classes, 370 samples; the most frequent test class
    is 88/370 = 0.24, so a constant answer stays far below).  Measured here after 2 epochs (seed 0):
    SOLSA 0.765, BPTT 0.778, simplified rule 0.792; with the previous defaults (beta0_analog=None,
    period=2) SOLSA gave 0.181 and the simplified rule 0.119, so the bound catches the issue's failure
    and leaves a wide margin for rounding differences between machines.  About 6 s on 2 cores."""
    task = load_uea("JapaneseVowels")
    cfg = TrainConfig().replace(epochs=2)
    chance = 1.0 / task.n_classes
    for method in ("solsa", "bptt", "online-simple"):
        r = train(method, task, [32, 32], ModelParams(), cfg, engine="numpy")
        acc = evaluate(r.net, ModelParams(), task.x_test, task.y_test, task.kind)   # test, once
        assert acc >= 3 * chance, f"{method}: test accuracy {acc:.3f} after 2 epochs (chance {chance:.3f})"
        assert r.final["train"] >= 3 * chance


def test_brian2_equals_numpy_on_analog_input_with_its_layer1_gain():
    """The analog-input gain reaches the Brian2 network: one epoch on 12 JapaneseVowels series (analog,
    layer-1 beta 0.1, layers 2-3 0.9) gives the same parameters as the numpy engine."""
    task = load_uea("JapaneseVowels").subset(12, 12)
    cfg = TrainConfig(epochs=2, points=3)
    rb = train("solsa", task, [6, 6], ModelParams(), cfg, engine="brian2")
    rn = train("solsa", task, [6, 6], ModelParams(), cfg, engine="numpy")
    assert abs(rn.history[0]["beta"][0] - 0.1) < 0.01 and abs(rn.history[0]["beta"][1] - 0.9) < 0.01
    for wb, wn in zip(rb.net.W, rn.net.W):
        np.testing.assert_allclose(wb, wn, rtol=0, atol=1e-10)
    np.testing.assert_allclose(rb.net.beta, rn.net.beta, atol=1e-12)
    np.testing.assert_allclose(rb.net.alpha, rn.net.alpha, atol=1e-12)
