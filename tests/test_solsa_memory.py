"""Learning-memory accounting: analytic counts by hand, crossovers, and tracemalloc measurements."""
import numpy as np
import pytest

from brian_snn.solsa import ModelParams, Network, SolsaError, bptt
from brian_snn.solsa.bptt_lean import bptt_lean
from brian_snn.solsa.memory import (crossover_T, crossover_width, learning_bytes, learning_floats,
                                    measure_peak, memory_report, plot_report)


def test_analytic_counts_by_hand():
    sizes, T = [2, 3, 1], 4
    # BPTT: T * (F of each layer's inputs + V, O of each layer) = 4 * ((2 + 3) + 2 * (3 + 1))
    assert sum(learning_floats("bptt", sizes, T).values()) == 4 * (5 + 8)
    # SOLSA: traces 2*3 + 3*1, state (2 + 3*3) + (3 + 3*1), filter traces 2*(2+3) + 2*(3+1)
    assert sum(learning_floats("solsa", sizes, T, adaptive_filter=False).values()) == 9 + 11 + 6
    assert sum(learning_floats("solsa", sizes, T).values()) == 9 + 11 + 6 + 10 + 8
    # simplified: presynaptic traces 2 + 3, state 2*3 + 2*1
    assert sum(learning_floats("online-simple", sizes, T).values()) == 5 + 8
    assert learning_bytes("bptt", sizes, T, batch=4, dtype_bytes=4) == 4 * 13 * 4 * 4


def test_matches_the_reference_memory_table():
    """Analytic model (docs/solsa.md, Learning memory): RacketSports [6,100,100,4], T=30 -> BPTT 18,420
    floats, SOLSA 11,818 (no filter traces)."""
    sizes = [6, 100, 100, 4]
    assert sum(learning_floats("bptt", sizes, 30).values()) == 18420
    assert sum(learning_floats("solsa", sizes, 30, adaptive_filter=False).values()) == 11818


def test_crossovers_are_where_the_sign_changes():
    sizes = [6, 100, 100, 4]
    Tx = crossover_T(sizes)
    solsa = sum(learning_floats("solsa", sizes, 1).values())
    assert sum(learning_floats("bptt", sizes, Tx).values()) > solsa
    assert sum(learning_floats("bptt", sizes, Tx - 1).values()) <= solsa
    H = crossover_width(6, 4, T=30)
    below = [6, H - 1, H - 1, 4]
    at = [6, H, H, 4]
    assert sum(learning_floats("solsa", below, 30).values()) < sum(learning_floats("bptt", below, 30).values())
    assert sum(learning_floats("solsa", at, 30).values()) >= sum(learning_floats("bptt", at, 30).values())
    assert crossover_width(6, 4, T=30, layers=1) is None      # one hidden layer: SOLSA always wins here


def test_measured_peaks_follow_the_model():
    sizes = [6, 64, 64, 4]
    b10, b80 = measure_peak("bptt", sizes, 10), measure_peak("bptt", sizes, 80)
    s10, s80 = measure_peak("solsa", sizes, 10), measure_peak("solsa", sizes, 80)
    o10, o80 = measure_peak("online-simple", sizes, 10), measure_peak("online-simple", sizes, 80)
    # BPTT grows with T at least as fast as its stored history; online methods stay flat
    assert b80 - b10 >= learning_bytes("bptt", sizes, 80) - learning_bytes("bptt", sizes, 10)
    assert abs(s80 - s10) < 0.02 * s10 and abs(o80 - o10) < 0.02 * o10
    # measured >= analytic (plus a gradient buffer and temporaries, never less)
    assert s10 >= learning_bytes("solsa", sizes, 10)
    assert o10 >= learning_bytes("online-simple", sizes, 10)
    assert s10 > o10                                            # per-synapse vs per-channel traces
    # doubling the width roughly quadruples SOLSA's per-synapse memory
    s_wide = measure_peak("solsa", [6, 128, 128, 4], 10)
    assert 3.0 < s_wide / s10 < 4.5


