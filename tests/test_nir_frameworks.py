"""NIR graphs as the frameworks that wrote them ran them (``--semantics snntorch|norse``).

The fixtures in tests/data/nir_frameworks/ were written by benchmarks/nir_framework_fixtures.py with
snnTorch 1.0.0 and Norse 1.1.0 installed (torch CPU, float32): each is a 20-50-5 network exported by
the framework's own NIR exporter, the Bernoulli input it ran on and the output spikes the framework
produced.  These tests need neither framework: they run the files here and compare spike for spike.
"""
import json
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from brian_snn.nir import NirError, from_nir          # noqa: E402
from brian_snn.nir.network import discrete_update      # noqa: E402

DATA = Path(__file__).parent / "data" / "nir_frameworks"
FIXTURES = sorted(p.stem for p in DATA.glob("*.npz"))


def _fixture(name):
    z = np.load(DATA / f"{name}.npz")
    return (z["input"].astype(float), z["output"].astype(float), float(z["dt"]), str(z["semantics"]),
            str(z["reset"]))


def _run(path, x, dt, semantics, reset=None):
    net = from_nir(path, dt=dt, semantics=semantics, reset=reset)
    res = net.run(x)
    (out,) = res.outputs.values()
    return net, out


def test_fixtures_present():
    assert set(FIXTURES) == {"snntorch-leaky-subtract", "snntorch-leaky-zero", "snntorch-synaptic-subtract",
                             "snntorch-synaptic-zero", "snntorch-rleaky-subtract", "norse-lifbox", "norse-lifcell"}
    summary = json.loads((DATA / "fixtures.json").read_text())
    for name in FIXTURES:
        x, y, *_ = _fixture(name)
        assert x.shape == (4, 60, 20) and y.shape == (4, 60, 5)
        assert y.sum() == summary[name]["output_spikes"] > 100        # enough spikes to mean something


@pytest.mark.parametrize("name", [n for n in FIXTURES if n.startswith("snntorch")])
def test_snntorch_exports_run_spike_for_spike(name):
    x, y, dt, semantics, reset = _fixture(name)
    net, out = _run(DATA / f"{name}.nir", x, dt, semantics, reset)
    assert net.warnings == []
    assert int((out != y).sum()) == 0


@pytest.mark.parametrize("name", [n for n in FIXTURES if n.startswith("norse")])
def test_norse_exports_corrected_run_spike_for_spike(name):
    """Norse 1.1.0 writes tau = dt/tau_mem_inv; the -fixed file has the framework's tau = 1/tau_mem_inv."""
    x, y, dt, semantics, reset = _fixture(name)
    net, out = _run(DATA / f"{name}-fixed.nir", x, dt, semantics, reset)
    assert net.warnings == []
    assert int((out != y).sum()) == 0


@pytest.mark.parametrize("name", [n for n in FIXTURES if n.startswith("norse")])
def test_norse_file_as_written_warns_about_tau(name):
    x, y, dt, semantics, _ = _fixture(name)
    net = from_nir(DATA / f"{name}.nir", dt=dt, semantics=semantics)
    assert net.warnings, "Norse 1.1.0's tau = dt*tau should be flagged"
    w = net.warnings[0]
    assert "shorter than dt = 0.001 s" in w and "Norse 1.1.0" in w and "tau_mem 0.01 s" in w.replace("tau ", "tau_mem ")


def test_exact_semantics_differ_from_the_framework():
    """The point of the option: read as NIR's continuous equations, a snnTorch graph spikes differently."""
    x, y, dt, _, _ = _fixture("snntorch-leaky-subtract")
    _, out = _run(DATA / "snntorch-leaky-subtract.nir", x, dt, "exact")
    assert (out != y).sum() > 50


def test_wrong_reset_is_visible():
    x, y, dt, semantics, _ = _fixture("snntorch-leaky-subtract")
    _, out = _run(DATA / "snntorch-leaky-subtract.nir", x, dt, semantics, "zero")
    assert (out != y).sum() > 0


def test_bad_semantics_or_reset_is_one_line():
    with pytest.raises(NirError, match="unknown semantics 'sinabs'"):
        from_nir(DATA / "norse-lifbox-fixed.nir", semantics="sinabs")
    with pytest.raises(NirError, match="reset 'zero' does not go with semantics 'norse'"):
        from_nir(DATA / "norse-lifbox-fixed.nir", semantics="norse", reset="zero")


