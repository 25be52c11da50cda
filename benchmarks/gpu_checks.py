"""The GPU checks of issue 7, in one program (called by scripts/gpu_checks.sh on a GPU machine).

    python benchmarks/gpu_checks.py parity    --out DIR   # cpp vs cuda: same model, data, weights
    python benchmarks/gpu_checks.py batched   --out DIR   # K copies on the GPU: throughput + NVML energy
    python benchmarks/gpu_checks.py calibrate --out DIR   # hwmodel calibrate on the batched measurements
    ... --fake-gpu   runs every step on the cpp backend with a synthetic power meter (tests the
                     program itself on a machine without a GPU; its numbers mean nothing)

**Parity.**  Diehl & Cook (N excitatory neurons) on the embedded MNIST subset.  (a) Training from
the same initial weights and order on cpp and on cuda, then labelling and testing: accuracy and
counts per sample.  (b) Frozen weights (the cpp-trained ones, the cpp label assignment) on the
test set with S seeds per backend: accuracy, excitatory and input spikes per sample.  Exact
equality is impossible: cpp draws Poisson input with ``std::mt19937``-style generators, brian2cuda
with cuRAND (different streams), and CUDA sums synaptic input with atomics in varying order under
``-use_fast_math``; a network with a threshold turns the first different spike into a different
trajectory.  The test is statistical: for each metric z = (mean_cuda - mean_cpp) /
sqrt(sd_cpp^2/S + sd_cuda^2/S) over seeds, consistent when |z| < 3 (seed-to-seed variation is
the yardstick; with identical inputs the batched network below is also compared directly).

**Batched.**  brian_snn.copies on cuda for K copies (default 1,4,16,64) of D&C N: per K, ``--chunks``
compiled runs of ``--slots`` slots each; per run the wall time, the network time inside the binary,
the NVML energy (board energy counter where supported, else power samples every 10 ms) and the
exact counts of the whole batch.  Throughput samples/s per copy and aggregate, against one
ordinary cpp network on one core (same machine).  The measurements are written as
``hwmodel-measurements/1`` for the calibration.

**Sizes.**  brian-snn's own SpikeDyn at ``--sizes`` (default 100, 400, 1,600 excitatory neurons),
one network each, ``--chunks`` runs of ``--slots`` samples (training, then frozen): time and NVML
board power per run, written as ``hwmodel-measurements/1`` (sizes_measurements.json; the last run of
each size held out).

**Calibrate.**  ``hwmodel calibrate`` on those runs (every 3rd held out): fitted per-step overhead,
efficiency and average power, and the estimate-vs-measured error on the held-out runs.
"""
import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# -- power ---------------------------------------------------------------------------------------
class PowerMeter:
    """NVML energy over a block: the board's total-energy counter (Volta and later) and power
    samples every ``period_s`` (their integral is the fallback).  ``fake``: 80 W + 60 W x load."""

    def __init__(self, gpu=0, period_s=0.01, fake=False):
        self.fake, self.period = fake, period_s
        if not fake:
            import pynvml
            pynvml.nvmlInit()
            self.nv = pynvml
            self.h = pynvml.nvmlDeviceGetHandleByIndex(gpu)
            self.name = pynvml.nvmlDeviceGetName(self.h)
            self.name = self.name.decode() if isinstance(self.name, bytes) else self.name
        else:
            self.name = "fake GPU"

    def power_w(self):
        if self.fake:
            return 80.0 + 60.0 * min(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
        return self.nv.nvmlDeviceGetPowerUsage(self.h) / 1000.0

    def counter_j(self):
        if self.fake:
            return None
        try:
            return self.nv.nvmlDeviceGetTotalEnergyConsumption(self.h) / 1000.0
        except Exception:
            return None

    def __enter__(self):
        self.samples, self._stop = [], threading.Event()
        self.e0, self.t0 = self.counter_j(), time.perf_counter()

        def loop():
            while not self._stop.is_set():
                self.samples.append((time.perf_counter(), self.power_w()))
                self._stop.wait(self.period)
        self._th = threading.Thread(target=loop, daemon=True)
        self._th.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._th.join()
        self.t1 = time.perf_counter()
        e1 = self.counter_j()
        self.seconds = self.t1 - self.t0
        s = self.samples + [(self.t1, self.power_w())]
        self.sampled_j = sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in zip(s, s[1:]))
        self.counter = (e1 - self.e0) if (e1 is not None and self.e0 is not None) else None
        self.energy_j = self.counter if self.counter else self.sampled_j
        self.mean_w = self.energy_j / self.seconds if self.seconds > 0 else None
        return False


