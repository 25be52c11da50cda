"""End-to-end: train a tiny network in the compiled binary, results file, resume, CLI errors."""
import io

import numpy as np
import pytest

from brian_snn.backend import BackendError, CppBackend, check_compiler
from brian_snn.cli import main
from brian_snn.commands.train import hardware_line, print_summary, summary
from brian_snn.data import load_embedded
from brian_snn.experiments.train_eval import TrainConfig, train_and_evaluate
from brian_snn.store import StoreError, read_results


def _compiler_or_skip():
    try:
        check_compiler()
    except BackendError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def tiny():
    return load_embedded().subset(n_train=30, n_test=20, seed=1)


def test_train_writes_complete_results_and_counts_add_up(tiny, tmp_path):
    _compiler_or_skip()
    cfg = TrainConfig(model="diehl-cook", n_exc=10, backend="cpp", chunk_slots=12, seed=2)
    out = tmp_path / "r.h5"
    res = train_and_evaluate(cfg, tiny, out=out, progress=False, log=lambda *a: None)
    stored = read_results(out)
    assert stored["checkpoint"] is None
    assert stored["arrays"]["weights"].shape == (784, 10)
    assert stored["arrays"]["confusion"].sum() == 20
    acc = stored["scalars"]["accuracy"]
    assert acc == pytest.approx((stored["arrays"]["test_predictions"] == tiny.y_test).mean())
    tr, inf = stored["counts"]["training"], stored["counts"]["inference"]
    assert tr.samples == 30 and inf.samples == 20 and tr.phase == "training"
    # identities of the D&C topology, from the population counts alone
    n_in = tr.population("input").spikes
    exc, inh = tr.population("exc").spikes, tr.population("inh").spikes
    assert tr.pathway("input_exc").synaptic_events == n_in * 10
    assert tr.pathway("exc_inh").synaptic_events == exc
    assert tr.pathway("inh_exc").synaptic_events == inh * 9
    # plasticity: every input spike (depression), every exc spike (potentiation, 784 inputs),
    # plus one renormalisation of all 7840 weights per training presentation
    presentations = tr.steps // 1000
    assert tr.pathway("input_exc").plasticity_updates == n_in * 10 + exc * 784 + presentations * 7840
    assert inf.pathway("input_exc").plasticity_updates == 0
    # of the executed updates, those that changed a weight (most pre-synaptic depressions of a
    # silent neuron compute w -= nu_pre * 0)
    assert 0 < tr.pathway("input_exc").weight_changes < tr.pathway("input_exc").plasticity_updates
    assert inf.pathway("input_exc").weight_changes == 0
    assert tr.population("exc").neuron_updates == 10 * tr.steps
    # (normalisation: test_normalisation_sets_column_sums_to_norm)
    # GPU kernels per step as brian2cuda launches them, stored with the counts: input 3 (threshold 2,
    # reset 1; no state-update code), exc 6 (state updater 1, spike and renorm thresholders 2 + 2,
    # reset 1), inh 4 (state updater, threshold 2, reset), 5 pathways 1 each + 2 for the input's
    # heterogeneous delays (queue advance, push); the 4 pathways without them copy a spike count per step
    assert tr.extra["kernels_per_step"] == inf.extra["kernels_per_step"] == 3 + 6 + 4 + 5 + 2
    assert tr.extra["host_copies_per_step"] == 4
    # the cost lines: one per phase and target; a target that cannot price says why on one line
    s = summary(res, ["loihi1", "jetson-nano", "toaster"])
    text = io.StringIO()
    print_summary(s, text)
    lines = [ln for ln in text.getvalue().splitlines() if ln.startswith("hardware (")]
    assert [ln.split(":")[0] for ln in lines] == [f"hardware ({ph}, {t})" for ph in ("training", "inference")
                                                  for t in ("loihi1", "jetson-nano", "toaster")]
    assert lines[2].startswith("hardware (training, toaster): n/a (unknown target 'toaster'")
    jet = s["hardware"]["training"]["jetson-nano"]["per_sample"]
    assert f"{jet['energy_j'] * 1e3:.4g} mJ/sample" in lines[1] and "evidence" in lines[1]


