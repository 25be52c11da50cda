"""``brian-snn timestep``: TopSpark-style timestep reduction (issue 5).

``register(subparsers)`` adds the sub-command; ``func(args) -> int``.  Bad input gives one line
``brian-snn: error: ...`` and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time

from ..experiments import timestep as ts
from ..options import (_names, nonneg_number, _positive_int as _pos_int, add_backend_argument, add_chunk_argument, add_dask_arguments,
                       add_epochs_argument, add_force_argument, add_json_argument, add_model_argument,
                       add_neurons_argument, add_out_argument, add_plot_argument, add_quiet_argument,
                       add_seed_argument, add_target_argument)

DEFAULT_OUT = "timestep-results"


MAX_VALUE = 1e9          # a window or a tolerance beyond this is no experiment (and overflows a step count)


def _floats(name, positive=True):
    def check(text):
        vals = []
        for v in str(text).split(","):
            if not v.strip():
                continue
            try:
                x = float(v)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{v.strip()!r} is not a number") from None
            if not math.isfinite(x) or (positive and x <= 0):
                raise argparse.ArgumentTypeError(f"expected positive finite numbers, got {v.strip()!r}")
            if abs(x) > MAX_VALUE:
                raise argparse.ArgumentTypeError(f"expected numbers up to {MAX_VALUE:g}, got {v.strip()!r}")
            vals.append(x)
        if not vals:
            raise argparse.ArgumentTypeError("no value given")
        return vals
    return check


def _pairs(name, parse_value):
    def check(text):
        out = {}
        for item in str(text).split(","):
            if not item.strip():
                continue
            k, sep, v = item.partition("=")
            if not sep:
                raise argparse.ArgumentTypeError(f"expected NAME=VALUE pairs, got {item.strip()!r}")
            try:
                out[k.strip()] = parse_value(v)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{v.strip()!r} is not a number") from None
        return out
    return check


def _weights(text):
    try:
        return ts.check_weights(_pairs("--weights", float)(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _rules(text):
    """'default', 'none', 'from:SENSITIVITY.json', 'knob=a,...' (every model) or 'model.knob=a,...'."""
    t = str(text).strip()
    if t == "none":
        return ts.check_rules({})
    if t == "default":
        return ts.check_rules(ts.DEFAULT_RULES)
    try:
        if t.startswith("from:"):
            return rules_from_files(t[5:].split("+"))
        pairs = _pairs("--enhance", float)(t)
        if any("." in k for k in pairs):
            per = {}
            for k, a in pairs.items():
                m, dot, knob = k.partition(".")
                if not dot:
                    raise ValueError(f"mixing 'knob=a' and 'model.knob=a' in one rule list ({k!r})")
                per.setdefault(m, {})[knob] = a
            return ts.check_rules(per)
        return ts.check_rules(pairs)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def rules_from_files(paths):
    """Rules derived from analysis files in the order they were run (training rounds, then
    inference); each file's rules extend or replace the previous ones per knob."""
    rules = {}
    for p in paths:
        for m, r in ts.derived_rules(ts.load_sensitivity(p)).items():
            rules.setdefault(m, {}).update(r)
    return ts.check_rules(rules)


def _refine(text):
    k, sep, v = str(text).partition("=")
    if not sep or k.strip() not in ts.KNOBS:
        raise argparse.ArgumentTypeError(f"expected KNOB=A/B/... with a knob from {', '.join(ts.KNOBS)}, got {text!r}")
    try:
        vals = [float(x) for x in v.split("/") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"exponents must be numbers, got {v!r}") from None
    if not vals or not all(math.isfinite(x) for x in vals):
        raise argparse.ArgumentTypeError(f"expected finite exponents, got {v!r}")
    return k.strip(), vals


