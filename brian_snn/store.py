"""HDF5 results files (schema in docs/hdf5.md).

Writes are atomic (a temporary file of this process renamed over the target), so an
interrupted write never destroys what was there before.  Checkpoints live in the same file under /checkpoint.
"""
import json
from pathlib import Path

import h5py
import numpy as np

from hwmodel.counts import Counts

from .errors import BrianSnnError
from .files import replacing

SCHEMA = "brian-snn-results/1"


class StoreError(BrianSnnError, ValueError):
    pass


def open_results(path, schema=SCHEMA, what="a brian-snn results file"):
    """An HDF5 results file open for reading whose ``schema`` attribute is ``schema``; a missing,
    unreadable (truncated, corrupt) or foreign file is a one-line StoreError.  Every results
    reader (train, continual, SOLSA) opens its files here."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: file not found")
    from .files import check_hdf5, check_input
    try:
        check_input(path)                    # a FIFO would block, a device never end
        f = h5py.File(path, "r")
    except OSError as e:
        raise StoreError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {e}") from None
    except ValueError as e:
        raise StoreError(str(e)) from None
    try:
        check_hdf5(f, path)                  # no external links: the file holds its own data
    except ValueError as e:
        f.close()
        raise StoreError(str(e)) from None
    if f.attrs.get("schema") != schema:
        found = f.attrs.get("schema")
        f.close()
        raise StoreError(f"{path}: not {what} (schema {found!r})")
    return f


def write_results(path, results: dict):
    """``results``: config (dict), arrays (name -> array), scalars (dict), counts (phase -> Counts),
    timings (dict), checkpoint (dict or None)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["schema"] = SCHEMA
        f.attrs["config"] = json.dumps(results.get("config", {}), sort_keys=True)
        f.attrs["scalars"] = json.dumps(results.get("scalars", {}))
        f.attrs["timings"] = json.dumps(results.get("timings", {}))
        for name, arr in results.get("arrays", {}).items():
            f.create_dataset(name, data=np.asarray(arr), compression="gzip" if np.size(arr) > 1000 else None)
        g = f.create_group("counts")
        for phase, counts in results.get("counts", {}).items():
            if counts is not None:
                counts.to_hdf5(g.create_group(phase))
        ck = results.get("checkpoint")
        if ck:
            c = f.create_group("checkpoint")
            c.attrs["meta"] = json.dumps(ck["meta"])
            for k, v in ck["state"].items():
                c.create_dataset(k, data=np.asarray(v))


def inspect(path, schema=SCHEMA):
    """What ``path`` holds, from its attributes only: None (no file) or a dict with ``kind``
    'checkpoint' (an unfinished run; ``meta``: the checkpoint's), 'finished' or 'other' (``what``
    it is), and ``config`` (the stored configuration)."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_dir():
        return {"kind": "other", "what": "a folder", "config": {}, "meta": None}
    try:
        with h5py.File(path, "r") as f:
            found = f.attrs.get("schema")
            if found != schema:
                return {"kind": "other", "what": f"HDF5 with schema {found!r}", "config": {}, "meta": None}
            ck = f.get("checkpoint")
            return {"kind": "finished" if ck is None else "checkpoint", "config": json_attr(f, "config", path),
                    "meta": None if ck is None else json_attr(ck, "meta", path, default=None)}
    except StoreError as e:
        return {"kind": "other", "what": str(e).partition(": ")[2], "config": {}, "meta": None}
    except (OSError, ValueError):
        return {"kind": "other", "what": "not a readable HDF5 file", "config": {}, "meta": None}


def json_attr(obj, name, path, default="{}", kind=dict):
    """A JSON attribute of an HDF5 object, checked to be a ``kind`` (one-line StoreError)."""
    from .files import parse_json
    raw = obj.attrs.get(name, default)
    if raw is None:
        raise StoreError(f"{path}: attribute {obj.name.rstrip('/')}/@{name} is missing (damaged file?)")
    try:
        value = parse_json(raw.decode() if isinstance(raw, bytes) else str(raw), path)
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, kind):
        raise StoreError(f"{path}: attribute {obj.name.rstrip('/')}/@{name} is not a JSON "
                         f"{'object' if kind is dict else kind.__name__} (damaged file?)")
    return value


def read_results(path) -> dict:
    with open_results(path) as f:
        out = {"config": json_attr(f, "config", path), "scalars": json_attr(f, "scalars", path),
               "timings": json_attr(f, "timings", path), "arrays": {}, "counts": {}, "checkpoint": None}
        for name, ds in f.items():
            if isinstance(ds, h5py.Dataset):
                out["arrays"][name] = ds[()]
        counts = f.get("counts")
        for phase, g in (counts.items() if isinstance(counts, h5py.Group) else ()):
            out["counts"][phase] = Counts.from_hdf5(g, f"{path}:/counts/{phase}")
        if "checkpoint" in f:
            c = f["checkpoint"]
            out["checkpoint"] = {"meta": json_attr(c, "meta", path, default=None),
                                 "state": {k: c[k][()] for k in c.keys()}}
        return out
