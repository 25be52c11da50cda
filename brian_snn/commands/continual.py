"""``brian-snn continual | compare | search``: SpikeDyn in a dynamic environment (issue 4).

``register(subparsers)`` adds the three sub-commands; each sets ``func(args) -> int``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from ..experiments.continual import DEFAULT_TASKS, MODEL_CHOICES, parse_tasks
from ..checks import OWN_OPTIONS, check_memory, check_own, check_run, check_targets, claim
from ..options import (_int_list, _positive_int as _pos_int, add_backend_argument, add_chunk_argument,
                       add_dask_arguments, add_force_argument, add_json_argument, add_model_argument,
                       add_neurons_argument, add_no_resume_argument, add_out_argument, add_param_argument,
                       add_plot_argument, add_quiet_argument, add_seed_argument, add_target_argument,
                       checked_by, nonneg_number, parse_params)
from ..experiments.energy import JETSON


# ------------------------------------------------------------------------------------------
# argument types (argparse turns ArgumentTypeError into a one-line usage error, exit 2)
# ------------------------------------------------------------------------------------------
_tasks = checked_by(parse_tasks)




def _bits(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"weight bits: expected an integer 0..32, got {text!r}") from None
    if not 0 <= v <= 32:
        raise argparse.ArgumentTypeError(f"weight bits: expected an integer 0..32 (0 = full precision), got {text!r}")
    return v


# decimal kB/MB, binary KiB/MiB; a bare number is bytes / joules per sample
parse_bytes = nonneg_number("memory budget", {"": 1, "b": 1, "kb": 1e3, "k": 1e3, "mb": 1e6, "m": 1e6, "gb": 1e9,
                                          "g": 1e9, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3},
                        "a size like 3000KB, 2.5MB or 1048576")
parse_energy = nonneg_number("energy budget", {"": 1, "j": 1, "mj": 1e-3, "uj": 1e-6},
                         "joules per sample like 0.5 or 500mJ")


# ------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------
def add_protocol_arguments(p, samples=300, label=40, test=60):
    from ..data import add_data_arguments
    g = p.add_argument_group("protocol")
    g.add_argument("--tasks", type=_tasks, default=DEFAULT_TASKS,
                   help=f"task order: classes per task, e.g. 0,1,2 or 0+1,2+3 (default {DEFAULT_TASKS})")
    g.add_argument("--samples-per-task", type=_pos_int, default=samples, metavar="N",
                   help=f"training samples per task, equal for all tasks (default {samples})")
    g.add_argument("--label-per-class", type=_pos_int, default=label, metavar="N",
                   help=f"already-seen training samples per learned class used to label neurons (default {label})")
    g.add_argument("--test-per-class", type=_pos_int, default=test, metavar="N",
                   help=f"test samples per learned class (default {test})")
    add_seed_argument(g, "seed of the initial weights, the sample choice and the Poisson input")
    add_backend_argument(g)
    add_chunk_argument(g)
    add_param_argument(g, "decay=0.002")
    add_quiet_argument(g)
    add_no_resume_argument(g)
    add_data_arguments(p)


def _base_config(args, model="spikedyn", n=400, weight_bits=0):
    from ..experiments.continual import ContinualConfig
    return ContinualConfig(model=model, n_exc=n, backend=args.backend, tasks=args.tasks,
                           samples_per_task=args.samples_per_task, label_per_class=args.label_per_class,
                           test_per_class=args.test_per_class, seed=args.seed, chunk_slots=args.chunk,
                           weight_bits=weight_bits, params=parse_params(args.param),
                           data={"dataset": args.dataset, "data_dir": args.data_dir, "n_train": args.n_train,
                                 "n_test": args.n_test, "data_seed": args.data_seed})


def _log(args):
    return (lambda *a: None) if getattr(args, "json", False) else (lambda *a: print(*a, file=sys.stderr))


def register(subparsers):
    c = subparsers.add_parser("continual", help="continual unsupervised learning: classes arrive one task at a time",
                              description="Digit classes arrive one task at a time (no replay, learning always on); "
                                          "after each task: accuracy on the newest and on all earlier tasks.")
    add_model_argument(c, MODEL_CHOICES, "spikedyn")
    add_neurons_argument(c, 400)
    c.add_argument("--weight-bits", type=_bits, default=0, metavar="B",
                   help="hold input weights at this many bits in the simulation (0 = full precision, default)")
    add_out_argument(c, "continual.h5", "results HDF5, checkpointed after each task")
    add_plot_argument(c, "accuracy-matrix heat map (default: --out with .png)")
    add_target_argument(c, JETSON, "target of the energy line")
    add_json_argument(c)
    add_force_argument(c, "run again over finished results, or overwrite another configuration's checkpoint "
                          "or another kind of file in --out")
    add_protocol_arguments(c)
    c.set_defaults(func=cmd_continual)

    m = subparsers.add_parser("compare", help="train models (baselines vs SpikeDyn) in the continual protocol and "
                                              "tabulate accuracy, energy, memory, ops (not 'hwmodel compare', which "
                                              "prices one counts file on several targets)",
                              description="Train each model at each size with identical settings in the continual "
                                          "protocol and tabulate new/old-task accuracy, energy per sample, memory "
                                          "and operation counts: a comparison of models (it runs simulations).  To "
                                          "price one network's counts on several hardware targets without training, "
                                          "use 'hwmodel compare'.")
    add_model_argument(m, MODEL_CHOICES, ["diehl-cook", "asp", "spikedyn"], many=True)
    add_neurons_argument(m, [200, 400], many=True)
    add_out_argument(m, "continual-compare", "folder for the per-run HDF5/PNG files and the table", folder=True,
                     aliases=("--out-dir",))
    add_target_argument(m, f"{JETSON},loihi1", "targets priced, the first one in the table", aliases=("--targets",))
    add_json_argument(m)
    add_dask_arguments(m, workers=1)
    add_protocol_arguments(m)
    m.set_defaults(func=cmd_compare)

    s = subparsers.add_parser("search", help="memory/energy-constrained model search on Dask; Pareto front",
                              description="Candidates over excitatory neurons and weight bits; analytic screen by "
                                          "hwmodel, short continual runs on Dask workers, Pareto front and selection.")
    add_model_argument(s, MODEL_CHOICES, "spikedyn")
    add_neurons_argument(s, [100, 200, 400], many=True)
    s.add_argument("--weight-bits", type=_int_list("--weight-bits", 1, 32), default=[4, 8, 16, 32], metavar="B[,B...]",
                   help="weight bits of the candidates, comma-separated, 32 = full precision (default 4,8,16,32)")
    s.add_argument("--max-memory", type=parse_bytes, default=None, metavar="SIZE",
                   help="memory budget, e.g. 3000KB (hwmodel footprint; default: none)")
    s.add_argument("--max-energy", type=parse_energy, default=None, metavar="J",
                   help="energy budget per sample, e.g. 1.2 (J) or 900mJ (default: none)")
    s.add_argument("--energy-phase", choices=("training", "inference"), default="training",
                   help="which energy per sample the budget and the front use (default training)")
    add_target_argument(s, JETSON, "target of the screen and the energy budget", many=False)
    add_dask_arguments(s)
    add_out_argument(s, "search", "folder for the candidate HDF5 files, search.json and pareto.png", folder=True,
                     aliases=("--out-dir",))
    add_json_argument(s)
    s.add_argument("--validation", type=_validation, default=0.2, metavar="N|F",
                   help="validation images the candidates are compared on, a count or a fraction of the "
                        "training images (default 0.2; the selected one is then tested once on the test "
                        "images); 0 compares them on the test images (not the results protocol)")
    add_protocol_arguments(s, samples=100, label=20, test=20)
    s.set_defaults(func=cmd_search)
    return subparsers


def _validation(text):
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v >= 0) or (v >= 1 and not v.is_integer()):
        raise argparse.ArgumentTypeError(f"--validation must be a count or a fraction in [0, 1), got {text!r}")
    return v


def _load_data(args):
    from ..data import dataset_from_args
    return dataset_from_args(args)


# weight_bits has an option of its own here (the initial weights are quantised with it)
OWN = dict(OWN_OPTIONS, weight_bits="use --weight-bits")


def _specs(models, sizes, ds, args):
    """The largest network of each model (memory check before any build)."""
    from ..experiments.continual import model_fields, model_spec
    params = parse_params(args.param)
    return [model_spec(m, max(sizes), ds.x_train.shape[1], 0,
                       **{k: v for k, v in params.items() if k in model_fields(m)}) for m in models]


def _images(ds):
    return len(ds.y_train) + len(ds.y_test) + 1          # the image table every run loads


# ------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------
def cmd_continual(args) -> int:
    from pathlib import Path
    from ..experiments.compare import run_row
    from ..files import check_plot
    from ..store import inspect
    from ..experiments.continual import SCHEMA, model_spec, plot_matrix, run_continual
    tgt = check_targets(args.target)
    cfg = _base_config(args, args.model, args.neurons, args.weight_bits)
    check_run([cfg.model], cfg.params, out=args.out, backend=cfg.backend, own=OWN)
    model_spec(cfg.model, cfg.n_exc, 784, cfg.weight_bits, **cfg.params)      # fail fast on bad values
    ds = _load_data(args)
    check_memory(_specs([cfg.model], [cfg.n_exc], ds, args), _images(ds), cfg.chunk_slots)
    log = _log(args)
    with claim(args.out, lambda p: inspect(p, SCHEMA), lambda held: _same_run(held, cfg, ds),
               resume=not args.no_resume, force=args.force, complete_is_kept=True) as held:
        # --force: run again over finished results or a file of another kind
        resume = not args.no_resume and not (held and args.force and held["kind"] in ("finished", "other"))
        reported = bool(resume and held and held["kind"] == "finished")      # nothing is written
        png = args.plot or str(Path(args.out).with_suffix(".png"))
        # the heat map: a new file, or --force; the one of results reported again is kept as it is
        keep_png = reported and args.plot is None and Path(png).is_file()
        if not keep_png:
            check_plot(png, args.force, inputs=[args.out])
        log(f"{cfg.model}, N={cfg.n_exc}, tasks {cfg.tasks}, {cfg.samples_per_task} samples/task on {ds.source}")
        res = run_continual(cfg, ds, out=args.out, resume=resume, progress=not (args.quiet or args.json), log=log)
        if not keep_png:
            plot_matrix(res["arrays"]["accuracy_matrix"], cfg.task_list(), png,
                        title=f"{cfg.model} N={cfg.n_exc}: accuracy after each task", force=args.force)
    row = run_row(res, tgt)
    if args.json:
        print(json.dumps({"accuracy_matrix": res["arrays"]["accuracy_matrix"].tolist(), "summary": res["scalars"],
                          "row": row, "out": args.out, "plot": png}, default=_jsonable))
        return 0
    A = res["arrays"]["accuracy_matrix"]
    tasks = cfg.task_list()
    names = ["+".join(map(str, t)) for t in tasks]
    print("accuracy % (row: after learning task, column: tested task)")
    print("      " + "".join(f"{n:>6}" for n in names))
    for t, n in enumerate(names):
        print(f"{n:>6}" + "".join("      " if math.isnan(v) else f"{100 * v:6.1f}" for v in A[t]))
    sc = res["scalars"]
    print(f"most recent task {100 * sc['mean_new']:.1f} %, previous tasks {_pct(sc['mean_old'])} "
          f"(means over tasks 2..{len(tasks)}), final average {100 * sc['final_average']:.1f} %")
    e = row["energy"][tgt[0]]
    for ph in ("training", "inference"):
        if "error" in e[ph]:
            print(f"{ph}: {tgt[0]}: n/a ({e[ph]['error']})")
        else:
            print(f"{ph}: {1e3 * e[ph]['energy_j_per_sample']:.2f} mJ/sample on {e[ph]['target']}, memory "
                  f"{e[ph]['memory_bytes'] / 1024:.0f} KiB, evidence {e[ph]['evidence']}")
    print(f"finished results of {args.out} reported again (nothing written), heat map {png}" if reported
          else f"results written to {args.out}, heat map {png}")
    return 0


def _same_run(held, cfg, ds):
    """Whether run_continual would resume (or report) the run stored in ``held``."""
    from ..encoding import Presentation
    from ..experiments.continual import _empty_results, _same_run as same, model_spec
    spec = model_spec(cfg.model, cfg.n_exc, ds.x_train.shape[1], cfg.weight_bits, **cfg.params)
    return same(held["config"], _empty_results(cfg, spec, Presentation(**cfg.presentation), 1)["config"])


def _pct(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def _jsonable(x):
    import numpy as np
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def cmd_compare(args) -> int:
    from ..experiments.compare import check_params as check_compared, format_table, run_comparison
    from ..experiments.continual import model_fields, model_spec
    tgts = check_targets(args.target)
    base = _base_config(args)
    check_compared(base.params, args.model)
    check_own(base.params)
    check_run(out=args.out, out_is_dir=True, backend=base.backend, scheduler=args.scheduler)
    for m in args.model:                   # fail fast on bad values
        model_spec(m, 10, 784, 0, **{k: v for k, v in base.params.items() if k in model_fields(m)})
    ds = _load_data(args)
    check_memory(_specs(args.model, args.neurons, ds, args), _images(ds), base.chunk_slots)
    log = _log(args)
    t0 = time.perf_counter()
    with claim(args.out):
        summary = run_comparison(base, models=args.model, sizes=args.neurons, out_dir=args.out,
                                 targets=tgts, resume=not args.no_resume,
                                 progress=not (args.quiet or args.json), log=log,
                                 workers=args.workers, scheduler=args.scheduler)
    if args.json:
        print(json.dumps(summary, default=_jsonable))
    else:
        print(format_table(summary))
        print(f"wall time {time.perf_counter() - t0:.0f} s; files in {args.out}/")
    return 0


def cmd_search(args) -> int:
    from pathlib import Path
    from ..experiments.search import candidate_grid, format_search, plot_pareto, run_search
    tgt = check_targets(args.target)[0]
    base = _base_config(args, args.model)
    check_run([args.model], base.params, out=args.out, out_is_dir=True, backend=base.backend, own=OWN,
              scheduler=args.scheduler)
    cands = candidate_grid(args.neurons, args.weight_bits, (args.model,))
    ds = _load_data(args)                    # fail fast on bad data options (workers load it again)
    check_memory(_specs([args.model], args.neurons, ds, args), _images(ds), base.chunk_slots)
    out = Path(args.out)
    with claim(out):
        n_val = int(round(args.validation * ds.n_train)) if args.validation < 1 else int(args.validation)
        if n_val >= ds.n_train:
            raise ValueError(f"--validation {n_val} leaves no training images (the data set has {ds.n_train})")
        res = run_search(cands, base, max_memory=args.max_memory, max_energy=args.max_energy,
                         energy_phase=args.energy_phase, target=tgt, scheduler=args.scheduler,
                         workers=args.workers, out_dir=out, log=_log(args), n_val=n_val or None)
        out.mkdir(parents=True, exist_ok=True)
        (out / "search.json").write_text(json.dumps(res, indent=1, default=_jsonable))
        plot_pareto(res, out / "pareto.png")
    if args.json:
        print(json.dumps(res, default=_jsonable))
    else:
        print(format_search(res))
        print(f"search took {res['wall_s']:.0f} s; {out}/search.json, {out}/pareto.png")
    return 0
