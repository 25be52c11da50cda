"""Train a model on a data set (one compiled binary, chunked), label its neurons, test it.

Checkpoints after every chunk into the results file; ``resume=True`` continues an interrupted
run from its last checkpoint when the configuration is the same.
"""
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..backend import get_backend, shared_backend
from ..copies import Copies
from ..encoding import Presentation
from ..models import get_model_spec
from ..models.diehl_cook import initial_weights
from ..readout import assign_labels, confusion_matrix, predict
from ..runner import Resume, learned_state, present
from ..store import read_results, write_results


CHECKPOINT_FORMAT = 2      # 2: positions, chunk indices and counts of the exact resume


@dataclass
class TrainConfig:
    model: str = "spikedyn"
    n_exc: int = 100
    backend: str = "cpp"
    epochs: int = 1
    seed: int = 0
    chunk_slots: int = 250
    label_samples: int | None = None      # training samples used for labelling (default: all)
    params: dict = field(default_factory=dict)           # model parameter overrides
    presentation: dict = field(default_factory=dict)     # Presentation overrides
    data: dict = field(default_factory=dict)             # provenance (filled in by the caller)
    copies: int = 1                       # > 1: batched copies with seeds seed, seed + 1, ...

    def key(self) -> str:
        d = asdict(self)
        if d["copies"] == 1:             # a single network keeps the key it always had
            del d["copies"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def seeds(self) -> list:
        return [self.seed + k for k in range(self.copies)]


def image_table(dataset):
    """Train and test images in one table plus a blank last row (padding)."""
    blank = np.zeros((1, dataset.x_train.shape[1]), dtype=np.uint8)
    return np.vstack([dataset.x_train, dataset.x_test, blank])


def initial_state(spec, seed):
    """Diehl & Cook's random weights, columns scaled to ``norm`` (what D&C's first normalisation
    does; SpikeDyn renormalises only columns that learned, so it must start normalised), and
    theta = 20 mV."""
    rng = np.random.default_rng(seed)
    w = initial_weights(spec, rng).reshape(spec.n_input, spec.n_exc)
    w *= spec.norm / w.sum(axis=0)
    return {"w": w.ravel(), "theta": np.full(spec.n_exc, 0.02)}


def copy_paths(out, config) -> list:
    """The results file of each batched copy: ``<stem>-seed<S><suffix>`` (``out`` itself holds
    the batch's checkpoint while it trains)."""
    from pathlib import Path
    p = Path(out)
    return [str(p.with_name(f"{p.stem}-seed{s}{p.suffix}")) for s in config.seeds]


def train_and_evaluate(config: TrainConfig, dataset, out=None, resume=True, progress=True, log=print):
    """Train, label and test; returns the results dict (with ``copies`` > 1: a list, one per copy,
    each also written to its file of :func:`copy_paths`)."""
    model = get_model_spec(config.model, n_exc=config.n_exc, n_input=dataset.x_train.shape[1],
                           **config.params)
    batched = config.copies > 1
    spec = Copies.of(model, config.copies) if batched else model
    # present() takes lists for batched copies, single values otherwise
    each = (lambda f: [f(s) for s in config.seeds]) if batched else (lambda f: f(config.seed))  # noqa: E731
    listed = (lambda x: x) if batched else (lambda x: [x])                                      # noqa: E731
    pres = Presentation(**config.presentation)
    backend = shared_backend(config.backend, chunk_slots=config.chunk_slots)     # a worker reuses its build
    images = image_table(dataset)
    n_train, n_test = len(dataset.y_train), len(dataset.y_test)
    orders = [[rng.permutation(n_train) for _ in range(config.epochs)]
              for rng in (np.random.default_rng(s) for s in config.seeds)]     # per copy, per epoch
    # Everything below is a function of the position in the run (epoch, chunk), never of where
    # a run was resumed: an interrupted run continued from its checkpoint is bit-identical.
    start = Resume([0] * config.copies, 0, [None] * config.copies) if batched else Resume()
    state, epoch0, where = each(lambda s: initial_state(model, s)), 0, start
    before = None                            # counts of the finished epochs
    t_start = time.perf_counter()
    timings = {"train_sim_s": 0.0, "build_s": 0.0}

    fingerprint = data_fingerprint(dataset)
    if resume and out is not None and _has_checkpoint(out, config):
        ck = read_results(out)["checkpoint"]
        check_checkpoint(ck, out, config, spec.join(state) if batched else state, n_train, fingerprint)
        meta = ck["meta"]
        state = spec.split(ck["state"]) if batched else ck["state"]
        epoch0 = meta["epoch"]
        before = _counts_from(meta["counts_before"])
        where = Resume(meta["position"], meta["chunk"], _counts_from(meta["counts"]), meta["sim_s"])
        timings.update(meta["timings"])
        log(f"resuming {out} at epoch {epoch0 + 1}, sample {where.position}")

    def checkpoint(epoch, st, at=start):
        if out is not None:
            write_results(out, {"config": _config_dict(config), "checkpoint": {
                "meta": {"config_key": config.key(), "format": CHECKPOINT_FORMAT, "data_sha256": fingerprint,
                         "epoch": epoch, "position": at.position,
                         "chunk": at.chunk, "counts": _counts_dict(at.counts), "sim_s": at.sim_wall_s,
                         "counts_before": _counts_dict(before), "timings": timings},
                "state": spec.join(st) if batched else st}})

    for epoch in range(epoch0, config.epochs):
        order = [o[epoch] for o in orders] if batched else orders[0][epoch]
        run = present(spec, backend, pres, images, order, state, plastic=1, phase="training",
                      seed=each(lambda s: s * 1000 + epoch * 10), progress=progress, resume=where,
                      on_chunk=lambda at, st, epoch=epoch: checkpoint(epoch, st, at))
        where = start
        before = run.counts if before is None else (
            [b + c for b, c in zip(before, run.counts)] if batched else before + run.counts)
        timings["train_sim_s"] += run.sim_wall_s
        timings["build_s"] += run.build_s
        # no pending schedule decision into the next epoch
        state = [learned_state(s) for s in run.state] if batched else learned_state(run.state)
        checkpoint(epoch + 1, state)

    # Labels from the training set with learning off (Diehl & Cook), then the test set.
    n_label = n_train if config.label_samples is None else min(config.label_samples, n_train)
    frozen = [trained_network(s) for s in state] if batched else trained_network(state)
    lab = present(spec, backend, pres, images, each(lambda s: np.arange(n_label)), frozen, plastic=0,
                  phase="inference", seed=each(lambda s: s * 1000 + 501), progress=progress)
    test = test_run(spec, backend, pres, images, n_train, n_test, frozen, each(lambda s: s), progress)
    timings.update(label_sim_s=lab.sim_wall_s, test_sim_s=test.sim_wall_s,
                   build_s=timings["build_s"] + lab.build_s + test.build_s,
                   total_s=time.perf_counter() - t_start)
    timings["train_samples_per_s"] = n_train * config.epochs / timings["train_sim_s"] if timings["train_sim_s"] else None
    timings["test_samples_per_s"] = n_test / test.sim_wall_s if test.sim_wall_s else None
    results = []
    for k, st in enumerate(listed(state)):
        copy_config = replace(config, seed=config.seeds[k]) if batched else config
        assignments, class_means = assign_labels(listed(lab.responses)[k], dataset.y_train[:n_label])
        responses = listed(test.responses)[k]
        pred = predict(responses, assignments)
        r = {"config": _config_dict(copy_config, model, pres),
             "scalars": {"accuracy": float((pred == dataset.y_test).mean()), "n_train": n_train, "n_test": n_test,
                         "train_presentations": None, "test_presentations": listed(test.presentations)[k]},
             "timings": dict(timings),
             "arrays": {"weights": st["w"].reshape(model.n_input, model.n_exc),
                        "thresholds_theta_V": st["theta"], "assignments": assignments,
                        "class_means": class_means, "confusion": confusion_matrix(dataset.y_test, pred),
                        "test_predictions": pred, "test_labels": dataset.y_test, "test_responses": responses},
             "counts": {"training": listed(before)[k], "inference": listed(test.counts)[k]}}
        if "learned" in st:
            r["arrays"]["learned"] = st["learned"]
        results.append(r)
    if out is not None:
        for path, r in zip(copy_paths(out, config) if batched else [out], results):
            write_results(path, r)
        if batched:
            Path(out).unlink(missing_ok=True)        # the batch's checkpoint: each copy has its file now
    return results if batched else results[0]


def data_fingerprint(dataset) -> str:
    """SHA-256 of the images and labels a run trains and tests on (checkpoints record it)."""
    h = hashlib.sha256()
    for a in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.data)
    return h.hexdigest()


