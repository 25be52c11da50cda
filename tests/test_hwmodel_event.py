"""Event-driven (neuromorphic) model: barrier time by tiles in use, inputs from the host, evidence
grades of the non-GPU price tables.  Numbers are typed from the primary sources cited in the target
files and computed by hand."""
import os
import tomllib

import pytest

from hwmodel import Counts, EstimateError, TargetError, estimate
from hwmodel.cost import barrier_sync_s
from hwmodel.targets import BUILTIN_DIR

approx = pytest.approx

# Loihi, Davies 2018 Table 2 (via a third-party transcription)
SYNOP_J, NU_J, SPIKE_J = 23.6e-12, 81e-12, 1.7e-12
SYNOP_S, NU_S, SPIKE_S = 3.5e-9, 8.4e-9, 2.1e-9
SYNC_1, SYNC_32 = 113e-9, 465e-9


def net(n_exc=400, n_in=784, steps=350, in_spikes=1000, exc_spikes=30, in_updates=False, dt=1e-3):
    """784 inputs -> n_exc neurons, all-to-all; the input population simulated or not."""
    return Counts.from_dict({
        "schema": "hwmodel-counts/1", "dt_s": dt, "steps": steps, "samples": 1, "phase": "inference",
        "populations": [
            {"name": "input", "n": n_in, "spikes": in_spikes,
             "neuron_updates": n_in * steps if in_updates else 0, "state_vars": 2 if in_updates else 0},
            {"name": "exc", "n": n_exc, "spikes": exc_spikes, "neuron_updates": n_exc * steps}],
        "pathways": [{"name": "input_exc", "pre": "input", "post": "exc", "n_synapses": n_in * n_exc,
                      "synaptic_events": in_spikes * n_exc, "weight_bits": 8}]})


def _file(tmp_path, body, name="t.toml"):
    p = tmp_path / name
    p.write_text('schema = "hwmodel-target/1"\nextends = "loihi1"\nid = "loihi1-test"\n'
                 '[sources]\nbench = "a test bench"\n' + body)
    return str(p)


# -- barrier by tiles in use -----------------------------------------------------------------
def test_barrier_interpolation_by_hand():
    # linear in log2(tiles) between 113 ns (1 tile) and 465 ns (32 tiles): 70.4 ns per doubling
    assert barrier_sync_s(1, 32, SYNC_1, SYNC_32) == SYNC_1
    assert barrier_sync_s(2, 32, SYNC_1, SYNC_32) == approx(183.4e-9, rel=1e-12)
    assert barrier_sync_s(4, 32, SYNC_1, SYNC_32) == approx(253.8e-9, rel=1e-12)
    assert barrier_sync_s(32, 32, SYNC_1, SYNC_32) == approx(SYNC_32, rel=1e-12)
    assert barrier_sync_s(40, 32, SYNC_1, SYNC_32) == approx(SYNC_32, rel=1e-12)     # clipped
    assert barrier_sync_s(1, 1, SYNC_1, SYNC_32) == SYNC_1


def test_loihi_400_neurons_one_core_gets_the_one_tile_barrier():
    c = net()                      # inputs are data (no updates): 400 simulated neurons -> 1 core, 1 tile
    K, U, S, n = 1000 * 400, 400 * 350, 1000 + 30, 350
    t = K * SYNOP_S + U * NU_S + S * SPIKE_S + n * 113e-9
    e = estimate(c, "loihi1")
    assert e.latency_s == approx(t, rel=1e-12)
    assert e.energy_j["static"] == approx(0.104 * t, rel=1e-12)
    assert e.energy_j["dynamic"] == approx(K * SYNOP_J + U * NU_J + S * SPIKE_J, rel=1e-12)
    assert any("113 ns barrier" in m and "1 of 32 tiles" in m for m in e.notes)
    assert {"latency.sync_1", "latency.sync_max", "capacity.cores_per_tile"} <= set(e.prices)


