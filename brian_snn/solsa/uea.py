"""UEA multivariate time-series sets: ``data[n, T, C]``, ``label[n]`` per split.

Where a set is read from, in this order:

1. an explicit ``data_dir`` (``--data-dir``): a folder of sets, each a folder with ``train_data.npz``
   and ``test_data.npz`` (arrays ``data`` and ``label``); nothing else is tried;
2. ``$BRIAN_SNN_SHARED_DATA/uea/<Set>/`` (same layout) when that variable is set and the set is there;
3. the copy packaged with brian-snn: ``brian_snn/solsa/data/uea/<Set>.npz`` (arrays ``train_data``,
   ``train_label``, ``test_data``, ``test_label``), each file SHA-256 verified against
   ``manifest.json`` in the same folder before it is read.

The packaged sets (BasicMotions, Epilepsy, JapaneseVowels, RacketSports) come from the UEA & UCR
time-series classification archive: A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom,
P. Southam, E. Keogh, "The UEA multivariate time series classification archive, 2018",
arXiv:1811.00075 (https://timeseriesclassification.com).  Their ``[n, T, C]`` npz layout, values and
padding are those of the public repository ``ivanzzh/Exploring-Spike-Encoder-Designs-for-Near-Sensor-
Edge-Computing`` (the SOLSA authors' follow-up work), copied bit for bit; ``data/uea/README.md`` has
the details and ``make_uea.py`` rebuilds and checks the packaged files.

Variable-length series are padded at the end with NaN rows (all channels NaN); those rows become zeros.
Any other NaN or infinity, a wrong shape or dtype, or train/test that disagree is an error naming the
file and the problem.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .errors import SolsaError
from .tasks import Task, env_data_dir

SPLIT_FILES = {"train": "train_data.npz", "test": "test_data.npz"}
#: the packaged sets: one ``<Set>.npz`` each, listed with its SHA-256 in ``manifest.json``
PACKAGED_DIR = Path(__file__).resolve().parent / "data" / "uea"
MANIFEST_FILE = PACKAGED_DIR / "manifest.json"
MANIFEST_SCHEMA = "brian-snn-uea-manifest/1"
PACKED_KEYS = ("train_data", "train_label", "test_data", "test_label")


def uea_dir(data_dir=None) -> Path | None:
    """The folder of sets to look in before the packaged copy: ``data_dir``, else
    ``$BRIAN_SNN_SHARED_DATA/uea`` when the variable is set, else None."""
    return Path(data_dir) if data_dir else env_data_dir("uea")


def _folder_sets(d) -> list:
    if d is None or not Path(d).is_dir():
        return []
    return sorted(p.name for p in Path(d).iterdir() if (p / SPLIT_FILES["train"]).is_file())


def read_manifest(path=None) -> dict:
    """The packaged manifest: ``{file name: {"sha256": hex, "bytes": n}}`` (one-line error if unreadable)."""
    path = Path(path) if path is not None else MANIFEST_FILE
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise SolsaError(f"{path}: file not found (the packaged UEA manifest)") from None
    except (OSError, ValueError) as exc:
        raise SolsaError(f"{path}: not a readable JSON manifest ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or doc.get("schema") != MANIFEST_SCHEMA:
        raise SolsaError(f"{path}: not a {MANIFEST_SCHEMA} manifest")
    files = doc.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                              for v in files.values()):
        raise SolsaError(f"{path}: 'files' must map file names to {{\"sha256\": ...}}")
    return files


def packaged_sets() -> list:
    """Names of the sets shipped with the package."""
    return sorted(Path(name).stem for name in read_manifest())


def available_sets(data_dir=None) -> list:
    """Sets that :func:`load_uea` finds: those in ``data_dir`` when given, else those under
    ``$BRIAN_SNN_SHARED_DATA/uea`` plus the packaged ones."""
    if data_dir:
        return _folder_sets(data_dir)
    return sorted(set(_folder_sets(env_data_dir("uea"))) | set(packaged_sets()))


def verified_bytes(path, manifest=None) -> bytes:
    """The bytes of a packaged file after checking its SHA-256 against the manifest (one-line error
    naming the file and both digests on a mismatch, e.g. a truncated or altered file)."""
    path = Path(path)
    files = read_manifest(manifest)
    entry = files.get(path.name)
    where = Path(manifest) if manifest is not None else MANIFEST_FILE
    if entry is None:
        raise SolsaError(f"{path}: not listed in {where}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SolsaError(f"{path}: file not found (listed in {where})") from None
    except OSError as exc:
        raise SolsaError(f"{path}: cannot read ({type(exc).__name__})") from None
    got = hashlib.sha256(raw).hexdigest()
    if got != entry["sha256"]:
        raise SolsaError(f"{path}: SHA-256 mismatch (manifest {entry['sha256']}, file {got}; "
                         f"{len(raw)} bytes, manifest {entry.get('bytes', '?')})")
    return raw


def read_packaged(name: str, path=None, manifest=None) -> dict:
    """The four raw arrays of a packaged set (``train_data`` ... ``test_label``), checksum verified."""
    path = Path(path) if path is not None else PACKAGED_DIR / f"{name}.npz"
    raw = verified_bytes(path, manifest)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as f:
            missing = [k for k in PACKED_KEYS if k not in f.files]
            if missing:
                raise SolsaError(f"{path}: missing array(s) {', '.join(missing)} (has {', '.join(f.files) or 'none'})")
            return {k: f[k] for k in PACKED_KEYS}
    except SolsaError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SolsaError(f"{path}: not a readable .npz file ({type(exc).__name__})") from None


def load_npz(path) -> tuple:
    """Read one split: returns (data float64 [n, T, C], label int [n], padding mask bool [n, T])."""
    path = Path(path)
    if not path.is_file():
        raise SolsaError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("data", "label") if k not in f.files]
            if missing:
                raise SolsaError(f"{path}: missing array(s) {', '.join(missing)} (has {', '.join(f.files) or 'none'})")
            data, label = f["data"], f["label"]
    except SolsaError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SolsaError(f"{path}: not a readable .npz file ({type(exc).__name__})") from None
    return check_split(path, data, label)


def check_split(where, data, label) -> tuple:
    """Validate one split's arrays; returns (data float64 [n, T, C], label int [n], padding mask [n, T]).
    ``where`` names the file (and split) in error messages."""
    if data.ndim != 3 or min(data.shape) < 1:
        raise SolsaError(f"{where}: 'data' must be [n, T, C] and non-empty, got shape {data.shape}")
    if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
        raise SolsaError(f"{where}: 'data' must be real numbers, got dtype {data.dtype}")
    if label.ndim != 1 or len(label) != len(data):
        raise SolsaError(f"{where}: 'label' must be [n] with n = {len(data)}, got shape {label.shape}")
    if not np.issubdtype(label.dtype, np.number):
        raise SolsaError(f"{where}: 'label' must be numeric, got dtype {label.dtype}")
    label_f = label.astype(float)
    if not np.all(np.isfinite(label_f)) or np.any(label_f != np.round(label_f)):
        raise SolsaError(f"{where}: 'label' must hold integer class ids")
    data = data.astype(float)
    nan = np.isnan(data)
    if np.any(np.isinf(data)):
        raise SolsaError(f"{where}: 'data' contains infinite values")
    rows = np.zeros(data.shape[:2], dtype=bool)
    if nan.any():
        rows = nan.all(axis=2)                      # [n, T] fully-NaN steps
        if np.any(nan & ~rows[:, :, None]):
            raise SolsaError(f"{where}: 'data' contains NaN outside trailing padding rows")
        # padding must be trailing: once a row is NaN, every later row is
        if np.any(np.diff(rows.astype(int), axis=1) < 0):
            raise SolsaError(f"{where}: 'data' has NaN rows that are not at the end of a series")
        data = np.where(nan, 0.0, data)
    return data, label.astype(int), rows


def _load_splits(name: str, data_dir=None) -> tuple:
    """((train arrays), (test arrays), source) from the first place that has set ``name``."""
    d = uea_dir(data_dir)
    folder = d / str(name) if d is not None else None
    if folder is not None and folder.is_dir():
        return (load_npz(folder / SPLIT_FILES["train"]), load_npz(folder / SPLIT_FILES["test"]), folder)
    if data_dir:                        # an explicit folder is the only place looked at
        avail = _folder_sets(d)
        hint = f"available: {', '.join(avail)}" if avail else f"no sets found in {d}"
        raise SolsaError(f"unknown UEA set {name!r} ({hint})")
    packaged = packaged_sets()
    if str(name) not in packaged:
        raise SolsaError(f"unknown UEA set {name!r} (available: {', '.join(available_sets())})")
    path = PACKAGED_DIR / f"{name}.npz"
    a = read_packaged(str(name), path)
    return (check_split(f"{path}[train]", a["train_data"], a["train_label"]),
            check_split(f"{path}[test]", a["test_data"], a["test_label"]), path)


def load_uea(name: str, data_dir=None, standardize: bool = True) -> Task:
    """Load set ``name`` as a :class:`Task`: from ``data_dir`` when given, else from
    ``$BRIAN_SNN_SHARED_DATA/uea`` when it has the set, else the packaged copy (see the module docstring).

    Labels are re-indexed to 0..K-1 (sorted original ids, kept in ``info['labels']``).  With
    ``standardize`` each channel is z-scored with the training set's statistics (padding excluded).
    """
    (xtr, ytr, pad_tr), (xte, yte, pad_te), folder = _load_splits(name, data_dir)
    if xtr.shape[1:] != xte.shape[1:]:
        raise SolsaError(f"{folder}: train [T, C] = {xtr.shape[1:]} but test [T, C] = {xte.shape[1:]}")
    classes = np.unique(ytr)
    unseen = sorted(set(np.unique(yte).tolist()) - set(classes.tolist()))
    if unseen:
        raise SolsaError(f"{folder}: test labels {unseen} do not occur in the training set")
    if len(classes) < 2:
        raise SolsaError(f"{folder}: the training set has fewer than two classes")
    index = {int(c): k for k, c in enumerate(classes)}
    ytr = np.array([index[int(c)] for c in ytr])
    yte = np.array([index[int(c)] for c in yte])
    info = dict(source=str(folder), labels=[int(c) for c in classes], padded_rows_train=int(pad_tr.sum()),
                padded_rows_test=int(pad_te.sum()), standardized=bool(standardize))
    if standardize:
        valid = ~pad_tr
        mu = xtr[valid].mean(axis=0)
        sd = xtr[valid].std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        # padded steps stay at zero input
        xtr = np.where(valid[:, :, None], (xtr - mu) / sd, 0.0)
        xte = np.where(~pad_te[:, :, None], (xte - mu) / sd, 0.0)
    # shuffle both splits once (seeded): the files are sorted by class, and subsets must keep all classes
    rng = np.random.default_rng(0)
    otr, ote = rng.permutation(len(xtr)), rng.permutation(len(xte))
    return Task(f"uea:{name}", "classification", xtr[otr], ytr[otr], xte[ote], yte[ote], len(classes), info)
