"""NIR export of trained Diehl & Cook / SpikeDyn inference networks (brian_snn/nir/snn_export.py): the
graph carries the learned weights and thresholds exactly, the collapsed lateral inhibition has the
documented value and a zero diagonal, a hand-sized export run by ``run_nir`` equals an independent numpy
integration of the exported CubaLIF equations, and the CLI detects the file's kind."""
import json

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from brian_snn.nir import NirError, run_nir                                   # noqa: E402
from brian_snn.nir.snn_export import inference_to_nir, snn_to_nir             # noqa: E402
from brian_snn.store import write_results                                     # noqa: E402

DT = 0.5e-3


def results_file(path, model="spikedyn", n_in=12, n=4, seed=0, params=None):
    """A 'brian-snn train' results file (the layout train_eval writes) with random weights / thresholds."""
    rng = np.random.default_rng(seed)
    w, theta = rng.random((n_in, n)), 0.02 + 0.01 * rng.random(n)
    write_results(path, {"config": {"model": model, "n_exc": n, "model_params": dict(params or {}, n_exc=n, n_input=n_in),
                                    "presentation_params": {"dt_ms": 0.5, "t_on_ms": 350.0}},
                         "arrays": {"weights": w, "thresholds_theta_V": theta, "assignments": np.arange(n) % 10}})
    return w, theta


