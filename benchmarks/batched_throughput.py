"""Throughput of K batched network copies (brian_snn.copies) vs K, against one ordinary network.

    python benchmarks/batched_throughput.py                     # cpp, 1 thread, K = 1,2,4,8
    python benchmarks/batched_throughput.py --backend cuda --copies 1,4,16,64 --cc 9.0 \
        --out benchmarks/batched_gpu.json --png benchmarks/batched_gpu.png

Every copy trains a Diehl & Cook network (``--model``: any model) (N excitatory neurons, 784 inputs, dt 0.5 ms, 350 + 150 ms
per sample) on its own order of the embedded MNIST subset with its own seed.  For each K one
compiled run presents ``--samples`` samples to every copy (build time excluded).  Reported per K:
wall time of the run and the CPU time of the simulation process (user + sys of the child; on a
loaded machine the CPU time is the fairer "one dedicated core" figure), samples/s per copy and
aggregate (K x samples / time).  The baseline is the ordinary model (``models/diehl_cook.py``
on the cpp backend, one network, same N and samples): the "1-core C++ throughput of one network".
Writes JSON (+ a PNG).
"""
import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brian_snn.backend import get_backend  # noqa: E402
from brian_snn.copies import Copies  # noqa: E402
from brian_snn.data import load_dataset  # noqa: E402
from brian_snn.encoding import Presentation  # noqa: E402
from brian_snn.experiments.train_eval import initial_state  # noqa: E402
from brian_snn.models import get_model_spec  # noqa: E402
from brian_snn.runner import present  # noqa: E402


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_batch(K, args, images, n_train, cuda_options):
    model = get_model_spec(args.model, n_exc=args.neurons)
    spec = Copies.of(model, K)
    pres = Presentation()
    backend = get_backend(args.backend, chunk_slots=args.samples, **(cuda_options or {}))
    rng = np.random.default_rng(0)
    orders = [rng.permutation(n_train)[:args.samples] for _ in range(K)]
    seeds = list(range(1, K + 1))
    states = [initial_state(model, s) for s in seeds]
    build = present(spec, backend, pres, images, [o[:1] for o in orders], states, 1, "training", seeds,
                    progress=False)             # the build, excluded from the timing
    c0, t0 = child_cpu(), time.perf_counter()
    res = present(spec, backend, pres, images, orders, states, 1, "training", seeds, progress=False)
    wall, cpu = time.perf_counter() - t0, child_cpu() - c0
    sim = res.sim_wall_s
    n = args.samples
    return {"copies": K, "samples_per_copy": n, "build_s": round(build.build_s, 2),
            "run_wall_s": round(sim, 3), "run_cpu_s": round(cpu, 3), "present_wall_s": round(wall, 3),
            "per_copy_samples_per_s_wall": n / sim, "per_copy_samples_per_s_cpu": n / cpu if cpu > 0 else None,
            "aggregate_samples_per_s_wall": K * n / sim,
            "aggregate_samples_per_s_cpu": K * n / cpu if cpu > 0 else None,
            "presentations": res.presentations,
            "exc_spikes_per_copy": [next(p.spikes for p in c.populations if p.name == "exc") for c in res.counts]}


