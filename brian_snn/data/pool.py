"""The 8,000-image MNIST pool of the results protocol: the first 8,000 images of the official MNIST test
set (t10k), as ``mnist8k-images-idx3-ubyte.gz`` + ``mnist8k-labels-idx1-ubyte.gz`` in one folder (which
:func:`brian_snn.data.load_idx_dir` splits seeded and stratified).

    .venv/bin/python -m brian_snn.data.pool [DIR]     # default: the cache folder (see default_pool_dir)

builds it from the checksum-verified official download (:func:`brian_snn.data.download`).  The
benchmark scripts call :func:`ensure_pool`: an existing pool is used as it is, a missing one is built,
and an offline machine gets one line naming ``--data-dir``.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from .errors import DataError

POOL_SIZE = 8000
IMAGES, LABELS = "mnist8k-images-idx3-ubyte.gz", "mnist8k-labels-idx1-ubyte.gz"
#: the pool's class counts, digits 0-9 (tests/data/README.md)
LABEL_COUNTS = (773, 905, 834, 803, 788, 723, 756, 813, 787, 818)


def default_pool_dir() -> Path:
    """``<cache>/mnist8k`` next to the MNIST download cache (``$BRIAN_SNN_DATA`` or ``~/.cache/brian_snn``)."""
    from .mnist import default_cache_dir
    return default_cache_dir("mnist").parent / "mnist8k"


def has_pool(d) -> bool:
    d = Path(d)
    return (d / IMAGES).is_file() and (d / LABELS).is_file()


def build_pool(out=None, cache_dir=None) -> Path:
    """Download (or reuse) the official MNIST files, MD5-checked, and write the first 8,000 t10k images
    and labels as the pool in ``out``.  Raises :class:`DataError` (one line) when that fails."""
    from .idx import write_idx
    from .mnist import _load_pair, download
    out = Path(out) if out is not None else default_pool_dir()
    cache = download("mnist", cache_dir)
    x, y = _load_pair(cache / "t10k-images-idx3-ubyte.gz", cache / "t10k-labels-idx1-ubyte.gz")
    x, y = x[:POOL_SIZE].reshape(POOL_SIZE, 28, 28), y[:POOL_SIZE]
    if tuple(np.bincount(y, minlength=10)) != LABEL_COUNTS:
        raise DataError(f"{cache}: the first {POOL_SIZE} t10k labels do not have the pool's class counts")
    out.mkdir(parents=True, exist_ok=True)
    write_idx(out / IMAGES, x.astype(np.uint8), compress=True)
    write_idx(out / LABELS, y.astype(np.uint8), compress=True)
    return out


def ensure_pool(data_dir=None, script: str = "this script") -> Path:
    """The pool folder to use: ``data_dir`` if given (it must hold the pool), else the default folder,
    built on first use.  Raises :class:`DataError` with one line naming ``--data-dir`` otherwise."""
    if data_dir is not None:
        d = Path(data_dir)
        if not has_pool(d):
            raise DataError(f"{script}: --data-dir {d} does not hold {IMAGES} + {LABELS} (the 8,000-image MNIST "
                            f"pool); build it there with: python -m brian_snn.data.pool {d}")
        return d
    d = default_pool_dir()
    if has_pool(d):
        return d
    try:
        return build_pool(d)
    except DataError as e:
        raise DataError(f"{script}: the 8,000-image MNIST pool is not in {d} and could not be built ({e}); "
                        f"on a machine without internet give --data-dir DIR holding {IMAGES} + {LABELS}") from None


def pool_for_script(data_dir, script_path) -> str:
    """:func:`ensure_pool` for a benchmark script: the folder, or one line on stderr and exit 2."""
    try:
        return str(ensure_pool(data_dir, f"benchmarks/{Path(script_path).name}"))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def _digest(path) -> str:
    import gzip
    with gzip.open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        out = build_pool(argv[0] if argv else None)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out / IMAGES} and {out / LABELS} ({POOL_SIZE} images; labels sha256 {_digest(out / LABELS)[:16]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
