"""Command-line options for data (for ``brian-snn train`` and friends), argparse only."""
from __future__ import annotations

import argparse

from ..options import hidden_alias
from .mnist import VALID_SOURCES, Dataset, load_dataset


def _count(value):
    """A sample count: an integer >= 1 (0 would train or test on nothing and report NaN)."""
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (at least 1 sample), got {value!r}")
    return v


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
    """Load the data set the options of :func:`add_data_arguments` describe."""
    return load_dataset(args.dataset, data_dir=args.data_dir, n_train=args.n_train, n_test=args.n_test,
                        seed=args.data_seed, cache_dir=args.cache_dir, download_ok=not args.no_download)