def idle_power(meter, seconds=3.0):
    with meter as m:
        time.sleep(seconds)
    return m.mean_w


# -- data ------------------------------------------------------------------------------------------
def dataset(n_train, n_test):
    from brian_snn.data import load_dataset
    return load_dataset("embedded", n_train=n_train, n_test=n_test, seed=0)


def zscore(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) if len(a) > 1 and len(b) > 1 else 0.0
    d = b.mean() - a.mean()
    return d / se if se > 0 else (0.0 if d == 0 else math.inf)


# -- parity ----------------------------------------------------------------------------------------
def parity(a):
    from brian_snn.backend import CppBackend
    from brian_snn.experiments.train_eval import image_table, initial_state
    from brian_snn.encoding import Presentation
    from brian_snn.models import get_model_spec
    from brian_snn.readout import assign_labels, predict
    from brian_snn.runner import present
    ds = dataset(a.train, a.test)
    images = image_table(ds)
    n_train = len(ds.y_train)
    spec = get_model_spec("diehl-cook", n_exc=a.neurons)
    pres = Presentation()
    order = np.random.default_rng(0).permutation(n_train)
    test_idx = n_train + np.arange(len(ds.y_test))

    def gpu_backend():
        if a.fake_gpu:
            return CppBackend(chunk_slots=a.chunk)
        from brian_snn.cuda import CudaBackend
        return CudaBackend(chunk_slots=a.chunk, compute_capability=a.cc)

    def per_sample(run, pop):
        c = run.counts
        return next(p.spikes for p in c.populations if p.name == pop) / max(c.samples, 1)

    out = {"model": "diehl-cook", "neurons": a.neurons, "train": n_train, "test": len(ds.y_test),
           "seeds": a.seeds, "fake_gpu": a.fake_gpu, "train_runs": {}, "frozen": {}}
    cpp_weights = cpp_assign = None
    for name, make in (("cpp", lambda: CppBackend(chunk_slots=a.chunk)), ("cuda", gpu_backend)):
        # everything of one backend in a row: one standalone build is active per process
        b = make()
        state0 = initial_state(spec, 0)
        t0 = time.perf_counter()
        tr = present(spec, b, pres, images, order, state0, 1, "training", seed=1, progress=False)
        frozen = {k: v for k, v in tr.state.items() if not k.startswith("ctrl_")}
        lab = present(spec, b, pres, images, np.arange(n_train), frozen, 0, "inference", seed=2, progress=False)
        assign, _ = assign_labels(lab.responses, ds.y_train)
        te = present(spec, b, pres, images, test_idx, frozen, 0, "inference", seed=3, progress=False)
        acc = float((predict(te.responses, assign) == ds.y_test).mean())
        out["train_runs"][name] = {
            "accuracy": acc, "train_exc_spikes_per_sample": per_sample(tr, "exc"),
            "train_input_spikes_per_sample": per_sample(tr, "input"),
            "test_exc_spikes_per_sample": per_sample(te, "exc"),
            "train_samples_per_s": n_train / tr.sim_wall_s, "test_samples_per_s": len(ds.y_test) / te.sim_wall_s,
            "build_s": tr.build_s, "total_s": time.perf_counter() - t0}
        print(name, json.dumps(out["train_runs"][name]), flush=True)
        if name == "cpp":
            cpp_weights, cpp_assign = frozen, assign
        rows = []
        for s in range(a.seeds):         # frozen: the cpp-trained weights and labels on both backends
            te = present(spec, b, pres, images, test_idx, cpp_weights, 0, "inference", seed=100 + s, progress=False)
            pred = predict(te.responses, cpp_assign)
            rows.append({"seed": 100 + s, "accuracy": float((pred == ds.y_test).mean()),
                         "exc_spikes_per_sample": per_sample(te, "exc"),
                         "input_spikes_per_sample": per_sample(te, "input"),
                         "presentations_per_sample": te.presentations / len(ds.y_test),
                         "predictions": pred.tolist(), "samples_per_s": len(ds.y_test) / te.sim_wall_s})
        out["frozen"][name] = rows
    table = []
    for metric in ("accuracy", "exc_spikes_per_sample", "input_spikes_per_sample", "presentations_per_sample"):
        x = [r[metric] for r in out["frozen"]["cpp"]]
        y = [r[metric] for r in out["frozen"]["cuda"]]
        z = zscore(x, y)
        table.append({"metric": metric, "cpp_mean": float(np.mean(x)), "cpp_sd": float(np.std(x, ddof=1)) if len(x) > 1 else 0.0,
                      "cuda_mean": float(np.mean(y)), "cuda_sd": float(np.std(y, ddof=1)) if len(y) > 1 else 0.0,
                      "z": z, "consistent": bool(abs(z) < 3)})
    # prediction agreement: across backends vs across seeds of one backend
    P = {n: np.array([r["predictions"] for r in out["frozen"][n]]) for n in ("cpp", "cuda")}
    within = np.mean([(P["cpp"][i] == P["cpp"][j]).mean() for i in range(a.seeds) for j in range(i + 1, a.seeds)]) \
        if a.seeds > 1 else None
    across = np.mean([(P["cpp"][i] == P["cuda"][j]).mean() for i in range(a.seeds) for j in range(a.seeds)])
    out["table"] = table
    out["prediction_agreement"] = {"cpp_seed_vs_seed": within, "cpp_vs_cuda": float(across)}
    out["tolerance"] = "|z| < 3 over seeds (means differ by less than 3 standard errors of seed-to-seed variation)"
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "parity.json").write_text(json.dumps(out, indent=1))
    md = ["| metric | cpp mean ± sd | cuda mean ± sd | z | consistent |", "|---|---|---|---|---|"]
    for r in table:
        md.append(f"| {r['metric']} | {r['cpp_mean']:.4g} ± {r['cpp_sd']:.2g} | {r['cuda_mean']:.4g} ± "
                  f"{r['cuda_sd']:.2g} | {r['z']:+.2f} | {'yes' if r['consistent'] else 'NO'} |")
    tr = out["train_runs"]
    md.append("")
    md.append(f"training {n_train} samples from the same initial weights: accuracy cpp {tr['cpp']['accuracy']:.3f}, "
              f"cuda {tr['cuda']['accuracy']:.3f}; train samples/s cpp {tr['cpp']['train_samples_per_s']:.1f}, "
              f"cuda {tr['cuda']['train_samples_per_s']:.1f}; prediction agreement cpp-vs-cuda "
              f"{across:.3f} (cpp seed-vs-seed {within if within is None else round(within, 3)})")
    (Path(a.out) / "parity.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


# -- batched throughput + energy ---------------------------------------------------------------------
def measured_chunk(net, spec, pres, images, n_train, K, slots, c, states, rng, meter, label):
    """One compiled run of ``slots`` samples per copy (chunk ``c``: training when even, frozen when
    odd) under the power meter: (run record, exact counts of the whole batch, carried states)."""
    from brian_snn.copies import batch_counts
    plastic = 1 if c % 2 == 0 else 0
    phase = "training" if plastic else "inference"
    window = np.stack([rng.permutation(n_train)[:slots + 1] for _ in range(K)], axis=1)
    seeds = [1000 * c + k for k in range(K)]
    with meter as m:
        parts = net.run_chunk(spec, pres, images, window, spec.join(states), plastic, phase,
                              n_real=[slots + 1] * K, seed=seeds)
    counts = batch_counts([p.counts for p in parts])
    counts.samples = K * slots
    net_s = parts[0].timings.get("net_s") or parts[0].wall_s
    # energy of the network run: the call's mean power x the network's time in the binary
    run = {"label": f"{label}-c{c}-{phase}", "copies": K, "steps": counts.steps, "call_wall_s": parts[0].wall_s,
           "net_s": net_s, "call_energy_j": m.energy_j, "energy_counter_j": m.counter,
           "energy_sampled_j": m.sampled_j, "mean_power_w": m.mean_w, "net_energy_j": m.mean_w * net_s,
           "samples_per_s_per_copy": slots / net_s, "aggregate_samples_per_s": K * slots / net_s,
           "build_s": parts[0].timings.get("build_s", 0.0)}
    return run, counts, ([p.state for p in parts] if plastic else states)


def sizes(a):
    """brian-snn's own SpikeDyn at several sizes, one network each, on the GPU with NVML power:
    the measurements ``hwmodel calibrate`` takes (sizes_measurements.json)."""
    from brian_snn.backend import get_backend
    from brian_snn.copies import Copies
    from brian_snn.encoding import Presentation
    from brian_snn.experiments.train_eval import initial_state
    from brian_snn.models import get_model_spec
    ds = dataset(None, None)
    images = np.vstack([ds.x_train, np.zeros((1, ds.x_train.shape[1]))]).astype(float)
    n_train = len(ds.y_train)
    meter = PowerMeter(fake=a.fake_gpu)
    idle = idle_power(meter)
    runs, measurements = [], []
    for n in [int(x) for x in a.sizes.split(",")]:
        model = get_model_spec("spikedyn", n_exc=n)
        spec = Copies.of(model, 1)
        net = get_backend("cpp" if a.fake_gpu else "cuda", chunk_slots=a.slots,
                          **({} if a.fake_gpu else {"compute_capability": a.cc}))
        states, rng = [initial_state(model, 0)], np.random.default_rng(n)
        for c in range(a.chunks):
            run, counts, states = measured_chunk(net, spec, Presentation(), images, n_train, 1, a.slots, c, states,
                                                 rng, meter, f"spikedyn-N{n}")
            run["neurons"] = n
            runs.append(run)
            measurements.append({"label": run["label"], "counts": counts.to_dict(), "time_s": run["net_s"],
                                 "energy_j": run["net_energy_j"], "holdout": c == a.chunks - 1})
            print(json.dumps(run), flush=True)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "sizes_gpu.json").write_text(json.dumps({"device": meter.name, "idle_w": idle, "runs": runs},
                                                           indent=1))
    (Path(a.out) / "sizes_measurements.json").write_text(json.dumps({
        "schema": "hwmodel-measurements/1", "target": a.base, "idle_w": idle,
        "power_scope": "GPU board (NVML)",
        "source": f"{meter.name}: NVML board power, brian2cuda 1.0a7, brian-snn SpikeDyn N={a.sizes}, "
                  f"{time.strftime('%Y-%m-%d')} (gpu_checks.py sizes)", "runs": measurements}, indent=1))
    md = ["| SpikeDyn N | phase | time per sample ms | mean power W | energy per sample mJ |", "|---|---|---|---|---|"]
    md += [f"| {r['neurons']} | {r['label'].rsplit('-', 1)[1]} | {1e3 * r['net_s'] / a.slots:.2f} | "
           f"{r['mean_power_w']:.1f} | {1e3 * r['net_energy_j'] / a.slots:.2f} |" for r in runs]
    (Path(a.out) / "sizes.md").write_text("\n".join(md) + f"\n\nidle {idle:.1f} W ({meter.name})\n")
    print("\n".join(md))


