"""SOLSA against BPTT and the simplified online rule under the results protocol (issue 16).

Five tasks: the spike-timing ``patterns`` (its validation set drawn as extra seeded samples) and the
four packaged UEA sets (validation = a seeded stratified 20 % of the UEA TRAIN split, at least one per
class).  Each method gets four candidates, chosen on the validation split only (mean accuracy over the
seeds at the last epoch; a tie goes to the earlier candidate):

* SOLSA and the simplified rule: {scheduled update P = 8, update every step} x {early stop on, off};
* BPTT (no schedule, no early stop): learning rate {1e-3, 2e-3, 5e-3, 1e-2}.

Selection runs train on the fit part and evaluate on validation (the trainer's per-epoch evaluation
reads only train and validation, never test).  The chosen candidate's
trained networks (kept in the job cache) are then run once on the test split, which gives the test
accuracy and the exact inference counts of that pass.  Every (task, method, candidate, seed) is a job
of :mod:`brian_snn.jobs`, so a killed study resumes.  docs/methods.md (## SOLSA study) has the choices.
"""
from __future__ import annotations

import hashlib
import inspect
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hwmodel.counts import Counts, PathwayCounts, PopulationCounts

from ..jobs import cached_results, code_fingerprint, job_key, run_jobs
from ..protocol import paired, provenance, summarise
from .config import ModelParams, TrainConfig
from .errors import SolsaError
from .reference import Network, forward
from .runner import PAPER_HEADLINE
from .tasks import Task, make_patterns

SCHEMA = "brian-snn-solsa-study/1"
TASK_NAMES = ("patterns", "BasicMotions", "Epilepsy", "JapaneseVowels", "RacketSports")
METHODS = ("solsa", "online-simple", "bptt")
ONLINE_CANDIDATES = (dict(scheduled=True, points=8, early_stop=True), dict(scheduled=True, points=8, early_stop=False),
                     dict(scheduled=False, early_stop=True), dict(scheduled=False, early_stop=False))
BPTT_CANDIDATES = tuple(dict(lr=v) for v in (1e-3, 2e-3, 5e-3, 1e-2))
BASELINES = {"online-simple": "vs_simple", "bptt": "vs_bptt"}


@dataclass
class StudyConfig:
    tasks: tuple = TASK_NAMES
    methods: tuple = METHODS
    seeds: tuple = (0, 1, 2)
    hidden: tuple = (100, 100)
    epochs: int = 10
    val_fraction: float = 0.2
    split_seed: int = 0
    patterns: dict = field(default_factory=lambda: dict(n_train=200, n_test=200, n_val=50, seed=0))
    data_dir: str | None = None      # UEA sets: None = $BRIAN_SNN_SHARED_DATA/uea if set, else the packaged copy
    dt_s: float = 1e-3               # the model is dimensionless (one step = dt); the counts need a dt
    weight_bits: int = 32

    def data(self) -> dict:
        """What decides the data of a job (part of its key)."""
        return dict(val_fraction=self.val_fraction, split_seed=self.split_seed, patterns=dict(self.patterns),
                    data_dir=self.data_dir)


def candidates(method: str) -> list:
    return [dict(c) for c in (BPTT_CANDIDATES if method == "bptt" else ONLINE_CANDIDATES)]


# ----------------------------------------------------------------------------- data
@dataclass
class TaskData:
    name: str
    x_fit: np.ndarray
    y_fit: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    record: dict

    @property
    def analog(self) -> bool:
        x = self.x_fit
        return bool(np.any((x != 0) & (x != 1)))