def test_loihi_five_cores_two_tiles():
    c = net(n_exc=5000, n_in=100, steps=10, in_spikes=50, exc_spikes=40)
    K, U, S = 50 * 5000, 5000 * 10, 50 + 40
    cores, sync = 5, 113e-9 + (465e-9 - 113e-9) * 1 / 5     # ceil(5000/1024) = 5 cores -> ceil(5/4) = 2 tiles
    t = (K * SYNOP_S + U * NU_S + S * SPIKE_S) / cores + 10 * sync
    assert estimate(c, "loihi1").latency_s == approx(t, rel=1e-12)


def test_loihi_full_chip_gets_the_32_tile_barrier():
    c = net(n_exc=131072, n_in=10, steps=2, in_spikes=1, exc_spikes=0)
    K, U = 131072, 131072 * 2
    t = (K * SYNOP_S + U * NU_S + 1 * SPIKE_S) / 128 + 2 * 465e-9
    assert estimate(c, "loihi1").latency_s == approx(t, rel=1e-12)


def test_a_single_latency_sync_keeps_working(tmp_path):
    p = _file(tmp_path, '[latency]\nsync = { value = 465e-9, unit = "s", evidence = "simulated", source = "bench" }\n')
    c = net()
    K, U, S = 1000 * 400, 400 * 350, 1030
    e = estimate(c, p)
    assert e.latency_s == approx(K * SYNOP_S + U * NU_S + S * SPIKE_S + 350 * 465e-9, rel=1e-12)
    assert "latency.sync" in e.prices and "latency.sync_1" not in e.prices


def test_barrier_table_needs_cores_per_tile(tmp_path):
    p = tmp_path / "x.toml"
    text = open(os.path.join(BUILTIN_DIR, "loihi1.toml")).read()
    p.write_text("\n".join(l for l in text.splitlines() if not l.startswith("cores_per_tile")))
    with pytest.raises(TargetError, match=r"field 'capacity.cores_per_tile' is missing"):
        estimate(net(), str(p))


# -- inputs from outside the chip -----------------------------------------------------------------
def test_default_prices_a_simulated_input_as_neuron_updates():
    c = net(in_updates=True)       # brian-snn style: the Poisson input population updates every step
    U = (784 + 400) * 350
    e = estimate(c, "loihi1")
    assert e.energy_j["breakdown"]["neuron_update"] == approx(U * NU_J, rel=1e-12)
    assert "host_spike" not in e.energy_j["breakdown"]
    # 1184 simulated neurons -> 2 cores, still 1 tile (4 cores per tile)
    t = (1000 * 400 * SYNOP_S + U * NU_S + 1030 * SPIKE_S) / 2 + 350 * 113e-9
    assert e.latency_s == approx(t, rel=1e-12)
    assert e.to_dict() == estimate(c, "loihi1", external_inputs=None).to_dict()
    assert e.to_dict() == estimate(c, "loihi1", external_inputs=()).to_dict()


def test_external_inputs_are_priced_as_host_spikes_by_hand():
    c = net(in_updates=True)
    K, U_exc, S_exc, S_in, n = 1000 * 400, 400 * 350, 30, 1000, 350
    e = estimate(c, "loihi1", external_inputs=("input",))
    b = e.energy_j["breakdown"]
    assert b["neuron_update"] == approx(U_exc * NU_J, rel=1e-12)          # input updates dropped
    assert b["spike"] == approx(S_exc * SPIKE_J, rel=1e-12)
    assert b["host_spike"] == approx(S_in * SPIKE_J, rel=1e-12)           # no host price: within-chip one
    t = K * SYNOP_S + U_exc * NU_S + S_exc * SPIKE_S + S_in * SPIKE_S + n * 113e-9   # 400 neurons: 1 core
    assert e.latency_s == approx(t, rel=1e-12)
    assert e.energy_j["dynamic"] == approx(K * SYNOP_J + U_exc * NU_J + (S_exc + S_in) * SPIKE_J, rel=1e-12)
    assert e.energy_j["static"] == approx(0.104 * t, rel=1e-12)
    assert e.memory_bytes["breakdown"]["state"] == 400 * 24 // 8                # input state is on the host
    assert estimate(c, "loihi1").memory_bytes["breakdown"]["state"] == (784 * 2 + 400) * 24 // 8
    assert any("energy.host_spike is not published" in m for m in e.notes)
    assert any("1,000 spikes arrive from the host" in m for m in e.notes)
    # metrics describe the network as counted, not the chip's share of it
    assert e.metrics == estimate(c, "loihi1").metrics


