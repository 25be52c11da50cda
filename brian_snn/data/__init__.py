"""Datasets: MNIST / Fashion-MNIST IDX files, checksum-verified download + cache, an embedded subset.

Pure numpy (no brian2).  Every problem raises :class:`DataError` (a ``ValueError``) with a
one-line message naming the file and the problem.  See ``docs/data.md``.
"""
from .errors import DataError
from .idx import parse_idx, read_idx, write_idx
from .mnist import (
    DOWNLOADABLE,
    EMBEDDED_FILE,
    MD5,
    MIRRORS,
    POOL_TEST_FRACTION,
    STANDARD_FILES,
    VALID_SOURCES,
    Dataset,
    default_cache_dir,
    download,
    load_dataset,
    load_described,
    load_embedded,
    load_idx_dir,
    stratified_indices,
    stratified_split,
)
from .args import add_data_arguments, dataset_from_args

__all__ = [
    "DataError", "read_idx", "parse_idx", "write_idx",
    "Dataset", "stratified_split", "stratified_indices", "load_embedded", "load_idx_dir",
    "download", "default_cache_dir", "load_dataset", "load_described",
    "add_data_arguments", "dataset_from_args",
    "VALID_SOURCES", "DOWNLOADABLE", "MD5", "MIRRORS", "STANDARD_FILES", "EMBEDDED_FILE",
    "POOL_TEST_FRACTION",
]
