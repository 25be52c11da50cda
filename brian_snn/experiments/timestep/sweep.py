"""The window sweep: configuration, one evaluation (a job), the planned jobs on the job runner, the whole analysis and its files."""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ... import jobs as jobs_runner
from ...data import load_described
from ...files import replacing
from ...jobs import job_key
from ..energy import JETSON
from .models import tuned_spec

from .figures import plot_timestep
from .policy import check_tolerance, check_weights
from .rules import Settings, check_model, check_rules, enhance
from .table import build_rows, select_all
from .windows import DEFAULT_RULES, REST_RATIO, VARIANTS, check_dt, check_windows, presentation, rest_ms


# ------------------------------------------------------------------------------------------
# configuration
# ------------------------------------------------------------------------------------------
@dataclass
class TimestepConfig:
    models: tuple = ("spikedyn", "diehl-cook")
    neurons: tuple = (100,)
    windows_ms: tuple = (350.0, 200.0, 100.0, 50.0, 25.0)
    dt_ms: float = 0.5
    rest_ratio: float = REST_RATIO
    seeds: tuple = (0,)
    epochs: int = 1
    label_samples: int | None = None
    rules: dict = field(default_factory=lambda: check_rules(DEFAULT_RULES))
    variants: tuple = VARIANTS
    backend: str = "cpp"
    chunk_slots: int = 250
    data: dict = field(default_factory=lambda: {"dataset": "embedded"})
    n_val: int = 200                 # validation images cut from the data's training part (the policy's data)
    split_seed: int = 0
    stop_lead: int = 0               # adaptive window (0: fixed windows): every window is a maximum window
    stop_margin: int = 0             # ... ended by the leader's count and margin (brian_snn/encoding.py)

    def __post_init__(self):
        self.models = tuple(check_model(m) for m in self.models)
        if not self.models:
            raise ValueError("no model given")
        self.neurons = tuple(int(n) for n in self.neurons)
        if not self.neurons or min(self.neurons) < 1:
            raise ValueError("neurons must be positive integers")
        self.dt_ms = check_dt(self.dt_ms)
        self.windows_ms = tuple(check_windows(self.windows_ms, self.dt_ms))
        rest_ms(self.windows_ms[0], self.dt_ms, self.rest_ratio)
        self.seeds = tuple(int(s) for s in self.seeds) or (0,)
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs!r}")
        if self.label_samples is not None and int(self.label_samples) < 1:
            raise ValueError(f"label samples must be >= 1, got {self.label_samples!r}")
        self.rules = check_rules(self.rules)
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad:
            raise ValueError(f"unknown variant {bad[0]!r}; choose from {', '.join(VARIANTS)}")
        if "baseline" not in self.variants:
            self.variants = ("baseline",) + tuple(self.variants)
        # canonical data description (job keys, and so the resume cache, depend on it)
        self.data = {k: v for k, v in dict(self.data).items()
                     if v is not None and not (k == "data_seed" and v == 0)}
        for name in ("n_val", "split_seed", "stop_lead", "stop_margin"):
            v = getattr(self, name)
            if isinstance(v, bool) or float(v) != int(v) or int(v) < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {v!r}")
            setattr(self, name, int(v))

    @property
    def base_window_ms(self):
        return self.windows_ms[0]


# ------------------------------------------------------------------------------------------
# one evaluation (runs in this process or in a Dask worker)
# ------------------------------------------------------------------------------------------
def split_for(cfg, evaluate_on):
    """The data a job trains on and evaluates: with ``n_val`` > 0 (the protocol) the training part
    minus a stratified validation part, evaluated on validation (``evaluate_on`` "val") or on the
    test part ("test"); with ``n_val`` 0 (results stored before) train and test as given."""
    from ...protocol import protocol_splits
    ds = load_described(cfg["data"])
    if not int(cfg.get("n_val", 0)):
        return ds
    if int(cfg["n_val"]) >= len(ds.y_train):
        raise ValueError(f"--val {cfg['n_val']} leaves no training images ({len(ds.y_train)} given): "
                         "pass a smaller --val")
    return protocol_splits(ds, int(cfg["n_val"]), int(cfg.get("split_seed", 0))).dataset(evaluate=(evaluate_on,))


