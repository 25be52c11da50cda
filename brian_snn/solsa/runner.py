"""Experiment runner: train SOLSA, BPTT and the simplified rule on the same tasks, report accuracy and
learning memory next to the paper's headline numbers (abstract of arXiv:2307.11314)."""
from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass, field, asdict
from pathlib import Path

import numpy as np

from ..jobs import code_fingerprint, job_key, run_jobs
from .config import ModelParams, TrainConfig
from .errors import SolsaError
from .memory import learning_bytes, measure_peak
from .tasks import TASKS, make_mnist_rows, make_patterns, make_sines
from .trainers import ENGINES, METHODS, evaluate, open_session, train
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


VAL_FRACTION = 0.2      # mnist-rows and UEA: this share of the training samples is held out as validation


def build_tasks(exp: Experiment, seed: int) -> list:
    """The tasks with their validation split (``x_val``; what the per-epoch progress reports):

    * ``patterns``: ``max(1, n_train // 4)`` extra samples drawn after the test set (train and test
      do not change);
    * ``mnist-rows`` and ``uea``: a seeded stratified 20 % of the training samples, held out from
      training (classes with a single training sample stay in training);
    * ``sines``: none (a generation task: one frozen input, test = train input)."""
    from .uea import load_uea
    tasks = []
    for name in exp.tasks:
        d = TASK_DEFAULTS[name]
        nt = exp.n_train if exp.n_train is not None else d["n_train"]
        ne = exp.n_test if exp.n_test is not None else d["n_test"]
        if name == "patterns":
            tasks.append(make_patterns(n_train=nt, n_test=ne, seed=seed, n_val=max(1, nt // 4)))
        elif name == "sines":
            tasks.append(make_sines(n_train=nt, seed=seed))
        elif name == "mnist-rows":
            tasks.append(hold_out(make_mnist_rows(n_train=nt, n_test=ne, data_dir=exp.data_dir and
                                                  _mnist_dir(exp.data_dir), seed=seed), VAL_FRACTION, seed))
        else:
            for s in exp.uea_sets:
                tasks.append(hold_out(load_uea(s, data_dir=exp.data_dir and _uea_dir(exp.data_dir)).subset(nt, ne),
                                      VAL_FRACTION, seed))
    return tasks


def hold_out(task, fraction: float, seed: int):
    """``task`` with a seeded stratified ``fraction`` of its training samples moved to ``x_val``/``y_val``:
    per class ``round(fraction x n_class)`` samples, at most ``n_class - 1`` (a class with one sample
    stays in training).  No validation (``x_val`` None) when that leaves nothing to hold out."""
    from .tasks import Task
    y = np.asarray(task.y_train)
    rng = np.random.default_rng(seed + 7919)       # its own stream: the split does not move the data order
    val = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = min(len(members) - 1, int(np.floor(fraction * len(members) + 0.5)))
        val.append(rng.permutation(members)[:max(k, 0)])
    val = np.sort(np.concatenate(val)) if val else np.zeros(0, int)
    if len(val) == 0:
        return task
    fit = np.setdiff1d(np.arange(len(y)), val)
    return Task(task.name, task.kind, task.x_train[fit], y[fit], task.x_test, task.y_test, task.n_classes,
                dict(task.info, n_train=len(fit), n_val=len(val)), task.x_train[val], y[val])


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
    """Learning memory of ``method``; BPTT's also in its lean form (the same gradient, V-only history)."""
    def of(m):
        adaptive = cfg.adaptive_filter and m == "solsa"
        return dict(analytic_bytes=learning_bytes(m, sizes, T, cfg.batch, 8, adaptive),
                    measured_bytes=measure_peak(m, sizes, T, cfg.batch, adaptive_filter=adaptive))
    return dict(of(method), lean=of("bptt-lean")) if method == "bptt" else of(method)


def run_experiment(exp: Experiment, cache_dir=None, workers=1, scheduler=None) -> dict:
    """Train every method on every task (``repeats`` seeds); returns a JSON-able result dict.

    Per epoch the runs record train and validation scores only; ``test`` is each run's network after
    its last epoch, evaluated once on the test split (nothing is chosen on it).

    Each (task, method, seed) is a job of :mod:`brian_snn.jobs`: with ``cache_dir`` finished runs
    are kept and reused (a killed comparison resumes), ``workers`` > 1 or ``scheduler`` run them
    on Dask.  Runs of one task and method share a process (one Brian2 build for all seeds)."""
    exp.validate()
    out = dict(schema="brian-snn-solsa/1", experiment=_describe(exp), tasks=[])
    seeds = [exp.cfg.seed + r for r in range(int(exp.repeats))]
    say = _progress(exp.verbose)
    build_tasks(exp, seeds[0])          # bad task names or data: one error before anything runs
    fingerprint = code_fingerprint(Path(__file__).parent.glob("*.py"))
    jobs = []
    for kind, uea_set in _units(exp):
        for method in exp.methods:
            for seed in seeds:
                job = {"task": _one_task(exp, kind, uea_set), "method": method, "seed": seed,
                       "verbose": exp.verbose, "group": [kind, uea_set, method]}
                job["key"] = job_key(job, fingerprint)
                jobs.append(job)
    say(f"solsa: {_n(len(jobs), 'run')} ({_n(len(jobs) // len(seeds) // len(exp.methods), 'task')} x "
        f"{_n(len(exp.methods), 'method')} x {_n(len(seeds), 'seed')}), {_n(exp.cfg.epochs, 'epoch')} each")
    try:
        results = run_jobs(jobs, solsa_run, cache_dir, scheduler, workers, say, _landed)
    finally:
        _close_sessions()
    runs = {}
    for job in jobs:
        r = results[job["key"]]
        runs.setdefault((r["task"]["name"], job["method"]), []).append(r)
    for (tname, method), items in runs.items():
        task = items[0]["task"]
        sizes = [task["n_inputs"], *exp.hidden, task["n_outputs"]]
        entry = next((t for t in out["tasks"] if t["name"] == tname), None)
        if entry is None:
            entry = dict(name=tname, kind=task["kind"], T=task["T"], sizes=sizes, n_train=task["n_train"],
                         n_val=task["n_val"], n_test=task["n_test"], metric=_metric(task["kind"]),
                         info=task["info"], methods={})
            out["tasks"].append(entry)
        finals = [r["test"] for r in items]          # each run's network after its last epoch, tested once
        vals = [r["history"][-1]["val"] for r in items]
        first = items[0]
        entry["methods"][method] = dict(
            test=float(np.mean(finals)), test_std=float(np.std(finals)),
            val=None if None in vals else float(np.mean(vals)),
            per_seed=[float(f) for f in finals], train_seconds=float(np.mean([r["train_seconds"] for r in items])),
            engine=first["engine"], updates_last_epoch=int(first["history"][-1]["updates"]),
            alpha=first["history"][-1]["alpha"], beta=first["history"][-1]["beta"], schedule=first["schedule"],
            history=[dict(epoch=h["epoch"], train=h["train"], val=h["val"], updates=h["updates"])
                     for h in first["history"]],
            memory=_method_memory(method, sizes, task["T"], exp.cfg),
            weights=[np.asarray(first["state"][f"W{i}"]) for i in range(len(first["state"]))])
    out["summary"] = summarize(out)
    return out


def _units(exp):
    """(task kind, UEA set or None) of every task the experiment builds, in order."""
    for name in exp.tasks:
        yield from ((name, s) for s in exp.uea_sets) if name == "uea" else [(name, None)]


def _one_task(exp, kind, uea_set) -> dict:
    """Everything that decides one task's run, as plain data (a job's description)."""
    return dict(tasks=[kind], uea_sets=[uea_set] if uea_set else [], data_dir=exp.data_dir,
                hidden=[int(h) for h in exp.hidden], cfg=asdict(exp.cfg), params=asdict(exp.params),
                engine=exp.engine, backend=exp.backend, n_train=exp.n_train, n_test=exp.n_test)


def _metric(kind):
    return "accuracy" if kind == "classification" else "nmse"


def _landed(job, r):
    h = r["history"][-1]
    split, v = ("val", h["val"]) if h["val"] is not None else ("train", h["train"])
    return (f"{r['task']['name']} {job['method']} seed {job['seed']}: {split} {_metric(r['task']['kind'])} "
            f"{v:.3f} after {r['train_seconds']:.0f} s")


_SESSIONS: dict = {}          # Brian2 builds of this process, by group (one per task shape and method)


def _close_sessions():
    while _SESSIONS:
        _SESSIONS.popitem()[1].__exit__(None, None, None)


def solsa_run(job) -> dict:
    """One (task, method, seed) run: a job of the job runner.  Plain data out; the learned
    weights under ``state``."""
    d = job["task"]
    exp = Experiment(tasks=d["tasks"], uea_sets=d["uea_sets"], data_dir=d["data_dir"], methods=[job["method"]],
                     hidden=d["hidden"], cfg=TrainConfig(**d["cfg"]), params=ModelParams(**d["params"]),
                     engine=d["engine"], backend=d["backend"], n_train=d["n_train"], n_test=d["n_test"])
    task = build_tasks(exp, job["seed"])[0]
    session = None
    if job["method"] == "solsa" and exp.engine == "brian2":
        gk = json.dumps(job["group"])
        if gk not in _SESSIONS:           # one Brian2 build per task, reused for every seed
            _SESSIONS[gk] = open_session(task, exp.hidden, exp.params, exp.cfg, exp.backend).__enter__()
        session = _SESSIONS[gk]
    with contextlib.redirect_stdout(sys.stderr):      # the trainers' epoch lines are progress
        res = train(job["method"], task, exp.hidden, exp.params, exp.cfg.replace(seed=job["seed"]),
                    engine=exp.engine, backend=exp.backend, verbose=job["verbose"], session=session)
    test = evaluate(res.net, exp.params, task.x_test, task.y_test, task.kind)     # the one test pass
    return {"task": dict(name=task.name, kind=task.kind, T=task.T, n_inputs=task.n_inputs,
                         n_outputs=task.n_outputs, n_train=len(task.x_train), n_test=len(task.x_test),
                         n_val=0 if task.x_val is None else len(task.x_val), info=_jsonable(task.info)),
            "test": test, "history": _jsonable(res.history), "schedule": _jsonable(res.schedule),
            "train_seconds": res.train_seconds, "engine": res.engine,
            "state": {f"W{i}": np.asarray(w) for i, w in enumerate(res.net.W)}}


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

    def mean_red(kind, lean=False):
        r = [100 * (1 - t["methods"]["solsa"]["memory"][kind] / (b["lean"] if lean else b)[kind])
             for t in out["tasks"] if "solsa" in t["methods"] and (b := t["methods"].get("bptt", {}).get("memory"))]
        return float(np.mean(r)) if r else None

    return dict(vs_non_bptt_points=mean_diff("solsa", "online-simple"), vs_bptt_points=mean_diff("solsa", "bptt"),
                memory_reduction_percent_analytic=mean_red("analytic_bytes"),
                memory_reduction_percent_measured=mean_red("measured_bytes"),
                memory_reduction_percent_vs_lean_analytic=mean_red("analytic_bytes", lean=True),
                memory_reduction_percent_vs_lean_measured=mean_red("measured_bytes", lean=True), paper=PAPER_HEADLINE)


def _describe(exp: Experiment) -> dict:
    d = dict(tasks=exp.tasks, uea_sets=exp.uea_sets if "uea" in exp.tasks else [], methods=exp.methods,
             hidden=[int(h) for h in exp.hidden], engine=exp.engine, backend=exp.backend,
             n_train=exp.n_train, n_test=exp.n_test, repeats=int(exp.repeats),
             train=asdict(exp.cfg), model=asdict(exp.params))
    return d


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
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
    hdr = (f"{'task':22s} {'method':14s} {'metric':8s} {'val':>7s} {'test':>14s} {'train s':>8s} "
           f"{'learn mem analytic':>19s} {'measured':>10s}")
    lines += [hdr, "-" * len(hdr)]
    for t in out["tasks"]:
        for m, d in t["methods"].items():
            val = f"{d['test']:.3f}" + (f"±{d['test_std']:.3f}" if len(d["per_seed"]) > 1 else "")
            vcell = "-" if d.get("val") is None else f"{d['val']:.3f}"
            lines.append(f"{t['name']:22s} {m:14s} {t['metric']:8s} {vcell:>7s} {val:>14s} "
                         f"{d['train_seconds']:8.1f} {_kib(d['memory']['analytic_bytes']):>19s} "
                         f"{_kib(d['memory']['measured_bytes']):>10s}")
            if "lean" in d["memory"]:           # the same gradient with a V-only history
                lean = d["memory"]["lean"]
                lines.append(f"{'':22s} {'  lean form':14s} {'':8s} {'':7s} {'(same)':>14s} {'':8s} "
                             f"{_kib(lean['analytic_bytes']):>19s} {_kib(lean['measured_bytes']):>10s}")
    lines.append("val: the validation split after the last epoch (" + _val_words(out) + "); test: the last "
                 "epoch's network, evaluated once after training (nothing is chosen on test)")
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
    lines.append(f"  ... vs lean BPTT (V only, same gradient), analytic {_pct(s['memory_reduction_percent_vs_lean_analytic']):>8s}")
    lines.append(f"  ... vs lean BPTT, measured peak                   {_pct(s['memory_reduction_percent_vs_lean_measured']):>9s}")
    return "\n".join(lines)


def _val_words(out) -> str:
    words = {"patterns": "patterns: extra samples drawn after the test set",
             "mnist-rows": f"mnist-rows: {VAL_FRACTION:.0%} of the training samples held out",
             "uea": f"UEA: {VAL_FRACTION:.0%} of the training samples held out, stratified",
             "sines": "sines: none"}
    kinds = list(dict.fromkeys(t["name"].split(":")[0] for t in out["tasks"]))
    return "; ".join(words[k] for k in kinds if k in words)


def _kib(b):
    return f"{b / 1024:.1f} KiB"


def _pts(v):
    return "n/a" if v is None else f"{v:+.1f}"


def _pct(v):
    return "n/a" if v is None else f"{-v:+.1f}%"
