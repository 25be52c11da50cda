"""``brian-snn continual | compare | search``: SpikeDyn in a dynamic environment (issue 4).

``register(subparsers)`` adds the three sub-commands; each sets ``func(args) -> int``.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time

from .continual import DEFAULT_TASKS, MODEL_CHOICES, parse_tasks
from ..checks import OWN_OPTIONS, check_memory, check_own, check_run, claim
from ..cli import _positive_int as _pos_int, add_force_argument, parse_params
from .energy import JETSON


# ------------------------------------------------------------------------------------------
# argument types (argparse turns ArgumentTypeError into a one-line usage error, exit 2)
# ------------------------------------------------------------------------------------------
def _int_list(name, lo=1, hi=None):
    def check(text):
        try:
            vals = [int(v) for v in str(text).split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected comma-separated integers, got {text!r}") from None
        if not vals:
            raise argparse.ArgumentTypeError(f"{name}: no value given")
        for v in vals:
            if v < lo or (hi is not None and v > hi):
                rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
                raise argparse.ArgumentTypeError(f"{name}: {v} is outside {rng}")
        return vals
    return check


def _models(text):
    vals = [v.strip() for v in str(text).split(",") if v.strip()]
    bad = [v for v in vals if v not in MODEL_CHOICES]
    if bad or not vals:
        raise argparse.ArgumentTypeError(f"unknown model {(bad or [text])[0]!r}; choose from {', '.join(MODEL_CHOICES)}")
    return vals


def _model(text):
    return _models(text)[0] if "," not in str(text) else _bad_single(text)


def _bad_single(text):
    raise argparse.ArgumentTypeError(f"one model expected, got {text!r}")


def _tasks(text):
    try:
        parse_tasks(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text




def _bits(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"weight bits: expected an integer 0..32, got {text!r}") from None
    if not 0 <= v <= 32:
        raise argparse.ArgumentTypeError(f"weight bits: expected an integer 0..32 (0 = full precision), got {text!r}")
    return v


_UNITS = {"": 1, "b": 1, "kb": 1e3, "k": 1e3, "mb": 1e6, "m": 1e6, "gb": 1e9, "g": 1e9,
          "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3}


def parse_bytes(text):
    """'3000KB' -> 3e6 (decimal kB/MB, binary KiB/MiB); a bare number is bytes."""
    m = re.fullmatch(r"\s*([-+0-9.eE]+|nan|inf|-inf)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"memory budget: expected a size like 3000KB, 2.5MB or 1048576, got {text!r}")
    try:
        v = float(m.group(1)) * _UNITS[m.group(2).lower()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"memory budget: {text!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"memory budget must be a finite size >= 0, got {text!r}")
    return v


_E_UNITS = {"": 1, "j": 1, "mj": 1e-3, "uj": 1e-6}


def parse_energy(text):
    """'0.5' (J) or '500mJ' -> joules per sample."""
    m = re.fullmatch(r"\s*([-+0-9.eE]+|nan|inf|-inf)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _E_UNITS:
        raise argparse.ArgumentTypeError(f"energy budget: expected joules per sample like 0.5 or 500mJ, got {text!r}")
    try:
        v = float(m.group(1)) * _E_UNITS[m.group(2).lower()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"energy budget: {text!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"energy budget must be a finite number >= 0, got {text!r}")
    return v


# ------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------
def add_protocol_arguments(p, samples=300, label=40, test=60):
    from ..backend import BACKENDS
    from ..data import add_data_arguments
    g = p.add_argument_group("protocol")
    g.add_argument("--tasks", type=_tasks, default=DEFAULT_TASKS,
                   help=f"task order: classes per task, e.g. 0,1,2 or 0+1,2+3 (default {DEFAULT_TASKS})")
    g.add_argument("--samples-per-task", type=_pos_int, default=samples,
                   help=f"training samples per task, equal for all tasks (default {samples})")
    g.add_argument("--label-per-class", type=_pos_int, default=label,
                   help=f"already-seen training samples per learned class used to label neurons (default {label})")
    g.add_argument("--test-per-class", type=_pos_int, default=test,
                   help=f"test samples per learned class (default {test})")
    g.add_argument("--seed", type=int, default=0, help="seed of weights, sample choice and Poisson input")
    g.add_argument("--backend", choices=BACKENDS, default="cpp")
    g.add_argument("--chunk", type=_pos_int, default=250, help="presentations per compiled run (default 250)")
    g.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model parameter (repeatable), e.g. --param decay=0.002")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    g.add_argument("--no-resume", action="store_true", help="start again even if the output holds a checkpoint")
    add_data_arguments(p)


def _base_config(args, model="spikedyn", n=400, weight_bits=0):
    from .continual import ContinualConfig
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
    c.add_argument("--model", type=_model, default="spikedyn", help=f"one of {', '.join(MODEL_CHOICES)} (default spikedyn)")
    c.add_argument("--neurons", type=_pos_int, default=400, help="excitatory neurons (default 400)")
    c.add_argument("--weight-bits", type=_bits, default=0,
                   help="hold input weights at this many bits in the simulation (0 = full precision, default)")
    c.add_argument("--out", default="continual.h5", help="results HDF5, checkpointed after each task (default continual.h5)")
    c.add_argument("--plot", metavar="PNG", help="accuracy-matrix heat map (default: OUT with .png)")
    c.add_argument("--target", default=JETSON,
                   help=f"hwmodel target for the energy line (default {JETSON})")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    add_force_argument(c)
    add_protocol_arguments(c)
    c.set_defaults(func=cmd_continual)

    m = subparsers.add_parser("compare", help="baselines vs SpikeDyn in the continual protocol: accuracy, energy, memory, ops",
                              description="Run each model at each size with identical settings and tabulate "
                                          "new/old-task accuracy, energy per sample, memory and operation counts.")
    m.add_argument("--models", type=_models, default=["diehl-cook", "asp-decay", "spikedyn"],
                   help="comma list (default diehl-cook,asp-decay,spikedyn)")
    m.add_argument("--neurons", type=_int_list("--neurons"), default=[200, 400], help="comma list (default 200,400)")
    m.add_argument("--out-dir", default="continual-compare", help="per-run HDF5/PNG and the table (default continual-compare)")
    m.add_argument("--targets", default=f"{JETSON},loihi1",
                   help=f"hwmodel targets, the first one in the table (default {JETSON},loihi1)")
    m.add_argument("--json", action="store_true")
    add_protocol_arguments(m)
    m.set_defaults(func=cmd_compare)

    s = subparsers.add_parser("search", help="memory/energy-constrained model search on Dask; Pareto front",
                              description="Candidates over excitatory neurons and weight bits; analytic screen by "
                                          "hwmodel, short continual runs on Dask workers, Pareto front and selection.")
    s.add_argument("--model", type=_model, default="spikedyn")
    s.add_argument("--neurons", type=_int_list("--neurons"), default=[100, 200, 400], help="comma list (default 100,200,400)")
    s.add_argument("--weight-bits", type=_int_list("--weight-bits", 1, 32), default=[4, 8, 16, 32],
                   help="comma list, 32 = full precision (default 4,8,16,32)")
    s.add_argument("--max-memory", type=parse_bytes, default=None, help="memory budget, e.g. 3000KB (hwmodel footprint)")
    s.add_argument("--max-energy", type=parse_energy, default=None, help="energy budget per sample, e.g. 1.2 (J) or 900mJ")
    s.add_argument("--energy-phase", choices=("training", "inference"), default="training",
                   help="which energy per sample the budget and the front use (default training)")
    s.add_argument("--target", default=JETSON, help=f"hwmodel target (default {JETSON})")
    s.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="Dask scheduler address (default: a LocalCluster on this machine)")
    s.add_argument("--workers", type=_pos_int, default=2, help="LocalCluster worker processes (default 2)")
    s.add_argument("--out-dir", default="search", help="candidate HDF5 files, search.json, pareto.png (default search)")
    s.add_argument("--json", action="store_true")
    add_protocol_arguments(s, samples=100, label=20, test=30)
    s.set_defaults(func=cmd_search)
    return subparsers


def _load_data(args):
    from ..data import dataset_from_args
    return dataset_from_args(args)


def _targets(text):
    from ..checks import check_targets
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    if not names:
        raise ValueError("--targets: no target given")
    check_targets(names)
    return tuple(names)


# weight_bits has an option of its own here (the initial weights are quantised with it)
OWN = dict(OWN_OPTIONS, weight_bits="use --weight-bits")


def _specs(models, sizes, ds, args):
    """The largest network of each model (memory check before any build)."""
    from .continual import model_fields, model_spec
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
    from .compare import run_row
    from ..store import inspect
    from .continual import SCHEMA, model_spec, plot_matrix, run_continual
    tgt = _targets(args.target)
    cfg = _base_config(args, args.model, args.neurons, args.weight_bits)
    check_run([cfg.model], cfg.params, out=args.out, backend=cfg.backend, own=OWN)
    model_spec(cfg.model, cfg.n_exc, 784, cfg.weight_bits, **cfg.params)      # fail fast on bad values
    ds = _load_data(args)
    check_memory(_specs([cfg.model], [cfg.n_exc], ds, args), _images(ds), cfg.chunk_slots)
    log = _log(args)
    with claim(args.out, lambda p: inspect(p, SCHEMA), lambda held: _same_run(held, cfg, ds),
               resume=not args.no_resume, force=args.force, complete_is_kept=True) as held:
        log(f"{cfg.model}, N={cfg.n_exc}, tasks {cfg.tasks}, {cfg.samples_per_task} samples/task on {ds.source}")
        # --force: run again over finished results or a file of another kind
        resume = not args.no_resume and not (held and args.force and held["kind"] in ("finished", "other"))
        res = run_continual(cfg, ds, out=args.out, resume=resume, progress=not (args.quiet or args.json), log=log)
    png = args.plot or str(Path(args.out).with_suffix(".png"))
    plot_matrix(res["arrays"]["accuracy_matrix"], cfg.task_list(), png,
                title=f"{cfg.model} N={cfg.n_exc}: accuracy after each task")
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
    print(f"results written to {args.out}, heat map {png}")
    return 0


def _same_run(held, cfg, ds):
    """Whether run_continual would resume (or report) the run stored in ``held``."""
    from ..encoding import Presentation
    from .continual import _empty_results, _same_run as same, model_spec
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
    from .compare import check_params as check_compared, format_table, run_comparison
    from .continual import model_fields, model_spec
    tgts = _targets(args.targets)
    base = _base_config(args)
    check_compared(base.params, args.models)
    check_own(base.params)
    check_run(out=args.out_dir, out_is_dir=True, backend=base.backend)
    for m in args.models:                   # fail fast on bad values
        model_spec(m, 10, 784, 0, **{k: v for k, v in base.params.items() if k in model_fields(m)})
    ds = _load_data(args)
    check_memory(_specs(args.models, args.neurons, ds, args), _images(ds), base.chunk_slots)
    log = _log(args)
    t0 = time.perf_counter()
    with claim(args.out_dir):
        summary = run_comparison(base, ds, models=args.models, sizes=args.neurons, out_dir=args.out_dir,
                                 targets=tgts, resume=not args.no_resume,
                                 progress=not (args.quiet or args.json), log=log)
    if args.json:
        print(json.dumps(summary, default=_jsonable))
    else:
        print(format_table(summary))
        print(f"wall time {time.perf_counter() - t0:.0f} s; files in {args.out_dir}/")
    return 0


def cmd_search(args) -> int:
    from pathlib import Path
    from .search import candidate_grid, format_search, plot_pareto, run_search
    tgt = _targets(args.target)[0]
    base = _base_config(args, args.model)
    check_run([args.model], base.params, out=args.out_dir, out_is_dir=True, backend=base.backend, own=OWN)
    cands = candidate_grid(args.neurons, args.weight_bits, (args.model,))
    ds = _load_data(args)                    # fail fast on bad data options (workers load it again)
    check_memory(_specs([args.model], args.neurons, ds, args), _images(ds), base.chunk_slots)
    out = Path(args.out_dir)
    with claim(out):
        res = run_search(cands, base, max_memory=args.max_memory, max_energy=args.max_energy,
                         energy_phase=args.energy_phase, target=tgt, scheduler=args.scheduler,
                         workers=args.workers, out_dir=out, log=_log(args))
        out.mkdir(parents=True, exist_ok=True)
        (out / "search.json").write_text(json.dumps(res, indent=1, default=_jsonable))
        plot_pareto(res, out / "pareto.png")
    if args.json:
        print(json.dumps(res, default=_jsonable))
    else:
        print(format_search(res))
        print(f"search took {res['wall_s']:.0f} s; {out}/search.json, {out}/pareto.png")
    return 0


def main(argv=None) -> int:
    """``python -m brian_snn.experiments.continual_cmd continual|compare|search ...``"""
    from ..cli import main as cli_main
    return cli_main(argv)

if __name__ == "__main__":
    sys.exit(main())
