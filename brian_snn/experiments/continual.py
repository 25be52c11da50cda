"""Continual unsupervised learning in a dynamic environment (issue 4, ``brian-snn continual``).

Digit classes arrive one task at a time (default 0 -> 9), every task has the same number of
training samples, nothing is replayed and learning is always on.  After each task the network is
frozen (plastic = 0: no weight or threshold change) and evaluated:

1. **labels** -- every neuron gets the class with its highest mean response over a labelled set:
   the first ``label_per_class`` training samples of each class learned so far (samples the
   network has already seen; ours, the paper's choice is unknown);
2. **test** -- ``test_per_class`` test images of each learned class; a test sample is predicted as
   the learned class whose labelled neurons respond most on average (Diehl & Cook's rule,
   restricted to learned classes); a sample to which no labelled neuron responds counts as wrong.

Accuracy matrix ``A[t, k]``: accuracy on the test samples of task ``k`` after learning task ``t``
(``k <= t``; NaN above the diagonal).  The most recent task is ``A[t, t]``, the previously
learned tasks ``A[t, :t]``.  After each task the run is checkpointed into its HDF5 file; an
interrupted run resumes from the last completed task.  Training continues from the training
state (the frozen evaluation never changes it).
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from hwmodel.counts import Counts

from ..backend import shared_backend, shared_backends
from ..encoding import Presentation
from ..readout import assign_labels
from ..models import MODEL_NAMES, model_class
from ..runner import Resume, learned_state, present
from ..store import open_results
from .train_eval import image_table, initial_state

SCHEMA = "brian-snn-continual/1"
N_CLASSES = 10
DEFAULT_TASKS = "0,1,2,3,4,5,6,7,8,9"


# ------------------------------------------------------------------------------------------
# configuration and input checking
# ------------------------------------------------------------------------------------------
def parse_tasks(spec) -> tuple:
    """Task order: ``"0,1,2"`` (one class per task), ``"0+1,2+3"`` (two classes per task), or a
    sequence of ints / sequences.  Returns a tuple of tuples of class ids.  Every class 0..9 at
    most once; raises ValueError with a one-line reason otherwise."""
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise ValueError("task order is empty; give classes like 0,1,2 or 0+1,2+3")
        items = [part.strip() for part in text.split(",")]
        tasks = []
        for part in items:
            if not part:
                raise ValueError(f"task order {spec!r}: empty task between commas")
            classes = []
            for c in part.split("+"):
                c = c.strip()
                if not c.isdigit():
                    raise ValueError(f"task order {spec!r}: {c!r} is not a class number 0..9")
                classes.append(int(c))
            tasks.append(tuple(classes))
    else:
        tasks = []
        for t in spec:
            group = (t,) if np.isscalar(t) else tuple(t)
            for c in group:
                if isinstance(c, bool) or not float(c).is_integer():
                    raise ValueError(f"task order: class {c!r} is not an integer")
            tasks.append(tuple(int(c) for c in group))
    if not tasks:
        raise ValueError("task order is empty")
    flat = [c for t in tasks for c in t]
    bad = [c for c in flat if not 0 <= c < N_CLASSES]
    if bad:
        raise ValueError(f"task order: class {bad[0]} is outside 0..{N_CLASSES - 1}")
    dup = sorted({c for c in flat if flat.count(c) > 1})
    if dup:
        raise ValueError(f"task order: class {dup[0]} appears more than once (no replay: each class is one task)")
    if any(not t for t in tasks):
        raise ValueError("task order: a task has no class")
    return tuple(tasks)


def format_tasks(tasks) -> str:
    return ",".join("+".join(str(c) for c in t) for t in tasks)


def _positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")


@dataclass
class ContinualConfig:
    model: str = "spikedyn"
    n_exc: int = 400
    backend: str = "cpp"
    tasks: str = DEFAULT_TASKS           # task order, see parse_tasks
    samples_per_task: int = 300          # training samples per task (equal for every task)
    label_per_class: int = 40            # already-seen training samples per class for labelling
    test_per_class: int = 60             # test samples per class
    seed: int = 0
    chunk_slots: int = 250
    weight_bits: int = 0                 # > 0: input weights simulated at this many bits
    params: dict = field(default_factory=dict)          # model parameter overrides
    presentation: dict = field(default_factory=dict)    # Presentation overrides
    data: dict = field(default_factory=dict)            # provenance (filled in by the caller)

    def __post_init__(self):
        self.tasks = format_tasks(parse_tasks(self.tasks))
        for name in ("n_exc", "samples_per_task", "label_per_class", "test_per_class", "chunk_slots"):
            _positive_int(name, getattr(self, name))
        if self.label_per_class * 1 > self.samples_per_task:
            raise ValueError(f"label_per_class ({self.label_per_class}) cannot exceed samples_per_task "
                             f"({self.samples_per_task}): labels come from already-seen samples")

    def task_list(self) -> tuple:
        return parse_tasks(self.tasks)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


MODEL_CHOICES = MODEL_NAMES


def model_fields(name) -> set:
    """Parameter names a model accepts."""
    return set(model_class(name).__dataclass_fields__)


def model_spec(name, n_exc, n_input=784, weight_bits=0, **params):
    """A model by name: the registry's models plus ``asp-decay`` (our ASP-style baseline)."""
    cls = model_class(name)
    unknown = sorted(set(params) - model_fields(name))
    if unknown:
        raise ValueError(f"model {name!r} has no parameter {unknown[0]!r}")
    if weight_bits:
        params = dict(params, weight_bits=int(weight_bits))
    return cls(n_exc=n_exc, n_input=n_input, **params)