def check_checkpoint(ck, path, config, expected, n_train, fingerprint):
    """Refuse to resume a checkpoint that does not fit this run (naming what does not): the
    data it was trained on, its position in the run, and its state (every array of ``expected``,
    the state a fresh run starts from, with that shape; all finite)."""
    meta = ck["meta"]
    if meta.get("data_sha256") not in (None, fingerprint):
        raise ValueError(f"{path}: its checkpoint was trained on other data (the images or labels of the "
                         "data set changed since); resuming would mix the two: pass --no-resume to start again")

    def whole(v, lo, hi):
        return not isinstance(v, bool) and isinstance(v, int) and lo <= v <= hi
    positions = meta.get("position")
    positions = positions if isinstance(positions, list) and config.copies > 1 else [positions]
    problems = []
    if not whole(meta.get("epoch"), 0, config.epochs):
        problems.append(f"epoch {meta.get('epoch')!r} is not in [0, {config.epochs}]")
    if len(positions) != config.copies or not all(whole(p, 0, n_train) for p in positions):
        problems.append(f"position {meta.get('position')!r} is not in [0, {n_train}] (training samples)")
    if not whole(meta.get("chunk"), 0, 2 ** 40):
        problems.append(f"chunk {meta.get('chunk')!r} is not a count")
    state = ck["state"]
    for k, v in expected.items():
        got = state.get(k)
        if got is None:
            problems.append(f"state {k!r} is missing")
        elif np.shape(got) != np.shape(v):
            problems.append(f"state {k!r} has shape {np.shape(got)}, expected {np.shape(v)}")
    for k, v in state.items():
        v = np.asarray(v)
        if v.dtype.kind not in "fiub":
            problems.append(f"state {k!r} holds {v.dtype} values")
        elif v.dtype.kind == "f" and not np.isfinite(v).all():
            problems.append(f"state {k!r} holds non-finite values (NaN or inf)")
    if problems:
        raise ValueError(f"{path}: its checkpoint cannot be resumed ({'; '.join(problems)}; damaged or edited "
                         "file?): pass --no-resume to start again, or --force with another --out")


