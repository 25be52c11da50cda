"""TopSpark's adaptive window (issue 26): a presentation ends as soon as the leading excitatory neuron
has ``k`` spikes and leads the runner-up by ``m`` (brian_snn/encoding.py), inside the run.

A tiny frozen Diehl & Cook network under deterministic input (white pixels fire at every step:
rate x dt >= 1) makes the stop step computable by hand from the spikes of a fixed-window run: the
dynamics before the stop are the same, so the first step s (s >= 1 in the slot) at whose start the
spikes of steps 0..s-1 meet the criterion ends the input; the slot then lasts (s - 1) input steps
plus the rest.  cpp and runtime agree sample for sample.
"""
import numpy as np
import pytest

from brian_snn.backend import BackendError, CppBackend, RuntimeBackend, check_compiler
from brian_snn.encoding import Presentation
from brian_snn.models import get_model_spec
from brian_snn.runner import present

DT = 0.5
T_ON, T_REST = 40.0, 10.0                         # ms: 80 input steps at most, 20 rest steps
IMAGES = np.array([[255, 255, 0, 0], [255, 0, 255, 0], [0, 0, 0, 0]], dtype=float)   # last row blank
SPEC = get_model_spec("diehl-cook", n_exc=3, n_input=4, max_delay_ms=0.0, w_ie=2.0)   # weak inhibition: a race
W = np.array([[3.0, 2.0, 0.0],                    # input i -> neuron j (i-major; frozen: above wmax is fine)
              [3.0, 0.0, 0.0],
              [0.0, 2.0, 0.0],
              [0.0, 0.0, 0.0]])
STATE = {"w": W.ravel(), "theta": np.full(3, 0.02)}


def pres(k=0, m=0, min_spikes=0):
    return Presentation(t_on_ms=T_ON, t_rest_ms=T_REST, dt_ms=DT, intensity0=64.0, min_spikes=min_spikes,
                        stop_lead=k, stop_margin=m)


def runtime():
    return RuntimeBackend(codegen_target="numpy", chunk_slots=4, max_slot_ms=T_ON + T_REST)


def first_slot_spikes(backend):
    """Spikes (neuron, step in the slot) of the first sample shown for the whole fixed window."""
    res = backend.run_chunk(SPEC, pres(), IMAGES, np.array([0, 1, 1, 1, 1]), STATE, plastic=0, phase="inference",
                            n_real=1, seed=1)
    steps = np.round(np.asarray(res.exc_t) / (DT * 1e-3)).astype(int)
    first = steps < int((T_ON + T_REST) / DT)
    return np.asarray(res.exc_i)[first], steps[first]


def stop_by_hand(neurons, steps, k, m, min_spikes=0):
    """Steps the first slot lasts: the first s in 1..T_ON/dt with the criterion met by the spikes of
    steps < s ends the input after s - 1 input steps; never met: the whole slot."""
    for s in range(1, int(T_ON / DT) + 1):
        counts = np.bincount(neurons[steps < s], minlength=3)
        top = np.sort(counts)[::-1]
        if top[0] >= k and top[0] - top[1] >= m and counts.sum() >= min_spikes:
            return (s - 1) + int(T_REST / DT)
    return int((T_ON + T_REST) / DT)


@pytest.fixture(scope="module")
def spikes():
    return first_slot_spikes(runtime())


def test_the_fixed_run_has_a_race_to_decide(spikes):
    neurons, steps = spikes
    counts = np.bincount(neurons, minlength=3)
    assert counts[0] >= 5 and counts[1] >= 2 and counts[2] == 0        # neuron 0 leads, neuron 1 follows


@pytest.mark.parametrize("k,m", [(1, 0), (2, 1), (3, 2), (5, 3), (1000, 0)])
def test_stop_step_by_hand(spikes, k, m):
    want = stop_by_hand(*spikes, k, m)
    out = present(SPEC, runtime(), pres(k, m), IMAGES, np.array([0, 1, 0]), STATE, plastic=0, phase="inference",
                  seed=1, progress=False)
    assert out.steps_per_sample[0] == want
    assert out.steps_per_sample.sum() == out.counts.steps
    if k == 1000:                                  # never met: the fixed window
        assert list(out.steps_per_sample) == [int((T_ON + T_REST) / DT)] * 3


def test_fixed_windows_unchanged_and_counted_per_sample():
    out = present(SPEC, runtime(), pres(), IMAGES, np.array([0, 1, 0, 1, 0]), STATE, plastic=0,
                  phase="inference", seed=1, progress=False)
    assert list(out.steps_per_sample) == [100] * 5 and out.counts.steps == 500


def test_learning_with_the_adaptive_window_across_chunks():
    """Training (plastic) over 2.5 chunks: every sample shown once, its steps counted, the total in the counts."""
    order = np.array([0, 1] * 5)
    out = present(SPEC, runtime(), pres(3, 1), IMAGES, order, STATE, plastic=1, phase="training", seed=2,
                  progress=False)
    assert out.presentations == len(order)
    assert out.steps_per_sample.sum() == out.counts.steps
    assert (out.steps_per_sample >= T_REST / DT).all() and (out.steps_per_sample <= (T_ON + T_REST) / DT).all()
    assert (out.steps_per_sample < (T_ON + T_REST) / DT).any()          # some presentations stopped early