# ------------------------------------------------------------------------------------------
# which samples are shown when
# ------------------------------------------------------------------------------------------
@dataclass
class TaskPlan:
    tasks: tuple
    train: list            # per task: indices into x_train, in presentation order
    label: dict            # class -> indices into x_train (subset of that class's task samples)
    test: dict             # class -> indices into x_test


def plan_tasks(dataset, tasks, samples_per_task, label_per_class, test_per_class, seed=0) -> TaskPlan:
    """Seeded choice of the training samples of each task, the labelling and the test samples.

    A task's samples are split over its classes as evenly as possible and shuffled together."""
    rng = np.random.default_rng(seed)
    y_tr, y_te = np.asarray(dataset.y_train), np.asarray(dataset.y_test)
    train, label, test = [], {}, {}
    for classes in tasks:
        share = [samples_per_task // len(classes) + (i < samples_per_task % len(classes))
                 for i in range(len(classes))]
        parts = []
        for c, n in zip(classes, share):
            pool = rng.permutation(np.flatnonzero(y_tr == c))
            if len(pool) < n:
                raise ValueError(f"class {c} has only {len(pool)} training samples in this data set; "
                                 f"samples per task {samples_per_task} needs {n}")
            if n < label_per_class:
                raise ValueError(f"class {c} gets {n} training samples in its task, fewer than "
                                 f"label_per_class {label_per_class}")
            parts.append(pool[:n])
            label[c] = pool[:label_per_class]
            tpool = rng.permutation(np.flatnonzero(y_te == c))
            if len(tpool) < test_per_class:
                raise ValueError(f"class {c} has only {len(tpool)} test samples; test_per_class is {test_per_class}")
            test[c] = tpool[:test_per_class]
        order = np.concatenate(parts)
        train.append(order[rng.permutation(len(order))])
    return TaskPlan(tuple(tasks), train, label, test)


# ------------------------------------------------------------------------------------------
# bookkeeping: labels, predictions, the accuracy matrix (pure functions, tested by hand)
# ------------------------------------------------------------------------------------------
def predict_seen(responses, assignments, seen, n_classes=N_CLASSES):
    """Diehl & Cook prediction restricted to the learned classes ``seen``: the class whose
    assigned neurons have the highest mean response (ties -> the lower class); -1 when no
    assigned neuron responded at all (counted as wrong)."""
    responses = np.asarray(responses, dtype=float)
    seen = np.array(sorted(seen))
    scores = np.zeros((responses.shape[0], len(seen)))
    for k, c in enumerate(seen):
        cols = np.asarray(assignments) == c
        if cols.any():
            scores[:, k] = responses[:, cols].mean(axis=1)
    pred = seen[scores.argmax(axis=1)]
    pred[scores.max(axis=1) <= 0] = -1
    return pred