def evaluate(job: dict) -> dict:
    """Train (unless ``job['input']`` holds a trained state) at ``train_window_ms`` with
    ``train_settings``, label on training images and evaluate at ``infer_window_ms`` with
    ``infer_settings`` on validation (``job['evaluate']`` "val", the default) or test ("test").
    Plain data in and out."""
    from ...backend import shared_backend
    from ...readout import assign_labels, predict
    from ...runner import learned_state, present
    from ..train_eval import image_table, initial_state
    t_start = time.perf_counter()
    cfg = job["config"]
    ds = split_for(cfg, job.get("evaluate", "val"))
    images = image_table(ds)
    stop = {"stop_lead": int(cfg.get("stop_lead", 0)), "stop_margin": int(cfg.get("stop_margin", 0))}
    bk = shared_backend(cfg["backend"], chunk_slots=int(cfg["chunk_slots"]), max_slot_ms=float(cfg["max_slot_ms"]))
    seed, dt, rr = int(job["seed"]), cfg["dt_ms"], cfg["rest_ratio"]
    n_train, n_test = len(ds.y_train), len(ds.y_test)
    n_in = ds.x_train.shape[1]
    out = {"job": {k: v for k, v in job.items() if k not in ("input", "config", "group")}, "pid": os.getpid()}
    state = job["input"]["state"] if "input" in job else None
    if state is None:
        ts = Settings.from_dict(job["train_settings"])
        spec = tuned_spec(job["model"], job["n_exc"], n_in, **ts.params)
        pres = presentation(job["train_window_ms"], dt, rr, ts.intensity0, ts.min_spikes, **stop)
        st = initial_state(spec, seed)
        st["theta"] = st["theta"] + ts.theta_shift_mV * 1e-3
        rng = np.random.default_rng(seed)
        counts, wall, slots, build, steps = None, 0.0, 0, 0.0, []
        for epoch in range(int(cfg["epochs"])):
            run = present(spec, bk, pres, images, rng.permutation(n_train), st, plastic=1, phase="training",
                          seed=seed * 1000 + epoch * 10, progress=False)
            st = learned_state(run.state)
            counts = run.counts if counts is None else counts + run.counts
            wall += run.sim_wall_s
            slots += run.presentations
            build += run.build_s
            steps.append(run.steps_per_sample)
        state = st
        steps = np.concatenate(steps)
        out.update(train_counts=counts.to_dict(), train_wall_s=wall, train_presentations=slots,
                   train_samples=n_train * int(cfg["epochs"]), state=state,
                   train_steps_per_sample={"mean": float(steps.mean()), "min": int(steps.min()), "max": int(steps.max())})
    else:
        state = learned_state(state)
        build = 0.0
    inf = Settings.from_dict(job["infer_settings"])
    spec = tuned_spec(job["model"], job["n_exc"], n_in, **inf.params)
    pres = presentation(job["infer_window_ms"], dt, rr, inf.intensity0, inf.min_spikes, **stop)
    frozen = dict(state, theta=state["theta"] + inf.theta_shift_mV * 1e-3)
    n_label = n_train if cfg.get("label_samples") is None else min(int(cfg["label_samples"]), n_train)
    lab = present(spec, bk, pres, images, np.arange(n_label), frozen, plastic=0, phase="inference",
                  seed=seed * 1000 + 501, progress=False)
    assignments, _ = assign_labels(lab.responses, ds.y_train[:n_label])
    test = present(spec, bk, pres, images, n_train + np.arange(n_test), frozen, plastic=0, phase="inference",
                   seed=seed * 1000 + 502, progress=False)
    pred = predict(test.responses, assignments)
    out.update(accuracy=float((pred == ds.y_test).mean()), evaluated_on=job.get("evaluate", "val")
               if int(cfg.get("n_val", 0)) else "test", steps_per_sample=[int(x) for x in test.steps_per_sample],
               infer_counts=test.counts.to_dict(),
               infer_wall_s=test.sim_wall_s, infer_presentations=test.presentations, test_samples=n_test,
               spikes_per_test_sample=float(test.responses.sum(axis=1).mean()),
               kernels=test.counts.extra.get("kernels_per_step"), build_s=build + lab.build_s + test.build_s,
               wall_s=time.perf_counter() - t_start)
    return out


