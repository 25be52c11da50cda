"""MNIST and Fashion-MNIST: local IDX folders, checksum-verified download + cache, the embedded subset.

Sources (see ``docs/data.md``):

* ``embedded``: 1,000 train + 500 test real MNIST images shipped in ``mnist_embedded.npz``
  (made by ``make_embedded.py`` from the first 8,000 images of the official t10k file; SHA-256
  verified on load).
* ``mnist`` / ``fashion-mnist``: the official 60k/10k IDX files, from a folder (``data_dir``)
  or downloaded into a cache with MD5 verification.

All arrays are uint8; images are flattened to ``[n, 784]``.  Every error is a
:class:`DataError` with a one-line message naming the file and the problem.
"""
from __future__ import annotations

import json
import hashlib
import http.client
import os
import re
import socket
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError
from .idx import read_idx

VALID_SOURCES = ("embedded", "mnist", "fashion-mnist")
DOWNLOADABLE = ("mnist", "fashion-mnist")

#: role -> standard IDX file name (without ``.gz``)
STANDARD_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: name -> {official .gz file name: MD5}
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

#: name -> default mirror (base URL, file names appended)
MIRRORS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

#: the embedded subset and the SHA-256 of its content (see :func:`content_sha256`);
#: regenerate with ``python -m brian_snn.data.make_embedded``.
EMBEDDED_FILE = Path(__file__).with_name("mnist_embedded.npz")
EMBEDDED_SHA256 = "6a6a5c721d6e026f2f1ed0a44e423c2d5cf22fac0027c55fda7ecae38c5db4a0"
EMBEDDED_KEYS = ("x_train", "y_train", "x_test", "y_test")

#: fraction of a single image/label pool held out as the test set by :func:`load_idx_dir`
POOL_TEST_FRACTION = 0.25

IMAGE_SHAPE = (28, 28)
N_CLASSES = 10


# --------------------------------------------------------------------------------------------
# stratified, seeded selection
# --------------------------------------------------------------------------------------------

def _permutation(rng: np.random.Generator, n: int) -> np.ndarray:
    # argsort of uniform doubles: depends only on the PCG64 output stream, not on the
    # implementation of Generator.permutation, so it stays stable across numpy versions
    return np.argsort(rng.random(n), kind="stable")