def evaluate_row(label_responses, label_y, test_responses, test_y, tasks, t):
    """Row ``t`` of the accuracy matrix (NaN for tasks not yet learned), plus the neuron labels,
    predictions and the pooled accuracy over old-task samples.

    ``tasks``: all tasks (tuples of classes); classes of tasks 0..t are the learned ones."""
    seen = sorted(c for task in tasks[:t + 1] for c in task)
    assignments, _ = assign_labels(label_responses, label_y)
    assignments[~np.isin(assignments, seen)] = -1
    pred = predict_seen(test_responses, assignments, seen)
    test_y = np.asarray(test_y)
    correct = pred == test_y
    row = np.full(len(tasks), np.nan)
    task_of = {c: k for k, task in enumerate(tasks) for c in task}
    test_task = np.array([task_of[c] for c in test_y])
    for k in range(t + 1):
        rows = test_task == k
        row[k] = correct[rows].mean() if rows.any() else np.nan
    old = test_task < t
    pooled_old = float(correct[old].mean()) if old.any() else float("nan")
    return row, assignments, pred, pooled_old


def summarise(matrix) -> dict:
    """Headline numbers of an accuracy matrix (T x T, NaN above the diagonal).

    ``acc_new[t] = A[t, t]``; ``acc_old[t] = mean(A[t, :t])`` (t >= 1).  Their means are over
    t >= 1 (after the first task only one label exists, so its "accuracy" only says whether any
    labelled neuron responded); ``final_average`` is the mean of the last row."""
    A = np.asarray(matrix, dtype=float)
    T = A.shape[0]
    done = [t for t in range(T) if not np.isnan(A[t, t])]
    acc_new = np.array([A[t, t] for t in range(T)])
    acc_old = np.array([np.nanmean(A[t, :t]) if t >= 1 and not np.all(np.isnan(A[t, :t])) else np.nan
                        for t in range(T)])
    later = [t for t in done if t >= 1] or done
    last = done[-1] if done else None
    return {
        "tasks_done": len(done),
        "acc_new": acc_new.tolist(), "acc_old": acc_old.tolist(),
        "mean_new": float(np.mean(acc_new[later])) if later else float("nan"),
        "mean_old": float(np.nanmean(acc_old[later])) if [t for t in later if t >= 1] else float("nan"),
        "final_average": float(np.nanmean(A[last, :last + 1])) if last is not None else float("nan"),
    }


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------
def skeleton(spec, presentation):
    """Build the model's Brian2 objects on the runtime device (numpy, nothing is run) and return
    its kernels per step and a zero-activity counts record of one presentation slot per sample
    (structure only: populations, synapses, state words, kernels per step).  Must not be called
    in a process whose current device is cpp_standalone (it would add objects to that build)."""
    import logging
    from brian2 import get_device, prefs
    from ..activity import ActivityCounter
    if type(get_device()).__name__ != "RuntimeDevice":
        raise RuntimeError("skeleton(): needs Brian2's runtime device in this process")
    old = prefs.codegen.target
    prefs.codegen.target = "numpy"
    log = logging.getLogger("brian2")
    level = log.level
    log.setLevel(logging.ERROR)          # the objects are never run ("never included" warnings)
    try:
        model = spec.build(np.zeros((2, spec.n_input)), np.ones(2), presentation)
        counter = ActivityCounter(model.objects)
        counts = {ph: counter.counts(ph, samples=1, steps=presentation.steps_per_slot,
                                     dt_s=presentation.dt_ms * 1e-3) for ph in ("training", "inference")}
        for obj in model.objects + list(counter.monitors.values()):
            obj._network = 0             # never run on purpose: no "never included" warning
        return {"kernels": counter.kernels_per_step(), "counts": counts}
    finally:
        prefs.codegen.target = old
        log.setLevel(level)


def ready_backend(backend, spec, presentation, images):
    """Call before running ``spec`` on ``backend`` (cpp/cuda).

    * The backend holds this model's build and the standalone device still holds it (another
      part of the process may have switched to the runtime device): make that device current
      again -- the binary is reused without regenerating its code.
    * Otherwise drop the old build (of every shared backend) and collect its Brian2 objects,
      so that the new build's code objects keep their plain names where possible (suffixed
      names, ``..._codeobject_1``, would compile a cached binary again)."""
    built = getattr(backend, "_built", None)
    if not built:
        return
    from brian2 import get_device, set_device
    from brian2.devices.device import all_devices
    key = backend.build_key(spec, presentation)[0]
    dev = all_devices.get(getattr(backend, "device_name", ""))
    directory = str(getattr(built[1], "directory", ""))
    if built[0] == key and dev is not None and getattr(dev, "project_dir", None) == directory:
        if get_device() is not dev:
            set_device(backend.device_name, build_on_run=False, directory=directory)
        return
    for b in shared_backends() + [backend]:
        b._built = None
    gc.collect()