# ----------------------------------------------------------------- scalar parameters, shape errors
def _two_layer(lif1, lif2, w1=(50, 20), w2=(5, 50)):
    rng = np.random.default_rng(0)
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([20])}),
        "fc1": nir.Linear(weight=rng.normal(0, 1, w1)), "lif1": lif1,
        "fc2": nir.Linear(weight=rng.normal(0, 1, w2)), "lif2": lif2,
        "output": nir.Output(output_type={"output": np.array([5])})},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        type_check=False)


def _lif(n):
    return nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))


def test_scalar_parameters_take_the_size_of_their_input():
    g = _two_layer(_lif(1), _lif(1))
    net = from_nir(g, dt=1e-3, semantics="norse")
    assert [p.n for p in net.plan.populations.values()] == [20, 50, 5]


def test_shape_error_names_the_node_that_sends_the_values():
    g = _two_layer(_lif(10), _lif(5))                  # 50 values into a LIF of 10 neurons
    with pytest.raises(NirError, match=r"gets 10 from node 'lif1' \(LIF of 10 neurons\)"):
        from_nir(g)
    g = _two_layer(_lif(50), _lif(5), w2=(5, 40))      # a LIF of 50 into a Linear that takes 40
    with pytest.raises(NirError, match=r"node 'fc2' \(Linear\): weight takes 40 inputs, gets 50 from node "
                                       r"'lif1' \(LIF of 50 neurons\)"):
        from_nir(g)


# ----------------------------------------------------------------- the equations, by hand
def test_discrete_update_constants():
    """The per-step constants against the frameworks' documented updates, written out here."""
    from brian_snn.nir.graph import Population
    dt = 1e-4
    tau = np.array([dt / (1 - 0.9)])                  # snnTorch's exporter: tau = dt/(1 - beta), r = tau/dt
    lif = Population("l", "LIF", 1, (1,), dict(tau=tau, r=tau / dt, v_leak=np.zeros(1), v_threshold=np.ones(1),
                                                v_reset=np.zeros(1)))
    upd, reset, c = discrete_update(lif, "snntorch", "subtract", dt)
    assert np.allclose(c["a"], 0.9) and np.allclose(c["g"], 1.0) and np.allclose(c["c"], 0.0)
    assert "v_threshold*pend" in upd and reset == "pend = 1"
    ts, tm = np.array([dt / 0.2]), np.array([dt / 0.1])        # Synaptic alpha 0.8, beta 0.9
    cuba = Population("c", "CubaLIF", 1, (1,), dict(tau_syn=ts, tau_mem=tm, r=tm / dt, v_leak=np.zeros(1),
                                                     v_threshold=np.ones(1), v_reset=np.zeros(1), w_in=ts / dt))
    upd, _, c = discrete_update(cuba, "snntorch", "subtract", dt)
    assert np.allclose(np.concatenate([c["a_s"], c["g_s"], c["a_m"], c["g_m"]]), [0.8, 1.0, 0.9, 1.0])
    assert upd.index("I = a_s*I + g_s*x") < upd.index("v = a_m*v + g_m*I")
    upd, _, c = discrete_update(cuba, "norse", "value", dt)     # Norse LIFCell: jump, membrane, decay
    assert np.allclose(c["g_s"], ts / dt)
    assert upd.index("I = I + g_s*x") < upd.index("v = a_m*v") < upd.index("I = a_s*I")


def test_cli_semantics(tmp_path, capsys):
    from brian_snn.cli import main
    x, y, dt, semantics, reset = _fixture("snntorch-synaptic-zero")
    np.savez(tmp_path / "in.npz", input=x)
    rc = main(["nir", "run", str(DATA / "snntorch-synaptic-zero.nir"), "--input", str(tmp_path / "in.npz"),
               "--dt", "100us", "--semantics", "snntorch", "--reset", "zero", "--target", "loihi1",
               "--out", str(tmp_path / "o")])
    assert rc == 0
    with np.load(tmp_path / "o" / "outputs.npz") as z:
        assert int((z["output"] != y).sum()) == 0
    capsys.readouterr()
    rc = main(["nir", "run", str(DATA / "norse-lifbox.nir"), "--random", "0.2", "--samples", "1", "--steps", "5",
               "--semantics", "norse", "--target", "loihi1"])
    assert rc == 0
    assert "warning: node '1' (LIF): tau = 1e-05 s: 100x shorter than dt" in capsys.readouterr().err