# ------------------------------------------------------------------------------------------
# jobs of the timestep analysis
# ------------------------------------------------------------------------------------------
def plan_jobs(cfg: TimestepConfig) -> list:
    """Jobs, full-window baselines first; inference-only jobs name the job whose state they use."""
    c = _cfg_dict(cfg)
    base = Settings().to_dict()
    jobs = []
    for model in cfg.models:
        for n in cfg.neurons:
            for seed in cfg.seeds:
                w0 = cfg.base_window_ms
                j0 = dict(model=model, n_exc=n, seed=seed, variant="baseline", train_window_ms=w0,
                          infer_window_ms=w0, train_settings=base, infer_settings=base, config=c)
                j0["key"] = job_key(j0)
                jobs.append(j0)
                for w in cfg.windows_ms[1:]:
                    enh = enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="train", at_steps_used=cfg.stop_lead > 0)
                    enh_inf = enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="infer")
                    inf_enh = enhance(model, w, w0, cfg.dt_ms, cfg.rules, phase="infer-only")
                    specs = {"baseline": (w, base, w, base, None),
                             "enhanced": (w, enh.to_dict(), w, enh_inf.to_dict(), None),
                             "inference-only": (w0, base, w, base, j0["key"]),
                             "inference-only-enhanced": (w0, base, w, inf_enh.to_dict(), j0["key"])}
                    for v in cfg.variants:
                        if v == "inference-only-enhanced" and not inf_enh.factors:
                            continue          # no knob acts with learning off: same as inference-only
                        tw, tset, iw, iset, dep = specs[v]
                        j = dict(model=model, n_exc=n, seed=seed, variant=v, train_window_ms=tw,
                                 infer_window_ms=iw, train_settings=tset, infer_settings=iset, config=c,
                                 after=dep)
                        j["key"] = job_key(j)
                        jobs.append(j)
    return jobs


CONFIG_KEYS = ("dt_ms", "rest_ratio", "epochs", "label_samples", "backend", "chunk_slots", "data", "n_val",
               "split_seed", "stop_lead", "stop_margin")


def test_jobs(jobs, selection) -> list:
    """The test split, once: per selected configuration, its selected row and the full-window
    baseline, each seed's network (trained by the selection job, or by the job it depends on)
    labelled again on training images and tested."""
    picked = []
    for c in selection["configs"]:
        s = c.get("selected")
        if s is None:
            continue
        for j in jobs:
            if (j["model"], j["n_exc"]) != (c["model"], c["n_exc"]):
                continue
            row = (j["variant"], j["train_window_ms"], j["infer_window_ms"])
            full = j["variant"] == "baseline" and j["train_window_ms"] == j["infer_window_ms"] == max(
                i["train_window_ms"] for i in jobs if i["model"] == j["model"])
            if row == (s["variant"], s["train_window_ms"], s["infer_window_ms"]) or full:
                picked.append(j)
    out = []
    for j in {j["key"]: j for j in picked}.values():
        t = {k: v for k, v in j.items() if k not in ("key", "group", "after")}
        t.update(evaluate="test", trained_by=j.get("after") or j["key"])
        t["key"] = job_key(t)
        out.append(t)
    return out


def _cfg_dict(cfg):
    d = asdict(cfg)
    out = {k: d[k] for k in CONFIG_KEYS}
    # every window's slot fits the full window's: one binary serves the whole sweep
    out["max_slot_ms"] = cfg.base_window_ms + rest_ms(cfg.base_window_ms, cfg.dt_ms, cfg.rest_ratio)
    out["code"] = code_fingerprint()
    return out


def code_fingerprint() -> str:
    """Hash of the source files that decide what a run computes (models, encoding, integration,
    backend, runner, readout, this module's evaluate).  Part of every job key, so cached runs of
    an older model version are never mixed with new ones."""
    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "models").glob("*.py")) + [root / f for f in (
        "encoding.py", "integration.py", "backend.py", "runner.py", "readout.py", "activity.py")]
    files += [Path(__file__).with_name("models.py"), root / "experiments" / "train_eval.py"]
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.name.encode() + f.read_bytes())
    h.update(inspect.getsource(evaluate).encode())
    return h.hexdigest()[:12]