def trained_network(state):
    """What a trained network is: its weights and thresholds.  Labelling and testing start from
    these alone (membrane potentials at rest), as ``evaluate`` does from a results file."""
    return {"w": state["w"], "theta": state["theta"]}


def test_run(spec, backend, pres, images, n_train, n_test, state, seed, progress):
    """The test set through the frozen network; its noise depends only on the run's seed, so
    ``evaluate`` on the same backend reproduces training's test responses exactly.  Batched
    copies: ``state`` and ``seed`` are lists (one per copy)."""
    copies = getattr(spec, "copies", None)
    seeds = [s * 1000 + 502 for s in seed] if copies else seed * 1000 + 502
    order = n_train + np.arange(n_test)
    return present(spec, backend, pres, images, [order] * copies if copies else order, state, plastic=0,
                   phase="inference", seed=seeds, progress=progress)


def _config_dict(config, spec=None, pres=None):
    d = asdict(config)
    d["config_key"] = config.key()
    if spec is not None:
        d["model_params"] = {k: getattr(spec, k) for k in spec.__dataclass_fields__}
    if pres is not None:
        d["presentation_params"] = asdict(pres)
    return d


def _has_checkpoint(path, config):
    if not Path(path).exists():
        return False
    ck = read_results(path)["checkpoint"]
    if ck is None or ck["meta"].get("config_key") != config.key():
        return False
    if ck["meta"].get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: its checkpoint was written by an older brian-snn and cannot be "
                         "resumed exactly; start again with --no-resume")
    return True


def _counts_dict(c):
    """A counts record (or, for batched copies, a list of them) as plain data for a checkpoint."""
    if isinstance(c, list):
        return [_counts_dict(x) for x in c]
    return None if c is None else c.to_dict()


def _counts_from(d):
    from hwmodel.counts import Counts
    if isinstance(d, list):
        return [_counts_from(x) for x in d]
    return None if d is None else Counts.from_dict(d)


MAX_CHUNK_SLOTS = 100_000      # a stored chunk size beyond this is not one brian-snn wrote


def _array(arrays, name, path, shape, kind="float", low=None, high=None):
    """``arrays[name]`` checked: present, numeric of ``kind``, exactly ``shape``, finite, in range."""
    a = arrays.get(name)
    if a is None:
        raise ValueError(f"{path}: dataset /{name} is missing (damaged file?)")
    a = np.asarray(a)
    numeric = a.dtype.kind in ("iu" if kind == "int" else "fiu")
    if not numeric:
        raise ValueError(f"{path}: dataset /{name} holds {a.dtype} values, not numbers (damaged file?)")
    if a.shape != tuple(shape):
        raise ValueError(f"{path}: dataset /{name} has shape {a.shape}, expected {tuple(shape)} for this network "
                         "(damaged or edited file?)")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{path}: dataset /{name} holds {int((~np.isfinite(a)).sum())} non-finite values "
                         "(NaN or inf; damaged file?)")
    if a.size and ((low is not None and a.min() < low) or (high is not None and a.max() > high)):
        raise ValueError(f"{path}: dataset /{name} holds values outside [{low}, {high}] (damaged or edited file?)")
    return a