def stratified_split(y, fraction: float, seed: int):
    """(fit, validation) indices: per class max(1, round(fraction x n_class)) samples (at most
    n_class - 1) drawn in a seeded order go to validation; both index arrays ascending."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < 2:
            raise SolsaError(f"class {c} has {len(members)} sample(s): a validation split needs at least 2")
        k = min(len(members) - 1, max(1, int(np.floor(fraction * len(members) + 0.5))))
        val.append(rng.permutation(members)[:k])
    val = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(len(y)), val), val


def _part(x, y, n_classes):
    h = hashlib.sha256(np.ascontiguousarray(y).tobytes() + np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
    return {"n": int(len(y)), "class_counts": np.bincount(y, minlength=n_classes).tolist(), "sha256": h}


_DATA: dict = {}


def load_data(name: str, data: dict) -> TaskData:
    """The fit / validation / test parts of task ``name`` (``data``: :meth:`StudyConfig.data`)."""
    key = (name, repr(sorted(data.items())))
    if key in _DATA:
        return _DATA[key]
    if name == "patterns":
        t = make_patterns(**data["patterns"])
        fit, val = (t.x_train, t.y_train), (t.x_val, t.y_val)
        how = dict(source="brian_snn.solsa.tasks.make_patterns", generator=t.info,
                   validation=f"{len(t.y_val)} extra samples drawn after the test set (same generator and seed)")
    else:
        from .uea import load_uea
        t = load_uea(name, data_dir=data["data_dir"])
        f, v = stratified_split(t.y_train, data["val_fraction"], data["split_seed"])
        fit, val = (t.x_train[f], t.y_train[f]), (t.x_train[v], t.y_train[v])
        how = dict(source=t.info["source"], validation=f"stratified {data['val_fraction']:.0%} of the UEA TRAIN "
                   "split (at least 1 per class)", split_seed=data["split_seed"], standardized=t.info["standardized"])
    k = t.n_classes
    rec = dict(how, T=t.T, channels=t.n_inputs, classes=k,
               fit=_part(*fit, k), val=_part(*val, k), test=_part(t.x_test, t.y_test, k))
    d = TaskData(name, *fit, *val, t.x_test, t.y_test, k, rec)
    d.record["analog_input"] = d.analog
    _DATA[key] = d
    return d


# ----------------------------------------------------------------------------- jobs
def train_job(job) -> dict:
    """One selection run: train on the fit part, evaluate on validation every epoch.  Plain data out;
    the trained W, alpha, beta under ``state`` (the job cache keeps them for the test pass)."""
    from .trainers import train
    t0 = time.perf_counter()
    d = load_data(job["task"], job["data"])
    # the trainer scores train and validation per epoch and never reads the test slot (left empty here)
    task = Task(d.name, "classification", d.x_fit, d.y_fit, d.x_val[:0], d.y_val[:0], d.n_classes, {},
                d.x_val, d.y_val)
    cfg = TrainConfig(epochs=job["epochs"], seed=job["seed"], **job["candidate"])
    res = train(job["method"], task, job["hidden"], ModelParams(**job["params"]), cfg, engine="numpy")
    hist = [dict(epoch=h["epoch"], train=h["train"], val=h["val"], updates=h["updates"], seconds=h["seconds"])
            for h in res.history]
    state = {f"W{l}": np.asarray(w) for l, w in enumerate(res.net.W)}
    state.update(alpha=np.asarray(res.net.alpha, float), beta=np.asarray(res.net.beta, float))
    return {"val_accuracy": hist[-1]["val"], "history": hist, "train_seconds": sum(h["seconds"] for h in hist),
            "updates": sum(h["updates"] for h in hist), "layer_spikes": list(res.layer_spikes),
            "schedule": [int(s) for s in res.schedule], "job_seconds": time.perf_counter() - t0, "state": state}


def fingerprint() -> str:
    """The code that decides a selection run: the training modules and the source of the job's functions
    (the rest of this file, e.g. how results are summarised, can change without rerunning the jobs)."""
    here = Path(__file__).parent
    files = [here / f for f in ("reference.py", "trainers.py", "config.py", "schedule.py", "optim.py",
                                "tasks.py", "uea.py", "errors.py")]
    src = "".join(inspect.getsource(f) for f in (stratified_split, _part, load_data, train_job, TaskData))
    return hashlib.sha256((code_fingerprint(files) + src).encode()).hexdigest()[:12]


def plan(cfg: StudyConfig) -> list:
    """Every selection job: task x method x candidate x seed."""
    fp, jobs = fingerprint(), []
    for task in cfg.tasks:
        for method in cfg.methods:
            for ci, cand in enumerate(candidates(method)):
                for seed in cfg.seeds:
                    job = dict(task=task, method=method, candidate=cand, candidate_index=ci, seed=int(seed),
                               hidden=[int(h) for h in cfg.hidden], epochs=int(cfg.epochs), data=cfg.data(),
                               params=asdict(ModelParams()))
                    job["key"] = job_key(job, fp)
                    jobs.append(job)
    return jobs


def choose(scores) -> int:
    """Index of the candidate with the best mean validation score (``scores[i]``: its per-seed values);
    a tie goes to the earlier candidate (means compared to 12 decimals: the same accuracies summed in
    another order are a tie)."""
    means = [round(float(np.mean(s)), 12) for s in scores]
    return int(np.argmax(means))      # argmax returns the first of equal maxima


# ----------------------------------------------------------------------------- counts
def network_of(state) -> Network:
    L = sum(1 for k in state if k.startswith("W"))
    return Network([np.asarray(state[f"W{l}"], float) for l in range(L)], np.asarray(state["alpha"], float),
                   np.asarray(state["beta"], float), "spikes")


def network_counts(sizes, layer_spikes, input_spikes, samples: int, T: int, analog: bool, filtered: bool,
                   phase: str, dt_s: float, weight_bits: int = 32, updates: int = 0, rule: str | None = None) -> dict:
    """An hwmodel counts record of a dense feed-forward LIF network.

    Populations: ``input`` (data from outside: no neuron updates, no state), ``hidden1``... and
    ``output``: n x steps updates, state V plus the filtered synaptic current when the network has a
    filter (``filtered``).  Synaptic events of a pathway = presynaptic spikes x fan-out (dense: the
    post layer's size).  Analog input (``analog``) is a dense input: every channel is an event every
    step (``input`` spikes = n_in x steps).  Training (``updates`` = update steps applied): plasticity
    updates = synapses x updates; ``rule`` sets the trace words (SOLSA: one per synapse + q, r per
    input and h, g per neuron; simplified: one per input channel) and the unpriced trace updates."""
    sizes = [int(s) for s in sizes]
    steps = int(samples) * int(T)
    names = ["input"] + [f"hidden{l}" for l in range(1, len(sizes) - 1)] + ["output"]
    spikes = [sizes[0] * steps if analog else int(input_spikes)] + [int(round(s)) for s in layer_spikes]
    pops = [PopulationCounts("input", sizes[0], spikes[0], 0, 0)]
    pops += [PopulationCounts(names[l], n, spikes[l], n * steps, 2 if filtered else 1)
             for l, n in enumerate(sizes) if l > 0]
    paths, trace_updates = [], 0
    for l, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        pre_tr, post_tr = (n + 2, 2) if rule == "solsa" else (1, 0)
        paths.append(PathwayCounts(f"{names[l]}_{names[l + 1]}", names[l], names[l + 1], m * n, spikes[l] * n,
                                   m * n * int(updates) if phase == "training" else 0, weight_bits, True,
                                   pre_tr, post_tr))
        trace_updates += (m * n + 2 * m + 2 * n if rule == "solsa" else m) * steps
    extra = {"simulator": "brian-snn solsa numpy engine"}
    if phase == "training" and rule:
        extra["eligibility_trace_updates"] = trace_updates      # kept, not priced (no hwmodel term)
    return Counts(float(dt_s), steps, int(samples), phase, pops, paths, extra).check().to_dict()


def test_pass(d: TaskData, result: dict, p: ModelParams, cfg: StudyConfig, chunk: int = 256) -> dict:
    """The chosen run's network on the test split, once: accuracy and the inference counts."""
    net = network_of(result["state"])
    x = np.asarray(d.x_test, float)
    correct, spikes = 0, np.zeros(net.n_layers)
    for s in range(0, len(x), chunk):
        rec = forward(net, p, x[s:s + chunk])
        correct += int(np.sum(np.argmax(rec.out.sum(axis=1), axis=1) == d.y_test[s:s + chunk]))
        spikes += [float(o.sum()) for o in rec.O]
    filtered = bool(np.any(net.alpha != 0))
    counts = network_counts(net.sizes, spikes, x.sum(), len(x), x.shape[1], d.analog, filtered, "inference",
                            cfg.dt_s, cfg.weight_bits)
    return {"test_accuracy": correct / len(x), "counts": {"inference": counts}}


def training_counts(d: TaskData, method: str, result: dict, cfg: StudyConfig) -> dict | None:
    """Counts of an online rule's learning (spikes recorded while learning, applied update steps);
    None for BPTT (its backward pass is dense arithmetic, not events)."""
    if method == "bptt":
        return None
    sizes = [d.x_fit.shape[2], *cfg.hidden, d.n_classes]
    samples = len(d.x_fit) * int(cfg.epochs)
    return network_counts(sizes, result["layer_spikes"], float(np.asarray(d.x_fit).sum()) * cfg.epochs, samples,
                          d.x_fit.shape[1], d.analog, method == "solsa", "training", cfg.dt_s, cfg.weight_bits,
                          result["updates"], "solsa" if method == "solsa" else "simple")


# ----------------------------------------------------------------------------- the study
def _landed(job, r):
    return (f"{job['task']} {job['method']} candidate {job['candidate_index']} seed {job['seed']}: "
            f"validation {r['val_accuracy']:.3f} after {r['train_seconds']:.0f} s")


def run_study(cfg: StudyConfig, work, log=print, finished_only: bool = False, runner=run_jobs,
              tester=test_pass) -> dict:
    """Selection runs (cached under ``work``), the choice on validation, the chosen runs on test once,
    memory and counts: the result record.  ``runner`` and ``tester`` are replaceable (tests)."""
    from .runner import _method_memory
    t0 = time.perf_counter()
    data = {t: load_data(t, cfg.data()) for t in cfg.tasks}
    jobs = plan(cfg)
    cache = Path(work) / "cache"
    log(f"solsa study: {len(jobs)} selection runs ({len(cfg.tasks)} tasks x {len(cfg.methods)} methods x 4 "
        f"candidates x {len(cfg.seeds)} seeds), {cfg.epochs} epochs each")
    results = cached_results(jobs, cache) if finished_only else runner(jobs, train_job, cache, log=log,
                                                                        describe=_landed)
    p = ModelParams()
    out = dict(schema=SCHEMA, experiment="SOLSA vs the simplified online rule vs BPTT (issue 16)",
               selected_on="validation", config=dict(asdict(cfg), engine="numpy", model=asdict(p),
                                                    train=asdict(TrainConfig(epochs=cfg.epochs))),
               splits={t: d.record for t, d in data.items()},
               candidates={m: candidates(m) for m in cfg.methods}, selection={}, runs=[], memory={}, missing=[],
               paper=PAPER_HEADLINE)
    for t in cfg.tasks:
        d = data[t]
        sizes = [d.x_fit.shape[2], *cfg.hidden, d.n_classes]
        out["selection"][t], out["memory"][t] = {}, {}
        for m in cfg.methods:
            mine = [j for j in jobs if (j["task"], j["method"]) == (t, m)]
            scores = [[results[j["key"]]["val_accuracy"] for j in mine if j["candidate_index"] == ci
                       and j["key"] in results] for ci in range(len(candidates(m)))]
            if any(len(s) < len(cfg.seeds) for s in scores):
                out["missing"].append(dict(task=t, method=m, finished=sum(map(len, scores)),
                                           planned=len(mine)))
                continue
            best = choose(scores)
            out["selection"][t][m] = dict(
                scores=[dict(candidate=c, val_per_seed=s, val_mean=float(np.mean(s)))
                        for c, s in zip(candidates(m), scores)], chosen=best, chosen_config=candidates(m)[best])
            for j in (j for j in mine if j["candidate_index"] == best):
                r = results[j["key"]]
                run = dict(task=t, method=m, seed=j["seed"], candidate=j["candidate"], val_accuracy=r["val_accuracy"],
                           train_seconds=r["train_seconds"],
                           train_seconds_per_sample=r["train_seconds"] / (len(d.x_fit) * cfg.epochs),
                           updates=r["updates"], schedule=r["schedule"], **tester(d, r, p, cfg))
                tc = training_counts(d, m, r, cfg)
                if tc is not None:
                    run["counts"]["training"] = tc
                out["runs"].append(run)
            out["memory"][t][m] = _method_memory(m, sizes, d.x_fit.shape[1], TrainConfig(**candidates(m)[best]))
    out["summary"] = summary(out["runs"], cfg.tasks)
    out["memory_summary"] = memory_summary(out["memory"])
    done = [results[j["key"]] for j in jobs if j["key"] in results]
    out["study_seconds"] = float(sum(r.get("job_seconds", r["train_seconds"]) for r in done))
    out["invocation_seconds"] = time.perf_counter() - t0     # this call (cached jobs cost nothing)
    here = Path(__file__).parent
    out["provenance"] = provenance([*here.glob("*.py"), here.parent / "protocol.py", here.parent / "jobs.py"])
    return out


def _by(runs, task, method):
    return sorted((r for r in runs if (r["task"], r["method"]) == (task, method)), key=lambda r: r["seed"])


def summary(runs, tasks) -> dict:
    """Per task and method: validation and test mean ± 95 % interval; SOLSA − each baseline paired by
    seed per task and averaged over the tasks (per seed the mean over tasks, then the interval)."""
    out = {"tasks": {}, "average": {}}
    for t in tasks:
        e = out["tasks"][t] = {}
        for m in METHODS:
            rs = _by(runs, t, m)
            if rs:
                e[m] = dict(val=summarise([r["val_accuracy"] for r in rs]), test=summarise([r["test_accuracy"] for r in rs]))
        s = _by(runs, t, "solsa")
        for m, key in BASELINES.items():
            b = _by(runs, t, m)
            if s and b and [r["seed"] for r in s] == [r["seed"] for r in b]:
                e[key] = paired([r["test_accuracy"] for r in s], [r["test_accuracy"] for r in b])
    for m, key in BASELINES.items():
        have = [t for t in tasks if key in out["tasks"][t]]
        if have and len(have) == len(tasks):
            per_seed = np.mean([out["tasks"][t][key]["values"] for t in have], axis=0)
            out["average"][key] = paired(per_seed, np.zeros_like(per_seed))
    return out


def memory_summary(memory) -> dict:
    """SOLSA's learning memory against naive and lean BPTT, per task and averaged (per cent change)."""
    out = {}
    for kind in ("analytic_bytes", "measured_bytes"):
        for base, get in (("naive", lambda b: b[kind]), ("lean", lambda b: b["lean"][kind])):
            vals = {t: 100 * (m["solsa"][kind] / get(m["bptt"]) - 1) for t, m in memory.items()
                    if "solsa" in m and "bptt" in m}
            out[f"solsa_vs_{base}_bptt_{kind[:-6]}_percent"] = dict(per_task=vals, mean=float(np.mean(list(vals.values())))
                                                                  if vals else None)
    return out
