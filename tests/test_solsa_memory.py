"""Learning-memory accounting: analytic counts by hand, crossovers, and tracemalloc measurements."""
import pytest

from brian_snn.solsa import SolsaError
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
    assert len(rep["over_T"]) == 9 and len(rep["over_width"]) == 6
    plot_report(rep, tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_bad_memory_inputs():
    with pytest.raises(SolsaError, match="unknown method"):
        learning_floats("rtrl", [2, 3], 5)
    with pytest.raises(SolsaError, match="T must be"):
        learning_floats("bptt", [2, 3], 0)
    with pytest.raises(SolsaError):
        learning_floats("bptt", [2], 5)
