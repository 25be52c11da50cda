"""Rebuild (or ``--check``) the UEA sets packaged in ``brian_snn/solsa/data/uea/`` from a source folder.

    python -m brian_snn.solsa.make_uea --source DIR [--out DIR] [--sets A,B] [--check]

``--source`` is a folder of sets, each a folder with ``train_data.npz`` and ``test_data.npz`` (arrays
``data`` float32 [n, T, C] and ``label`` int32 [n]: the layout of the public repository
``ivanzzh/Exploring-Spike-Encoder-Designs-for-Near-Sensor-Edge-Computing``, whose sets come from the
UEA archive, Bagnall et al. 2018, arXiv:1811.00075).  Default: ``$BRIAN_SNN_SHARED_DATA/uea`` when
that variable is set.  Without ``--sets`` every set in the source is packaged.

Each set becomes one ``<Set>.npz`` holding ``train_data``, ``train_label``, ``test_data`` and
``test_label`` — the source arrays unchanged (same dtype, shape and bytes, NaN padding included) —
written compressed with fixed zip timestamps (same bytes on the same zlib).  ``manifest.json`` lists
the SHA-256 and size of every file; the loader verifies it before reading a packaged set.

``--check`` writes nothing.  It fails (exit 1, one line per problem) when a packaged file does not
match its manifest digest, or its arrays differ in any bit from the source's, or a listed set is
missing from the source.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

from ..data.make_embedded import write_npz
from .errors import SolsaError
from .tasks import env_data_dir
from .uea import (MANIFEST_FILE, MANIFEST_SCHEMA, PACKAGED_DIR, PACKED_KEYS, SPLIT_FILES, read_manifest,
                  verified_bytes)

SOURCE_NOTE = ("UEA & UCR time-series classification archive: Bagnall, Dau, Lines, Flynn, Large, Bostrom, "
               "Southam, Keogh, 'The UEA multivariate time series classification archive, 2018', "
               "arXiv:1811.00075; [n, T, C] npz layout and values as in the public repository "
               "ivanzzh/Exploring-Spike-Encoder-Designs-for-Near-Sensor-Edge-Computing (train_data.npz / "
               "test_data.npz per set), copied unchanged; made by brian_snn/solsa/make_uea.py")


def source_arrays(source: Path, name: str) -> dict:
    """The four arrays of set ``name`` read unchanged from ``source/name/{train,test}_data.npz``."""
    out = {}
    for split, fname in SPLIT_FILES.items():
        path = source / name / fname
        if not path.is_file():
            raise SolsaError(f"{path}: file not found")
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("data", "label") if k not in f.files]
            if missing:
                raise SolsaError(f"{path}: missing array(s) {', '.join(missing)}")
            out[f"{split}_data"], out[f"{split}_label"] = f["data"], f["label"]
    return out


def same_arrays(a: dict, b: dict) -> list:
    """Keys whose arrays differ in dtype, shape or any byte (NaN payloads included)."""
    return [k for k in PACKED_KEYS
            if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape
            or np.ascontiguousarray(a[k]).tobytes() != np.ascontiguousarray(b[k]).tobytes()]


def source_sets(source: Path) -> list:
    return sorted(p.name for p in source.iterdir() if (p / SPLIT_FILES["train"]).is_file())


def build(source: Path, out: Path, sets=None) -> dict:
    """Write ``out/<Set>.npz`` for each set and ``out/manifest.json``; return the manifest."""
    sets = list(sets) if sets else source_sets(source)
    if not sets:
        raise SolsaError(f"{source}: no sets found (folders with {SPLIT_FILES['train']})")
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in sets:
        arrays = source_arrays(source, name)
        data = write_npz(out / f"{name}.npz", {k: arrays[k] for k in PACKED_KEYS})
        with np.load(io.BytesIO(data), allow_pickle=False) as f:       # read back: bit for bit
            assert not same_arrays(arrays, {k: f[k] for k in PACKED_KEYS})
        files[f"{name}.npz"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                                "shapes": {k: list(arrays[k].shape) for k in PACKED_KEYS},
                                "dtypes": {k: arrays[k].dtype.str for k in PACKED_KEYS}}
    manifest = {"schema": MANIFEST_SCHEMA, "source": SOURCE_NOTE, "files": files}
    (out / MANIFEST_FILE.name).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def check(source: Path, packaged: Path) -> list:
    """Problems (one line each) between the packaged files + manifest and the source folder."""
    manifest = packaged / MANIFEST_FILE.name
    problems = []
    for fname in read_manifest(manifest):
        path, name = packaged / fname, Path(fname).stem
        try:
            raw = verified_bytes(path, manifest)
            src = source_arrays(source, name)
        except SolsaError as exc:
            problems.append(str(exc))
            continue
        with np.load(io.BytesIO(raw), allow_pickle=False) as f:
            missing = [k for k in PACKED_KEYS if k not in f.files]
            diff = missing or same_arrays(src, {k: f[k] for k in PACKED_KEYS})
        if diff:
            problems.append(f"{path}: {', '.join(diff)} differ from {source / name}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = env_data_dir("uea")
    ap.add_argument("--source", type=Path, default=env,
                    help="folder of UEA sets (<Set>/train_data.npz, test_data.npz); "
                         "default $BRIAN_SNN_SHARED_DATA/uea when set")
    ap.add_argument("--out", type=Path, default=PACKAGED_DIR, help=f"output folder ({PACKAGED_DIR})")
    ap.add_argument("--sets", default=None, help="comma-separated set names (default: every set in --source)")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; fail if the files in --out differ from their manifest or from --source")
    args = ap.parse_args(argv)
    if args.source is None:
        ap.error("--source is required (or set BRIAN_SNN_SHARED_DATA)")
    if not args.source.is_dir():
        print(f"make_uea: error: {args.source}: not a folder", file=sys.stderr)
        return 2
    try:
        if args.check:
            problems = check(args.source, args.out)
            for p in problems:
                print(f"make_uea: {p}", file=sys.stderr)
            if not problems:
                n = len(read_manifest(args.out / MANIFEST_FILE.name))
                print(f"{n} packaged set(s) in {args.out} match their manifest and {args.source} bit for bit")
            return 1 if problems else 0
        sets = [s for s in args.sets.split(",") if s] if args.sets else None
        manifest = build(args.source, args.out, sets)
    except SolsaError as exc:
        print(f"make_uea: error: {exc}", file=sys.stderr)
        return 2
    total = 0
    for fname, e in manifest["files"].items():
        total += e["bytes"]
        print(f"wrote {args.out / fname} ({e['bytes']} bytes, SHA-256 {e['sha256']})")
    print(f"wrote {args.out / MANIFEST_FILE.name} ({len(manifest['files'])} sets, {total} bytes in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
