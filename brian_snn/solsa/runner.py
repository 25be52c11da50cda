"""Experiment runner: train SOLSA, BPTT and the simplified rule on the same tasks, report accuracy and
learning memory next to the paper's headline numbers (abstract of arXiv:2307.11314)."""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field, asdict

import numpy as np

from .config import ModelParams, TrainConfig
from .errors import SolsaError
from .memory import learning_bytes, measure_peak
from .tasks import TASKS, Task, make_mnist_rows, make_patterns, make_sines
from .trainers import ENGINES, METHODS, open_session, train
from .standalone import BACKENDS

# The only published numbers (abstract): SOLSA vs other non-BPTT rules, vs BPTT, and its memory saving.
PAPER_HEADLINE = {"vs_non_bptt_points": 14.2, "vs_bptt_points": 5.0, "memory_reduction_percent": 72.0}

# Default sizes, chosen so the full comparison runs in minutes on 2 cores (docs/solsa.md).
TASK_DEFAULTS = {
    "patterns": dict(n_train=200, n_test=200),
    "sines": dict(n_train=20, n_test=1),
    "mnist-rows": dict(n_train=1000, n_test=500),
    "uea": dict(n_train=None, n_test=None),
}


@dataclass
class Experiment:
    tasks: list = field(default_factory=lambda: ["patterns"])
    uea_sets: list = field(default_factory=lambda: ["RacketSports"])
    data_dir: str | None = None
    methods: list = field(default_factory=lambda: list(METHODS))
    hidden: list = field(default_factory=lambda: [100, 100])
    cfg: TrainConfig = field(default_factory=TrainConfig)
    params: ModelParams = field(default_factory=ModelParams)
    engine: str = "brian2"
    backend: str = "runtime"
    n_train: int | None = None
    n_test: int | None = None
    repeats: int = 1
    verbose: bool = False         # progress on stderr: a line per run and per epoch (the CLI's default)

    def validate(self):
        bad = [t for t in self.tasks if t not in TASKS]
        if bad or not self.tasks:
            raise SolsaError(f"unknown task {', '.join(bad) or '(none)'} (choose from {', '.join(TASKS)})")
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise SolsaError(f"unknown method {', '.join(bad) or '(none)'} (choose from {', '.join(METHODS)}, all)")
        if self.engine not in ENGINES:
            raise SolsaError(f"unknown engine {self.engine!r} (choose from {', '.join(ENGINES)})")
        if self.backend not in BACKENDS:
            raise SolsaError(f"unknown backend {self.backend!r} (choose from {', '.join(BACKENDS)})")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise SolsaError(f"hidden sizes must be positive integers, got {self.hidden}")
        if "uea" in self.tasks and not self.uea_sets:
            raise SolsaError("task 'uea' needs --uea-set NAME")
        if int(self.repeats) < 1:
            raise SolsaError(f"repeats must be >= 1, got {self.repeats}")


def build_tasks(exp: Experiment, seed: int) -> list:
    from .uea import load_uea
    tasks = []
    for name in exp.tasks:
        d = TASK_DEFAULTS[name]
        nt = exp.n_train if exp.n_train is not None else d["n_train"]
        ne = exp.n_test if exp.n_test is not None else d["n_test"]
        if name == "patterns":
            tasks.append(make_patterns(n_train=nt, n_test=ne, seed=seed))
        elif name == "sines":
            tasks.append(make_sines(n_train=nt, seed=seed))
        elif name == "mnist-rows":
            tasks.append(make_mnist_rows(n_train=nt, n_test=ne, data_dir=exp.data_dir and
                                         _mnist_dir(exp.data_dir), seed=seed))
        else:
            for s in exp.uea_sets:
                tasks.append(load_uea(s, data_dir=exp.data_dir and _uea_dir(exp.data_dir)).subset(nt, ne))
    return tasks


def _uea_dir(data_dir):
    """--data-dir may point at the UEA folder itself or at a data root holding uea/ and mnist/."""
    from pathlib import Path
    p = Path(data_dir)
    return p / "uea" if (p / "uea").is_dir() else p


def _mnist_dir(data_dir):
    from pathlib import Path
    p = Path(data_dir)
    return p / "mnist" if (p / "mnist").is_dir() else p


