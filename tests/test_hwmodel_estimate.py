"""Cost models against independent hand computations (numbers typed from the primary sources cited in hwmodel/targets/*.toml)."""
import math

import pytest

from hwmodel import Counts, EstimateError, TargetError, estimate, load_target
from hwmodel.cost import lemaire_sram_j

pytest_approx = pytest.approx


def counts(phase="inference", *, n_in=10, n_out=5, spikes_in=20, spikes_out=3, steps=100, dt=1e-3,
           samples=2, plast=0, wbits=8, state_vars=1, full=True, plastic=False, post_traces=1):
    n_syn = n_in * n_out if full else n_in
    return Counts.from_dict({
        "schema": "hwmodel-counts/1", "dt_s": dt, "steps": steps, "samples": samples, "phase": phase,
        "populations": [{"name": "in", "n": n_in, "spikes": spikes_in, "neuron_updates": 0, "state_vars": 0},
                        {"name": "out", "n": n_out, "spikes": spikes_out, "neuron_updates": n_out * steps,
                         "state_vars": state_vars}],
        "pathways": [{"name": "in_out", "pre": "in", "post": "out", "n_synapses": n_syn,
                      "synaptic_events": spikes_in * (n_out if full else 1), "plasticity_updates": plast,
                      "weight_bits": wbits, "plastic": plastic, "post_traces": post_traces}]})


# -- keras-spiking ModelEnergy (nengo/keras-spiking model_energy.py) -------------------------
@pytest.mark.parametrize("target,e_synop,e_neuron", [("spinnaker", 13.3e-9, 26e-9),
                                                      ("spinnaker2", 450e-12, 2.19e-9)])
def test_keras_spiking_formula_spiking_devices(target, e_synop, e_neuron):
    # Dense layer 100 -> 10, input rate 40 Hz, dt 1 ms, 50 timesteps per inference.
    n_in, n_out, rate, dt, T = 100, 10, 40.0, 1e-3, 50
    connections = n_in * n_out
    keras = e_synop * connections * rate * dt * T + e_neuron * n_out * T
    c = counts(n_in=n_in, n_out=n_out, spikes_in=int(n_in * rate * dt * T), steps=T, dt=dt, samples=1,
               spikes_out=7)
    e = estimate(c, target)
    assert e.energy_j["total"] == pytest_approx(keras, rel=1e-12)
    assert e.energy_j["static"] is None and e.latency_s is None
    assert e.per_sample["energy_j"] == pytest_approx(keras, rel=1e-12)


@pytest.mark.parametrize("target,e_op", [("cpu-i7-4960x", 8.6e-9), ("gpu-titan-black", 0.3e-9),
                                          ("arm-cortex-a", 0.9e-9)])
def test_keras_spiking_formula_non_spiking_devices(target, e_op):
    # Non-spiking devices: input_rate = 1/dt and one timestep: every connection and neuron once.
    n_in, n_out, dt = 100, 10, 1e-3
    keras = e_op * (n_in * n_out) * (1 / dt) * dt * 1 + e_op * n_out * 1
    c = counts(n_in=n_in, n_out=n_out, spikes_in=17, steps=1, dt=dt, samples=1)
    assert estimate(c, target).energy_j["total"] == pytest_approx(keras, rel=1e-12)


