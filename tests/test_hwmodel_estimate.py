"""Cost models against independent hand computations (numbers typed from reference/hwmodel.md)."""
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


# -- keras-spiking ModelEnergy (reference §1.2) ---------------------------------------------
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


# -- Loihi per-term sum (reference §3.2) -------------------------------------------------------
def test_loihi_per_term_sum_inference():
    c = counts()                  # K = 20*5 = 100 events, U = 500 updates, S = 23 spikes, 100 steps
    K, U, S, steps = 100, 500, 23, 100
    dyn = K * 23.6e-12 + U * 81e-12 + S * 1.7e-12
    # one core (5 neurons <= 1024/core): busy time + one 465 ns barrier per step
    t = K * 3.5e-9 + U * 8.4e-9 + S * 2.1e-9 + steps * 465e-9
    e = estimate(c, "loihi1")
    assert e.latency_s == pytest_approx(t, rel=1e-12)
    assert e.energy_j["dynamic"] == pytest_approx(dyn, rel=1e-12)
    assert e.energy_j["static"] == pytest_approx(0.104 * t, rel=1e-12)
    assert e.energy_j["total"] == pytest_approx(dyn + 0.104 * t, rel=1e-12)
    assert e.energy_j["breakdown"]["synop"] == pytest_approx(K * 23.6e-12)
    assert sum(e.energy_j["breakdown"].values()) == pytest_approx(e.energy_j["total"])
    assert e.per_sample["energy_j"] == pytest_approx(e.energy_j["total"] / 2)
    assert e.evidence == "derived"            # the static power is derived (Frady 2020 / 32 chips)
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


# -- Lemaire analytic ASIC (reference §3.8, §8.2) ---------------------------------------------------
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


# -- memory footprint (reference §8.5) -----------------------------------------------------------------
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


# -- GPU time x power (reference §8.3) ------------------------------------------------------------------
CAL = '''extends = "jetson-nano"
id = "nano-cal"
[sources]
bench = "test calibration"
[gpu]
per_step_overhead = { value = 20e-6, unit = "s", evidence = "calibrated", source = "bench" }
efficiency_memory = { value = 0.5, unit = "1", evidence = "calibrated", source = "bench" }
[static]
idle = { value = 1.5, unit = "W", evidence = "measured", source = "bench" }
'''


def test_gpu_time_times_power(tmp_path):
    path = tmp_path / "nano-cal.toml"
    path.write_text(CAL)
    c = Counts.from_dict({
        "schema": "hwmodel-counts/1", "dt_s": 5e-4, "steps": 1000, "samples": 4, "phase": "inference",
        "populations": [{"name": "in", "n": 1000, "spikes": 1000, "neuron_updates": 0, "state_vars": 0},
                        {"name": "exc", "n": 400, "spikes": 50, "neuron_updates": 400_000, "state_vars": 3}],
        "pathways": [{"name": "in_exc", "pre": "in", "post": "exc", "n_synapses": 400_000,
                      "synaptic_events": 1_000_000, "weight_bits": 32}]})
    flops = 2 * 1_000_000 + 4 * 400_000                        # MAC per event, 4 ops per LIF update
    nbytes = 1_000_000 * (4 + 2 * 4) + 400_000 * 3 * 2 * 4      # w read + target r/w; state r/w
    t = 1000 * 20e-6 + max(flops / 2.36e11, nbytes / (25.6e9 * 0.5))
    e = estimate(c, str(path))
    assert e.latency_s == pytest_approx(t, rel=1e-12) and t == pytest_approx(0.0216875)
    assert e.energy_j["total"] == pytest_approx(10 * t, rel=1e-12)       # 10 W mode (default)
    assert e.energy_j["static"] == pytest_approx(1.5 * t, rel=1e-12)
    assert e.energy_j["dynamic"] == pytest_approx(8.5 * t, rel=1e-12)
    assert e.per_sample["latency_s"] == pytest_approx(t / 4)
    assert e.evidence == "derived" and e.fits is True                    # peak FP32 is derived
    e5 = estimate(c, str(path), power_mode="5w")
    assert e5.energy_j["total"] == pytest_approx(5 * t, rel=1e-12)
    assert any("lower bound" in n for n in e5.notes)          # 5 W clock not published
    h = estimate(c, str(path), weight_bits=16, state_bits=16)  # FP16 peak 472 GFLOPS, half the bytes
    assert h.latency_s == pytest_approx(1000 * 20e-6 + nbytes / 2 / (25.6e9 * 0.5), rel=1e-12)


def test_gpu_refuses_null_overhead_and_unknown_mode():
    with pytest.raises(TargetError, match=r"jetson-nano.toml: field 'gpu.per_step_overhead' is null"):
        estimate(counts(), "jetson-nano")
    with pytest.raises(TargetError, match=r"unknown power mode '3W'.*10W, 5W"):
        estimate(counts(), "jetson-nano", power_mode="3W")
    with pytest.raises(TargetError, match=r"jetson-tx2.toml: field 'power_modes\[1\].power' is null"):
        estimate(counts(), _tx2_with_overhead(), power_mode="Max-Q")


def _tx2_with_overhead():
    t = load_target("jetson-tx2")
    t.data["gpu"]["per_step_overhead"] = {"value": 1e-5, "unit": "s", "evidence": "calibrated", "source": "tx2ds"}
    return t


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
    assert set(d["energy_j"]) == {"total", "dynamic", "static", "breakdown"}
    assert d["sources"]["davies2018"].startswith("Davies et al., IEEE Micro")
