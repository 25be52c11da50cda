"""The window length is a run-time value: a run ends itself after its last whole slot (or after
the last real sample), so one build serves every window up to ``max_slot_ms``."""
import numpy as np
import pytest

from brian_snn.backend import BackendError, CppBackend, RuntimeBackend, check_compiler
from brian_snn.data import load_embedded
from brian_snn.encoding import Presentation
from brian_snn.experiments.train_eval import image_table, initial_state
from brian_snn.models import get_model_spec
from brian_snn.runner import present

SHORT = Presentation(t_on_ms=20, t_rest_ms=8, min_spikes=0)      # no repeats: one sample per slot
LONG = Presentation(t_on_ms=40, t_rest_ms=16, min_spikes=0)


@pytest.fixture(scope="module")
def data():
    ds = load_embedded().subset(n_train=7, n_test=1, seed=3)
    return image_table(ds)


def _present(backend, pres, images, n=7, seed=5):
    spec = get_model_spec("spikedyn", n_exc=5)
    return present(spec, backend, pres, images, np.arange(n), initial_state(spec, 0), plastic=1,
                   phase="training", seed=seed, progress=False)


def test_ending_early_equals_a_run_of_exactly_that_length(data):
    """Same seed: a run compiled/sized for exactly the short slots and one sized for 500 ms slots
    that ends itself give identical spikes, state and counts."""
    exact = _present(RuntimeBackend(codegen_target="numpy", chunk_slots=3, max_slot_ms=SHORT.slot_ms), SHORT, data)
    early = _present(RuntimeBackend(codegen_target="numpy", chunk_slots=3, max_slot_ms=500.0), SHORT, data)
    np.testing.assert_array_equal(early.responses, exact.responses)
    for k in ("w", "theta", "v"):
        np.testing.assert_array_equal(early.state[k], exact.state[k])
    assert early.counts.to_dict() == exact.counts.to_dict()
    assert early.presentations == exact.presentations == 7
    assert early.counts.steps == early.presentations * SHORT.steps_per_slot


def test_longer_slots_than_max_get_a_longer_run():
    b = RuntimeBackend(chunk_slots=4, max_slot_ms=50.0)
    assert b.run_ms(SHORT) == 4 * 50.0
    assert b.run_ms(Presentation(t_on_ms=60, t_rest_ms=10)) == 4 * 70.0
    with pytest.raises(ValueError, match="max_slot_ms"):
        RuntimeBackend(max_slot_ms=float("nan"))


def test_cpp_one_build_serves_two_windows_and_each_run_ends_on_time(data, tmp_path):
    try:
        check_compiler()
    except BackendError as e:
        pytest.skip(str(e))
    spec = get_model_spec("spikedyn", n_exc=5)
    b = CppBackend(chunk_slots=4, max_slot_ms=LONG.slot_ms, cache_dir=tmp_path)
    first_run = {}
    assert b.build_key(spec, SHORT)[0] == b.build_key(spec, LONG)[0]
    state = initial_state(spec, 0)
    order = np.arange(5)                       # chunk_slots + 1 order entries
    for pres in (SHORT, LONG, SHORT):                # built for SHORT: its initial schedule must not leak
        full = b.run_chunk(spec, pres, data, order, state, 1, "training", n_real=7, seed=1)
        # same inputs, same result, whatever ran before in this process
        first_run.setdefault(pres, full.exc_t)
        np.testing.assert_array_equal(full.exc_t, first_run[pres])
        # a full chunk: exactly chunk_slots slots, one every slot_ms, nothing after the 4th
        np.testing.assert_allclose(full.slot_t, np.arange(4) * pres.slot_ms * 1e-3, atol=1e-9)
        assert full.exc_t.size == 0 or full.exc_t.max() < 4 * pres.slot_ms * 1e-3
        assert full.state["ctrl_t_in"][0] == pytest.approx(pres.slot_ms * 1e-3)   # next step: a boundary
        # the last chunk (2 real samples): ends on the boundary that reaches position 2
        last = b.run_chunk(spec, pres, data, order, state, 1, "training", n_real=2, seed=1)
        np.testing.assert_array_equal(last.slot_ptr, [0, 1, 2])
        np.testing.assert_allclose(last.slot_t, np.arange(3) * pres.slot_ms * 1e-3, atol=1e-9)
        assert last.real_slots == 2
        assert last.exc_t.size == 0 or last.exc_t.max() <= last.slot_t[-1] + 1e-9
    # another data set size (the sample counts are run-time values): the same binary, no rebuild
    bigger = image_table(load_embedded().subset(n_train=23, n_test=4, seed=3))
    again = b.run_chunk(spec, SHORT, bigger, np.arange(10, 15), state, 1, "training", n_real=7, seed=1)
    assert again.timings["build_s"] == 0 and again.real_slots > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"spikedyn-{b.build_key(spec, SHORT)[0]}"]