# -- Loihi per-term sum (Davies et al., IEEE Micro 2018, Table 2) -------------------------------
def test_loihi_per_term_sum_inference():
    c = counts()                  # K = 20*5 = 100 events, U = 500 updates, S = 23 spikes, 100 steps
    K, U, S, steps = 100, 500, 23, 100
    dyn = K * 23.6e-12 + U * 81e-12 + S * 1.7e-12
    # one core (5 neurons <= 1024/core), one tile: busy time + one 113 ns (1-tile) barrier per step
    t = K * 3.5e-9 + U * 8.4e-9 + S * 2.1e-9 + steps * 113e-9
    e = estimate(c, "loihi1")
    assert e.latency_s == pytest_approx(t, rel=1e-12)
    assert e.energy_j["dynamic"] == pytest_approx(dyn, rel=1e-12)
    assert e.energy_j["static"] == pytest_approx(0.104 * t, rel=1e-12)
    assert e.energy_j["total"] == pytest_approx(dyn + 0.104 * t, rel=1e-12)
    assert e.energy_j["breakdown"]["synop"] == pytest_approx(K * 23.6e-12)
    assert sum(e.energy_j["breakdown"].values()) == pytest_approx(e.energy_j["total"])
    assert e.per_sample["energy_j"] == pytest_approx(e.energy_j["total"] / 2)
    assert e.evidence == "secondary"          # Table 2 and Frady 2020 read via a third-party note
    assert e.fits is True and e.state_bits == 24


def test_loihi_training_adds_plasticity_terms_only_when_counted():
    inf = estimate(counts(), "loihi1")
    tr = estimate(counts("training", plast=100, plastic=True), "loihi1")
    assert "plasticity_update" not in inf.energy_j["breakdown"]
    assert tr.energy_j["breakdown"]["plasticity_update"] == pytest_approx(100 * 120e-12)
    assert tr.latency_s - inf.latency_s == pytest_approx(100 * 6.1e-9)


# -- TrueNorth all-in, SpiNN5 board model --------------------------------------------------------
def test_truenorth_all_in_is_never_stacked():
    e = estimate(counts(), "truenorth", weight_bits=1)
    assert e.energy_j["breakdown"] == {"synop": pytest_approx(100 * 26e-12)}
    assert e.energy_j["static"] is None
    assert e.latency_s == pytest_approx(100 * 1e-3)          # one 1 ms tick per step
    assert any("operating point" in n for n in e.notes)      # 3 spikes / (5 x 0.1 s) = 6 Hz vs 20 Hz


def test_truenorth_has_no_plasticity_price():
    with pytest.raises(TargetError, match=r"truenorth.toml: field 'energy.plasticity_update' is missing"):
        estimate(counts("training", plast=5), "truenorth", weight_bits=1)


def test_spinn5_board_model():
    c = counts("training", plast=100, plastic=True)
    t = 100 * 1e-3                                             # real time: steps x dt
    e = estimate(c, "spinnaker-spinn5")
    b = e.energy_j["breakdown"]
    assert b["synop_plastic"] == pytest_approx(100 * 124e-9)   # all 100 events on the learning pathway
    assert b["spike"] == pytest_approx(23 * 10.0e-9)
    assert b["static"] == pytest_approx(23.05 * t)
    assert b["static_per_neuron"] == pytest_approx(5 * 92.2e-6 * t)
    assert "plasticity_update" not in b and e.evidence == "calibrated"


# -- Lemaire analytic ASIC (Lemaire et al., ICONIP 2022, arXiv:2210.13107) ---------------------------
def test_lemaire_sram_formula():
    for n, bits in [(1, 8), (313600, 8), (400, 32), (8192, 64)]:
        pj = 1.09e-5 * (n * bits) + 13.2
        assert lemaire_sram_j(n, bits, 1.09e-17, 13.2e-12) == pytest_approx(pj * 1e-12, rel=1e-12)


