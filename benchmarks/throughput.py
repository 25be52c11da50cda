"""Training throughput of D&C and SpikeDyn (N=400, dt 0.5 ms, 350+150 ms, 1 thread).

Compiled: the whole sequence in the cpp_standalone binary, chunks of 250 presentations.
Baseline (same job, same machine): the same Brian2 network in runtime mode (Cython), one
``net.run(500 ms)`` per sample from a Python loop -- how D&C is usually run in Brian2.

    .venv/bin/python benchmarks/throughput.py [--samples 500] [--baseline-samples 10] [--profile]

Writes benchmarks/results/throughput.json and throughput.png.
"""
import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from brian_snn.backend import get_backend, _Assembled
from brian_snn.data import load_embedded
from brian_snn.encoding import Presentation
from brian_snn.experiments.train_eval import image_table, initial_state
from brian_snn.models import get_model_spec
from brian_snn.runner import present

OUT = Path(__file__).parent / "results"


def compiled(model, n_exc, samples, profile=False):
    ds = load_embedded()
    spec = get_model_spec(model, n_exc=n_exc)
    backend = get_backend("cpp", chunk_slots=250, profile=profile)
    run = present(spec, backend, Presentation(), image_table(ds), np.arange(samples),
                  initial_state(spec, 0), plastic=1, phase="training", seed=1, progress=False)
    res = {"samples": samples, "presentations": run.presentations, "sim_wall_s": run.sim_wall_s,
           "build_s": run.build_s, "samples_per_s": samples / run.sim_wall_s,
           "spikes_per_sample": {p.name: p.spikes / samples for p in run.counts.populations},
           "synaptic_events_per_sample": run.counts.synaptic_events / samples,
           "plasticity_updates_per_sample": run.counts.plasticity_updates / samples}
    if profile:
        info = run.timings["profile"]
        total = sum(info.values())
        res["profile_fraction"] = {k: v / total for k, v in sorted(info.items(), key=lambda x: -x[1])}
    return res


def runtime_loop(model, n_exc, samples):
    """The naive baseline: build once in runtime mode, then one net.run per sample."""
    import brian2
    from brian2 import ms, defaultclock, prefs, set_device
    set_device("runtime")
    prefs.codegen.target = "cython"
    defaultclock.dt = 0.5 * ms
    ds = load_embedded()
    spec = get_model_spec(model, n_exc=n_exc)
    pres = Presentation()
    asm = _Assembled(spec, image_table(ds), np.arange(samples + 2), pres)
    asm.net.run(0 * ms)
    state = initial_state(spec, 0)
    m = asm.model
    m.input_syn.w = state["w"]
    m.exc.wsum = state["w"].reshape(spec.n_input, spec.n_exc).sum(axis=0)
    m.exc.plastic = 1
    for name, (obj, var, unit) in m.runtime_targets.items():
        setattr(obj, var, getattr(spec, name) * unit)
    if spec.max_delay_ms > 0:
        from brian_snn.models.diehl_cook import synaptic_delays_ms
        m.input_syn.delay = synaptic_delays_ms(spec) * ms
    asm.net.run(pres.slot_ms * ms)          # warm-up: Cython compilation happens here
    t0 = time.perf_counter()
    for _ in range(samples):
        asm.net.run(pres.slot_ms * ms)
    wall = time.perf_counter() - t0
    return {"samples": samples, "wall_s": wall, "samples_per_s": samples / wall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--baseline-samples", type=int, default=10)
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    out = {"machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
           "setup": {"n_exc": a.neurons, "dt_ms": 0.5, "t_on_ms": 350, "t_rest_ms": 150, "threads": 1,
                     "data": "embedded real MNIST (first 500 training images)"},
           "models": {}}
    for model in ("diehl-cook", "spikedyn"):
        r = {"compiled": compiled(model, a.neurons, a.samples)}
        r["runtime_loop"] = runtime_loop(model, a.neurons, a.baseline_samples)
        r["speedup"] = r["compiled"]["samples_per_s"] / r["runtime_loop"]["samples_per_s"]
        if a.profile:
            r["profile"] = compiled(model, a.neurons, 250, profile=True)["profile_fraction"]
        out["models"][model] = r
        print(f"{model:>10}: compiled {r['compiled']['samples_per_s']:.1f} samples/s "
              f"(build {r['compiled']['build_s']:.0f} s), runtime loop "
              f"{r['runtime_loop']['samples_per_s']:.2f} samples/s, speed-up {r['speedup']:.1f}x", flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "throughput.json").write_text(json.dumps(out, indent=1))
    plot(out)


def plot(out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = list(out["models"])
    comp = [out["models"][m]["compiled"]["samples_per_s"] for m in models]
    base = [out["models"][m]["runtime_loop"]["samples_per_s"] for m in models]
    x = np.arange(len(models))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(x - 0.2, base, 0.4, label="Brian2 runtime, per-sample loop")
    ax.bar(x + 0.2, comp, 0.4, label="brian-snn cpp_standalone, one binary")
    ax.axhline(200, ls="--", c="grey", lw=1, label="goal 200 samples/s")
    ax.set_xticks(x, models)
    ax.set_ylabel("training samples / s (1 thread)")
    ax.set_title(f"N={out['setup']['n_exc']}, dt 0.5 ms, 350+150 ms")
    ax.legend(fontsize=7)
    fig.savefig(OUT / "throughput.png", dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
