"""Files shared between processes: output locks, per-process temporary files, and the clean-up
of what killed processes leave behind (no brian2 import).

One rule for every file every command reads or writes: it lives in :mod:`hwmodel.files`
(stdlib only, so ``hwmodel`` uses it too) and is re-exported here; ``LockedError`` is also a
``BrianSnnError``."""
from hwmodel import files as _files
from hwmodel.files import (PLOT_SUFFIXES, FileError, check_hdf5, check_input, check_output, check_parent,  # noqa: F401
                           check_plot, decode, lock_path, parse_json, parse_toml, pid_alive, read_bytes, read_text,
                           remove_stale, replacing, save_figure, temporary, write_text)

from .errors import BrianSnnError


class LockedError(BrianSnnError, _files.LockedError):
    pass


def output_lock(out):
    """Hold ``<out>.lock`` while a run writes ``out`` (:func:`hwmodel.files.output_lock`)."""
    return _files.output_lock(out, error=LockedError)


def writing(path, force=False, what="--out", suffixes=None, inputs=(), lock=True):
    """Write ``path`` under the one rule (:func:`hwmodel.files.writing`)."""
    return _files.writing(path, force, what, suffixes, inputs, lock, error=LockedError)