def run_continual(config: ContinualConfig, dataset, out=None, resume=True, progress=True,
                  log=print, backend=None, on_task=None):
    """Run the protocol; returns the results dict (also written to ``out`` when given).
    ``on_task(t, state, assignments)``, when given, sees the learned state (a copy) and the neuron
    labels after each task (diagnostics; not called for tasks restored from ``out``)."""
    tasks = config.task_list()
    spec = model_spec(config.model, config.n_exc, dataset.x_train.shape[1], config.weight_bits,
                      **config.params)
    pres = Presentation(**config.presentation)
    backend = backend or shared_backend(config.backend, chunk_slots=int(config.chunk_slots))
    images = image_table(dataset)
    ready_backend(backend, spec, pres, images)
    n_train = len(dataset.y_train)
    plan = plan_tasks(dataset, tasks, config.samples_per_task, config.label_per_class,
                      config.test_per_class, config.seed)
    T = len(tasks)

    state = initial_state(spec, config.seed)
    if config.weight_bits:
        from ..models.diehl_cook import quantise_weights
        state["w"] = quantise_weights(state["w"], config.weight_bits)
    res = _empty_results(config, spec, pres, T)
    t0, within = 0, None
    if resume and out is not None and Path(out).exists():
        stored = read_continual(out)
        if _same_run(stored["config"], res["config"]):
            if stored["checkpoint"] is None:
                log(f"{out}: already complete")
                return stored
            res = stored
            state = stored["checkpoint"]["state"]
            t0 = stored["checkpoint"]["meta"]["next_task"]
            within = _resume_from(stored["checkpoint"]["meta"].get("training"))
            log(f"resuming {out} at task {t0 + 1}/{T}"
                + (f", training sample {within.position}" if within else ""))
    t_start = time.perf_counter() - res["timings"].get("total_s", 0.0)
    tm = res["timings"]

    def checkpoint_training(t, at, st):        # after every training chunk: lose at most one chunk
        if out is not None:
            write_continual(out, dict(res, checkpoint={"meta": {"next_task": t, "training": {
                "position": at.position, "chunk": at.chunk, "counts": at.counts.to_dict(),
                "sim_s": at.sim_wall_s}}, "state": st}))

    for t in range(t0, T):
        classes = tasks[t]
        run = present(spec, backend, pres, images, plan.train[t], state, plastic=1, phase="training",
                      seed=config.seed * 1000 + 2 * t, progress=progress, resume=within,
                      on_chunk=lambda at, st, t=t: checkpoint_training(t, at, st))
        within = None
        state = learned_state(run.state)
        res["counts"]["training"] = _add(res["counts"]["training"], run.counts)
        tm["train_sim_s"] += run.sim_wall_s
        tm["build_s"] += run.build_s
        if res["scalars"].get("kernels_per_step") is None:
            res["scalars"]["kernels_per_step"] = run.counts.extra.get("kernels_per_step")

        seen = [c for task in tasks[:t + 1] for c in task]
        lab_idx = np.concatenate([plan.label[c] for c in seen])
        test_idx = np.concatenate([plan.test[c] for c in seen])
        order = np.concatenate([lab_idx, n_train + test_idx])
        ev = present(spec, backend, pres, images, order, state, plastic=0, phase="inference",
                     seed=config.seed * 1000 + 2 * t + 1, progress=progress)
        res["counts"]["inference"] = _add(res["counts"]["inference"], ev.counts)
        tm["eval_sim_s"] += ev.sim_wall_s
        tm["build_s"] += ev.build_s
        nl = len(lab_idx)
        row, assignments, pred, pooled_old = evaluate_row(
            ev.responses[:nl], dataset.y_train[lab_idx], ev.responses[nl:], dataset.y_test[test_idx], tasks, t)
        res["arrays"]["accuracy_matrix"][t] = row
        res["arrays"]["acc_old_pooled"][t] = pooled_old
        res["tasks"][t] = {"label_index": lab_idx, "label_responses": ev.responses[:nl].astype(np.uint16),
                           "test_index": test_idx, "test_responses": ev.responses[nl:].astype(np.uint16),
                           "assignments": assignments, "predictions": pred,
                           "train_index": plan.train[t]}
        tm["total_s"] = time.perf_counter() - t_start
        res["scalars"].update(summarise(res["arrays"]["accuracy_matrix"]))
        res["checkpoint"] = {"meta": {"next_task": t + 1}, "state": state} if t + 1 < T else None
        if t + 1 == T:
            res["arrays"]["weights"] = state["w"].reshape(spec.n_input, spec.n_exc)
            res["arrays"]["thresholds_theta_V"] = state["theta"]
            res["arrays"]["assignments"] = assignments
        if out is not None:
            write_continual(out, res)
        if on_task is not None:
            on_task(t, {k: np.array(v) for k, v in state.items()}, np.array(assignments))
        old = "" if t == 0 else f", old tasks {100 * np.nanmean(row[:t]):.1f} %"
        log(f"task {t + 1}/{T} (class {'+'.join(map(str, classes))}): new task {100 * row[t]:.1f} %{old}")
    tm["train_samples_per_s"] = (res["counts"]["training"].samples / tm["train_sim_s"]) if tm["train_sim_s"] else None
    tm["eval_samples_per_s"] = (res["counts"]["inference"].samples / tm["eval_sim_s"]) if tm["eval_sim_s"] else None
    if out is not None:
        write_continual(out, res)
    return res