def test_presentation_checks():
    with pytest.raises(ValueError, match="stop_lead"):
        Presentation(stop_lead=-1)
    with pytest.raises(ValueError, match="stop_margin"):
        Presentation(stop_margin=1.5)
    assert not Presentation().adaptive and Presentation(stop_lead=2).adaptive


def test_cpp_and_runtime_agree(tmp_path):
    try:
        check_compiler()
    except BackendError as e:
        pytest.skip(str(e))
    order = np.array([0, 1] * 5)
    runs = {}
    for name, b in (("runtime", runtime()),
                    ("cpp", CppBackend(chunk_slots=4, max_slot_ms=T_ON + T_REST, cache_dir=tmp_path))):
        runs[name] = [present(SPEC, b, pres(k, m), IMAGES, order, STATE, plastic=plastic, phase="training" if plastic else "inference", seed=3,
                              progress=False) for k, m, plastic in ((2, 1, 0), (3, 1, 1), (0, 0, 0))]
        # the threshold growth at the steps used (its own build)
        runs[name].append(present(SPEC.with_(theta_window_alpha=0.5), b, pres(3, 1), IMAGES, order, STATE, plastic=1,
                                  phase="training", seed=3, progress=False))
    # switching back to the first structure regenerates the same sources (Brian's code-object names
    # repeat once the other build is freed), so nothing is recompiled
    first = next(d for d in tmp_path.iterdir() if (d / "build.json").exists()
                 and '"theta_window_alpha": 0.0' in (d / "build.json").read_text())
    sources = {p.name: p.stat().st_mtime_ns for p in (first / "code_objects").glob("*.cpp")}
    present(SPEC, b, pres(2, 1), IMAGES, order, STATE, plastic=0, phase="inference", seed=3, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (first / "code_objects").glob("*.cpp")} == sources
    for r, c in zip(runs["runtime"], runs["cpp"]):
        np.testing.assert_allclose(c.state["theta"], r.state["theta"], rtol=1e-12)
        np.testing.assert_array_equal(c.steps_per_sample, r.steps_per_sample)
        np.testing.assert_array_equal(c.responses, r.responses)
        assert c.counts.steps == r.counts.steps
        np.testing.assert_allclose(c.state["w"], r.state["w"], rtol=1e-9, atol=1e-12)


def _theta_by_hand(res, theta0, alpha, theta_plus):
    """Each spike's threshold growth from the run's own spikes and slot log: theta_plus x
    (T_on / T_used)^alpha while its slot's input was on (slot steps 0..n_on, the boundary step
    included), theta_plus after it ended."""
    dt = DT * 1e-3
    starts = np.round(np.asarray(res.slot_t) / dt)                            # steps
    n_on = np.diff(np.append(starts, res.counts.steps)) - T_REST / DT          # input steps of each slot
    slot = np.searchsorted(starts, np.round(np.asarray(res.exc_t) / dt), side="right") - 1
    step = np.round(np.asarray(res.exc_t) / dt) - starts[slot]
    gain = np.where(step <= n_on[slot], ((T_ON / DT) / n_on[slot]) ** alpha, 1.0)
    return theta0 + theta_plus * np.bincount(res.exc_i, weights=gain, minlength=len(theta0)), n_on


def test_threshold_growth_follows_the_steps_used():
    """theta_window_alpha = a (issue 26): a slot's threshold growth from the spikes while its input was
    on is theta_plus x (T_on / T_used)^a, computed here by hand from the spikes and the slot log."""
    alpha = 0.5
    spec = SPEC.with_(theta_window_alpha=alpha, tau_theta_ms=1e12)        # theta practically does not decay
    res = runtime().run_chunk(spec, pres(3, 1), IMAGES, np.array([0, 1, 0, 1, 1]), STATE, plastic=1,
                              phase="training", n_real=4, seed=2)
    want, n_on = _theta_by_hand(res, STATE["theta"], alpha, spec.theta_plus_mV * 1e-3)
    assert res.real_slots == len(res.slot_t) == 4 and (n_on < T_ON / DT).any()               # some slots stopped early: the rescaling acted
    assert len(res.exc_i) > 10
    np.testing.assert_allclose(res.state["theta"], want, rtol=0, atol=1e-11)    # (1e-11 V: 2e-7 of one spike's)
    plain = runtime().run_chunk(SPEC.with_(tau_theta_ms=1e12), pres(3, 1), IMAGES, np.array([0, 1, 0, 1, 1]),
                                STATE, plastic=1, phase="training", n_real=4, seed=2)
    assert not np.allclose(plain.state["theta"], res.state["theta"], rtol=0, atol=1e-9)


def test_threshold_rescaling_is_exact_with_fixed_windows():
    """With fixed windows T_used = T_on: the build with the rescaling learns the same bits."""
    args = (pres(), IMAGES, np.array([0, 1, 0, 1, 1]), STATE)
    plain = runtime().run_chunk(SPEC, *args, plastic=1, phase="training", n_real=4, seed=2)
    scaled = runtime().run_chunk(SPEC.with_(theta_window_alpha=0.5), *args, plastic=1, phase="training", n_real=4,
                                 seed=2)
    for k in plain.state:
        np.testing.assert_array_equal(scaled.state[k], plain.state[k])
    np.testing.assert_array_equal(scaled.exc_t, plain.exc_t)
