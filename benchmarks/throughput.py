"""Training throughput of D&C and SpikeDyn (N=400, dt 0.5 ms, 350+150 ms, 1 thread), against the
project's tight-loop bound and the naive runtime loop, all in one job (issue 28).

* compiled: the whole sequence in the cpp_standalone binary (chunks of ``--samples`` slots), then
  a labelling pass over the same samples with learning off (how ``train`` labels neurons);
* bound: benchmarks/bound/tight_loop.cpp -- exactly the counted work of one training sample
  (Poisson draws, synaptic events, neuron updates, plasticity updates; counts taken from the
  compiled run) in plain C++ loops -- compiled here with Brian2's own compiler flags and FTZ/DAZ
  on, as our binaries; ``fraction_of_bound`` = compiled / bound; for a model with input delays
  (D&C) also ``bound_with_delays``: the same program with each input spike's events done at their
  arrival steps from a queue (``fraction_of_bound_with_delays``);
* runtime loop: the same Brian2 network in runtime mode (Cython), one ``net.run(500 ms)`` per
  sample from Python -- how D&C is usually run in Brian2 (``--baseline-samples``, >= 50);
* profile: where the binary's time goes, per code object (``perf record -e cpu-clock`` of the
  binary when ``perf`` is available; else Brian2's ``profile=True``, whose per-code-object
  ``std::clock()`` system calls slow the run several-fold and inflate small code objects);
* copies: ``--copies K`` batched networks in one binary on this CPU (for the record).

    .venv/bin/python benchmarks/throughput.py [--samples 500] [--baseline-samples 50] [--copies 2] [--reps 3]

Writes benchmarks/results/throughput.json (the README's throughput section is generated from it
by benchmarks/report.py) and throughput.png.
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brian_snn.backend import get_backend, _Assembled  # noqa: E402
from brian_snn.data import load_embedded  # noqa: E402
from brian_snn.encoding import Presentation  # noqa: E402
from brian_snn.experiments.train_eval import image_table, initial_state  # noqa: E402
from brian_snn.models import get_model_spec  # noqa: E402
from brian_snn.experiments.static import source_files  # noqa: E402
from brian_snn.protocol import provenance  # noqa: E402
from brian_snn.runner import learned_state, present  # noqa: E402

OUT = Path(__file__).parent / "results"
BOUND_SRC = Path(__file__).parent / "bound" / "tight_loop.cpp"
MODELS = ("diehl-cook", "spikedyn")


def compiled(model, n_exc, samples, label=True):
    ds = load_embedded()
    spec = get_model_spec(model, n_exc=n_exc)
    backend = get_backend("cpp", chunk_slots=min(samples, 250))
    pres, images = Presentation(), image_table(ds)
    run = present(spec, backend, pres, images, np.arange(samples), initial_state(spec, 0), plastic=1,
                  phase="training", seed=1, progress=False)
    c = run.counts
    res = {"samples": samples, "presentations": run.presentations, "sim_wall_s": run.sim_wall_s,
           "build_s": run.build_s, "samples_per_s": samples / run.sim_wall_s,
           "spikes_per_sample": {p.name: p.spikes / samples for p in c.populations},
           "synaptic_events_per_sample": c.synaptic_events / samples,
           "plasticity_updates_per_sample": c.plasticity_updates / samples,
           "pathways_per_sample": {p.name: {"events": p.synaptic_events / samples,
                                            "plasticity_updates": p.plasticity_updates / samples}
                                   for p in c.pathways}}
    if label:
        lab = present(spec, backend, pres, images, np.arange(samples), learned_state(run.state), plastic=0,
                      phase="inference", seed=2, progress=False)
        res["labelling_samples_per_s"] = samples / lab.sim_wall_s
    # Poisson draws: one per input with a non-zero rate per presentation step (exact up to which
    # images were repeated; repeats are shown the same number of steps)
    nonzero = (images[:samples] > 0).sum(axis=1).mean()
    on_steps = pres.t_on_ms / pres.dt_ms
    res["poisson_draws_per_sample"] = float(nonzero * on_steps * run.presentations / samples)
    return res, spec, pres


def bound_args(model, spec, pres, r):
    """The tight-loop program's arguments: the compiled run's counted work per sample."""
    rep = r["presentations"] / r["samples"]            # repeated (too quiet) samples are shown again
    sp = r["spikes_per_sample"]
    n_in, n = spec.n_input, spec.n_exc
    inp = r["pathways_per_sample"]["input_exc"]
    pre_stdp = int(model in ("diehl-cook", "asp-decay"))
    post_updates = sp["exc"] * n_in
    norm = inp["plasticity_updates"] - post_updates - (inp["events"] if pre_stdp else 0)
    n_inh = n if "inh" in sp else 0
    lateral = 1 if n_inh else n - 1                    # exc->inh one-to-one, or exc->exc all but self
    return {"samples": 0, "steps": pres.steps_per_slot * rep, "steps_on": pres.t_on_ms / pres.dt_ms * rep,
            "n_in": n_in, "n_exc": n, "n_inh": n_inh, "draws": r["poisson_draws_per_sample"],
            "in_spikes": sp["input"], "exc_spikes": sp["exc"], "inh_spikes": sp.get("inh", 0.0),
            "pre_stdp": pre_stdp, "norm_updates": max(norm, 0.0), "lateral_per_exc_spike": lateral,
            "delay_slots": 0}


def delay_slots(spec, pres) -> int:
    """Slots of the input delays (0 ... max_delay in steps), 0 for a model without delays."""
    return int(round(spec.max_delay_ms / pres.dt_ms)) + 1 if spec.max_delay_ms > 0 else 0


def best_of(runs):
    """The fastest of one bound's runs, with every run's rate."""
    return dict(max(runs, key=lambda b: b["samples_per_s"]), all_samples_per_s=[b["samples_per_s"] for b in runs])


def brian_flags():
    from brian2 import prefs
    return list(prefs.codegen.cpp.extra_compile_args_gcc)


def build_bound(directory):
    exe = Path(directory) / "tight_loop"
    flags = [f for f in brian_flags() if not f.startswith("-std=")] + ["-std=c++11"]
    cxx = os.environ.get("CXX", "g++")
    subprocess.run([cxx, *flags, str(BOUND_SRC), "-o", str(exe)], check=True)
    return exe, [cxx, *flags]


def run_bound(exe, args, samples, reps=3):
    order = ["samples", "steps", "steps_on", "n_in", "n_exc", "n_inh", "draws", "in_spikes", "exc_spikes",
             "inh_spikes", "pre_stdp", "norm_updates", "lateral_per_exc_spike", "delay_slots"]
    a = dict(args, samples=samples)
    cmd = [str(exe)] + [str(int(round(a[k]))) if k in ("samples", "steps", "steps_on", "n_in", "n_exc", "n_inh",
                                                       "pre_stdp", "delay_slots") else repr(float(a[k])) for k in order]
    rates = [float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()[0])
             for _ in range(reps)]
    return {"samples": samples, "reps": reps, "samples_per_s": max(rates), "all_samples_per_s": rates,
            "args": {k: a[k] for k in order}}


def runtime_loop(model, n_exc, samples):
    """The naive baseline: build once in runtime mode, then one net.run per sample."""
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


def perf_profile(model, n_exc, samples):
    """Share of the binary's CPU time per code object (``perf record -e cpu-clock``), training."""
    perf = shutil.which("perf")
    if not perf:
        return None
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "perf.data"
        cmd = [perf, "record", "-q", "-e", "cpu-clock", "-F", "2000", "-o", str(data), "--", sys.executable,
               __file__, "--only-train", model, "--samples", str(samples), "--neurons", str(n_exc)]
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            return None
        rep = subprocess.run([perf, "report", "-i", str(data), "--comm", "main", "--sort", "sym", "--stdio",
                              "--percentage", "relative"], capture_output=True, text=True).stdout
    shares = {}
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[[.k]\]\s+(.*)$", line)
        if not m:
            continue
        name = m.group(2).strip()
        code = re.match(r"_run_(\w+)$", name)
        key = code.group(1) if code else ("CSpikeQueue::push" if name.startswith("CSpikeQueue::push") else
                                          "random numbers" if "mersenne" in name else
                                          "exp" if "exp" in name and "(" not in name else "other")
        shares[key] = shares.get(key, 0.0) + float(m.group(1)) / 100
    return {"method": "perf record -e cpu-clock (binary 'main', training)", "samples": samples,
            "share": dict(sorted(((k, round(v, 4)) for k, v in shares.items()), key=lambda x: -x[1]))}


