"""``brian-snn solsa``: train SOLSA / BPTT / the simplified online rule and report accuracy + learning memory.

``register(subparsers)`` adds the sub-command; ``run(args) -> int`` executes it.  Also runnable as
``python -m brian_snn.experiments.solsa_cmd ...`` (same options).
"""
from __future__ import annotations

import argparse
import json
import sys

TASK_CHOICES = ("patterns", "sines", "mnist-rows", "uea")
METHOD_CHOICES = ("solsa", "bptt", "online-simple", "all")


def _csv(value: str) -> list:
    return [v.strip() for v in str(value).split(",") if v.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from brian_snn.solsa.config import TrainConfig
    from brian_snn.solsa.uea import PACKAGED_DIR
    from ..data.args import add_sample_arguments
    from ..options import (_positive_int, add_backend_argument, add_epochs_argument, add_force_argument,
                           add_json_argument, add_out_argument, add_plot_argument, add_quiet_argument,
                           add_seed_argument, add_dask_arguments)
    d = TrainConfig()
    p.add_argument("--task", default="patterns", metavar="TASK[,TASK...]",
                   help="task or comma list of tasks: patterns, sines, mnist-rows, uea (default patterns)")
    p.add_argument("--uea-set", default="RacketSports", metavar="SET[,SET...]",
                   help="UEA set name(s) for --task uea, comma separated (default RacketSports; packaged: "
                        + ", ".join(sorted(f.stem for f in PACKAGED_DIR.glob("*.npz"))) + ")")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with the UEA sets, or a data root holding uea/ and mnist/ (default: "
                        "$BRIAN_SNN_SHARED_DATA (a root with uea/ and mnist/) when set, else the data "
                        "packaged with brian-snn)")
    p.add_argument("--method", default="all", metavar="METHOD[,METHOD...]",
                   help="solsa, bptt, online-simple, all, or a comma list (default all)")
    p.add_argument("--hidden", default="100,100", metavar="N[,N...]",
                   help="hidden layer widths, comma separated (default 100,100)")
    add_epochs_argument(p, d.epochs)
    add_seed_argument(p, "seed of the initial weights and the sample order")
    p.add_argument("--repeats", type=_positive_int, default=1, metavar="N",
                   help="run seeds seed..seed+N-1 and average the results (default 1)")
    p.add_argument("--lr", type=float, default=None, help=f"weight learning rate, RMSprop (default {d.lr:g})")
    p.add_argument("--lr-filter", type=float, default=None,
                   help=f"learning rate of the filter constants alpha, beta (default {d.lr_filter:g})")
    p.add_argument("--points", type=int, default=None, metavar="P",
                   help=f"scheduled update points per sample (default {d.points})")
    p.add_argument("--period", type=int, default=None, metavar="R",
                   help=f"epochs between re-rankings of the update schedule (default {d.period})")
    p.add_argument("--no-schedule", action="store_true", help="update at every step (no scheduled update)")
    p.add_argument("--no-early-stop", action="store_true", help="switch early-stop training off")
    p.add_argument("--no-adaptive-filter", action="store_true", help="keep alpha, beta fixed")
    p.add_argument("--engine", choices=("brian2", "numpy"), default="brian2",
                   help="SOLSA engine: Brian2 equations (default) or the numpy reference")
    add_backend_argument(p, ("runtime", "cpp"), default="runtime",
                         what="Brian2 backend of the SOLSA engine; BPTT and the simplified rule run in numpy")
    add_sample_arguments(p, "training samples per task (default: per task, see docs/solsa.md)",
                         "test samples per task (default: per task)")
    add_out_argument(p, None, "write the results to this HDF5 file (while it runs, finished runs are kept "
                              "beside it in OUT-jobs/, so a killed comparison resumes; removed once OUT "
                              "is written)")
    add_force_argument(p, "overwrite an existing --out")
    add_dask_arguments(p, workers=1)
    add_json_argument(p)
    add_quiet_argument(p)
    add_plot_argument(p, "memory sweep plot (SOLSA vs BPTT vs simplified)")
    p.add_argument("--memory-only", action="store_true", help="only the memory accounting (no training)")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("solsa", help="SOLSA online learning vs BPTT vs a simplified online rule",
                              description="Train SOLSA, BPTT and the simplified online rule on the same tasks; "
                                          "report accuracy and learning memory (progress on stderr).  Per "
                                          "epoch the progress shows train and validation scores; the test "
                                          "split is read once, after the last epoch, for the table's test "
                                          "column (nothing is chosen on test).")
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def _experiment(args):
    from brian_snn.solsa.config import TrainConfig
    from brian_snn.solsa.errors import SolsaError
    from brian_snn.solsa.runner import Experiment
    tasks = _csv(args.task)
    bad = [t for t in tasks if t not in TASK_CHOICES]
    if bad or not tasks:
        raise SolsaError(f"unknown task {', '.join(bad) or '(none)'} (choose from {', '.join(TASK_CHOICES)})")
    methods = _csv(args.method)
    bad = [m for m in methods if m not in METHOD_CHOICES]
    if bad or not methods:
        raise SolsaError(f"unknown method {', '.join(bad) or '(none)'} (choose from {', '.join(METHOD_CHOICES)})")
    if "all" in methods:
        methods = ["solsa", "bptt", "online-simple"]
    try:
        hidden = [int(h) for h in _csv(args.hidden)]
    except ValueError:
        raise SolsaError(f"--hidden must be comma-separated integers, got {args.hidden!r}") from None
    if not hidden or min(hidden) < 1:
        raise SolsaError(f"--hidden must be positive integers, got {args.hidden!r}")
    if max(hidden) > MAX_HIDDEN:            # before any allocation: weights grow as hidden^2
        raise SolsaError(f"--hidden {max(hidden):,} is more than {MAX_HIDDEN:,} neurons per layer "
                         f"(the weights between two such layers alone would take {8 * max(hidden) ** 2 / 1e9:,.0f} GB)")
    changes = dict(epochs=args.epochs, seed=args.seed)
    for name in ("lr", "lr_filter", "points", "period"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.no_schedule:
        changes["scheduled"] = False
    if args.no_early_stop:
        changes["early_stop"] = False
    if args.no_adaptive_filter:
        changes["adaptive_filter"] = False
    cfg = TrainConfig().replace(**changes)
    for name in ("n_train", "n_test", "repeats"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise SolsaError(f"--{name.replace('_', '-')} must be >= 1, got {v}")
    return Experiment(tasks=tasks, uea_sets=_csv(args.uea_set), data_dir=args.data_dir, methods=methods,
                      hidden=hidden, cfg=cfg, engine=args.engine, backend=args.backend, n_train=args.n_train,
                      n_test=args.n_test, repeats=args.repeats, verbose=not (args.quiet or args.json))


MAX_HIDDEN = 20_000     # 8 x 20,000^2 bytes = 3.2 GB of recurrent weights per copy


def run(args) -> int:
    from brian_snn.solsa.errors import SolsaError
    try:
        return _run(args)
    except SolsaError as exc:
        print(f"brian-snn: error: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    exp = _experiment(args)
    exp.validate()
    from ..files import check_plot
    check_plot(args.plot, args.force, inputs=[args.out])
    if args.scheduler and not args.memory_only:       # a Dask scheduler answers there, before any file
        from ..jobs import check_scheduler
        check_scheduler(args.scheduler)
    if not args.out or args.memory_only:
        return _run_checked(args, exp)
    from ..checks import check_out, claim
    from ..store import inspect
    from brian_snn.solsa.store import SCHEMA
    check_out(args.out)
    with claim(args.out, lambda p: inspect(p, SCHEMA), force=args.force):   # an existing file needs --force
        return _run_checked(args, exp)


def _run_checked(args, exp) -> int:
    from brian_snn.solsa import memory as mem
    from brian_snn.solsa.runner import build_tasks, format_table, run_experiment, strip_arrays
    from brian_snn.solsa.store import write_results
    report = None
    if args.plot or args.memory_only:
        first = build_tasks(exp, exp.cfg.seed)[0]
        report = mem.memory_report(n_in=first.n_inputs, hidden=exp.hidden[0], n_out=first.n_outputs,
                                   layers=len(exp.hidden), T_fixed=first.T)
        if args.plot:
            mem.plot_report(report, args.plot, args.force)
    if args.memory_only:
        if args.json:
            print(json.dumps(report))
        else:
            print(_memory_text(report))
        return 0
    jobs_dir = None
    if args.out:
        from pathlib import Path
        jobs_dir = Path(args.out).with_name(Path(args.out).stem + "-jobs")
    out = run_experiment(exp, jobs_dir, args.workers, args.scheduler)
    if args.out:
        write_results(args.out, out, report, command=" ".join(sys.argv))
        _remove_jobs(jobs_dir)          # the results are in --out: the resume folder has done its work
    if args.json:
        light = strip_arrays(out)
        if report is not None:
            light["memory_sweep"] = report
        print(json.dumps(light))
    else:
        print(format_table(out))
        if report is not None:
            print()
            print(_memory_text(report))
        if args.out:
            print(f"results: {args.out}")
        if args.plot:
            print(f"memory plot: {args.plot}")
    return 0


def _remove_jobs(jobs_dir) -> None:
    """Delete the finished-run files the job runner kept in ``jobs_dir`` (``<16-hex key>.json/.npz`` and
    temporaries of killed writers) and the folder once empty; anything else in it is left alone."""
    import re
    if jobs_dir is None or not jobs_dir.is_dir():
        return
    ours = re.compile(r"[0-9a-f]{16}\.(json|npz)(\..*\.tmp)?")
    for f in jobs_dir.iterdir():
        if f.is_file() and not f.is_symlink() and ours.fullmatch(f.name):
            f.unlink(missing_ok=True)
    try:
        jobs_dir.rmdir()
    except OSError:                     # not empty: files that are not ours
        pass


def _memory_text(report: dict) -> str:
    lines = [f"learning memory per sample (float64), layers {report['sizes']}:",
             f"{'T':>6s} {'SOLSA':>12s} {'BPTT':>12s} {'simplified':>12s}   (analytic / measured KiB)"]
    rows = report["over_T"]
    for v in sorted({r["value"] for r in rows}):
        cells = []
        for m in ("solsa", "bptt", "online-simple"):
            r = next(r for r in rows if r["value"] == v and r["method"] == m)
            meas = "-" if r["measured_bytes"] is None else f"{r['measured_bytes'] / 1024:.0f}"
            cells.append(f"{r['analytic_bytes'] / 1024:.0f}/{meas}")
        lines.append(f"{v:6d} {cells[0]:>12s} {cells[1]:>12s} {cells[2]:>12s}")
    lines.append(f"SOLSA stops winning below T = {report['crossover_T_analytic']} (analytic)"
                 + (f", {report['crossover_T_measured']:.1f} (measured)" if report.get("crossover_T_measured") else ""))
    cw = report["crossover_width_analytic"]
    if cw is None:
        lines.append(f"at T = {report['T_fixed']}, SOLSA wins at every hidden width (one hidden layer: traces grow"
                     " linearly with width, like BPTT's history)")
    else:
        lines.append(f"at T = {report['T_fixed']}, SOLSA stops winning from hidden width {cw} (analytic)"
                     + (f", {report['crossover_width_measured']:.0f} (measured)"
                        if report.get("crossover_width_measured") else ""))
    return "\n".join(lines)
