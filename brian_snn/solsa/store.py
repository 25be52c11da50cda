"""HDF5 results of a SOLSA experiment (schema ``brian-snn-solsa/1``).

Layout::

    /                      attrs: schema, experiment (JSON), summary (JSON), command
    /tasks/<task>/         attrs: kind, T, metric, sizes, n_train, n_val, n_test, info (JSON)
    /tasks/<task>/<method>/  attrs: test (last epoch's network, tested once), test_std, val (validation
                             after the last epoch; NaN without a validation split), train_seconds, engine,
                             updates_last_epoch, memory_analytic_bytes, memory_measured_bytes
                           datasets: per_seed, history_train, history_val (per epoch; no test history:
                                     test is read once, after training), history_updates, alpha, beta,
                                     schedule, W0, W1, ... (final weights of the first seed)
    /memory/               optional sweep: attrs with the crossovers, datasets over_T / over_width
                           (columns: value, analytic bytes and measured bytes per method)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import SolsaError
from .memory import MEMORY_METHODS

SCHEMA = "brian-snn-solsa/1"


def write_results(path, out: dict, memory: dict | None = None, command: str = "") -> None:
    import h5py
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise SolsaError(f"{path}: directory {path.parent} does not exist")
    from .runner import strip_arrays
    from ..files import replacing
    light = strip_arrays(out)
    with replacing(path) as tmp, h5py.File(tmp, "w") as f:      # atomic: a crash keeps the old file
        f.attrs["schema"] = SCHEMA
        f.attrs["experiment"] = json.dumps(light["experiment"])
        f.attrs["summary"] = json.dumps(light["summary"])
        f.attrs["command"] = command
        tg = f.create_group("tasks")
        for t in out["tasks"]:
            g = tg.create_group(t["name"].replace("/", "_"))
            for k in ("kind", "T", "metric", "n_train", "n_val", "n_test"):
                g.attrs[k] = t[k]
            g.attrs["sizes"] = np.asarray(t["sizes"])
            g.attrs["info"] = json.dumps(t["info"])
            for m, d in t["methods"].items():
                mg = g.create_group(m)
                for k in ("test", "test_std", "train_seconds", "engine", "updates_last_epoch"):
                    mg.attrs[k] = d[k]
                mg.attrs["val"] = np.nan if d["val"] is None else d["val"]
                mg.attrs["memory_analytic_bytes"] = d["memory"]["analytic_bytes"]
                mg.attrs["memory_measured_bytes"] = d["memory"]["measured_bytes"]
                mg["per_seed"] = np.asarray(d["per_seed"])
                mg["history_train"] = np.asarray([h["train"] for h in d["history"]])
                mg["history_val"] = np.asarray([np.nan if h["val"] is None else h["val"] for h in d["history"]])
                mg["history_updates"] = np.asarray([h["updates"] for h in d["history"]])
                mg["alpha"] = np.asarray(d["alpha"])
                mg["beta"] = np.asarray(d["beta"])
                mg["schedule"] = np.asarray(d["schedule"], dtype=int)
                for l, w in enumerate(d.get("weights", [])):
                    mg[f"W{l}"] = w
        if memory is not None:
            mg = f.create_group("memory")
            for k, v in memory.items():
                if k.startswith("crossover") or k in ("sizes", "T_fixed"):
                    mg.attrs[k] = -1 if v is None else v
            for key in ("over_T", "over_width"):
                rows = memory[key]
                vals = sorted({r["value"] for r in rows})
                cols = [np.asarray(vals, float)]
                names = ["value"]
                for m in MEMORY_METHODS:
                    get = {r["value"]: r for r in rows if r["method"] == m}
                    cols.append(np.asarray([get[v]["analytic_bytes"] for v in vals], float))
                    cols.append(np.asarray([np.nan if get[v]["measured_bytes"] is None else get[v]["measured_bytes"]
                                            for v in vals], float))
                    names += [f"{m}_analytic_bytes", f"{m}_measured_bytes"]
                ds = mg.create_dataset(key, data=np.stack(cols, axis=1))
                ds.attrs["columns"] = json.dumps(names)


def read_summary(path) -> dict:
    """Schema, summary and per-task/method test values of a results file."""
    from ..store import open_results
    with open_results(path, SCHEMA, "a SOLSA results file") as f:
        res = dict(summary=json.loads(f.attrs["summary"]), experiment=json.loads(f.attrs["experiment"]), tasks={})
        for tname, g in f["tasks"].items():
            res["tasks"][tname] = {m: dict(test=float(mg.attrs["test"]),
                                           memory_analytic_bytes=int(mg.attrs["memory_analytic_bytes"]),
                                           memory_measured_bytes=int(mg.attrs["memory_measured_bytes"]))
                                   for m, mg in g.items()}
        return res