def _method_memory(method: str, sizes, T: int, cfg: TrainConfig) -> dict:
    adaptive = cfg.adaptive_filter and method == "solsa"
    return dict(analytic_bytes=learning_bytes(method, sizes, T, cfg.batch, 8, adaptive),
                measured_bytes=measure_peak(method, sizes, T, cfg.batch, adaptive_filter=adaptive))


def run_experiment(exp: Experiment) -> dict:
    """Train every method on every task (``repeats`` seeds); returns a JSON-able result dict."""
    exp.validate()
    out = dict(schema="brian-snn-solsa/1", experiment=_describe(exp), tasks=[])
    runs = {}
    seeds = [exp.cfg.seed + r for r in range(int(exp.repeats))]
    tasks_by_seed = {seed: build_tasks(exp, seed) for seed in seeds}
    say = _progress(exp.verbose)
    t_start, n_tasks = time.perf_counter(), len(tasks_by_seed[seeds[0]])
    n_runs, done = n_tasks * len(exp.methods) * len(seeds), 0
    say(f"solsa: {_n(n_runs, 'run')} ({_n(n_tasks, 'task')} x {_n(len(exp.methods), 'method')} x "
        f"{_n(len(seeds), 'seed')}), {_n(exp.cfg.epochs, 'epoch')} each")
    for k in range(n_tasks):
        for method in exp.methods:
            session = None
            if method == "solsa" and exp.engine == "brian2":
                # one Brian2 build per task, reused for every seed (one compile on cpp)
                t0 = time.perf_counter()
                session = open_session(tasks_by_seed[seeds[0]][k], exp.hidden, exp.params, exp.cfg, exp.backend)
                session.__enter__()
                if time.perf_counter() - t0 > 2:
                    say(f"{tasks_by_seed[seeds[0]][k].name}: Brian2 SOLSA network built ({exp.backend}) "
                        f"in {time.perf_counter() - t0:.0f} s")
            try:
                for seed in seeds:
                    task = tasks_by_seed[seed][k]
                    done += 1
                    say(f"[{done}/{n_runs}] {task.name} {method} seed {seed}: {len(task.x_train)} train / "
                        f"{len(task.x_test)} test samples, T={task.T}")
                    # the trainers' epoch lines go to stderr with the rest of the progress
                    with contextlib.redirect_stdout(sys.stderr):
                        res = train(method, task, exp.hidden, exp.params, exp.cfg.replace(seed=seed),
                                    engine=exp.engine, backend=exp.backend, verbose=exp.verbose, session=session)
                    metric = "accuracy" if task.kind == "classification" else "nmse"
                    say(f"[{done}/{n_runs}] {task.name} {method} seed {seed}: test {metric} "
                        f"{res.final['test']:.3f} after {res.train_seconds:.0f} s "
                        f"(elapsed {time.perf_counter() - t_start:.0f} s)")
                    runs.setdefault((task.name, method), []).append((task, res))
            finally:
                if session is not None:
                    session.__exit__(None, None, None)
    for (tname, method), items in runs.items():
        task = items[0][0]
        sizes = [task.n_inputs, *exp.hidden, task.n_outputs]
        entry = next((t for t in out["tasks"] if t["name"] == tname), None)
        if entry is None:
            entry = dict(name=tname, kind=task.kind, T=task.T, sizes=sizes, n_train=len(task.x_train),
                         n_test=len(task.x_test), metric="accuracy" if task.kind == "classification" else "nmse",
                         info=_jsonable(task.info), methods={})
            out["tasks"].append(entry)
        finals = [res.final["test"] for _, res in items]
        bests = [(max if task.kind == "classification" else min)(h["test"] for h in res.history)
                 for _, res in items]
        entry["methods"][method] = dict(
            test=float(np.mean(finals)), test_std=float(np.std(finals)), best=float(np.mean(bests)),
            per_seed=[float(f) for f in finals], train_seconds=float(np.mean([r.train_seconds for _, r in items])),
            engine=items[0][1].engine, updates_last_epoch=int(items[0][1].final["updates"]),
            alpha=items[0][1].final["alpha"], beta=items[0][1].final["beta"], schedule=items[0][1].schedule,
            history=[dict(epoch=h["epoch"], train=h["train"], test=h["test"], updates=h["updates"])
                     for h in items[0][1].history],
            memory=_method_memory(method, sizes, task.T, exp.cfg),
            weights=[w.copy() for w in items[0][1].net.W])
    out["summary"] = summarize(out)
    return out