def copies_run(model, n_exc, K, samples):
    from brian_snn.copies import Copies
    ds = load_embedded()
    base = get_model_spec(model, n_exc=n_exc)
    spec = Copies.of(base, K)
    backend = get_backend("cpp", chunk_slots=samples)
    images, pres = image_table(ds), Presentation()
    orders = [np.arange(samples) for _ in range(K)]
    seeds = list(range(1, K + 1))
    states = [initial_state(base, s) for s in seeds]
    present(spec, backend, pres, images, [o[:1] for o in orders], states, 1, "training", seeds, progress=False)
    res = present(spec, backend, pres, images, orders, states, 1, "training", seeds, progress=False)
    return {"copies": K, "samples_per_copy": samples, "aggregate_samples_per_s": K * samples / res.sim_wall_s,
            "per_copy_samples_per_s": samples / res.sim_wall_s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--baseline-samples", type=int, default=50)
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--copies", type=int, default=2, help="batched copies run for the record (0: none)")
    ap.add_argument("--profile-samples", type=int, default=250)
    ap.add_argument("--reps", type=int, default=3, help="compiled runs and bound runs, alternating (best counts)")
    ap.add_argument("--only-train", default=None, help=argparse.SUPPRESS)   # the profiled child
    a = ap.parse_args()
    if a.only_train:
        compiled(a.only_train, a.neurons, a.samples, label=False)
        return
    pkg = Path(__file__).resolve().parent.parent / "brian_snn"
    prov = provenance([*source_files(), pkg / "standalone_templates.py", *sorted((pkg / "cpp").rglob("*.*")),
                       Path(__file__), Path(__file__).parent / "bound" / "tight_loop.cpp"])   # as the run starts
    out = {"machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                       "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d")},
           "setup": {"n_exc": a.neurons, "dt_ms": 0.5, "t_on_ms": 350, "t_rest_ms": 150, "threads": 1,
                     "data": f"embedded real MNIST (first {a.samples} training images)"},
           "models": {}}
    with tempfile.TemporaryDirectory() as d:
        exe, cmd = build_bound(d)
        out["bound_compiler"] = " ".join(cmd[:1] + cmd[1:])
        for model in MODELS:
            # compiled runs and the bound alternate, best of --reps each (the machine is shared:
            # other jobs only add time), so both see the same load
            runs, bounds, delayed = [], [], []
            for _ in range(a.reps):
                comp, spec, pres = compiled(model, a.neurons, a.samples)
                runs.append(comp)
                args, slots = bound_args(model, spec, pres, comp), delay_slots(spec, pres)
                bounds.append(run_bound(exe, args, samples=200, reps=1))
                if slots:
                    delayed.append(run_bound(exe, dict(args, delay_slots=slots), samples=200, reps=1))
            comp = max(runs, key=lambda c: c["samples_per_s"])
            comp["labelling_samples_per_s"] = max(c["labelling_samples_per_s"] for c in runs)
            comp["all_samples_per_s"] = [c["samples_per_s"] for c in runs]
            comp["all_labelling_samples_per_s"] = [c["labelling_samples_per_s"] for c in runs]
            r = {"compiled": comp}
            for key, runs_of_bound in (("bound", bounds), ("bound_with_delays", delayed)):
                if runs_of_bound:
                    r[key] = best_of(runs_of_bound)
                    r[key.replace("bound", "fraction_of_bound")] = comp["samples_per_s"] / r[key]["samples_per_s"]
            r["runtime_loop"] = runtime_loop(model, a.neurons, a.baseline_samples)
            r["speedup"] = comp["samples_per_s"] / r["runtime_loop"]["samples_per_s"]
            r["profile"] = perf_profile(model, a.neurons, a.profile_samples)
            if a.copies > 1:
                r["copies"] = copies_run(model, a.neurons, a.copies, 250)
            out["models"][model] = r
            print(f"{model:>10}: compiled {comp['samples_per_s']:.1f} samples/s (labelling "
                  f"{comp['labelling_samples_per_s']:.1f}), bound {r['bound']['samples_per_s']:.1f} "
                  f"({100 * r['fraction_of_bound']:.0f} %), runtime loop {r['runtime_loop']['samples_per_s']:.2f} "
                  f"samples/s, speed-up {r['speedup']:.0f}x", flush=True)
    out["provenance"] = prov
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
    bound = [out["models"][m]["bound"]["samples_per_s"] for m in models]
    x = np.arange(len(models))
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.bar(x - 0.27, base, 0.27, label="Brian2 runtime, per-sample loop")
    ax.bar(x, comp, 0.27, label="brian-snn cpp_standalone, one binary")
    ax.bar(x + 0.27, bound, 0.27, label="tight-loop bound (same counted work)")
    ax.set_xticks(x, models)
    ax.set_ylabel("training samples / s (1 thread)")
    ax.set_title(f"N={out['setup']['n_exc']}, dt 0.5 ms, 350+150 ms")
    ax.legend(fontsize=7)
    fig.savefig(OUT / "throughput.png", dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
