"""``brian-snn train``, ``evaluate`` and ``doctor``: the main job, a stored network tested again,
and what this machine has."""
import json
import sys
from pathlib import Path

import numpy as np

from ..data import add_data_arguments, dataset_from_args
from ..models import MODEL_NAMES
from ..options import (add_backend_argument, add_chunk_argument, add_epochs_argument, add_force_argument,
                       add_json_argument, add_model_argument, add_neurons_argument, add_no_resume_argument,
                       add_out_argument, add_param_argument, add_plot_argument, add_quiet_argument,
                       add_seed_argument, add_target_argument, int_at_least, parse_params)

DEFAULT_TARGETS = "loihi1,jetson-nano"      # the cost lines of train / evaluate: neuromorphic and GPU


def register(sub):
    t = sub.add_parser("train", help="train a network, label its neurons, test it; write results HDF5",
                       description="Train a network on the data set, label its neurons from the training "
                                   "samples (learning off), test it, and print accuracy, throughput, exact "
                                   "activity counts and hardware cost lines.")
    add_model_argument(t, MODEL_NAMES, "spikedyn", files=True)
    add_neurons_argument(t, 400)
    add_backend_argument(t)
    add_epochs_argument(t)
    add_seed_argument(t, "seed of the initial weights, the sample order and the Poisson input")
    add_chunk_argument(t)
    t.add_argument("--copies", type=int_at_least(1, "a number of copies >= 1"), default=1, metavar="K",
                   help="train K independent copies (seeds S..S+K-1) as one batched network; each copy's "
                        "results go to OUT-seedS.h5 (default 1: one ordinary network)")
    add_param_argument(t)
    add_out_argument(t, "results.h5", "results HDF5, checkpointed after every chunk")
    add_no_resume_argument(t)
    add_force_argument(t)
    add_target_argument(t, DEFAULT_TARGETS, "targets of the cost lines")
    add_plot_argument(t, "write the learned receptive fields as a PNG")
    add_json_argument(t)
    add_quiet_argument(t)
    add_data_arguments(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="test a trained network (results HDF5) again",
                       description="Test the network stored in a results file again, on the test data it "
                                   "was trained with, and compare with the stored accuracy.")
    e.add_argument("results", metavar="RESULTS.h5", help="results HDF5 written by 'brian-snn train'")
    add_backend_argument(e, default=None)
    add_target_argument(e, DEFAULT_TARGETS, "targets of the cost lines")
    add_json_argument(e)
    add_quiet_argument(e)
    e.set_defaults(func=cmd_evaluate)

    d = sub.add_parser("doctor", help="check what this machine has: Python packages, compiler, CUDA, GPU, Dask",
                       description="Report each thing brian-snn can use as ok or missing (and what for); "
                                   "exit 0 when the essentials (brian2 and a C++ compiler) are there.")
    d.set_defaults(func=cmd_doctor)


def _hardware(counts, target):
    import hwmodel
    try:
        est = hwmodel.estimate(counts, target)
    except (hwmodel.TargetError, hwmodel.EstimateError) as e:
        lines = str(e).strip().splitlines()
        return {"target": target, "error": lines[0] if lines else type(e).__name__}
    return est.to_dict()


def summary(results, targets):
    """Accuracy, throughput (what the run measured), counts per phase and ``hardware``: {phase:
    {target: estimate dict (or {"target", "error"})}} for each of ``targets`` (a list, or one id).
    For ``evaluate`` also the stored accuracy, whether it was reproduced, why not, and the data."""
    targets = [targets] if isinstance(targets, str) else list(targets)
    counts, sc, tm = results["counts"], results["scalars"], results["timings"]
    s = {"accuracy": sc["accuracy"]}
    for key in ("n_test", "stored_accuracy", "reproduced", "note", "data"):
        if key in sc and "stored_accuracy" in sc:
            s[key] = sc[key]
    s.update({k: tm.get(k) for k in ("train_samples_per_s", "test_samples_per_s", "build_s") if k in tm})
    s["counts"] = {ph: c.to_dict() for ph, c in counts.items() if c is not None}
    s["hardware"] = {ph: {t: _hardware(c, t) for t in targets} for ph, c in counts.items() if c is not None}
    return s


