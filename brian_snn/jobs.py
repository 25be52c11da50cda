"""One job runner for every sweep (seeds, variants, windows, model search, method comparisons).

A *job* is a plain dict that describes one run completely (model, parameters, data split, seed,
window, ...) plus three keys the runner reads:

* ``key``: its identity, :func:`job_key` of the description and the code fingerprint, so a cached
  result of older code is never reused;
* ``after`` (optional): the key of a job whose result this one needs; the runner passes that
  result in as ``job["input"]`` (e.g. a trained state tested at another window);
* ``group`` (optional, JSON-able): jobs of one group run one after the other in one process,
  because they share a compiled binary (a process that uses a build regenerates its code, which
  must not happen while another process runs that binary, and one process builds it once).

``run_jobs(jobs, evaluate, cache_dir)`` calls the pure function ``evaluate(job) -> dict`` for
every job whose result is not cached yet, serially or on Dask (a LocalCluster by default, or a
scheduler address to scale out), saves each result as it finishes (``cache_dir/<key>.json``, arrays
under ``"state"`` in ``<key>.npz``), and reports progress as jobs land.  A killed sweep started
again loses only the jobs that were running.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from .errors import BrianSnnError
from .files import replacing


def job_key(description: dict, fingerprint: str = "") -> str:
    """A job's identity: its description (JSON, sorted keys) and the code fingerprint."""
    d = {k: v for k, v in description.items() if k not in ("key", "input")}
    text = json.dumps(d, sort_keys=True, default=str) + fingerprint
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def code_fingerprint(files) -> str:
    """Hash of the source files that decide what a job computes."""
    h = hashlib.sha256()
    for f in sorted(Path(p) for p in files):
        if f.exists():
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:12]


class ResultCache:
    """Finished jobs' results in a folder: ``<key>.json`` and, for ``"state"`` arrays, ``<key>.npz``
    (written first, so a JSON file always has its arrays)."""

    def __init__(self, directory):
        self.dir = None if directory is None else Path(directory)

    def load(self, key):
        if self.dir is None or not (self.dir / f"{key}.json").exists():
            return None
        res = json.loads((self.dir / f"{key}.json").read_text())
        npz = self.dir / f"{key}.npz"
        if npz.exists():
            with np.load(npz) as z:
                res["state"] = {k: z[k] for k in z.files}
        return res

    def save(self, key, result):
        if self.dir is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        if result.get("state") is not None:
            with replacing(self.dir / f"{key}.npz") as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, **{k: np.asarray(v) for k, v in result["state"].items()})
        with replacing(self.dir / f"{key}.json") as tmp:
            tmp.write_text(json.dumps({k: v for k, v in result.items() if k != "state"}))


def cached_results(jobs, cache_dir) -> dict:
    """``{key: result}`` of the jobs already finished in ``cache_dir`` (nothing runs)."""
    cache = ResultCache(cache_dir)
    return {j["key"]: r for j in jobs if (r := cache.load(j["key"])) is not None}


def run_group(jobs, evaluate, inputs, cache_dir=None):
    """Run jobs of one group in order in this process (a Dask task).  ``inputs``: results of jobs
    outside the group by key; results made inside are passed along.  Each result is saved as it
    finishes (progress, and a crash loses one job)."""
    cache, local, out = ResultCache(cache_dir), dict(inputs), []
    for job in jobs:
        r = cache.load(job["key"])
        if r is None:
            r = evaluate(_with_input(job, local))
            cache.save(job["key"], r)
        local[job["key"]] = r
        out.append(r)
    return out


def _with_input(job, results):
    if job.get("after") is None:
        return job
    return dict(job, input=results[job["after"]])


def groups_in_order(jobs) -> list:
    """Jobs grouped by ``group`` (a job without one is alone), each group in dependency order, the
    groups in the order of their first job."""
    groups = {}
    for i, j in enumerate(jobs):
        g = j.get("group")
        gk = ("job", j["key"]) if g is None else ("group", json.dumps(g, sort_keys=True, default=str))
        groups.setdefault(gk, []).append(j)
    ordered = []
    for g in groups.values():
        inside, done, out = {j["key"] for j in g}, set(), []
        while len(out) < len(g):
            ready = [j for j in g if j["key"] not in done and (j.get("after") not in inside or j["after"] in done)]
            if not ready:
                raise ValueError("jobs depend on each other in a circle")
            out.append(ready[0])
            done.add(ready[0]["key"])
        ordered.append(out)
    return ordered


#: seconds a ``--scheduler`` address has to answer as a Dask scheduler (connection and handshake)
SCHEDULER_TIMEOUT_S = 10


class SchedulerError(BrianSnnError, ValueError):
    """A ``--scheduler`` address with no Dask scheduler answering there in time."""


def _failed(address, exc, timeout=None) -> str:
    """One line naming the address and what went wrong (the exception and its cause, shortened)."""
    parts, e = [], exc
    while e is not None and len(parts) < 2:
        if isinstance(e, asyncio.CancelledError):
            break
        text = " ".join(str(e).split())
        if isinstance(e, TimeoutError) and not text:
            text = "no answer"
        parts.append(f"{type(e).__name__}: {text}" if text else type(e).__name__)
        e = e.__cause__
    reason = "; ".join(parts)
    reason = reason if len(reason) <= 160 else reason[:157] + "..."
    timeout = SCHEDULER_TIMEOUT_S if timeout is None else timeout
    return f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s ({reason})"