def test_memory_report_and_plot(tmp_path):
    rep = memory_report(hidden=32, Ts=(5, 20, 60), widths=(16, 64), T_fixed=20)
    assert rep["crossover_T_analytic"] == crossover_T([6, 32, 32, 4])
    assert rep["crossover_T_analytic_lean"] == crossover_T([6, 32, 32, 4], baseline="bptt-lean")
    assert len(rep["over_T"]) == 3 * 4 and len(rep["over_width"]) == 2 * 4
    plot_report(rep, tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_bad_memory_inputs():
    with pytest.raises(SolsaError, match="unknown method"):
        learning_floats("rtrl", [2, 3], 5)
    with pytest.raises(SolsaError, match="T must be"):
        learning_floats("bptt", [2, 3], 0)
    with pytest.raises(SolsaError):
        learning_floats("bptt", [2], 5)


@pytest.mark.parametrize("readout", ["spikes", "membrane"])
@pytest.mark.parametrize("spike", ["heaviside", "smooth"])
def test_lean_bptt_gives_the_naive_gradient(readout, spike):
    """Keeping only V (and spike bits) and recomputing the filters changes nothing but rounding."""
    p = ModelParams(spike=spike)
    rng = np.random.default_rng(3)
    net = Network.init([5, 13, 9, 3], p, rng, 2.0, readout=readout)
    x, y = rng.normal(size=(4, 25, 5)), rng.normal(size=(4, 25, 3))
    a, b = bptt(net, p, x, y), bptt_lean(net, p, x, y)
    assert b.loss == pytest.approx(a.loss, rel=1e-12)
    for ga, gb in zip(a.W, b.W):
        assert np.abs(ga).max() > 0
        np.testing.assert_allclose(gb, ga, rtol=1e-9, atol=1e-12 * np.abs(ga).max())
    np.testing.assert_allclose(b.alpha, a.alpha, rtol=1e-9)
    np.testing.assert_allclose(b.beta, a.beta, rtol=1e-9)


def test_lean_bptt_counts_by_hand():
    sizes, T = [5, 8, 3], 4
    # V of each layer at each step: 4 * (8 + 3) floats; hidden spikes: 4 rows of ceil(8 / 8) = 1 byte
    assert sum(learning_floats("bptt-lean", sizes, T).values()) == 44
    assert learning_bytes("bptt-lean", sizes, T) == 44 * 8 + 4
    assert learning_bytes("bptt-lean", sizes, T, batch=3, dtype_bytes=4) == 3 * (44 * 4 + 4)
    # the patterns task [20, 100, 100, 4], T = 40: 40 * 204 floats + 40 * (13 + 13) bytes = 66,320 B,
    # against naive BPTT's 200,960 B and SOLSA's 112,640 B
    pat = [20, 100, 100, 4]
    assert learning_bytes("bptt-lean", pat, 40) == 66320
    assert learning_bytes("bptt", pat, 40) == 8 * 40 * (220 + 2 * 204) == 200960
    assert learning_bytes("solsa", pat, 40) == 112640
    # SOLSA (112,640 B) is below lean BPTT (1,658 B per step) from T = 68 on
    assert crossover_T(pat, baseline="bptt-lean") == 68 == 112640 // 1658 + 1


def test_lean_bptt_measured_peak_is_its_history():
    sizes = [6, 64, 64, 4]
    n10, n80 = measure_peak("bptt", sizes, 10), measure_peak("bptt", sizes, 80)
    l10, l80 = measure_peak("bptt-lean", sizes, 10), measure_peak("bptt-lean", sizes, 80)
    growth = learning_bytes("bptt-lean", sizes, 80) - learning_bytes("bptt-lean", sizes, 10)
    assert growth <= l80 - l10 < 1.2 * growth          # grows by its stored V (+ bits), little more
    assert l80 < 0.5 * n80