def run_baseline(args, images, n_train):
    from brian_snn.backend import CppBackend
    spec = get_model_spec(args.model, n_exc=args.neurons)
    b = CppBackend(chunk_slots=args.samples)
    order = np.random.default_rng(0).permutation(n_train)[:args.samples]
    present(spec, b, Presentation(), images, order[:1], initial_state(spec, 1), 1, "training", 1,
            progress=False)                 # build (excluded)
    c0, t0 = child_cpu(), time.perf_counter()
    run = present(spec, b, Presentation(), images, order, initial_state(spec, 1), 1, "training", 1,
                  progress=False)
    cpu = child_cpu() - c0
    return {"model": f"{args.model} (one network, cpp backend)", "samples": args.samples,
            "run_wall_s": round(run.sim_wall_s, 3), "run_cpu_s": round(cpu, 3),
            "samples_per_s_wall": args.samples / run.sim_wall_s,
            "samples_per_s_cpu": args.samples / cpu if cpu > 0 else None}


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = result["runs"]
    K = [r["copies"] for r in rows]
    key = "cpu" if result["backend"] == "cpp" else "wall"
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    ax[0].plot(K, [r[f"per_copy_samples_per_s_{key}"] for r in rows], "o-", label=f"batched ({key} time)")
    ax[1].plot(K, [r[f"aggregate_samples_per_s_{key}"] for r in rows], "o-", label=f"batched, all copies ({key})")
    base = result.get("baseline")
    if base and base.get("samples_per_s_cpu"):
        for a in ax:
            a.axhline(base["samples_per_s_cpu"], color="gray", ls="--", label="one network, cpp 1 core (cpu time)")
    if result["backend"] != "cpp" and base and base.get("samples_per_s_cpu"):
        ax[1].axhline(10 * base["samples_per_s_cpu"], color="tab:red", ls=":", label="goal: 10x one cpp network")
    for a, t in zip(ax, ("samples/s per copy", "aggregate samples/s")):
        a.set_xscale("log", base=2)
        a.set_ylim(bottom=0)
        a.set_xlabel("copies K")
        a.set_ylabel(t)
        a.legend(fontsize=7)
        a.grid(alpha=0.3)
    fig.suptitle(f"batched D&C N={result['neurons']}, {result['backend']} ({result['device']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("cpp", "cuda"), default="cpp")
    p.add_argument("--copies", default="1,2,4,8")
    p.add_argument("--model", default="diehl-cook")
    p.add_argument("--neurons", type=int, default=100)
    p.add_argument("--samples", type=int, default=60, help="samples per copy (one compiled run)")
    p.add_argument("--cc", default=None, help="compute capability for --backend cuda (default: detected)")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--out", default=None)
    p.add_argument("--png", default=None)
    p.add_argument("--replot", action="store_true", help="only redraw the PNG from --out's JSON")
    a = p.parse_args(argv)
    if a.replot:
        out = Path(a.out or Path(__file__).resolve().parent / "batched_cpu.json")
        plot(json.loads(out.read_text()), Path(a.png or out.with_suffix(".png")))
        return
    here = Path(__file__).resolve().parent
    out = Path(a.out or here / f"batched_{'cpu' if a.backend == 'cpp' else 'gpu'}.json")
    png = Path(a.png or out.with_suffix(".png"))
    ds = load_dataset("embedded")
    blank = np.zeros((1, ds.x_train.shape[1]))
    images = np.vstack([ds.x_train, blank]).astype(float)
    n_train = len(ds.y_train)
    cuda_options = {"compute_capability": a.cc} if a.backend == "cuda" else None
    device = platform.processor() or platform.machine()
    if a.backend == "cuda":
        from brian_snn.cuda import detect_gpus
        g = detect_gpus()
        device = g[0][1] if g else "GPU (not detected)"
    result = {"benchmark": "batched_throughput", "backend": a.backend, "model": a.model, "neurons": a.neurons,
              "samples_per_copy": a.samples, "device": device, "cpus": os.cpu_count(),
              "loadavg_start": os.getloadavg(), "threads": 1 if a.backend == "cpp" else None,
              "date": time.strftime("%Y-%m-%d %H:%M"), "runs": []}
    if not a.no_baseline:
        result["baseline"] = run_baseline(a, images, n_train)
        print("baseline", json.dumps(result["baseline"]), flush=True)
    for K in [int(k) for k in a.copies.split(",")]:
        r = run_batch(K, a, images, n_train, cuda_options)
        result["runs"].append(r)
        print(json.dumps(r), flush=True)
    result["loadavg_end"] = os.getloadavg()
    base = result.get("baseline", {}).get("samples_per_s_cpu")
    if base:
        key = "cpu" if a.backend == "cpp" else "wall"
        for r in result["runs"]:
            r["aggregate_vs_one_cpp_network"] = (r[f"aggregate_samples_per_s_{key}"] or 0) / base
    out.write_text(json.dumps(result, indent=1))
    plot(result, png)
    print(f"wrote {out} and {png}")


if __name__ == "__main__":
    main()
