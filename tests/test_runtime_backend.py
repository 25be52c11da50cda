"""The runtime backend runs the same models (numpy code generation: no compiler needed)."""
import numpy as np

from brian_snn.backend import RuntimeBackend
from brian_snn.data import load_embedded
from brian_snn.encoding import Presentation
from brian_snn.experiments.train_eval import image_table, initial_state
from brian_snn.models import get_model_spec
from brian_snn.runner import present


def test_runtime_backend_runs_spikedyn_with_exact_bookkeeping():
    ds = load_embedded().subset(n_train=3, n_test=1, seed=0)
    spec = get_model_spec("spikedyn", n_exc=6)
    pres = Presentation(t_on_ms=50, t_rest_ms=20)          # short slots keep numpy fast
    backend = RuntimeBackend(codegen_target="numpy", chunk_slots=2)
    state = initial_state(spec, 0)
    out = present(spec, backend, pres, image_table(ds), np.arange(3), state, plastic=1,
                  phase="training", seed=1, progress=False)
    c = out.counts
    assert c.samples == 3 and out.presentations >= 3
    assert c.steps == out.presentations * pres.steps_per_slot
    n_in, n_exc = c.population("input").spikes, c.population("exc").spikes
    assert n_in > 0
    assert c.pathway("input_exc").synaptic_events == n_in * 6          # all-to-all
    assert c.pathway("exc_exc").synaptic_events == n_exc * 5           # all but self
    assert out.responses.sum() <= n_exc
    # weights stayed within [0, 1] and columns that learned were renormalised to 78
    w = out.state["w"].reshape(784, 6)
    assert w.min() >= 0 and w.max() <= 1
    learned = out.state["learned"] > 0
    assert learned.any()
    np.testing.assert_allclose(w[:, learned].sum(axis=0)[out.responses[-1][learned] == 0], 78, rtol=1e-9)
