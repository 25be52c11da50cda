"""Batched copies of any model (brian_snn.copies): the counter-based RNG matches its C++
implementation bit for bit; the batched network is the model K times, block-diagonally; and on
cpp every copy of a batch reproduces the same batched network run alone (K=1) exactly, for
Diehl & Cook and for SpikeDyn."""
import shutil
import subprocess

import numpy as np
import pytest

from brian_snn.backend import BackendError, check_compiler, get_backend
from brian_snn.copies import Builder, Copies, batch_counts
from brian_snn.encoding import Presentation
from brian_snn.experiments.train_eval import initial_state
from brian_snn.models import get_model_spec
from brian_snn.noise import _CPP_HASH, hash_uniform
from brian_snn.runner import present


def test_hash_uniform_is_uniform_and_seed_dependent():
    step, idx = np.meshgrid(np.arange(400), np.arange(250))
    u = hash_uniform(7, step.ravel(), idx.ravel())
    assert u.min() >= 0 and u.max() < 1
    hist = np.bincount((u * 20).astype(int), minlength=20)
    chi2 = ((hist - len(u) / 20) ** 2 / (len(u) / 20)).sum()
    assert chi2 < 45                       # 19 dof: p ~ 1e-3
    v = hash_uniform(8, step.ravel(), idx.ravel())
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    np.testing.assert_array_equal(u, hash_uniform(7, step.ravel(), idx.ravel()))


def test_hash_uniform_matches_the_cpp_implementation(tmp_path):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    src = tmp_path / "h.cpp"
    src.write_text(_CPP_HASH + """
#include <cstdio>
int main() {
    long long seeds[] = {0, 1, 12345, 2147483647, -5};
    for (long long s : seeds) for (long long t = 0; t < 50; t += 7) for (long long i = 0; i < 800; i += 97)
        printf("%.17g\\n", _bsnn_uniform(s, t, i));
}
""")
    subprocess.run([cxx, "-O2", str(src), "-o", str(tmp_path / "h")], check=True)
    got = np.array(subprocess.run([str(tmp_path / "h")], capture_output=True, text=True, check=True).stdout.split(),
                   dtype=float)
    s, t, i = np.meshgrid([0, 1, 12345, 2147483647, -5], np.arange(0, 50, 7), np.arange(0, 800, 97), indexing="ij")
    np.testing.assert_array_equal(got, hash_uniform(s.ravel(), t.ravel(), i.ravel()))


def test_shared_parameters_become_per_copy():
    b = Builder(copies=3)
    eqs = b.equations("dv/dt = -v / tau : volt (unless refractory)\nnorm : 1 (shared)  # a comment (x)\n"
                      "x : 1 (shared, constant)\nw : 1", "g")
    assert eqs.split("\n") == ["dv/dt = -v / tau : volt (unless refractory)", "norm : 1   # a comment (x)",
                               "x : 1 (constant)", "w : 1"]
    assert b.unshared == {"g": {"norm", "x"}}
    plain = Builder()
    assert plain.equations("norm : 1 (shared)", "g") == "norm : 1 (shared)" and not plain.unshared


def test_bad_copies():
    dc = get_model_spec("diehl-cook", n_exc=5, n_input=16)
    with pytest.raises(ValueError, match="same model and structure"):
        Copies((dc, get_model_spec("diehl-cook", n_exc=6, n_input=16)))
    with pytest.raises(ValueError, match="same model and structure"):
        Copies((dc, get_model_spec("spikedyn", n_exc=5, n_input=16)))
    with pytest.raises(ValueError, match="quantised weights draw rand"):
        Copies.of(get_model_spec("diehl-cook", n_exc=5, n_input=16, weight_bits=4), 2)
    with pytest.raises(ValueError, match="copies must be an integer >= 1"):
        Builder(copies=0)
    with pytest.raises(BackendError, match="run on the cpp or cuda backend"):
        present(Copies.of(dc, 2), get_backend("runtime", chunk_slots=2), Presentation(), np.zeros((3, 16)),
                [[0], [1]], [initial_state(dc, 0)] * 2, 1, "training", [0, 1], progress=False)


