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

    if resume and out is not None and _has_checkpoint(out, config):
        ck = read_results(out)["checkpoint"]
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
                "meta": {"config_key": config.key(), "format": CHECKPOINT_FORMAT, "epoch": epoch, "position": at.position,
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


def evaluate_file(path, backend=None, progress=True):
    """Test the network stored in a results file again, on the data set it was trained with."""
    from ..data import load_dataset
    stored = read_results(path)
    cfg = stored["config"]
    if "weights" not in stored["arrays"]:
        raise ValueError(f"{path}: holds only a checkpoint (training did not finish); "
                         "run 'brian-snn train' again with the same --out to resume")
    data = cfg.get("data") or {}
    dataset = load_dataset(data.get("dataset", "embedded"), data_dir=data.get("data_dir"),
                           n_train=data.get("n_train"), n_test=data.get("n_test"),
                           seed=data.get("data_seed", 0), download_ok=False)
    spec = get_model_spec(cfg["model"], **cfg["model_params"])
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
