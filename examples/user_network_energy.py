"""Your own Brian2 network -> exact activity counts -> energy on a Jetson Nano (and Loihi).

Run:  .venv/bin/python examples/user_network_energy.py

The network is plain Brian2 (any NeuronGroup/Synapses model works).  `ActivityCounter` adds
event monitors before the run and turns them into exact counts afterwards.
"""
import tempfile
from pathlib import Path

import numpy as np
from brian2 import Network, NeuronGroup, PoissonGroup, Synapses, defaultclock, ms, prefs, second, Hz

import hwmodel
from brian_snn import count_activity

prefs.codegen.target = "numpy"
defaultclock.dt = 1 * ms

# 1. A network written as equations: Poisson input -> LIF layer with pair STDP -> readout.
inp = PoissonGroup(100, rates=np.linspace(2, 40, 100) * Hz, name="sensors")
lif = NeuronGroup(50, """dv/dt = -v / (20*ms) : 1
                         dxpost/dt = -xpost / (20*ms) : 1""",
                  threshold="v > 1", reset="v = 0; xpost += 1", refractory=2 * ms,
                  method="exact", name="hidden")
stdp = Synapses(inp, lif, """w : 1
                             dxpre/dt = -xpre / (20*ms) : 1 (event-driven)""",
                on_pre="v_post += w; xpre += 1; w = clip(w - 0.005 * xpost_post, 0, 0.5)",
                on_post="w = clip(w + 0.01 * xpre, 0, 0.5)", name="sensors_hidden")
stdp.connect(p=0.3)
stdp.w = "rand() * 0.3"
out = NeuronGroup(5, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                  method="exact", name="readout")
ro = Synapses(lif, out, "w : 1", on_pre="v_post += w", name="hidden_readout")
ro.connect()
ro.w = 0.2
net = Network(inp, lif, stdp, out, ro)

# 2. Count while it learns for 2 s of simulated time (say, 10 samples of 200 ms).
with count_activity(net) as counter:
    net.run(2 * second)
counts = counter.counts("training", samples=10)
counts.to_json(Path(tempfile.gettempdir()) / "user_counts.json")
print(f"spikes {counts.spikes}, synaptic events {counts.synaptic_events}, "
      f"plasticity updates {counts.plasticity_updates}")

# 3. Price the counts.  The record carries the GPU kernels launched per step, counted from the
#    network's code objects (counts.extra["kernels_per_step"]); hwmodel's GPU model reads it.
print(f"GPU kernels per step: {counts.extra['kernels_per_step']}")
for tgt in ("jetson-nano", "loihi1"):
    try:
        e = hwmodel.estimate(counts, tgt)
    except (hwmodel.TargetError, hwmodel.EstimateError) as err:
        print(f"{tgt:>12}: n/a ({err})")
        continue
    iv = e.per_sample.get("energy_interval_j")
    iv = f" [{iv[0] * 1e3:.4f}, {iv[1] * 1e3:.4f}]" if iv else ""
    print(f"{e.target:>12}: {e.per_sample['energy_j'] * 1e3:9.4f}{iv} mJ/sample, "
          f"{e.per_sample['latency_s'] * 1e3:8.3f} ms/sample, memory {e.memory_bytes['total']} B, "
          f"evidence {e.evidence}")