P, N = 16, 5
PRES = Presentation(t_on_ms=50, t_rest_ms=20, max_repeats=2, intensity0=16.0)   # a small net needs strong input
# norm scaled down for 16 inputs (keeps weights below wmax = 1); each copy its own parameters
PARAMS = {"diehl-cook": [{"norm": 4.0}, {"norm": 4.0, "nu_post": 0.05, "theta_plus_mV": 0.2},
                         {"norm": 4.0, "w_ie": 5.0, "nu_pre": 1e-3}],
          "spikedyn": [{"norm": 4.0}, {"norm": 4.0, "nu_post": 0.01, "w_lat": 5.0},
                       {"norm": 4.0, "x_tar": 0.3, "n_half": 2.0}]}
KERNELS = {"diehl-cook": 20, "spikedyn": 13}      # of the plain model (activity.gpu_structure: what brian2cuda launches)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    images = np.vstack([rng.integers(0, 256, (6, P)), np.zeros((1, P))]).astype(float)
    orders = [rng.integers(0, 6, 9) for _ in range(3)]
    return images, orders


@pytest.mark.parametrize("model", ["diehl-cook", "spikedyn"])
def test_each_copy_equals_the_network_run_alone(tmp_path_factory, data, model):
    try:
        check_compiler()
    except RuntimeError as e:
        pytest.skip(str(e))
    images, orders = data
    backend = get_backend("cpp", chunk_slots=4, cache_dir=tmp_path_factory.mktemp("copies"))
    specs = [get_model_spec(model, n_exc=N, n_input=P, **p) for p in PARAMS[model]]
    seeds = [11, 12, 13]
    batch = Copies(tuple(specs))
    start = [initial_state(s, seed) for s, seed in zip(specs, seeds)]
    rb = present(batch, backend, PRES, images, orders, start, 1, "training", seeds, progress=False)
    # learning off: weights stay, plasticity updates are not counted
    frozen = present(batch, backend, PRES, images, orders, rb.state, 0, "inference", seeds, progress=False)
    for k in range(3):
        assert rb.state[k]["w"].max() < 1.0
        np.testing.assert_array_equal(frozen.state[k]["w"], rb.state[k]["w"])
        assert all(s.plasticity_updates == 0 for s in frozen.counts[k].pathways)
    for k in range(3):
        alone = present(Copies((specs[k],)), backend, PRES, images, [orders[k]], [start[k]], 1, "training",
                        [seeds[k]], progress=False)
        assert rb.state[k].keys() == alone.state[0].keys()
        for key in rb.state[k]:
            np.testing.assert_array_equal(rb.state[k][key], alone.state[0][key], err_msg=f"copy {k} {key}")
        np.testing.assert_array_equal(rb.responses[k], alone.responses[0])
        # the same counts; only the batch size differs (K copies share each kernel launch)
        assert (rb.counts[k].extra["batch"], alone.counts[0].extra["batch"]) == (3, 1)
        assert rb.counts[k].extra["kernels_per_step"] == KERNELS[model]
        assert dict(rb.counts[k].to_dict(), batch=1) == alone.counts[0].to_dict()
        assert rb.presentations[k] == alone.presentations[0]
    whole = batch_counts(rb.counts)            # the batch as one network: one launch per kernel
    assert whole.extra["copies"] == 3 and whole.extra["kernels_per_step"] == KERNELS[model]
    assert "batch" not in whole.extra
    # the copies really differ (own parameters, seeds and orders), and they learned something
    assert not np.array_equal(rb.state[0]["w"], rb.state[1]["w"])
    plain = specs[0].sizes()
    for k in range(3):
        c = rb.counts[k]
        assert c.spikes > 0 and rb.responses[k].sum() > 0
        pops = {p.name: p for p in c.populations}
        paths = {s.name: s for s in c.pathways}
        assert {n: p.n for n, p in pops.items()} == plain["neurons"]
        assert {n: s.n_synapses for n, s in paths.items()} == {n: v[0] for n, v in plain["synapses"].items()
                                                               if not n.startswith("_")}
        # per-copy parameters are not neuron state: the plain model's words, counted by hand --
        # v, ge, gi, theta, wsum, nspikes, a refractory counter, and xpost1, xpost2 (D&C) or learned
        assert pops["exc"].state_vars == (9 if model == "diehl-cook" else 8)
        assert paths["input_exc"].synaptic_events == pops["input"].spikes * N     # all to all within the copy
        if model == "diehl-cook":
            assert paths["exc_inh"].synaptic_events == pops["exc"].spikes         # one to one
        else:
            assert paths["exc_exc"].synaptic_events == pops["exc"].spikes * (N - 1)
        assert c.steps == rb.presentations[k] * PRES.steps_per_slot