def print_summary(s, out=None):
    out = sys.stdout if out is None else out

    def f(x):
        return "n/a" if x is None else f"{x:.1f}"
    if "stored_accuracy" in s:                     # evaluate
        out.write(f"accuracy        {100 * s['accuracy']:.2f} % on {s['n_test']} test samples\n")
        stored = s["stored_accuracy"]
        out.write(f"stored accuracy {'n/a' if stored is None else f'{100 * stored:.2f} %'} (at training): "
                  f"{s['note']}\n")
        out.write(f"test data       {s['data']}\n")
    else:
        out.write(f"accuracy        {100 * s['accuracy']:.2f} %\n")
    rates = [f"{ph} {f(s[f'{ph}_samples_per_s'])} samples/s" for ph in ("train", "test")
             if s.get(f"{ph}_samples_per_s") is not None]
    if rates or s.get("build_s") is not None:
        out.write(f"throughput      {', '.join(rates) or 'n/a'} (build {f(s.get('build_s'))} s)\n")
    for phase, c in s["counts"].items():
        n = max(c["samples"], 1)
        k = c.get("kernels_per_step")
        out.write(f"{phase} counts per sample ({c['samples']} samples"
                  + ("" if k is None else f"; {k} GPU kernels per step") + "):\n")
        for p in c["populations"]:
            out.write(f"  {p['name']:<12} n={p['n']:<6} spikes {p['spikes'] / n:12.1f}   "
                      f"neuron updates {p['neuron_updates'] / n:14.0f}\n")
        for p in c["pathways"]:
            changed = p.get("weight_changes")
            out.write(f"  {p['name']:<12} syn={p['n_synapses']:<8} events {p['synaptic_events'] / n:12.0f}   "
                      f"plasticity updates {p['plasticity_updates'] / n:10.0f}"
                      + (f" ({changed / n:.0f} changed a weight)" if changed and p["plasticity_updates"] else "")
                      + "\n")
    for phase, by_target in s["hardware"].items():
        for target, h in by_target.items():
            out.write(hardware_line(phase, target, h) + "\n")


def _interval(iv, scale):
    """`` [low, high]`` (scaled, 4 significant digits) or "" when the estimate gives none."""
    if not iv or len(iv) != 2 or any(v is None for v in iv):
        return ""
    return f" [{iv[0] * scale:.4g}, {iv[1] * scale:.4g}]"


def hardware_line(phase, target, h) -> str:
    """One cost line: energy and latency per sample (with their intervals when the target's
    model gives them), memory, evidence; or ``n/a (reason)``."""
    if "error" in h:
        return f"hardware ({phase}, {target}): n/a ({h['error']})"
    ps = h["per_sample"]
    mem = h.get("memory_bytes", {}).get("total")
    return (f"hardware ({phase}, {target}): {ps['energy_j'] * 1e3:.4g} mJ/sample"
            f"{_interval(ps.get('energy_interval_j'), 1e3)}, "
            + ("latency n/a, " if ps.get("latency_s") is None else
               f"latency {ps['latency_s'] * 1e3:.4g} ms/sample{_interval(ps.get('latency_interval_s'), 1e3)}, ")
            + (f"memory {mem / 1024:.1f} KiB, " if mem is not None else "")
            + f"evidence {h['evidence']}")