def batched(a):
    from brian_snn.backend import get_backend
    from brian_snn.copies import Copies
    from brian_snn.encoding import Presentation
    from brian_snn.experiments.train_eval import initial_state
    from brian_snn.models import get_model_spec
    ds = dataset(None, None)
    images = np.vstack([ds.x_train, np.zeros((1, ds.x_train.shape[1]))]).astype(float)
    n_train = len(ds.y_train)
    pres = Presentation()
    meter = PowerMeter(fake=a.fake_gpu)
    out = {"device": meter.name, "neurons": a.neurons, "slots": a.slots, "chunks": a.chunks,
           "fake_gpu": a.fake_gpu, "idle_w": idle_power(meter), "runs": [], "per_k": []}
    print("idle power", out["idle_w"], flush=True)
    # the baseline: one ordinary network, cpp, one core, same machine
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from batched_throughput import run_baseline
    out["baseline_cpp_one_network"] = run_baseline(argparse.Namespace(model="diehl-cook", neurons=a.neurons,
                                                                      samples=a.slots), images, n_train)
    print("baseline", json.dumps(out["baseline_cpp_one_network"]), flush=True)
    measurements = []
    for K in [int(k) for k in a.copies.split(",")]:
        model = get_model_spec("diehl-cook", n_exc=a.neurons)
        spec = Copies.of(model, K)
        net = get_backend("cpp" if a.fake_gpu else "cuda", chunk_slots=a.slots,
                          **({} if a.fake_gpu else {"compute_capability": a.cc}))
        rng = np.random.default_rng(K)
        states = [initial_state(model, s) for s in range(K)]
        walls, nets, build_s = [], [], 0.0
        for c in range(a.chunks):
            run, counts, states = measured_chunk(net, spec, pres, images, n_train, K, a.slots, c, states, rng, meter,
                                                 f"K{K}")
            wall, net_s = run["call_wall_s"], run["net_s"]
            build_s += run.pop("build_s")
            out["runs"].append(run)
            measurements.append({"label": run["label"], "counts": counts.to_dict(), "time_s": net_s,
                                 "energy_j": run["net_energy_j"]})
            walls.append(wall)
            nets.append(net_s)
            print(json.dumps(run), flush=True)
        base = out["baseline_cpp_one_network"]["samples_per_s_cpu"] or out["baseline_cpp_one_network"]["samples_per_s_wall"]
        agg = K * a.slots * len(nets) / sum(nets)
        out["per_k"].append({"copies": K, "build_s": build_s, "net_s_mean": float(np.mean(nets)),
                             "per_copy_samples_per_s": agg / K, "aggregate_samples_per_s": agg,
                             "aggregate_incl_process_start_samples_per_s": K * a.slots * len(walls) / sum(walls),
                             "vs_one_cpp_network": agg / base})
        print(json.dumps(out["per_k"][-1]), flush=True)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "batched_gpu.json").write_text(json.dumps(out, indent=1))
    (Path(a.out) / "measurements.json").write_text(json.dumps({
        "schema": "hwmodel-measurements/1", "target": a.base, "idle_w": out["idle_w"],
        "source": f"{meter.name}: NVML energy, brian2cuda 1.0a7 batched D&C N={a.neurons}, "
                  f"{time.strftime('%Y-%m-%d')} (gpu_checks.py)", "runs": measurements}, indent=1))
    md = ["| K copies | samples/s per copy | aggregate samples/s | x one cpp network (1 core) | build s |",
          "|---|---|---|---|---|"]
    for r in out["per_k"]:
        md.append(f"| {r['copies']} | {r['per_copy_samples_per_s']:.1f} | {r['aggregate_samples_per_s']:.1f} | "
                  f"{r['vs_one_cpp_network']:.2f} | {r['build_s']:.0f} |")
    b = out["baseline_cpp_one_network"]
    md.append(f"\none ordinary D&C N={a.neurons} network, cpp, 1 core: {b['samples_per_s_wall']:.1f} samples/s wall, "
              f"{b['samples_per_s_cpu']:.1f} per CPU-second; idle power {out['idle_w']:.1f} W ({meter.name})")
    (Path(a.out) / "batched_gpu.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


def calibrate_step(a):
    m = Path(a.out) / a.measurements
    target = Path(a.out) / f"{a.base}-calibrated.toml"
    cmd = [sys.executable, "-m", "hwmodel", "calibrate", str(m), "--base", a.base, "--out", str(target), "--json"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        print(res.stderr.strip(), file=sys.stderr)
        sys.exit(res.returncode)
    fit = json.loads(res.stdout)
    (Path(a.out) / "calibration.json").write_text(json.dumps(fit, indent=1))
    from hwmodel.calibrate import Fit, report_lines
    lines = report_lines(Fit(**{k: v for k, v in fit.items() if k != "file"}))
    (Path(a.out) / "calibration.md").write_text("```\n" + "\n".join(lines) + "\n```\n")
    print("\n".join(lines))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=("parity", "batched", "sizes", "calibrate"))
    p.add_argument("--out", default="gpu_results")
    p.add_argument("--neurons", type=int, default=100)
    p.add_argument("--cc", default=None, help="compute capability (default: from nvidia-smi)")
    p.add_argument("--fake-gpu", action="store_true", help="cpp + synthetic power meter (tests this program)")
    p.add_argument("--train", type=int, default=200, help="parity: training samples")
    p.add_argument("--test", type=int, default=100, help="parity: test samples")
    p.add_argument("--seeds", type=int, default=3, help="parity: seeds per backend for the frozen comparison")
    p.add_argument("--chunk", type=int, default=100, help="parity: presentation slots per compiled run")
    p.add_argument("--copies", default="1,4,16,64", help="batched: K values")
    p.add_argument("--slots", type=int, default=30, help="batched: slots per run (samples per copy)")
    p.add_argument("--chunks", type=int, default=3, help="batched: measured runs per K")
    p.add_argument("--base", default="h100-sxm5", help="hwmodel GPU target to calibrate")
    p.add_argument("--sizes", default="100,400,1600", help="sizes: SpikeDyn excitatory neurons")
    p.add_argument("--measurements", default="measurements.json",
                   help="calibrate: the measurements file in --out (sizes writes sizes_measurements.json)")
    a = p.parse_args(argv)
    print(f"{a.step}: python {platform.python_version()}, pid {os.getpid()}, "
          f"cpu time so far {resource.getrusage(resource.RUSAGE_SELF).ru_utime:.1f} s", flush=True)
    {"parity": parity, "batched": batched, "sizes": sizes, "calibrate": calibrate_step}[a.step](a)


if __name__ == "__main__":
    main()