def test_published_host_spike_price_is_used(tmp_path):
    p = _file(tmp_path, '[energy]\nhost_spike = { value = 5e-12, unit = "J", evidence = "measured", source = "bench" }\n'
                        '[latency]\nhost_spike = { value = 10e-9, unit = "s", evidence = "measured", source = "bench" }\n')
    c = net(in_updates=True)
    e = estimate(c, p, external_inputs=("input",))
    assert e.energy_j["breakdown"]["host_spike"] == approx(1000 * 5e-12, rel=1e-12)
    t = 1000 * 400 * SYNOP_S + 400 * 350 * NU_S + 30 * SPIKE_S + 1000 * 10e-9 + 350 * 113e-9
    assert e.latency_s == approx(t, rel=1e-12)
    assert e.prices["energy.host_spike"]["evidence"] == "measured"
    assert not any("host_spike is not published" in m for m in e.notes)


def test_external_inputs_on_an_all_in_target_and_on_other_models():
    c = net(in_updates=True)
    tn = estimate(c, "truenorth", weight_bits=1, external_inputs=("input",))
    assert tn.energy_j["breakdown"] == {"synop": approx(1000 * 400 * 26e-12)}
    assert any("host input spikes are not priced" in m for m in tn.notes)
    asic = estimate(c, "asic-45nm", external_inputs=("input",))
    assert asic.energy_j == estimate(c, "asic-45nm").energy_j
    assert any("not applied" in m for m in asic.notes)


def test_external_inputs_errors():
    with pytest.raises(EstimateError, match=r"no population 'retina' in the counts \(have input, exc\)"):
        estimate(net(), "loihi1", external_inputs=("retina",))
    with pytest.raises(EstimateError, match=r"population 'exc' receives pathway 'input_exc'"):
        estimate(net(), "loihi1", external_inputs=("exc",))


# -- evidence grades -------------------------------------------------------------------------------
def _quantities(node, where=""):
    if isinstance(node, dict):
        if "value" in node:
            yield where, node
            return
        for k, v in node.items():
            yield from _quantities(v, f"{where}.{k}".lstrip("."))


def _grades(target):
    with open(os.path.join(BUILTIN_DIR, target + ".toml"), "rb") as f:
        data = tomllib.load(f)
    return {w: q for w, q in _quantities(data) if q["value"] != "null"}


@pytest.mark.parametrize("target", ["loihi1", "spinnaker", "spinnaker2", "cpu-i7-4960x", "gpu-titan-black",
                                    "arm-cortex-a"])
def test_prices_read_via_a_third_party_are_secondary(target):
    qs = _grades(target)
    assert qs and all(q["evidence"] == "secondary" for q in qs.values()), \
        {w: q["evidence"] for w, q in qs.items() if q["evidence"] != "secondary"}


def test_primary_prices_keep_their_grade_and_secondary_ones_say_what_they_were():
    tn = _grades("truenorth")
    assert tn["energy.synop"]["evidence"] == "secondary" and "measured" in tn["energy.synop"]["note"]
    assert tn["latency.tick"]["evidence"] == "datasheet"                 # geometry: Merolla 2014
    asic = _grades("asic-45nm")
    assert asic["energy.add.int8"]["evidence"] == "secondary"            # Horowitz via transcriptions
    assert asic["energy.sram.base"]["evidence"] == "derived"             # Lemaire authors' own fit
    assert {q["evidence"] for q in _grades("spinnaker-spinn5").values()} == {"calibrated"}   # SNABSuite
    assert _grades("cortex-m4f")["energy.ratios.fdiv_over_fmul"]["evidence"] == "measured"
    for t in ("loihi1", "truenorth", "asic-45nm", "spinnaker", "spinnaker2", "cpu-i7-4960x",
              "gpu-titan-black", "arm-cortex-a"):
        for w, q in _grades(t).items():
            if q["evidence"] == "secondary":
                assert any(k in q.get("note", "") for k in ("via", "encoded", "SANA-FE")), (t, w)
    assert estimate(net(), "loihi1").evidence == "secondary"