def test_export_carries_learned_weights_and_thresholds(tmp_path):
    from brian_snn.nir import write_nir
    path = tmp_path / "t.h5"
    w, theta = results_file(path)
    g = inference_to_nir(str(path))
    write_nir(g, tmp_path / "t.nir")
    for graph in (g, nir.read(tmp_path / "t.nir")):
        np.testing.assert_array_equal(graph.nodes["input_exc"].weight, w.T)
        lif = graph.nodes["exc"]
        # the model's threshold: v > theta - theta_offset + v_thresh_e = theta - 20 mV - 52 mV
        np.testing.assert_allclose(lif.v_threshold, theta * 1e3 - 72.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(lif.tau_mem, 0.1)
        np.testing.assert_allclose(lif.tau_syn, 1e-3)
        np.testing.assert_allclose(lif.v_leak, -65.0)
        np.testing.assert_allclose(lif.v_reset, -65.0)
        # default v_ref 'mid': the driving force E_exc - (v_rest + threshold) / 2
        np.testing.assert_allclose(lif.r, 0.0 - (-65.0 + theta * 1e3 - 72.0) / 2)
        np.testing.assert_allclose(lif.w_in, 1e-3 / DT)            # tau_ge / dt: the conductance's charge
        assert set(graph.edges) == {("input", "input_exc"), ("input_exc", "exc"), ("exc", "lateral"),
                                    ("lateral", "exc"), ("exc", "output")}


@pytest.mark.parametrize("model,params,w_inh", [("spikedyn", {"w_lat": 11.0}, 11.0),
                                                 ("diehl-cook", {"w_ie": 13.0}, 13.0),
                                                 ("spikedyn", {"inhibitory_layer": 1, "w_ie": 9.0}, 9.0)])
def test_lateral_inhibition_matrix(model, params, w_inh):
    n = 5
    g = snn_to_nir(np.ones((3, n)), np.full(n, 0.02), model, params, dt=DT, v_ref="rest")
    np.testing.assert_allclose(g.nodes["exc"].r, 65.0)                  # E_exc - v_rest
    L = g.nodes["lateral"].weight
    assert L.shape == (n, n)
    np.testing.assert_array_equal(np.diag(L), 0.0)
    # same charge at rest: w * tau_gi * (E_inh_e - v_rest) / (tau_ge * (E_exc - v_rest))
    expect = w_inh * 2e-3 * (-100 + 65) / (1e-3 * 65)
    np.testing.assert_allclose(L[~np.eye(n, dtype=bool)], expect)
    mid = snn_to_nir(np.ones((3, n)), np.full(n, 0.02), model, params, dt=DT)       # default: 'mid'
    vr = (-65 + (-52.0)) / 2                         # theta = 20 mV: threshold -52 mV
    np.testing.assert_allclose(mid.nodes["exc"].r, -vr)
    np.testing.assert_allclose(mid.nodes["lateral"].weight[0, 1], w_inh * 2 * (-100 - vr) / (0 - vr))


def numpy_cubalif(W, L, w_in, r, tau_syn, tau_mem, v_leak, thr, v_reset, x, dt):
    """Independent integration of the exported graph: per step the input x[t] (held over the step)
    plus the lateral input of the previous step's spikes, the exact solution of
    dI/dt = (w_in u - I)/tau_syn, dv/dt = (v_leak - v + r I)/tau_mem over dt, then v > thr -> spike and
    v = v_reset.  Every sample starts at v = v_leak, I = 0."""
    S, T, _ = x.shape
    n = W.shape[0]
    out = np.zeros((S, T, n))
    a, b = np.exp(-dt / tau_syn), np.exp(-dt / tau_mem)
    for s in range(S):
        v, I, z = v_leak.copy(), np.zeros(n), np.zeros(n)
        for t in range(T):
            u = W @ x[s, t] + L @ z
            Ix = w_in * u
            v_inf = v_leak + r * Ix
            A = r * (I - Ix) * tau_syn / (tau_syn - tau_mem)
            v = v_inf + A * a + (v - v_inf - A) * b
            I = Ix + (I - Ix) * a
            z = (v > thr).astype(float)
            v = np.where(z > 0, v_reset, v)
            out[s, t] = z
    return out


def test_exported_network_equals_numpy_integration():
    rng = np.random.default_rng(3)
    n_in, n = 8, 3
    w = 0.2 + 0.8 * rng.random((n_in, n))
    theta = np.array([0.020, 0.024, 0.028])
    g = snn_to_nir(w, theta, "spikedyn", {"w_lat": 3.0}, dt=DT)         # per-neuron r (v_ref 'mid')
    x = (rng.random((2, 300, n_in)) < 0.08).astype(float)
    got = run_nir(g, x, dt=DT).outputs["output"]
    p = g.nodes["exc"]
    ref = numpy_cubalif(g.nodes["input_exc"].weight, g.nodes["lateral"].weight, p.w_in, p.r, p.tau_syn, p.tau_mem,
                        p.v_leak, p.v_threshold, p.v_reset, x, DT)
    assert ref.sum() > 10
    np.testing.assert_array_equal(got, ref)


def test_cli_exports_a_train_results_file(tmp_path, capsys):
    from brian_snn.cli import main
    path = tmp_path / "t.h5"
    w, theta = results_file(path, model="diehl-cook")
    out = tmp_path / "t.nir"
    assert main(["export", "--format", "nir", "--results", str(path), "--out", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == "diehl-cook" and info["nodes"]["exc"] == "CubaLIF" and info["dt_s"] == DT
    g = nir.read(out)
    np.testing.assert_array_equal(g.nodes["input_exc"].weight, w.T)
    assert main(["export", "--format", "nir", "--results", str(path), "--out", str(tmp_path / "m.nir"),
                 "--v-ref", "rest"]) == 0
    assert "inhibitory layer collapsed" in capsys.readouterr().out
    np.testing.assert_allclose(nir.read(tmp_path / "m.nir").nodes["exc"].r, 65.0)


def test_cli_export_of_another_file_is_one_line(tmp_path, capsys):
    import h5py
    from brian_snn.cli import main
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["schema"] = "something-else/1"
    assert main(["export", "--format", "nir", "--results", str(other), "--out", str(tmp_path / "x.nir")]) == 2
    err = capsys.readouterr().err.strip()
    assert "nothing to export to NIR" in err and len(err.splitlines()) == 1
    bad = tmp_path / "bad.h5"
    results_file(bad, model="solsa-like")
    assert main(["export", "--format", "nir", "--results", str(bad), "--out", str(tmp_path / "y.nir")]) == 2
    err = capsys.readouterr().err.strip()
    assert "names no known model (model 'solsa-like'" in err and len(err.splitlines()) == 1
    with pytest.raises(NirError, match="v_ref"):
        snn_to_nir(np.ones((2, 2)), np.zeros(2), v_ref=5.0)