def stored_network(stored, path):
    """The model spec of a results file, its configuration checked first: the one validation of a
    stored network (``evaluate``, NIR export).  One-line ValueError naming what is wrong."""
    from ..models import MODEL_NAMES, is_model_file
    cfg = stored["config"]
    if cfg.get("model") not in MODEL_NAMES and not is_model_file(cfg.get("model")):
        raise ValueError(f"{path}: its configuration names no known model (model {cfg.get('model')!r}; "
                         f"known: {', '.join(MODEL_NAMES)}); not a 'brian-snn train' results file?")
    for key in ("model_params", "presentation_params"):
        if not isinstance(cfg.get(key), dict):
            raise ValueError(f"{path}: its configuration has no {key!r} object (damaged file?)")
    try:
        spec = get_model_spec(cfg["model"], **cfg["model_params"])
    except TypeError as e:
        raise ValueError(f"{path}: its model_params do not fit {cfg['model']} ({e})") from None
    return spec


def check_run_settings(cfg, path):
    """The settings a re-run of a stored network needs (``evaluate``; an export needs none)."""
    chunk = cfg.get("chunk_slots")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK_SLOTS:
        raise ValueError(f"{path}: configuration chunk_slots must be an integer in [1, {MAX_CHUNK_SLOTS:,}], "
                         f"got {chunk!r}")
    if isinstance(cfg.get("seed"), bool) or not isinstance(cfg.get("seed"), int):
        raise ValueError(f"{path}: configuration seed must be an integer, got {cfg.get('seed')!r}")


def check_trained(stored, path, spec):
    """Weights [n_input, n_exc], thresholds [n_exc] and assignments [n_exc] (a class 0..9 or −1)."""
    a = stored["arrays"]
    _array(a, "weights", path, (spec.n_input, spec.n_exc))
    _array(a, "thresholds_theta_V", path, (spec.n_exc,))
    _array(a, "assignments", path, (spec.n_exc,), kind="int", low=-1, high=9)


def evaluate_file(path, backend=None, progress=True):
    """Test the network stored in a results file again, on the data set it was trained with."""
    from ..data import load_dataset
    stored = read_results(path)
    cfg = stored["config"]
    if "weights" not in stored["arrays"]:
        raise ValueError(f"{path}: holds only a checkpoint (training did not finish); "
                         "run 'brian-snn train' again with the same --out to resume")
    spec = stored_network(stored, path)
    check_run_settings(stored["config"], path)
    check_trained(stored, path, spec)
    data = cfg.get("data") or {}
    dataset = load_dataset(data.get("dataset", "embedded"), data_dir=data.get("data_dir"),
                           n_train=data.get("n_train"), n_test=data.get("n_test"),
                           seed=data.get("data_seed", 0), download_ok=False)
    if dataset.x_train.shape[1] != spec.n_input:
        raise ValueError(f"{path}: the network has {spec.n_input} inputs but its data set's images have "
                         f"{dataset.x_train.shape[1]} pixels")
    batched = cfg.get("copies", 1) > 1          # a copy of a batch: its noise is the batch's
    pres = Presentation(**cfg["presentation_params"])
    bk = get_backend(backend or cfg["backend"], chunk_slots=cfg["chunk_slots"])
    state = trained_network({"w": stored["arrays"]["weights"].ravel(),
                             "theta": stored["arrays"]["thresholds_theta_V"]})
    n_train, n_test = len(dataset.y_train), len(dataset.y_test)
    if batched:
        test = test_run(Copies((spec,)), bk, pres, image_table(dataset), n_train, n_test, [state], [cfg["seed"]],
                        progress)
        test.responses, test.counts = test.responses[0], test.counts[0]
    else:
        test = test_run(spec, bk, pres, image_table(dataset), n_train, n_test, state, cfg["seed"], progress)
    pred = predict(test.responses, stored["arrays"]["assignments"])
    stored_pred = stored["arrays"].get("test_predictions")
    same = stored_pred is not None and np.array_equal(pred, stored_pred)
    if same:
        note = "reproduces the stored test predictions exactly"
    elif bk.name != cfg["backend"]:
        note = (f"differs from the stored accuracy: run on {bk.name}, trained on {cfg['backend']} "
                "(each backend draws its own Poisson input)")
    else:
        note = "differs from the stored accuracy: the data or the code changed since training"
    return {"scalars": {"accuracy": float((pred == dataset.y_test).mean()), "n_test": n_test,
                        "stored_accuracy": stored["scalars"].get("accuracy"), "reproduced": same,
                        "note": note, "data": dataset.source},
            "timings": {"test_sim_s": test.sim_wall_s, "build_s": test.build_s,
                        "test_samples_per_s": n_test / test.sim_wall_s if test.sim_wall_s else None},
            "counts": {"inference": test.counts},
            "arrays": {"confusion": confusion_matrix(dataset.y_test, pred), "test_predictions": pred}}