def _adaptive(text):
    parts = str(text).split(",")
    try:
        k, m = (int(x) for x in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--adaptive takes K,M (whole numbers, K >= 1, M >= 0), got {text!r}") from None
    if k < 1 or m < 0 or k > 10 ** 6 or m > 10 ** 6:
        raise argparse.ArgumentTypeError(f"--adaptive takes K,M with 1 <= K and 0 <= M (at most 1,000,000), got {text!r}")
    return k, m


def _nonneg_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if not 0 <= v <= 2 ** 31 - 1:
        raise argparse.ArgumentTypeError(f"expected a whole number in [0, 2^31 - 1], got {text!r}")
    return v


def register(subparsers):
    from ..data import add_data_arguments
    p = subparsers.add_parser(
        "timestep", help="TopSpark: accuracy vs timesteps, parameter enhancement, trade-off policy",
        description="Train and test each model at each presentation window (baseline, enhanced parameters, "
                    "and the full-window network inferred at the shorter window), price the exact counts "
                    "with hwmodel, and pick the window for your constraints.  One compiled binary per "
                    "(model, N): window lengths and parameters are run-time values.  Protocol: the policy "
                    "chooses on a validation part cut from the training images (--val); the selected rows and "
                    "the full window are then tested once.  A small-sample preview: it does not reproduce the "
                    "README's TopSpark table (benchmarks/topspark.py).  --adaptive K,M: TopSpark's adaptive "
                    "window -- every window becomes a maximum, and each presentation (training and inference) "
                    "ends at the first step at which the leading excitatory neuron has K spikes and leads the "
                    "runner-up by M (and the boost rule's 5 spikes are reached), inside the compiled run; "
                    "the counts hold the steps each sample really took.")
    add_model_argument(p, ts.MODELS, ["spikedyn", "diehl-cook"], many=True)
    add_neurons_argument(p, [100], many=True)
    p.add_argument("--windows", type=_floats("--windows"), default=list(ts.TimestepConfig().windows_ms), metavar="MS[,MS...]",
                   help="presentation windows in ms, multiples of dt; the longest is the reference "
                        "(default 350,200,100,50,25)")
    p.add_argument("--dt", type=_floats("--dt"), default=[0.5], metavar="MS",
                   help="time step in ms (default 0.5; compiled)")
    p.add_argument("--rest-ratio", type=nonneg_number("--rest-ratio"), default=ts.REST_RATIO, metavar="R",
                   help="rest after each window as a fraction of it (default 150/350)")
    add_seed_argument(p, "seeds of weights, order and Poisson input; accuracy is averaged over them", [0], many=True)
    add_epochs_argument(p)
    p.add_argument("--label-samples", type=_pos_int, default=None, metavar="N",
                   help="training samples used to label neurons (default: all)")
    p.add_argument("--enhance", type=_rules, default=ts.check_rules(ts.DEFAULT_RULES), metavar="RULES",
                   help="value(T) = value(T0)*(T0/T)**exponent: 'knob=exponent,...' (every model), "
                        "'model.knob=exponent,...', 'from:SENSITIVITY.json' (derived from a sensitivity run), "
                        f"'none' or 'default' ({ts.format_rules(ts.DEFAULT_RULES)}); knobs: {', '.join(ts.KNOBS)}")
    p.add_argument("--adaptive", type=_adaptive, default=None, metavar="K,M",
                   help="adaptive window (docs/topspark.md): a presentation ends as soon as the leading neuron "
                        "has K spikes and a margin of M over the runner-up (and at least the boost rule's 5 "
                        "spikes in total), at the latest after the window; training and inference; the "
                        "threshold-increment enhancement (theta_plus) then follows the steps each presentation "
                        "used, the other knobs keep the window's value; cpp or runtime backend (default: fixed "
                        "windows)")
    p.add_argument("--val", type=_nonneg_int, default=ts.TimestepConfig().n_val, metavar="N",
                   help="validation images cut (stratified, --split-seed) from the training images: the policy "
                        "chooses on them, the test images are read once (default 200; 0: the old, unprotocolled "
                        "sweep that chooses on test)")
    p.add_argument("--split-seed", type=_nonneg_int, default=0, metavar="S", help="seed of the validation cut (default 0)")
    p.add_argument("--variants", type=_names("variant", ts.VARIANTS), default=list(ts.VARIANTS), metavar="V[,V...]",
                   help=f"runs per window (default all: {','.join(ts.VARIANTS)})")
    g = p.add_argument_group("policy")
    g.add_argument("--tolerance", type=nonneg_number("--tolerance"), default=2.0, metavar="POINTS",
                   help="accuracy may drop this many percentage points below the full window (default 2)")
    g.add_argument("--weights", type=_weights, default=dict(ts.DEFAULT_WEIGHTS), metavar="NAME=W[,...]",
                   help="objective weights, e.g. accuracy=1,latency=1,energy_train=1,energy_inference=1 (default all 1)")
    g.add_argument("--policy-variants", type=_names("variant", ts.VARIANTS), default=None, metavar="V[,V...]",
                   help="rows the policy may pick (default: all)")
    g.add_argument("--max-latency", type=nonneg_number("--max-latency"), default=None, metavar="MS",
                   help="latency budget per inference sample, ms")
    g.add_argument("--max-energy-train", type=nonneg_number("--max-energy-train"), default=None, metavar="MJ",
                   help="training energy budget per sample, mJ")
    g.add_argument("--max-energy-inference", type=nonneg_number("--max-energy-inference"), default=None, metavar="MJ",
                   help="inference energy budget per sample, mJ")
    add_target_argument(g, ts.JETSON, "target the rows are priced on", many=False)
    g.add_argument("--from", dest="from_file", metavar="JSON",
                   help="re-run only the policy on saved results (a timestep.json or its folder): no simulation")
    s = p.add_argument_group("sensitivity analysis")
    s.add_argument("--sensitivity", nargs="?", const="train", choices=("train", "infer"),
                   help="instead of the sweep: one-at-a-time sensitivity at --sensitivity-window of the "
                        "training knobs ('train', default) or of the inference knobs on the network trained "
                        "with --enhance ('infer')")
    s.add_argument("--on-top", action="store_true",
                   help="with --sensitivity train: probe each knob on top of the --enhance rules (the next "
                        "round of a greedy forward selection; 'from:ROUND1.json+ROUND2.json' combines them)")
    s.add_argument("--sensitivity-window", type=_floats("--sensitivity-window"), default=[50.0], metavar="MS",
                   help="window of the sensitivity analysis (default 50)")
    s.add_argument("--knobs", type=_names("knob", tuple(ts.KNOBS)), default=None, metavar="K[,K...]",
                   help=f"knobs to test (default: all for train, the run-time inference knobs for infer; "
                        f"{','.join(ts.KNOBS)})")
    s.add_argument("--alphas", type=_floats("--alphas", positive=False), default=list(ts.SENSITIVITY_ALPHAS), metavar="A[,A...]",
                   help="exponents tested per knob (default -0.5,0.5,1)")
    s.add_argument("--refine", type=_refine, action="append", default=[], metavar="KNOB=A/B/...",
                   help="extra exponents for one knob (repeatable), e.g. --refine threshold=-0.25/-0.1/0.1")
    r = p.add_argument_group("running")
    add_backend_argument(r)
    add_chunk_argument(r)
    add_dask_arguments(r)
    r.add_argument("--serial", action="store_true", help="no Dask: run everything in this process")
    add_out_argument(r, DEFAULT_OUT, "folder for timestep.json, timestep.png and the per-run results "
                                     "(finished runs are reused)", folder=True)
    add_plot_argument(r, "plot path (default: OUT/timestep.png)")
    add_json_argument(r)
    add_quiet_argument(r)
    add_force_argument(r, "run the sweep again when --out holds a finished one (finished jobs in OUT/jobs "
                          "are reused either way)")
    add_data_arguments(p)
    p.set_defaults(func=cmd_timestep)
    return p


def cmd_timestep(args) -> int:
    try:
        return _run(args)
    except (ValueError, RuntimeError, OSError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"brian-snn: error: {msg}", file=sys.stderr)
        return 2


def _budgets(args):
    return {"max_latency_s": None if args.max_latency is None else args.max_latency * 1e-3,
            "max_energy_train_j": None if args.max_energy_train is None else args.max_energy_train * 1e-3,
            "max_energy_inference_j": None if args.max_energy_inference is None else args.max_energy_inference * 1e-3}


def _run(args) -> int:
    log = (lambda *a: None) if (args.json or args.quiet) else (lambda *a: print(*a, file=sys.stderr, flush=True))
    if len(args.dt) != 1:
        raise ValueError("--dt takes one value")
    if args.from_file:
        res = ts.tabulate(ts.load(args.from_file), args.target, args.tolerance, args.weights,
                          args.policy_variants, **_budgets(args))
        return _report(args, res, None)
    data = {"dataset": args.dataset, "data_dir": args.data_dir, "n_train": args.n_train, "n_test": args.n_test,
            "data_seed": args.data_seed}
    cfg = ts.TimestepConfig(models=tuple(args.model), neurons=tuple(args.neurons), windows_ms=tuple(args.windows),
                            dt_ms=args.dt[0], rest_ratio=args.rest_ratio, seeds=tuple(args.seed),
                            epochs=args.epochs, label_samples=args.label_samples, rules=args.enhance,
                            variants=tuple(args.variants), backend=args.backend, chunk_slots=args.chunk, data=data,
                            n_val=args.val, split_seed=args.split_seed,
                            stop_lead=args.adaptive[0] if args.adaptive else 0,
                            stop_margin=args.adaptive[1] if args.adaptive else 0)
    if args.adaptive and args.backend == "cuda":
        raise ValueError("--adaptive needs the cpp or runtime backend (a cuda run cannot end a presentation early)")
    from ..checks import check_memory, check_run
    from ..data import dataset_from_args
    from ..models import get_model_spec
    if args.on_top and args.sensitivity != "train":
        raise ValueError("--on-top goes with --sensitivity train")
    if args.sensitivity and len(args.sensitivity_window) != 1:
        raise ValueError("--sensitivity-window takes one value")
    check_run(args.model, {}, args.target, args.out, out_is_dir=True, backend=args.backend,
              scheduler=None if args.serial else args.scheduler)
    from ..files import check_plot
    check_plot(args.plot, args.force)
    ds = dataset_from_args(args)            # fail early (and download if needed) in this process
    check_memory([get_model_spec(m, n_exc=max(args.neurons), n_input=ds.x_train.shape[1]) for m in args.model],
                 len(ds.y_train) + len(ds.y_test) + 1, args.chunk)
    with _claim(args):
        log(f"data: {ds.source or args.dataset}: {len(ds.y_train)} train / {len(ds.y_test)} test")
        return _sweep(args, cfg, log)


def _claim(args):
    """The output folder for this run; its result file (finished run) is kept without --force.
    Finished jobs under OUT/jobs are reused either way."""
    from pathlib import Path
    from ..checks import claim
    from ..files import remove_stale
    name = {None: "timestep.json", "train": "sensitivity.json", "infer": "inference_sensitivity.json"}[args.sensitivity]
    remove_stale(Path(args.out) / "jobs", [re.compile(r".+\.(\d+)\.tmp$")])   # of killed workers

    def held(out):
        f = Path(out) / name
        return {"kind": "finished", "config": {}} if f.exists() else None
    return claim(args.out, held, force=args.force)


def _sweep(args, cfg, log):
    from pathlib import Path
    if args.sensitivity:
        w = args.sensitivity_window[0]
        extra = {}
        for k, vals in args.refine:
            extra.setdefault(k, []).extend(vals)
        res = ts.run_sensitivity(cfg, w, args.knobs, args.alphas, out_dir=args.out, scheduler=args.scheduler,
                                 workers=args.workers, serial=args.serial, log=log, extra_alphas=extra,
                                 phase=args.sensitivity, on_top=args.on_top)
        derived = ts.derived_rules(res)
        if args.json:
            print(json.dumps(dict({k: res[k] for k in ("window_ms", "alphas", "rows", "wall_s")}, rules=derived),
                             default=ts._json_default))
        else:
            sys.stdout.write(ts.format_sensitivity(res["rows"], w, cfg.base_window_ms, args.sensitivity))
            print(f"rules derived: {ts.format_rules(derived)}")
            name = "sensitivity" if args.sensitivity == "train" else "inference_sensitivity"
            print(f"saved {Path(args.out) / (name + '.json')} and {name}.png ({res['wall_s']:.0f} s)")
        return 0
    t0 = time.perf_counter()
    res = ts.run_timestep(cfg, out_dir=args.out, target=args.target, tolerance_pp=args.tolerance,
                          weights=args.weights, policy_variants=args.policy_variants, scheduler=args.scheduler,
                          workers=args.workers, serial=args.serial, log=log, **_budgets(args))
    res["wall_s"] = time.perf_counter() - t0
    return _report(args, res, args.out)


def _report(args, res, out_dir):
    from pathlib import Path
    saved = None
    if out_dir is not None:
        saved = ts.save(res, out_dir, plot=False)
    plot = args.plot or (None if out_dir is None else str(Path(out_dir) / "timestep.png"))
    if plot:
        ts.plot_timestep(res, plot, force=args.force or not args.plot)
    if args.json:
        print(json.dumps({"rows": res["rows"], "selection": res["selection"], "target": res["target"],
                          "wall_s": res.get("wall_s")}, default=ts._json_default))
        return 0
    sys.stdout.write(ts.format_preview(res))
    sys.stdout.write(ts.format_table(res["rows"], res["selection"], res["target"]))
    sys.stdout.write(ts.format_test(res))
    if saved:
        print(f"saved {saved} and {plot} (run time {res.get('wall_s', 0):.0f} s)")
    elif plot:
        print(f"plot {plot}")
    return 0