def _stored_job(j):
    return dict({k: v for k, v in j.items() if k != "config"}, code=j["config"].get("code"))


def _git_head():
    import subprocess
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_jobs(jobs, out_dir=None, scheduler=None, workers=2, serial=False, log=print):
    """Run ``jobs`` on the job runner (jobs sharing a compiled binary in one process, inference-
    only jobs after the job whose state they use); finished jobs are cached in ``out_dir/jobs``.
    Returns results by job key (without the states)."""
    results = jobs_runner.run_jobs(with_groups(jobs), evaluate, None if out_dir is None else Path(out_dir) / "jobs",
                                   scheduler, 1 if serial else workers, log, _progress)
    for r in results.values():
        r.pop("state", None)
    return results


def with_groups(jobs):
    """Jobs that use the same compiled binaries form one group (run in one process)."""
    for j in jobs:
        j["group"] = sorted({str(b) for b in _binaries(j)})
    return jobs


def _progress(j, r):
    built = f", build {r['build_s']:.0f} s" if r.get("build_s", 0) > 0.5 else ""
    return f"{_describe(j)}: accuracy {100 * r['accuracy']:.1f} % ({r['wall_s']:.0f} s{built})"


def _binaries(j):
    """The compiled binaries a job uses, in order (training, inference)."""
    def key(window, settings):
        p = settings["params"]
        # the window is run-time, except on cuda (its runs cannot end early)
        w = window if j["config"]["backend"] == "cuda" else None
        return (j["model"], j["n_exc"], w, p.get("tau_e_ms"), p.get("reset_gap_mV"))
    train = [] if (j.get("after") or j.get("trained_by")) else [key(j["train_window_ms"], j["train_settings"])]
    return train + [key(j["infer_window_ms"], j["infer_settings"])]


def _describe(j):
    w = (f"window {j['infer_window_ms']:g} ms" if j["train_window_ms"] == j["infer_window_ms"]
         else f"trained {j['train_window_ms']:g} ms, inferred {j['infer_window_ms']:g} ms")
    probe = f" {j['knob']}×(T0/T)^{j['alpha']:g}" if j.get("knob") not in (None, "none", "full-window") else ""
    return f"{j['model']} N={j['n_exc']} seed {j['seed']} {j['variant']}{probe} {w}"


# ------------------------------------------------------------------------------------------
# the whole analysis
# ------------------------------------------------------------------------------------------
def run_timestep(cfg: TimestepConfig, out_dir=None, target=JETSON, tolerance_pp=2.0, weights=None,
                 policy_variants=None, scheduler=None, workers=2, serial=False, log=print, **budgets) -> dict:
    t0 = time.perf_counter()
    check_tolerance(tolerance_pp)
    check_weights(weights)
    jobs = plan_jobs(cfg)
    windows = ", ".join(f"{w:g}" for w in cfg.windows_ms)
    log(f"timestep analysis: {', '.join(cfg.models)}; N = {', '.join(map(str, cfg.neurons))}; windows {windows} ms "
        f"(dt {cfg.dt_ms:g} ms, rest x{cfg.rest_ratio:.3f}); seeds {', '.join(map(str, cfg.seeds))}; {len(jobs)} runs; "
        f"{len({b for j in jobs for b in _binaries(j)})} compiled binaries (window lengths are run-time values)")
    cache = None if out_dir is None else Path(out_dir) / "jobs"
    full = jobs_runner.run_jobs(with_groups(jobs), evaluate, cache, scheduler, 1 if serial else workers, log, _progress)
    results = {k: {f: v for f, v in r.items() if f != "state"} for k, r in full.items()}
    res = {"schema": "brian-snn-timestep/1", "config": asdict(cfg), "target": target,
           "jobs": [_stored_job(j) for j in jobs], "code": code_fingerprint(), "git": _git_head(),
           "results": results}
    res = tabulate(res, target, tolerance_pp, weights, policy_variants, **budgets)
    if cfg.n_val:                    # the protocol: the policy chose on validation; the test split, once
        tests = test_jobs(with_groups(jobs), res["selection"])
        for t in tests:
            t["input"] = {"state": full[t["trained_by"]]["state"]}
        log(f"test split, once: {len(tests)} run(s) (the selected rows and the full window)")
        done = jobs_runner.run_jobs(with_groups(tests), evaluate, cache, scheduler, 1 if serial else workers, log,
                                    _progress)
        for t in tests:
            t.pop("input")
        res["test_jobs"] = [_stored_job(t) for t in tests]
        res["test_results"] = {k: {f: v for f, v in r.items() if f != "state"} for k, r in done.items()}
        res["test"] = test_summary(res)
    res["wall_s"] = time.perf_counter() - t0
    return res