def _same_run(stored, current):
    if "run_key" in stored:
        return stored["run_key"] == current["run_key"]
    norm = lambda d: json.dumps(d, sort_keys=True, default=str)      # files written before run_key
    return all(norm(stored.get(k)) == norm(current.get(k))
               for k in ("config_key", "model_params", "presentation_params"))


def _resume_from(meta):
    if meta is None:
        return None
    return Resume(meta["position"], meta["chunk"], Counts.from_dict(meta["counts"]), meta["sim_s"])


def _add(a, b):
    return b if a is None else a + b


def _empty_results(config, spec, pres, T):
    cfg = asdict(config)
    cfg["config_key"] = config.key()
    cfg["model_params"] = {k: getattr(spec, k) for k in spec.__dataclass_fields__}
    cfg["presentation_params"] = asdict(pres)
    # what decides whether a stored run can be resumed: the config and the model's and the
    # presentation's full parameter sets (a changed code default starts the run again)
    cfg["run_key"] = hashlib.sha256(json.dumps([cfg["config_key"], cfg["model_params"], cfg["presentation_params"]],
                                               sort_keys=True, default=str).encode()).hexdigest()[:16]
    return {"config": cfg, "scalars": {"kernels_per_step": None},
            "timings": {"train_sim_s": 0.0, "eval_sim_s": 0.0, "build_s": 0.0, "total_s": 0.0},
            "arrays": {"accuracy_matrix": np.full((T, T), np.nan), "acc_old_pooled": np.full(T, np.nan)},
            "tasks": {}, "counts": {"training": None, "inference": None}, "checkpoint": None}


# ------------------------------------------------------------------------------------------
# HDF5 file (schema in docs/continual.md); /counts/<phase> as in brian-snn results files, so
# `hwmodel estimate FILE.h5 --phase training` works on it
# ------------------------------------------------------------------------------------------
def write_continual(path, res):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["schema"] = SCHEMA
        f.attrs["config"] = json.dumps(res["config"], sort_keys=True)
        f.attrs["scalars"] = json.dumps(res["scalars"])
        f.attrs["timings"] = json.dumps(res["timings"])
        f.attrs["complete"] = res["checkpoint"] is None
        for name, arr in res["arrays"].items():
            f.create_dataset(name, data=np.asarray(arr))
        g = f.create_group("tasks")
        for t, d in sorted(res["tasks"].items()):
            gt = g.create_group(f"{int(t):02d}")
            for k, v in d.items():
                v = np.asarray(v)
                gt.create_dataset(k, data=v, compression="gzip" if v.size > 1000 else None)
        c = f.create_group("counts")
        for phase, counts in res["counts"].items():
            if counts is not None:
                counts.to_hdf5(c.create_group(phase))
        ck = res["checkpoint"]
        if ck:
            k = f.create_group("checkpoint")
            k.attrs["meta"] = json.dumps(ck["meta"])
            for name, v in ck["state"].items():
                k.create_dataset(name, data=np.asarray(v))
    os.replace(tmp, path)