def cmd_train(args):
    from ..checks import check_memory, check_overwrite, check_run, claim
    from ..copies import Copies
    from ..experiments.train_eval import TrainConfig, copy_paths, train_and_evaluate
    from ..models import get_model_spec
    from ..store import inspect
    import contextlib
    from dataclasses import replace
    from ..files import check_plot, output_lock
    params = parse_params(args.param)
    check_run([args.model], params, args.target, args.out, backend=args.backend)
    stem = Path(args.plot or "x.png")
    plots = [args.plot] if args.copies == 1 else [str(stem.with_name(f"{stem.stem}-seed{args.seed + k}{stem.suffix}"))
                                                  for k in range(args.copies)]
    for p in plots if args.plot else ():           # before the data are loaded or anything runs
        check_plot(p, args.force, inputs=[args.out])
    get_model_spec(args.model, n_exc=args.neurons, **params)       # values, before loading data
    dataset = dataset_from_args(args)
    spec = get_model_spec(args.model, n_exc=args.neurons, n_input=dataset.x_train.shape[1], **params)
    if args.copies > 1:
        if args.backend == "runtime":
            raise ValueError("--copies runs on the cpp or cuda backend (the copies' input noise is compiled code)")
        spec = Copies.of(spec, args.copies)
    check_memory(spec, len(dataset.y_train) + len(dataset.y_test) + 1, args.chunk)
    cfg = TrainConfig(model=args.model, n_exc=args.neurons, backend=args.backend, epochs=args.epochs,
                      seed=args.seed, chunk_slots=args.chunk, params=params, copies=args.copies,
                      data={"dataset": args.dataset, "data_dir": args.data_dir, "n_train": args.n_train,
                            "n_test": args.n_test, "data_seed": args.data_seed, "source": dataset.source})
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    same = lambda held: (held["meta"] or held["config"]).get("config_key") == cfg.key()
    with claim(args.out, inspect, same, resume=not args.no_resume, force=args.force) as held, \
            contextlib.ExitStack() as copies:
        paths = copy_paths(args.out, cfg) if args.copies > 1 else [args.out]
        if args.copies > 1:          # the copies' files: locked like --out; overwritten only with --force
            for p, s in zip(paths, cfg.seeds):         # (one of this configuration: written again)
                copies.enter_context(output_lock(p))
                key = replace(cfg, seed=s).key()
                check_overwrite(p, inspect(p), (lambda h: (h["meta"] or h["config"]).get("config_key") == key)(
                    inspect(p) or {"meta": None, "config": {}}), True, args.force, complete_is_kept=True)
        log(f"{args.model}, {args.neurons} neurons" + (f" x {args.copies} copies" if args.copies > 1 else "")
            + f", {args.backend}: {len(dataset.y_train)} train / {len(dataset.y_test)} test samples of "
            f"{dataset.name} ({dataset.source})")
        # --force over a file of another kind: nothing in it to resume from
        resume = not args.no_resume and not (held and held["kind"] == "other")
        results = train_and_evaluate(cfg, dataset, out=args.out, resume=resume,
                                     progress=not (args.quiet or args.json), log=log)
        results = results if args.copies > 1 else [results]
        if args.plot:
            from ..plots import receptive_fields_from_results
            for r, p in zip(results, plots):
                receptive_fields_from_results(r, p, force=args.force)
    summaries = [summary(r, args.target) for r in results]
    if args.json:
        print(json.dumps(summaries[0] if args.copies == 1 else summaries))
        return 0
    for r, s, p in zip(results, summaries, paths):
        if args.copies > 1:
            print(f"-- copy seed {r['config']['seed']} --")
        print_summary(s)
        print(f"results written to {p}")
    if args.copies > 1:
        acc = np.array([s["accuracy"] for s in summaries]) * 100
        print(f"accuracy over {len(acc)} copies: mean {acc.mean():.2f} %, min {acc.min():.2f} %, max {acc.max():.2f} %")
    return 0


def cmd_evaluate(args):
    from ..checks import check_targets
    from ..experiments.train_eval import evaluate_file
    check_targets(args.target)
    results = evaluate_file(args.results, backend=args.backend, progress=not (args.quiet or args.json))
    s = summary(results, args.target)
    if args.json:
        print(json.dumps(s))
    else:
        print_summary(s)
    return 0


def cmd_doctor(args):
    """One line per thing brian-snn can use: ``ok`` and its version / path, or ``missing: needed
    for ...`` and why; exit 0 when the essentials (brian2, a C++ compiler) are there, else 1."""
    from ..checks import ESSENTIAL, NEEDED_FOR, environment_report
    rows = environment_report()
    names = {"compiler": "C++ compiler", "curand": "cuRAND", "gpu": "GPU"}
    for item, ok, detail in rows:
        state = "ok:" if ok else f"missing: needed for {NEEDED_FOR[item]};"
        print(f"{names.get(item, item):<13}{state} {detail}")
    bad = [names.get(i, i) for i, ok, _ in rows if i in ESSENTIAL and not ok]
    if bad:
        print(f"brian-snn cannot simulate here: {' and '.join(bad)} missing", file=sys.stderr)
        return 1
    print("essentials (brian2, C++ compiler) ok")
    return 0
