"""Batched network copies: the counter-based RNG matches its C++ implementation bit for bit, and on
cpp every copy of a batch reproduces the same network run alone (K=1) exactly."""
import shutil
import subprocess

import numpy as np
import pytest

from brian_snn.backend import check_compiler
from brian_snn.batched import (_CPP_HASH, BatchedNetwork, BatchSpec, batch_counts, hash_uniform,
                               initial_copy_state, present_batched)
from brian_snn.encoding import Presentation


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


def test_bad_batch_input():
    with pytest.raises(ValueError, match="copies, n_exc and n_input must be >= 1"):
        BatchSpec(copies=0)
    with pytest.raises(ValueError, match="batched networks run on cpp or cuda"):
        BatchedNetwork(BatchSpec(), Presentation(), 3, 2, backend="runtime")


P, N = 16, 5
PRES = Presentation(t_on_ms=50, t_rest_ms=20, max_repeats=2, intensity0=16.0)   # a small net needs strong input


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    images = np.vstack([rng.integers(0, 256, (6, P)), np.zeros((1, P))]).astype(float)
    orders = [rng.integers(0, 6, 9) for _ in range(3)]
    return images, orders


def test_each_copy_equals_the_network_run_alone(tmp_path_factory, data):
    try:
        check_compiler()
    except RuntimeError as e:
        pytest.skip(str(e))
    images, orders = data
    cache = tmp_path_factory.mktemp("batch")
    # norm scaled down for 16 inputs (keeps weights below wmax = 1)
    params = [{"norm": 4.0}, {"norm": 4.0, "nu_post": 0.05, "theta_plus_mV": 0.2},
              {"norm": 4.0, "w_ie": 5.0, "nu_pre": 1e-3}]
    seeds = [11, 12, 13]
    spec3 = BatchSpec(copies=3, n_input=P, n_exc=N)
    batch = BatchedNetwork(spec3, PRES, len(images), slots=4, cache_dir=cache)
    rb = present_batched(batch, images, orders, [initial_copy_state(spec3, s, norm=4.0) for s in seeds], params, seeds,
                         plastic=1)
    # learning off: weights stay, plasticity updates are not counted
    frozen = present_batched(batch, images, orders, rb.states, params, seeds, plastic=0, phase="inference")
    for k in range(3):
        assert rb.states[k]["w"].max() < 1.0
        np.testing.assert_array_equal(frozen.states[k]["w"], rb.states[k]["w"])
        assert all(s.plasticity_updates == 0 for s in frozen.counts[k].pathways)
    spec1 = BatchSpec(copies=1, n_input=P, n_exc=N)
    single = BatchedNetwork(spec1, PRES, len(images), slots=4, cache_dir=cache)
    for k in range(3):
        r1 = present_batched(single, images, [orders[k]], [initial_copy_state(spec1, seeds[k], norm=4.0)], [params[k]],
                             [seeds[k]], plastic=1)
        for key in ("w", "theta", "v"):
            np.testing.assert_array_equal(rb.states[k][key], r1.states[0][key], err_msg=f"copy {k} {key}")
        np.testing.assert_array_equal(rb.responses[k], r1.responses[0])
        # the same counts; only the batch size differs (K copies share each kernel launch)
        assert (rb.counts[k].extra["batch"], r1.counts[0].extra["batch"]) == (3, 1)
        # kernels: input 2 (threshold, reset; no ODEs, no state updater), exc 6 (state updater,
        # spike/boundary/renorm thresholders, reset, boundary operation), inh 3, 5 pathways x 2
        assert rb.counts[k].extra["kernels_per_step"] == r1.counts[0].extra["kernels_per_step"] == 21
        assert dict(rb.counts[k].to_dict(), batch=1) == r1.counts[0].to_dict()
        assert rb.presentations[k] == r1.presentations[0]
    whole = batch_counts(rb.counts)            # the batch as one network: one launch per kernel
    assert whole.extra["copies"] == 3 and whole.extra["kernels_per_step"] == 21 and "batch" not in whole.extra
    # the copies really differ (own parameters, seeds and orders), and they learned something
    assert not np.array_equal(rb.states[0]["w"], rb.states[1]["w"])
    for k in range(3):
        assert rb.counts[k].spikes > 0 and rb.responses[k].sum() > 0
        c = rb.counts[k]
        inp = next(p for p in c.populations if p.name == "input")
        exc_inh = next(s for s in c.pathways if s.name == "exc_inh")
        inp_exc = next(s for s in c.pathways if s.name == "input_exc")
        exc = next(p for p in c.populations if p.name == "exc")
        assert inp_exc.synaptic_events == inp.spikes * N          # all-to-all within the copy
        assert exc_inh.synaptic_events == exc.spikes               # one-to-one
        assert c.steps == rb.presentations[k] * PRES.steps_per_slot
