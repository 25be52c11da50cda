"""Command-line options for data (for ``brian-snn train`` and friends), argparse only."""
from __future__ import annotations

import argparse

from ..options import hidden_alias, int_at_least
from .mnist import VALID_SOURCES, Dataset, load_dataset


# a sample count: 0 would train or test on nothing and report NaN
_count = int_at_least(1, "a positive integer (at least 1 sample)")


def add_sample_arguments(parser, train_help: str, test_help: str) -> None:
    """``--train-samples N`` and ``--test-samples N`` (dest ``n_train``, ``n_test``; integers >= 1,
    default None); ``--n-train`` / ``--n-test`` are hidden aliases (documented commands used them)."""
    parser.add_argument("--train-samples", dest="n_train", type=_count, metavar="N", default=None, help=train_help)
    hidden_alias(parser, "--n-train", dest="n_train", type=_count, metavar="N")
    parser.add_argument("--test-samples", dest="n_test", type=_count, metavar="N", default=None, help=test_help)
    hidden_alias(parser, "--n-test", dest="n_test", type=_count, metavar="N")


def add_data_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add ``--dataset``, ``--data-dir``, ``--cache-dir``, ``--train-samples``, ``--test-samples``,
    ``--data-seed`` and ``--no-download`` to ``parser`` (in an argument group "data")."""
    g = parser.add_argument_group("data")
    g.add_argument("--dataset", default="embedded", choices=VALID_SOURCES,
                   help="data set (default: embedded, 1,000 train + 500 test real MNIST shipped with the package)")
    g.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder with IDX files: the standard train-/t10k- names (.gz or raw), or one "
                        "*images-idx3-ubyte + *labels-idx1-ubyte pool split 75/25 seeded-stratified")
    g.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="download cache (default: $BRIAN_SNN_DATA/<dataset> or ~/.cache/brian_snn/<dataset>)")
    add_sample_arguments(g, "stratified subset of N training images (default: all)",
                         "stratified subset of N test images (default: all)")
    g.add_argument("--data-seed", type=int, metavar="S", default=0, help="seed of splits and subsets (default 0)")
    g.add_argument("--no-download", action="store_true", help="never download; the cache must hold the files")
    return g


def dataset_from_args(args: argparse.Namespace) -> Dataset:
    """Load the data set the options of :func:`add_data_arguments` describe; a ``--data-dir``
    that holds the other data set is refused (:func:`check_data_dir`)."""
    if args.data_dir is None:
        return load_dataset(args.dataset, n_train=args.n_train, n_test=args.n_test, seed=args.data_seed,
                            cache_dir=args.cache_dir, download_ok=not args.no_download)
    ds = load_dataset(args.dataset, data_dir=args.data_dir, seed=args.data_seed)
    check_data_dir(args.dataset, args.data_dir, ds)
    if args.n_train is not None or args.n_test is not None:         # as load_dataset does
        ds = ds.subset(args.n_train, args.n_test, args.data_seed)
    return ds


# -- does --data-dir hold the data set --dataset names? -------------------------------------------
# IDX files carry no name, and MNIST and Fashion-MNIST have the same file names, shapes and
# counts, so only content can tell.  Two exact tests, no guessing:
#  * MNIST: the folder's images include images of the packaged subset (real MNIST t10k images,
#    byte for byte).  True of the official t10k file (.gz or raw, any copy), of the 8k pool and of
#    any folder built from them; a Fashion-MNIST image is never byte-identical to an MNIST digit.
#  * Fashion-MNIST: a .gz file has the MD5 of an official Fashion-MNIST file (mnist.MD5).
# Anything else (a raw Fashion-MNIST copy, MNIST train images alone, other data) cannot be told
# apart; the run's log line names the files it loaded (Dataset.source).

def _loaded_files(data_dir) -> list:
    """The IDX files ``load_idx_dir(data_dir)`` reads: the standard four, or the single pool."""
    from pathlib import Path
    from .mnist import STANDARD_FILES, _find_pools, _find_standard
    d = Path(data_dir)
    found = [_find_standard(d, stem) for stem in STANDARD_FILES.values()]
    if all(found):
        return found
    return [p for pair in _find_pools(d).values() if len(pair) == 2 for p in pair.values()]


def _packaged_mnist_matches(ds: Dataset) -> int:
    """How many images of ``ds`` are byte-identical to images of the packaged MNIST subset."""
    import hashlib
    from .mnist import load_embedded
    emb = load_embedded()
    key = lambda row: hashlib.blake2b(row.tobytes(), digest_size=16).digest()     # noqa: E731
    known = {key(r) for r in emb.x_train} | {key(r) for r in emb.x_test}
    if ds.x_train.shape[1] != emb.x_train.shape[1]:
        return 0
    return sum(key(r) in known for x in (ds.x_train, ds.x_test) for r in x)


def check_data_dir(dataset: str, data_dir, ds: Dataset) -> None:
    """Refuse ``--dataset fashion-mnist`` with MNIST files and ``--dataset mnist`` (or
    ``embedded``) with official Fashion-MNIST files: one-line :class:`DataError`."""
    from .errors import DataError
    from .mnist import MD5, file_md5
    if dataset == "fashion-mnist":
        n = _packaged_mnist_matches(ds)
        if n:
            raise DataError(f"--dataset fashion-mnist, but --data-dir {data_dir} holds MNIST: {n} of its images "
                            "are MNIST images shipped with brian-snn; pass --dataset mnist, or a folder of "
                            "Fashion-MNIST files")
        return
    fashion = set(MD5["fashion-mnist"].values())
    for f in _loaded_files(data_dir):
        if f.name.endswith(".gz") and file_md5(f) in fashion:
            raise DataError(f"--dataset {dataset}, but --data-dir {data_dir} holds Fashion-MNIST: {f.name} is "
                            "the official Fashion-MNIST file (MD5); pass --dataset fashion-mnist, or a folder "
                            "of MNIST files")