def test_hardware_line_prints_intervals_only_when_given():
    h = {"per_sample": {"energy_j": 0.0123, "latency_s": 0.0081, "energy_interval_j": [0.0091, 0.016],
                        "latency_interval_s": [0.006, 0.0102]},
         "memory_bytes": {"total": 2048}, "evidence": "calibrated"}
    assert hardware_line("training", "jetson-nano", h) == (
        "hardware (training, jetson-nano): 12.3 mJ/sample [9.1, 16], latency 8.1 ms/sample [6, 10.2], "
        "memory 2.0 KiB, evidence calibrated")
    h["per_sample"].update(energy_interval_j=None, latency_interval_s=None)
    assert hardware_line("inference", "loihi1", h) == (
        "hardware (inference, loihi1): 12.3 mJ/sample, latency 8.1 ms/sample, memory 2.0 KiB, evidence calibrated")
    assert hardware_line("training", "x", {"target": "x", "error": "no price"}) == "hardware (training, x): n/a (no price)"


def test_interrupted_training_resumes_from_checkpoint(tiny, tmp_path, monkeypatch):
    _compiler_or_skip()
    cfg = TrainConfig(model="spikedyn", n_exc=10, backend="cpp", chunk_slots=12, seed=3)
    out = tmp_path / "r.h5"
    calls = {"n": 0}
    real = CppBackend.run_chunk

    def flaky(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(CppBackend, "run_chunk", flaky)
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate(cfg, tiny, out=out, progress=False, log=lambda *a: None)
    ck = read_results(out)["checkpoint"]
    assert ck is not None and 0 < ck["meta"]["position"] < 30
    assert ck["meta"]["counts"]["samples"] == ck["meta"]["position"]
    logs = []
    res = train_and_evaluate(cfg, tiny, out=out, progress=False, log=logs.append)
    assert any("resuming" in m for m in logs)
    assert res["counts"]["training"].samples == 30
    assert read_results(out)["checkpoint"] is None


@pytest.mark.parametrize("argv, words", [
    (["train", "--model", "hopfield"], "unknown model 'hopfield'"),
    (["train", "--backend", "fpga"], "unknown backend 'fpga'"),
    (["train", "--neurons", "-3"], "positive integer"),
    (["train", "--data-dir", "/nonexistent/dir", "--quiet"], "/nonexistent/dir"),
    (["train", "--param", "nu_post", "--quiet"], "NAME=VALUE"),
    (["train", "--param", "nu_post=nan", "--quiet"], "nu_post"),
])
def test_cli_bad_input_gives_one_line_error(argv, words, capsys, tmp_path):
    code = main(argv + ["--out", str(tmp_path / "x.h5")]) if argv[0] == "train" else main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_truncated_results_file_gives_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(StoreError, match="bad.h5"):
        read_results(bad)
    assert main(["evaluate", str(bad)]) == 2
    assert "bad.h5" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["diehl-cook", "spikedyn"])
def test_normalisation_sets_column_sums_to_norm(tiny, model):
    """With learning rates 0 only the normalisation moves weights: Diehl & Cook rescales every
    column to norm = 78 at every training sample; SpikeDyn only the columns of neurons that fired
    (the others keep their initial sums).  Initial columns are not normalised (sums ~120)."""
    _compiler_or_skip()
    from brian_snn.encoding import Presentation
    from brian_snn.experiments.train_eval import image_table
    from brian_snn.models import get_model_spec
    from brian_snn.models.diehl_cook import initial_weights
    from brian_snn.runner import present
    rates = {"nu_post": 0.0, "nu_pre": 0.0} if model == "diehl-cook" else {"nu_post": 0.0}
    spec = get_model_spec(model, n_exc=10, **rates)
    w0 = initial_weights(spec, np.random.default_rng(5))
    sums0 = w0.reshape(784, 10).sum(axis=0)
    assert np.all(np.abs(sums0 - 78) > 20)
    run = present(spec, CppBackend(chunk_slots=12), Presentation(), image_table(tiny), np.arange(3),
                  {"w": w0, "theta": np.full(10, 0.02)}, 1, "training", 4, progress=False)
    sums = run.state["w"].reshape(784, 10).sum(axis=0)
    fired = run.responses.sum(axis=0) > 0
    if model == "diehl-cook":
        np.testing.assert_allclose(sums, 78.0, rtol=1e-9)
    else:
        assert fired.any() and not fired.all()
        np.testing.assert_allclose(sums[fired], 78.0, rtol=1e-9)
        renormalised = np.isclose(sums, 78.0, rtol=1e-9)
        np.testing.assert_array_equal(sums[~renormalised], sums0[~renormalised])
