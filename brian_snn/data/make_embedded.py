"""Regenerate ``mnist_embedded.npz`` deterministically from the 8k MNIST pool files.

    python -m brian_snn.data.make_embedded --shared DIR [--out FILE] [--check]

``--shared`` is the folder holding ``mnist8k-{images-idx3,labels-idx1}-ubyte.gz``; default
``$BRIAN_SNN_SHARED_DATA/mnist`` when that variable is set.

Rule (also in docs/data.md):

1. pool = ``mnist8k-{images-idx3,labels-idx1}-ubyte.gz`` (the first 8,000 images of the official
   MNIST t10k set);
2. split it exactly as :func:`load_idx_dir` does by default: seeded stratified, seed 0,
   6,000 train / 2,000 test;
3. take :meth:`Dataset.subset` (n_train=1000, n_test=500, seed=0) of that split.

So the embedded train images are a subset of the 6,000-image train split and the embedded test
images a subset of the 2,000-image test split of the same pool (no leakage when a model trained
on the embedded set is tested on the pool split).  The .npz also records the pool indices.

The file is written with fixed zip timestamps, so on the same zlib the bytes are identical;
``load_embedded`` verifies the content SHA-256 (:func:`content_sha256`), which is independent of
zlib.  The script prints it; after a deliberate change paste it into ``EMBEDDED_SHA256`` in
``mnist.py``.  ``--check`` writes nothing and exits non-zero if the regenerated content differs from that constant.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from . import mnist
from .mnist import EMBEDDED_FILE, EMBEDDED_SHA256, content_sha256, load_idx_dir


def default_pool_dir() -> Path | None:
    """``$BRIAN_SNN_SHARED_DATA/mnist`` when that variable is set, else None (``--shared`` is then required)."""
    base = os.environ.get("BRIAN_SNN_SHARED_DATA")
    return Path(base) / "mnist" if base else None


N_TRAIN, N_TEST, SEED = 1000, 500, 0


def build(shared_dir: Path) -> dict:
    """The arrays of the embedded file (plus provenance) from the 8k pool in ``shared_dir``."""
    pool = load_idx_dir(shared_dir, name="mnist", seed=SEED)          # 6,000 / 2,000
    sub = pool.subset(N_TRAIN, N_TEST, seed=SEED)                      # 1,000 / 500
    # pool indices, recomputed by the same functions, for provenance
    from .idx import read_idx
    images = sorted(shared_dir.glob("*images-idx3-ubyte*"))[0]
    labels = sorted(shared_dir.glob("*labels-idx1-ubyte*"))[0]
    x_all = read_idx(images).reshape(-1, 784)
    y_all = read_idx(labels)
    n_test = int(np.floor(len(y_all) * mnist.POOL_TEST_FRACTION + 0.5))
    tr, te = mnist.stratified_indices(y_all, len(y_all) - n_test, n_test, SEED)
    sub_tr = mnist._subset_indices(y_all[tr], N_TRAIN, SEED, 0, "n_train", "")
    sub_te = mnist._subset_indices(y_all[te], N_TEST, SEED, 1, "n_test", "")
    idx_train, idx_test = tr[sub_tr], te[sub_te]
    assert np.array_equal(x_all[idx_train], sub.x_train) and np.array_equal(y_all[idx_test], sub.y_test)
    source = (f"real MNIST: {N_TRAIN} train + {N_TEST} test, seeded stratified (seed {SEED}) subset of the "
              f"6000/2000 seeded stratified split of {images.name} (first 8,000 images of the official "
              f"t10k set); made by brian_snn/data/make_embedded.py")
    return {
        "x_train": sub.x_train, "y_train": sub.y_train, "x_test": sub.x_test, "y_test": sub.y_test,
        "idx_train": idx_train.astype(np.int32), "idx_test": idx_test.astype(np.int32),
        "source": np.array(source),
    }


def write_npz(path: Path, arrays: dict) -> bytes:
    """np.savez_compressed-compatible, with fixed timestamps and order (deterministic bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue(), compresslevel=9)
    data = buf.getvalue()
    Path(path).write_bytes(data)
    return data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=default_pool_dir(),
                    help="folder of the mnist8k files (default $BRIAN_SNN_SHARED_DATA/mnist when set)")
    ap.add_argument("--out", type=Path, default=EMBEDDED_FILE, help=f"output file ({EMBEDDED_FILE})")
    ap.add_argument("--check", action="store_true", help="write nothing; fail if the content differs from EMBEDDED_SHA256")
    args = ap.parse_args(argv)
    if args.shared is None:
        ap.error("--shared DIR is required (or set BRIAN_SNN_SHARED_DATA)")
    arrays = build(args.shared)
    digest = content_sha256(arrays)
    if args.check:
        ok = digest == EMBEDDED_SHA256
        print(f"content SHA-256 {digest} {'matches' if ok else '!='} EMBEDDED_SHA256 {EMBEDDED_SHA256}",
              file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    data = write_npz(args.out, arrays)
    print(f"wrote {args.out} ({len(data)} bytes, file SHA-256 {hashlib.sha256(data).hexdigest()})")
    print(f"content SHA-256 {digest}" + ("" if digest == EMBEDDED_SHA256 else "  <- set EMBEDDED_SHA256 in mnist.py"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