def _allocate(counts: np.ndarray, n: int, caps: np.ndarray) -> np.ndarray:
    """Largest-remainder (Hamilton) apportionment of ``n`` over classes with sizes ``counts``.

    Each class gets floor(n * count / total) or one more, never more than its cap; ties in
    the remainder go to the lower class index.  Integer arithmetic, so platform independent.
    """
    counts = np.asarray(counts, dtype=np.int64)
    caps = np.asarray(caps, dtype=np.int64)
    total = int(counts.sum())
    if n == 0 or total == 0:
        return np.zeros_like(counts)
    num = n * counts
    quota = np.minimum(num // total, caps)
    remainder = num % total
    left = n - int(quota.sum())
    order = np.lexsort((np.arange(len(counts)), -remainder))
    while left > 0:
        progressed = False
        for c in order:
            if left == 0:
                break
            if quota[c] < caps[c]:
                quota[c] += 1
                left -= 1
                progressed = True
        if not progressed:  # pragma: no cover - guarded by the callers' size checks
            raise DataError(f"cannot allocate {n} samples over classes of sizes {counts.tolist()}")
    return quota


def _check_count(value, label: str, available: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{label}={value!r}: must be a non-negative integer")
    value = int(value)
    if value < 0:
        raise DataError(f"{label}={value}: must be a non-negative integer")
    if value > available:
        raise DataError(f"{label}={value} exceeds the {available} {what}")
    return value


def stratified_indices(y, n_train: int, n_test: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded stratified split of labels ``y`` into disjoint train and test parts.

    Per-class counts are the largest-remainder apportionment of ``n_train`` (then of
    ``n_test`` over what is left) by the class proportions of ``y``, so each part matches
    the pool's proportions as closely as integer counts allow.  Within each class the
    samples are taken in a seeded random order; each part is returned in a seeded random
    (class-interleaved) order.  Same ``y``, sizes and seed -> same indices.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"labels must be 1-D, got shape {y.shape}")
    n = len(y)
    n_train = _check_count(n_train, "n_train", n, "samples available")
    n_test = _check_count(n_test, "n_test", n - n_train, f"samples left after n_train={n_train} (of {n})")
    classes, inverse = np.unique(y, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(classes)).astype(np.int64)
    q_train = _allocate(counts, n_train, counts)
    q_test = _allocate(counts, n_test, counts - q_train)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(len(classes)):
        members = np.flatnonzero(inverse == c)
        members = members[_permutation(rng, len(members))]
        train.append(members[:q_train[c]])
        test.append(members[q_train[c]:q_train[c] + q_test[c]])
    train = np.concatenate(train) if train else np.zeros(0, dtype=np.intp)
    test = np.concatenate(test) if test else np.zeros(0, dtype=np.intp)
    return train[_permutation(rng, len(train))], test[_permutation(rng, len(test))]


def stratified_split(x, y, n_train: int, n_test: int, seed: int = 0):
    """Seeded stratified split of one pool ``(x, y)`` -> ``(x_train, y_train, x_test, y_test)``.

    Disjoint; class proportions preserved as closely as integer counts allow; deterministic
    in ``seed`` (see :func:`stratified_indices`).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y):
        raise DataError(f"images/labels count differ ({len(x)} images, {len(y)} labels)")
    tr, te = stratified_indices(y, n_train, n_test, seed)
    return x[tr], y[tr], x[te], y[te]


def _subset_indices(y, n: int, seed: int, part: int, label: str, what: str) -> np.ndarray:
    n = _check_count(n, label, len(y), what)
    # an independent stream per part, so the train subset does not depend on n_test
    seq = np.random.SeedSequence([int(seed), part])
    idx, _ = stratified_indices(y, n, 0, seed=seq)
    return idx


# --------------------------------------------------------------------------------------------
# the dataset record
# --------------------------------------------------------------------------------------------

@dataclass
class Dataset:
    """A train/test data set: uint8 images flattened to ``[n, 784]`` and uint8 labels ``[n]``."""

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str = ""

    def __post_init__(self):
        for part in ("train", "test"):
            x = getattr(self, f"x_{part}")
            y = getattr(self, f"y_{part}")
            if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 2):
                raise DataError(f"{self.name}: x_{part} must be a uint8 array [n, pixels], "
                                f"got {getattr(x, 'dtype', type(x).__name__)} {np.shape(x)}")
            if not (isinstance(y, np.ndarray) and y.dtype == np.uint8 and y.ndim == 1):
                raise DataError(f"{self.name}: y_{part} must be a uint8 array [n], "
                                f"got {getattr(y, 'dtype', type(y).__name__)} {np.shape(y)}")
            if len(x) != len(y):
                raise DataError(f"{self.name}: {part} images/labels count differ ({len(x)} images, {len(y)} labels)")
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise DataError(f"{self.name}: train and test images differ in size "
                            f"({self.x_train.shape[1]} vs {self.x_test.shape[1]} pixels)")

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    def class_counts(self, part: str = "train") -> np.ndarray:
        """Samples per class 0..9 in ``part`` (``"train"`` or ``"test"``)."""
        y = {"train": self.y_train, "test": self.y_test}[part]
        return np.bincount(y, minlength=N_CLASSES)

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> "Dataset":
        """A seeded stratified subset: ``n_train`` of the training and ``n_test`` of the test samples.

        ``None`` keeps that part whole (same order).  More than available -> :class:`DataError`.
        The train subset depends only on (train labels, ``n_train``, ``seed``), likewise for test.
        """
        x_tr, y_tr, x_te, y_te = self.x_train, self.y_train, self.x_test, self.y_test
        where = f"{self.name} ({self.source.split(':')[0].split(' (')[0]})" if self.source else self.name
        notes = []
        if n_train is not None:
            idx = _subset_indices(y_tr, n_train, seed, 0, "n_train",
                                  f"training images available in {where}")
            x_tr, y_tr = x_tr[idx], y_tr[idx]
            notes.append(f"{len(idx)} of {self.n_train} train")
        if n_test is not None:
            idx = _subset_indices(y_te, n_test, seed, 1, "n_test",
                                  f"test images available in {where}")
            x_te, y_te = x_te[idx], y_te[idx]
            notes.append(f"{len(idx)} of {self.n_test} test")
        if not notes:
            return Dataset(self.name, x_tr.copy(), y_tr.copy(), x_te.copy(), y_te.copy(), self.source)
        source = f"{self.source}; stratified subset (seed {seed}): {', '.join(notes)}"
        return Dataset(self.name, x_tr, y_tr, x_te, y_te, source)

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, train={self.n_train}x{self.x_train.shape[1]}, "
                f"test={self.n_test}x{self.x_test.shape[1]}, source={self.source!r})")


# --------------------------------------------------------------------------------------------
# IDX folders
# --------------------------------------------------------------------------------------------

def _load_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate one images + labels IDX pair -> (uint8 [n, 784], uint8 [n])."""
    images = read_idx(images_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{images_path}: expected uint8 images of 28x28 (3-D IDX), "
                        f"got {images.dtype} of shape {'x'.join(map(str, images.shape))}")
    labels = read_idx(labels_path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{labels_path}: expected uint8 labels (1-D IDX), "
                        f"got {labels.dtype} of shape {'x'.join(map(str, labels.shape))}")
    if len(labels) and int(labels.max()) >= N_CLASSES:
        raise DataError(f"{labels_path}: label {int(labels.max())} out of range 0-{N_CLASSES - 1}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} / {labels_path.name}: images/labels count differ "
                        f"({len(images)} images, {len(labels)} labels)")
    return images.reshape(len(images), -1), labels


def _find_standard(data_dir: Path, stem: str) -> Path | None:
    for candidate in (data_dir / f"{stem}.gz", data_dir / stem):  # .gz preferred when both exist
        if candidate.is_file():
            return candidate
    return None


_POOL_RE = re.compile(r"^(?P<prefix>.*)(?P<kind>images-idx3|labels-idx1)-ubyte(?:\.gz)?$")


def _find_pools(data_dir: Path) -> dict[str, dict[str, Path]]:
    """prefix -> {"images": path, "labels": path} for ``*images-idx3-ubyte[.gz]`` / ``*labels-idx1-ubyte[.gz]``."""
    pools: dict[str, dict[str, Path]] = {}
    for p in sorted(data_dir.iterdir()):
        m = _POOL_RE.match(p.name)
        if not m or not p.is_file():
            continue
        kind = "images" if m["kind"].startswith("images") else "labels"
        slot = pools.setdefault(m["prefix"], {})
        if kind not in slot or p.suffix == ".gz":  # .gz preferred when both exist
            slot[kind] = p
    return pools


def load_idx_dir(data_dir, name: str = "mnist", *, test_fraction: float = POOL_TEST_FRACTION,
                 seed: int = 0) -> Dataset:
    """Load MNIST-format IDX files from a folder.

    With the standard names (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each ``.gz`` or raw; ``.gz``
    wins if both exist) the official train/test split is used.  If the folder holds none of
    the standard names but exactly one ``*images-idx3-ubyte[.gz]`` + ``*labels-idx1-ubyte[.gz]``
    pair (e.g. the ``mnist8k-*`` files: the first 8,000 t10k images), that pool is split seeded
    and stratified (:func:`stratified_indices`) into train and test, ``round(test_fraction * n)``
    test samples (default 0.25: 8,000 -> 6,000 train / 2,000 test).
    """
    d = Path(data_dir)
    if not d.is_dir():
        raise DataError(f"{d}: not a directory" if d.exists() else f"{d}: no such directory")
    found = {role: _find_standard(d, stem) for role, stem in STANDARD_FILES.items()}
    if all(found.values()):
        x_tr, y_tr = _load_pair(found["train_images"], found["train_labels"])
        x_te, y_te = _load_pair(found["test_images"], found["test_labels"])
        files = ", ".join(p.name for p in found.values())
        return Dataset(name, x_tr, y_tr, x_te, y_te, f"IDX files in {d} ({files})")
    if any(found.values()):
        missing = ", ".join(f"{STANDARD_FILES[r]}[.gz]" for r, p in found.items() if p is None)
        raise DataError(f"{d}: incomplete IDX set: missing {missing}")
    pools = {k: v for k, v in _find_pools(d).items() if len(v) == 2}
    if not pools:
        raise DataError(f"{d}: no IDX data: expected the standard train-/t10k- images/labels files "
                        f"({', '.join(s + '[.gz]' for s in STANDARD_FILES.values())}) "
                        f"or one *images-idx3-ubyte[.gz] + *labels-idx1-ubyte[.gz] pair")
    if len(pools) > 1:
        names = ", ".join(f"{k}images/{k}labels" for k in pools)
        raise DataError(f"{d}: ambiguous: {len(pools)} image/label pairs ({names}); keep one or use the standard names")
    (prefix, pair), = pools.items()
    if not (isinstance(test_fraction, (float, int)) and 0 < test_fraction < 1):
        raise DataError(f"test_fraction={test_fraction!r}: must be between 0 and 1 (exclusive)")
    x, y = _load_pair(pair["images"], pair["labels"])
    n_test = int(np.floor(len(y) * test_fraction + 0.5))
    tr, te = stratified_indices(y, len(y) - n_test, n_test, seed)
    source = (f"{pair['images']} + {pair['labels'].name}: pool of {len(y)} split seeded-stratified "
              f"(seed {seed}, test fraction {test_fraction}) into {len(tr)} train / {len(te)} test")
    return Dataset(name, x[tr], y[tr], x[te], y[te], source)


# --------------------------------------------------------------------------------------------
# download + cache
# --------------------------------------------------------------------------------------------

def _canonical(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key == "fashion":
        key = "fashion-mnist"
    return key


def default_cache_dir(name: str) -> Path:
    """``$BRIAN_SNN_DATA/<name>`` if that variable is set, else ``~/.cache/brian_snn/<name>``.

    (One sub-folder per data set: MNIST and Fashion-MNIST use the same file names.)
    """
    env = os.environ.get("BRIAN_SNN_DATA")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "brian_snn"
    return base / _canonical(name)


def file_md5(path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, dest: Path, md5: str, timeout: float) -> None:
    """Download ``url`` to ``dest`` through a temp file in the same folder; verify MD5, then rename."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    h.update(chunk)
                    size += len(chunk)
        except urllib.error.HTTPError as exc:
            raise DataError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from None
        except urllib.error.URLError as exc:
            raise DataError(f"{url}: download failed ({exc.reason}); without network, pass --data-dir DIR "
                            f"with local IDX files") from None
        except (socket.timeout, TimeoutError):
            raise DataError(f"{url}: download failed (timed out after {timeout} s)") from None
        except http.client.IncompleteRead as exc:
            raise DataError(f"{url}: truncated download ({len(exc.partial)} bytes in the last read, "
                            f"connection closed early)") from None
        except (http.client.HTTPException, OSError) as exc:
            raise DataError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
        if length is not None and length.isdigit() and int(length) != size:
            raise DataError(f"{url}: truncated download ({size} of {length} bytes)")
        got = h.hexdigest()
        if got != md5:
            raise DataError(f"{url}: MD5 mismatch (expected {md5}, got {got}); not saved to {dest.parent}")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def download(name: str, cache_dir=None, base_url: str | None = None, timeout: float = 30) -> Path:
    """Make sure the four official ``.gz`` files of ``name`` are in the cache; return the cache folder.

    ``name`` is ``"mnist"`` or ``"fashion-mnist"``.  Files already present with the right MD5
    are not fetched again; others are downloaded from ``base_url`` (default: :data:`MIRRORS`)
    to a temporary name, MD5-verified against :data:`MD5`, then renamed into place, so a
    failed download never leaves a partial file.  Uses urllib only (honours ``*_proxy``).
    """
    key = _canonical(name)
    if key not in MD5:
        raise DataError(f"cannot download {name!r}: downloadable data sets are {', '.join(DOWNLOADABLE)}")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(key)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{cache}: cannot create cache directory ({exc.strerror or exc})") from None
    base = base_url or MIRRORS[key]
    if not base.endswith("/"):
        base += "/"
    for fname, md5 in MD5[key].items():
        dest = cache / fname
        if dest.is_file() and file_md5(dest) == md5:
            continue
        _fetch(base + fname, dest, md5, timeout)
    return cache


def verify_cache(name: str, cache_dir) -> Path:
    """Check that the cache holds the four official files of ``name`` with the right MD5 (no download)."""
    key = _canonical(name)
    cache = Path(cache_dir)
    for fname, md5 in MD5[key].items():
        path = cache / fname
        if not path.is_file():
            raise DataError(f"{path}: not in the cache and downloading is disabled; "
                            f"allow downloads or pass --data-dir DIR with local IDX files")
        got = file_md5(path)
        if got != md5:
            raise DataError(f"{path}: MD5 mismatch (expected {md5}, got {got})")
    return cache


# --------------------------------------------------------------------------------------------
# embedded subset
# --------------------------------------------------------------------------------------------

def content_sha256(arrays: dict) -> str:
    """SHA-256 over the arrays ``EMBEDDED_KEYS`` in order: key, dtype, shape and raw bytes of each.

    A content hash (not of the .npz bytes) so it does not depend on the zlib build.
    """
    h = hashlib.sha256()
    for key in EMBEDDED_KEYS:
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + b"\0" + a.dtype.str.encode() + b"\0")
        h.update(np.asarray(a.shape, dtype="<i8").tobytes())
        h.update(a.tobytes())
    return h.hexdigest()


def load_embedded(path=None) -> Dataset:
    """The packaged real-MNIST subset (1,000 train + 500 test), SHA-256 verified."""
    path = Path(path) if path is not None else EMBEDDED_FILE
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in EMBEDDED_KEYS if k not in z.files]
            if missing:
                raise DataError(f"{path}: not an embedded data set (missing arrays {', '.join(missing)})")
            arrays = {k: z[k] for k in EMBEDDED_KEYS}
            source = str(z["source"]) if "source" in z.files else "embedded subset"
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (the package was installed without its data)") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: corrupt embedded data ({type(exc).__name__}: {exc})") from None
    got = content_sha256(arrays)
    if got != EMBEDDED_SHA256:
        raise DataError(f"{path}: SHA-256 mismatch (expected {EMBEDDED_SHA256}, got {got})")
    return Dataset("mnist", arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                   f"embedded {path.name}: {source}")


# --------------------------------------------------------------------------------------------
# one entry point
# --------------------------------------------------------------------------------------------

def load_dataset(source: str = "embedded", data_dir=None, n_train: int | None = None,
                 n_test: int | None = None, seed: int = 0, cache_dir=None,
                 download_ok: bool = True) -> Dataset:
    """Load a data set by name.

    * ``data_dir`` given: :func:`load_idx_dir` on it (named ``source``, or ``"mnist"`` when
      ``source`` is ``"embedded"``); a single-pool folder is split with ``seed``.
    * ``"embedded"``: :func:`load_embedded`.
    * ``"mnist"`` / ``"fashion-mnist"``: the cache (``cache_dir`` or :func:`default_cache_dir`),
      downloading missing files when ``download_ok`` (else the cache must be complete).

    Then, if ``n_train`` / ``n_test`` is given, a seeded stratified subset (:meth:`Dataset.subset`).
    """
    key = _canonical(source) if isinstance(source, str) else source
    if key not in VALID_SOURCES:
        raise DataError(f"unknown data source {source!r}: valid sources are {', '.join(VALID_SOURCES)}")
    if data_dir is not None:
        ds = load_idx_dir(data_dir, name="mnist" if key == "embedded" else key, seed=seed)
    elif key == "embedded":
        ds = load_embedded()
    else:
        cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(key)
        if download_ok:
            download(key, cache)
        else:
            verify_cache(key, cache)
        ds = load_idx_dir(cache, name=key)
        ds.source = f"{key} official files, MD5-verified, in {cache}"
    if n_train is not None or n_test is not None:
        ds = ds.subset(n_train, n_test, seed)
    return ds


_DESCRIBED: dict = {}


def load_described(data: dict) -> Dataset:
    """The data set a run's description names (keys ``dataset``, ``data_dir``, ``n_train``,
    ``n_test``, ``data_seed``; never downloads), loaded once per process: a worker runs many jobs
    on the same data."""
    key = json.dumps(data, sort_keys=True, default=str)
    if key not in _DESCRIBED:
        _DESCRIBED[key] = load_dataset(data.get("dataset", "embedded"), data_dir=data.get("data_dir"),
                                       n_train=data.get("n_train"), n_test=data.get("n_test"),
                                       seed=data.get("data_seed", 0), download_ok=False)
    return _DESCRIBED[key]