def read_continual(path) -> dict:
    with open_results(path, SCHEMA, "a continual-learning results file") as f:
        from ..store import json_attr
        res = {"config": json_attr(f, "config", path), "scalars": json_attr(f, "scalars", path),
               "timings": json_attr(f, "timings", path), "arrays": {}, "tasks": {},
               "counts": {"training": None, "inference": None}, "checkpoint": None}
        for name, ds in f.items():
            if isinstance(ds, h5py.Dataset):
                res["arrays"][name] = ds[()]
        for t, g in (f["tasks"].items() if isinstance(f.get("tasks"), h5py.Group) else ()):
            res["tasks"][int(t)] = {k: g[k][()] for k in g.keys()}
        for phase, g in (f["counts"].items() if isinstance(f.get("counts"), h5py.Group) else ()):
            res["counts"][phase] = Counts.from_hdf5(g, f"{path}:/counts/{phase}")
            if res["scalars"].get("kernels_per_step") is not None:     # files written before counts carried it
                res["counts"][phase].extra.setdefault("kernels_per_step", res["scalars"]["kernels_per_step"])
        if "checkpoint" in f:
            k = f["checkpoint"]
            res["checkpoint"] = {"meta": json_attr(k, "meta", path, default=None),
                                 "state": {n: k[n][()] for n in k.keys()}}
    if res["checkpoint"] is None:
        check_finished(res, path)
    return res


def check_finished(res, path):
    """Finished results are reported again only when they are whole: a square accuracy matrix
    whose cells up to the diagonal (tasks learned so far) are accuracies in [0, 1]."""
    from ..store import StoreError
    A = res["arrays"].get("accuracy_matrix")
    if A is None or np.ndim(A) != 2 or np.shape(A)[0] != np.shape(A)[1] or np.asarray(A).dtype.kind != "f":
        raise StoreError(f"{path}: finished results without a square accuracy matrix (damaged file?); "
                         "pass --force to run again")
    low = np.asarray(A)[np.tril_indices(len(A))]
    if not (np.isfinite(low).all() and (low >= 0).all() and (low <= 1).all()):
        raise StoreError(f"{path}: its accuracy matrix holds values that are no accuracy (NaN or outside [0, 1]; "
                         "damaged file?); pass --force to run again")


# ------------------------------------------------------------------------------------------
# figure
# ------------------------------------------------------------------------------------------
def draw_matrix(ax, matrix, tasks, interval=None):
    """The accuracy matrix on ``ax`` (rows: after learning task t; columns: tested task k), each
    cell annotated with its percentage and, given ``interval`` (same shape), ``± half-width``."""
    A = np.asarray(matrix, dtype=float)
    names = ["+".join(map(str, t)) for t in tasks]
    im = ax.imshow(np.ma.masked_invalid(100 * A), vmin=0, vmax=100, cmap="viridis")
    for (r, c), v in np.ndenumerate(A):
        if not np.isnan(v):
            text = f"{100 * v:.0f}" if interval is None else f"{100 * v:.0f}\n±{100 * interval[r][c]:.0f}"
            ax.text(c, r, text, ha="center", va="center", fontsize=7 if interval is None else 5.5,
                    color="white" if v < 0.6 else "black")
    ax.set_xticks(range(len(tasks)), names)
    ax.set_yticks(range(len(tasks)), names)
    ax.set_xlabel("tested task (classes)")
    ax.set_ylabel("after learning task")
    return im


def plot_matrix(matrix, tasks, path, title=None, force=True):
    """Heat map of one run's accuracy matrix."""
    from ..plots import _plt
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(tasks), 0.8 + 0.5 * len(tasks)))
    im = draw_matrix(ax, matrix, tasks)
    fig.colorbar(im, ax=ax, fraction=0.04, label="accuracy %")
    ax.set_title(title or "accuracy matrix", fontsize=9)
    from ..files import save_figure
    try:
        save_figure(fig, path, force, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