def test_lemaire_analytic_asic_by_hand():
    c = counts()                      # 50 synapses x 8 bit, 5 post neurons, K=100, U=500, S_out=3
    add, mul = 0.1, 3.1               # pJ, 32-bit integer (state bits default 32)
    ram_w = 1.09e-5 * 50 * 8 + 13.2
    ram_v = 1.09e-5 * 5 * 32 + 13.2
    want = {"ops_synaptic": 100 * add, "addressing": 100 * add, "mem_weights": 100 * ram_w,
            "mem_potentials": 2 * 100 * ram_v + 2 * 500 * ram_v, "ops_neuron": 500 * (mul + 2 * add),
            "ops_reset": 3 * add, "mem_bias": 500 * ram_v}
    e = estimate(c, "asic-45nm")
    assert e.energy_j["breakdown"] == {k: pytest_approx(v * 1e-12, rel=1e-12) for k, v in want.items()}
    assert e.energy_j["total"] == pytest_approx(sum(want.values()) * 1e-12, rel=1e-12)
    assert e.energy_j["static"] is None and e.latency_s is None
    e8 = estimate(c, "asic-45nm", state_bits=8)        # 8-bit integer ops: 0.03 / 0.2 pJ
    assert e8.energy_j["breakdown"]["ops_neuron"] == pytest_approx(500 * (0.2 + 2 * 0.03) * 1e-12)


def test_asic_16bit_multiply_is_not_published():
    with pytest.raises(TargetError, match=r"asic-45nm.toml: field 'energy.mul.int16' is null"):
        estimate(counts(), "asic-45nm", state_bits=16)


def test_mcu_refuses_until_calibrated():
    with pytest.raises(TargetError, match=r"cortex-m4f.toml: field 'energy.add.int32' is null"):
        estimate(counts(), "cortex-m4f")


# -- memory footprint -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bits,weight_bytes", [(32, 1_254_400), (16, 627_200), (8, 313_600), (4, 156_800)])
def test_memory_784x400(bits, weight_bytes):
    c = counts(n_in=784, n_out=400, spikes_in=100)
    e = estimate(c, "asic-45nm", weight_bits=bits)
    m = e.memory_bytes
    assert m["breakdown"]["weights"] == weight_bytes == 784 * 400 * bits // 8
    assert m["breakdown"]["indices"] == 0                      # full matrix: no indices
    assert m["breakdown"]["state"] == 400 * 1 * 4              # one 32-bit word per output neuron
    assert m["total"] == weight_bytes + 1600 and m["breakdown"]["traces"] == 0


def test_training_memory_adds_traces_and_sparse_indices():
    c = counts("training", n_in=784, n_out=400, spikes_in=100, plastic=True, post_traces=2)
    m = estimate(c, "asic-45nm", weight_bits=8).memory_bytes["breakdown"]
    assert m["traces"] == (784 * 1 + 400 * 2) * 4
    s = counts(n_in=1000, n_out=1000, full=False)             # 1000 synapses (one-to-one) as CSR
    m = estimate(s, "asic-45nm", weight_bits=8).memory_bytes["breakdown"]
    assert m["weights"] == 1000
    assert m["indices"] == math.ceil((1000 * 10 + 1001 * 10) / 8)   # 10-bit column ids and row pointers


# -- options -----------------------------------------------------------------------------------------------
def test_weight_bits_override_and_target_limit():
    c = counts(wbits=32)
    e = estimate(c, "loihi1")
    assert e.weight_bits == {"in_out": 9} and any("9 bits" in n for n in e.notes)
    assert estimate(c, "loihi1", weight_bits=4).weight_bits == {"in_out": 4}
    with pytest.raises(EstimateError, match="--weight-bits 16 is more than target 'loihi1'"):
        estimate(c, "loihi1", weight_bits=16)
    with pytest.raises(EstimateError, match="--weight-bits must be an integer in 1..64"):
        estimate(c, "asic-45nm", weight_bits=0)


def test_no_power_modes_on_neuromorphic():
    with pytest.raises(TargetError, match="has no power modes"):
        estimate(counts(), "loihi1", power_mode="10W")


def test_to_dict_has_the_design_keys():
    d = estimate(counts(), "loihi1").to_dict()
    for k in ("target", "energy_j", "latency_s", "memory_bytes", "evidence", "per_sample", "phase", "fits"):
        assert k in d
    assert set(d["energy_j"]) == {"total", "dynamic", "static", "breakdown", "interval"}
    assert d["sources"]["davies2018"].startswith("Davies et al., IEEE Micro")