def test_summary(res) -> list:
    """Per (model, N): the selected row's and the full window's test accuracy (mean over seeds)."""
    out = []
    for c in res["selection"]["configs"]:
        s = c.get("selected")
        if s is None:
            continue
        rows = {}
        for j in res["test_jobs"]:
            if (j["model"], j["n_exc"]) != (c["model"], c["n_exc"]):
                continue
            r = res["test_results"][j["key"]]
            rows.setdefault((j["variant"], j["train_window_ms"], j["infer_window_ms"]), []).append(r)
        full_w = max(w for (_, tw, w) in rows)
        sel = rows.get((s["variant"], s["train_window_ms"], s["infer_window_ms"]), [])
        full = rows.get(("baseline", full_w, full_w), [])
        out.append({"model": c["model"], "n_exc": c["n_exc"], "selected": {k: s[k] for k in (
                    "variant", "train_window_ms", "infer_window_ms")},
                    "test_accuracy": float(np.mean([r["accuracy"] for r in sel])) if sel else None,
                    "full_window_test_accuracy": float(np.mean([r["accuracy"] for r in full])) if full else None,
                    "steps_per_test_sample": float(np.mean([np.mean(r["steps_per_sample"]) for r in sel])) if sel else None,
                    "seeds": len(sel)})
    return out


def tabulate(res, target=None, tolerance_pp=2.0, weights=None, policy_variants=None, **budgets) -> dict:
    """(Re-)price and (re-)select on stored results: no simulation (``--from``)."""
    target = target or res.get("target", JETSON)
    if target == "jetson-nano-derived":      # results stored before hwmodel priced Jetsons itself
        target = JETSON
    cfg = res["config"]
    c = {k: cfg.get(k, 0) for k in CONFIG_KEYS}
    jobs = [dict(j, config=dict(c, code=j.get("code"))) for j in res["jobs"]]
    rows = build_rows(jobs, res["results"], target)
    sel = select_all(rows, tolerance_pp, weights, policy_variants, **budgets)
    return dict(res, target=target, rows=rows, selection=sel)


def save(res, out_dir, plot=True):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with replacing(out / "timestep.json") as tmp:
        tmp.write_text(json.dumps(res, indent=1, default=_json_default))
    if plot:
        plot_timestep(res, out / "timestep.png")
    return out / "timestep.json"


def load(path) -> dict:
    return read_results_json(path, "timestep.json", ("brian-snn-timestep/1",), "'brian-snn timestep'")


def read_results_json(path, default_name, schemas, what) -> dict:
    """A stored sweep (``path`` or ``path/default_name``) whose schema is one of ``schemas``;
    files written before the job runner are brought up to date."""
    p = Path(path)
    if p.is_dir():
        p = p / default_name
    from ...files import parse_json, read_text
    if not p.exists():
        raise ValueError(f"{p}: no such file")
    try:
        res = parse_json(read_text(p), p)
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not a JSON file ({e})") from None
    if not isinstance(res, dict):
        raise ValueError(f"{p}: not a {what} result (a JSON {type(res).__name__}, expected an object)")
    if res.get("schema") not in schemas:
        raise ValueError(f"{p}: not a {what} results file")
    return _renamed_dependency(res)


def _renamed_dependency(res):
    """Files written before the job runner name a job's dependency ``state_from``."""
    for j in res.get("jobs", []):
        if "state_" "from" in j:
            j["after"] = j.pop("state_" "from")
    return res


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(type(o).__name__)