def _progress(on: bool):
    """``say(line)``: one progress line on stderr (flushed), or nothing."""
    if not on:
        return lambda line: None
    return lambda line: print(line, file=sys.stderr, flush=True)


def _n(k, word):
    return f"{k} {word}" + ("" if k == 1 else "s")


def summarize(out: dict) -> dict:
    """Average accuracy differences (points) over classification tasks and memory reductions."""
    cls = [t for t in out["tasks"] if t["kind"] == "classification"]

    def mean_diff(a, b):
        d = [100 * (t["methods"][a]["test"] - t["methods"][b]["test"]) for t in cls
             if a in t["methods"] and b in t["methods"]]
        return float(np.mean(d)) if d else None

    def mean_red(kind):
        r = [100 * (1 - t["methods"]["solsa"]["memory"][kind] / t["methods"]["bptt"]["memory"][kind])
             for t in out["tasks"] if "solsa" in t["methods"] and "bptt" in t["methods"]]
        return float(np.mean(r)) if r else None

    return dict(vs_non_bptt_points=mean_diff("solsa", "online-simple"), vs_bptt_points=mean_diff("solsa", "bptt"),
                memory_reduction_percent_analytic=mean_red("analytic_bytes"),
                memory_reduction_percent_measured=mean_red("measured_bytes"), paper=PAPER_HEADLINE)


def _describe(exp: Experiment) -> dict:
    d = dict(tasks=exp.tasks, uea_sets=exp.uea_sets if "uea" in exp.tasks else [], methods=exp.methods,
             hidden=[int(h) for h in exp.hidden], engine=exp.engine, backend=exp.backend,
             n_train=exp.n_train, n_test=exp.n_test, repeats=int(exp.repeats),
             train=asdict(exp.cfg), model=asdict(exp.params))
    return d


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def strip_arrays(out: dict) -> dict:
    """The result without weight arrays (for --json)."""
    res = dict(out, tasks=[])
    for t in out["tasks"]:
        t2 = dict(t, methods={m: {k: v for k, v in d.items() if k != "weights"} for m, d in t["methods"].items()})
        res["tasks"].append(t2)
    return res


def format_table(out: dict) -> str:
    lines = []
    hdr = (f"{'task':22s} {'method':14s} {'metric':8s} {'test':>14s} {'best':>7s} {'train s':>8s} "
           f"{'learn mem analytic':>19s} {'measured':>10s}")
    lines += [hdr, "-" * len(hdr)]
    for t in out["tasks"]:
        for m, d in t["methods"].items():
            val = f"{d['test']:.3f}" + (f"±{d['test_std']:.3f}" if len(d["per_seed"]) > 1 else "")
            lines.append(f"{t['name']:22s} {m:14s} {t['metric']:8s} {val:>14s} {d['best']:7.3f} "
                         f"{d['train_seconds']:8.1f} {_kib(d['memory']['analytic_bytes']):>19s} "
                         f"{_kib(d['memory']['measured_bytes']):>10s}")
    s = out["summary"]
    p = s["paper"]
    lines.append("")
    lines.append("headline (classification tasks, mean over tasks)       ours        paper")
    lines.append(f"  SOLSA - simplified online rule (accuracy points)  {_pts(s['vs_non_bptt_points']):>9s}  "
                 f"{p['vs_non_bptt_points']:+9.1f}")
    lines.append(f"  SOLSA - BPTT (accuracy points)                    {_pts(s['vs_bptt_points']):>9s}  "
                 f"{p['vs_bptt_points']:+9.1f}")
    lines.append(f"  learning memory SOLSA vs BPTT, analytic           {_pct(s['memory_reduction_percent_analytic']):>9s}  "
                 f"{-p['memory_reduction_percent']:+8.1f}%")
    lines.append(f"  learning memory SOLSA vs BPTT, measured peak      {_pct(s['memory_reduction_percent_measured']):>9s}")
    return "\n".join(lines)


def _kib(b):
    return f"{b / 1024:.1f} KiB"


def _pts(v):
    return "n/a" if v is None else f"{v:+.1f}"


def _pct(v):
    return "n/a" if v is None else f"{-v:+.1f}%"