def check_scheduler(address, timeout=None):
    """Connect to the Dask scheduler at ``address`` and hang up, all within ``timeout`` seconds
    (default :data:`SCHEDULER_TIMEOUT_S`); its address form first
    (:func:`brian_snn.options.check_scheduler_address`).

    Dask's own timeout does not bound the handshake (a server that accepts and stays silent hangs
    a client for ever), so the whole connection runs in an event loop of its own under one
    deadline.  Whatever goes wrong (refused, silent, or bytes that are not Dask's protocol, whose
    deserialiser may then ask for exabytes: MemoryError, OverflowError, ValueError, OSError,
    TimeoutError, ...) becomes one :class:`SchedulerError` naming the address."""
    from concurrent.futures import ThreadPoolExecutor
    from .options import check_scheduler_address
    try:
        check_scheduler_address(address)
    except ValueError as e:
        raise SchedulerError(f"--scheduler: {e}") from None
    timeout = SCHEDULER_TIMEOUT_S if timeout is None else timeout

    async def connect():
        from dask.distributed import Client
        client = None
        try:
            client = Client(address, asynchronous=True, timeout=timeout)
            await asyncio.wait_for(client, timeout + 1)     # Dask's own error first, where it has one
        finally:
            if client is not None:
                try:
                    await client.close(timeout=1)
                except Exception:        # noqa: BLE001 (a failed connection has little to close)
                    pass

    with ThreadPoolExecutor(1, thread_name_prefix="scheduler-check") as pool:   # also inside a running loop
        try:
            pool.submit(asyncio.run, connect()).result()
        except Exception as e:         # noqa: BLE001 (any failure of an untrusted peer: one line)
            raise SchedulerError(_failed(address, e, timeout)) from None


def open_client(scheduler=None, workers=2):
    """A Dask client: to ``scheduler`` when given (checked first by :func:`check_scheduler`),
    else a LocalCluster of ``workers`` processes (one thread each: Brian2 simulations are
    single-threaded and keep per-process state)."""
    from dask.distributed import Client, LocalCluster
    if scheduler:
        check_scheduler(scheduler)
        try:
            return Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s"), None
        except Exception as e:         # noqa: BLE001 (it answered the check a moment ago)
            raise SchedulerError(_failed(scheduler, e)) from None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=40)    # any free port
    return Client(cluster), cluster


def run_jobs(jobs, evaluate, cache_dir=None, scheduler=None, workers=1, log=print, describe=None):
    """Run every job not in ``cache_dir`` yet; returns ``{key: result}`` for all jobs.
    ``describe(job, result)``: the progress line of a job that finished.

    ``workers == 1`` and no ``scheduler``: serially in this process.  Otherwise one Dask task per
    group, submitted once the jobs it depends on have finished.  ``evaluate`` must be importable
    by the workers (a module-level function)."""
    keys = [j["key"] for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("two jobs have the same key (the same description)")
    missing = {j["after"] for j in jobs if j.get("after")} - set(keys)
    if missing:
        raise ValueError(f"jobs depend on jobs that are not planned: {sorted(missing)}")
    cache, results, t0 = ResultCache(cache_dir), cached_results(jobs, cache_dir), time.perf_counter()
    if results:
        log(f"reusing {len(results)} finished job(s) from {cache_dir}")
    todo = [j for j in jobs if j["key"] not in results]
    describe = describe or (lambda job, result: job["key"])
    done = [0]

    def landed(job, r):
        done[0] += 1
        results[job["key"]] = r
        log(f"[{done[0]}/{len(todo)}] {describe(job, r)} (elapsed {time.perf_counter() - t0:.0f} s)")

    groups = groups_in_order(todo)
    if scheduler is None and workers == 1:
        while groups:
            g = next((g for g in groups if _ready(g, results)), None)
            if g is None:
                raise ValueError("jobs depend on each other in a circle")
            groups.remove(g)
            for job in g:
                r = run_group([job], evaluate, _inputs([job], results), cache_dir)[0]
                landed(job, r)
        return results

    client, cluster = open_client(scheduler, workers)
    shared = cache_dir if scheduler is None else None     # a remote worker may not see the folder
    try:
        running = {}

        def submit_ready():
            for g in [g for g in groups if _ready(g, results)]:
                groups.remove(g)
                f = client.submit(run_group, g, evaluate, _inputs(g, results), shared, pure=False)
                running[f] = g

        submit_ready()
        while running:
            for g in running.values():               # workers save each job: report as they land
                for job in g:
                    if job["key"] not in results and shared is not None:
                        r = cache.load(job["key"])
                        if r is not None:
                            landed(job, r)
            finished = [f for f in running if f.done()]
            if not finished:
                time.sleep(0.5)
            for f in finished:
                g = running.pop(f)
                for job, r in zip(g, f.result()):
                    if job["key"] not in results:
                        cache.save(job["key"], r)
                        landed(job, r)
            submit_ready()
        if groups:
            raise ValueError("jobs depend on each other in a circle")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results


def _ready(group, results):
    inside = {j["key"] for j in group}
    return all(j.get("after") in (None, *inside) or j["after"] in results for j in group)


def _inputs(group, results):
    inside = {j["key"] for j in group}
    return {j["after"]: results[j["after"]] for j in group if j.get("after") and j["after"] not in inside}
