"""The one rule for the files every command of ``hwmodel`` and ``brian-snn`` reads and writes
(stdlib only; ``brian_snn.files`` re-exports it).

Inputs: :func:`check_input` (a regular file: a FIFO would block, a device never end),
:func:`read_text` (UTF-8, a one-line error otherwise), :func:`parse_json` / :func:`parse_toml`
(nesting bounded: no RecursionError) and :func:`check_hdf5` (no external links: a results or NIR
file is self-contained, it never makes us open another file).

Outputs: :func:`check_output` up front (before any long work) and :func:`writing` at the end.
An existing file is replaced only with ``--force``; never a folder, a device, a FIFO or a socket
(not even with ``--force``), never an input of the same command; ``name/`` is a folder, not a file
name.  The write holds the lock ``<out>.lock`` (another live writer is refused), goes to a
temporary file of this process (``<out>.<pid>.tmp``), is flushed to disk and renamed over the
target (atomic): a kill or a full disk never truncates what was there, a symlink is replaced
rather than written through, and no empty file is left.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import stat
from pathlib import Path

from .errors import HwmodelError

try:
    import fcntl
except ImportError:              # not POSIX: the pid in the lock file is the only evidence
    fcntl = None

MAX_NESTING = 100                # JSON / TOML nesting accepted (the real files nest 4 deep)
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


class FileError(HwmodelError):
    """An input that cannot be read or an output that must not be written (one line)."""


# -- inputs -------------------------------------------------------------------------------------
def check_input(path, what: str = "") -> str:
    """``path`` as a string, when it is an existing regular file (a symlink to one is fine)."""
    shown = f"{what} {path}" if what else f"{path}"
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise FileError(f"{shown}: file not found") from None
    except OSError as e:
        raise FileError(f"{shown}: cannot read ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileError(f"{shown}: is a folder; expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise FileError(f"{shown}: not a regular file ({_kind(st.st_mode)}); give a file")
    return os.fspath(path)


def _kind(mode) -> str:
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")


def read_bytes(path, what: str = "") -> bytes:
    check_input(path, what)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise FileError(f"{path}: cannot read ({e.strerror})") from None


def read_text(path, what: str = "") -> str:
    """The file as UTF-8 text; invalid bytes are a one-line error naming the offset."""
    return decode(read_bytes(path, what), path)


def decode(data: bytes, shown) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileError(f"{shown}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from None


def _depth(text: str, opening="[{", closing="]}") -> int:
    """Largest bracket nesting of ``text``, ignoring brackets inside strings (JSON / TOML)."""
    depth = top = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[\[\]{}]', text):
        c = m.group()
        if c in opening:
            depth += 1
            top = max(top, depth)
        elif c in closing:
            depth -= 1
    return top


def _check_depth(text: str, shown, fmt: str) -> None:
    if text.count("[") + text.count("{") > MAX_NESTING and _depth(text) > MAX_NESTING:
        raise FileError(f"{shown}: not valid {fmt} (nested more than {MAX_NESTING} levels deep)")


def parse_json(text: str, shown):
    """``json.loads`` with a nesting bound; raises ``json.JSONDecodeError`` as json does."""
    _check_depth(text, shown, "JSON")
    return json.loads(text)


def parse_toml(text: str, shown):
    """``tomllib.loads`` with a nesting bound; raises ``TOMLDecodeError`` as tomllib does."""
    try:
        import tomllib
    except ImportError:          # Python < 3.11
        import tomli as tomllib
    _check_depth(text, shown, "TOML")
    return tomllib.loads(text)


def check_hdf5(h5, shown) -> None:
    """Refuse an open h5py file or group holding an external link anywhere (one line)."""
    import h5py

    def walk(group, prefix):
        for name in group:
            link = group.get(name, getlink=True)
            where = f"{prefix}/{name}"
            if isinstance(link, h5py.ExternalLink):
                raise FileError(f"{shown}: HDF5 external link {where} -> {link.filename}:{link.path} refused "
                                "(a results or NIR file must hold its own data)")
            if isinstance(link, h5py.HardLink) and isinstance(group[name], h5py.Group):
                walk(group[name], where)
    walk(h5, "")


# -- outputs ------------------------------------------------------------------------------------
def _same(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_parent(parent: Path, shown: str) -> None:
    """The nearest existing ancestor of ``parent`` is a writable folder (missing ones are made later)."""
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise FileError(f"{shown}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FileError(f"{shown}: folder {parent} is not writable")


def check_output(path, force: bool = False, what: str = "--out", suffixes=None, inputs=(),
                 exists_ok: bool = False) -> None:
    """Refuse up front an output that cannot or must not be written (see the module's rule).
    ``suffixes``: the endings the writer understands (plots); ``inputs``: paths this command
    reads or writes elsewhere; ``exists_ok``: the caller checks what an existing file holds."""
    text = os.fspath(path)
    shown = f"{what} {text}" if what else text
    if not text.strip():
        raise FileError(f"{what} is empty")
    if text.endswith(("/", os.sep)) or os.path.basename(text) in (".", ".."):
        raise FileError(f"{shown}: names a folder; expected a file name")
    try:
        st = os.lstat(text)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        with contextlib.suppress(OSError):
            st = os.stat(text)                       # what the link points to decides
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise FileError(f"{shown}: is a folder; expected a file name")
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISLNK(st.st_mode):
        raise FileError(f"{shown}: is {_kind(st.st_mode)}, not a file; it is never replaced (choose a file name)")
    if suffixes and Path(text).suffix.lower() not in suffixes:
        raise FileError(f"{shown}: expected a file name ending in {', '.join(suffixes)}")
    for other in inputs:
        if other is not None and _same(text, other):
            raise FileError(f"{shown}: is also {other if isinstance(other, str) else os.fspath(other)}, "
                            "which this command reads or writes; choose another name")
    check_parent(Path(os.path.abspath(text)).parent, shown)
    if st is not None and not force and not exists_ok:
        raise FileError(f"{text} exists; pass --force to overwrite it, or choose another {what or 'name'}")


@contextlib.contextmanager
def writing(path, force: bool = False, what: str = "--out", suffixes=None, inputs=(), lock: bool = True,
            error=None):
    """Write ``path`` under the rule: checked again, locked, a temporary file (yielded) renamed
    over it when the block succeeds, removed when it fails.  ``lock=False`` when the caller
    already holds the lock of ``path``; ``error``: the class a held lock raises."""
    check_output(path, force, what, suffixes, inputs)
    with (output_lock(path, error or LockedError) if lock else contextlib.nullcontext()):
        check_output(path, force, what, suffixes, inputs)        # another run may have written it
        with replacing(path) as tmp:
            yield tmp


def temporary(path) -> Path:
    """A temporary name beside ``path`` that belongs to this process (``<name>.<pid>.tmp``)."""
    path = Path(path)
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path to write; on success it is flushed to disk and renamed over
    ``path`` (atomic), on failure removed.  An interrupted write never destroys what ``path``
    held before; a full disk is one line naming the file."""
    path = Path(path)
    tmp = temporary(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with contextlib.suppress(OSError):
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        if isinstance(e, FileError):
            raise
        raise FileError(f"{path}: cannot write ({e.strerror or e}); nothing was changed") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text(path, text: str, force: bool = False, what: str = "--out", inputs=()) -> None:
    with writing(path, force, what, inputs=inputs) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def save_figure(fig, path, force: bool = False, what: str = "--plot", inputs=(), **savefig):
    """Save a matplotlib figure under the rule (format from the name's ending); returns ``path``."""
    with writing(path, force, what, PLOT_SUFFIXES, inputs) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lower()[1:], **savefig)
    return path


def check_plot(path, force: bool = False, inputs=()) -> None:
    """``--plot`` up front: a new (or, with --force, an existing) .png/.pdf/.svg file name."""
    if path is not None:
        check_output(path, force, "--plot", PLOT_SUFFIXES, inputs)


# -- processes and their files ------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists here (one of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# Names that carry the pid of the process that owns them: build caches (results_<pid>/,
# static_arrays/p<pid>_*) and temporary files (<name>.<pid>.tmp).
_PID_NAMES = (re.compile(r"results_(\d+)$"), re.compile(r"p(\d+)_"), re.compile(r".+\.(\d+)\.tmp$"))


def remove_stale(directory, patterns=_PID_NAMES) -> list:
    """Remove the entries of ``directory`` (not recursive) named for a process that no longer
    exists; never those of a live process.  Returns the removed paths."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for e in entries:
        m = next((m for p in patterns if (m := p.match(e.name))), None)
        if m is None or pid_alive(int(m.group(1))):
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:          # another process cleaned it first, or not ours to remove
            pass
    return removed


class LockedError(FileError, RuntimeError):
    pass


def lock_path(out) -> Path:
    out = Path(os.path.abspath(out))         # also for "." or "dir/"
    return out.with_name(out.name + ".lock")


def _holder(fd) -> tuple:
    os.lseek(fd, 0, os.SEEK_SET)
    pid, _, host = os.read(fd, 200).decode(errors="replace").strip().partition(" ")
    return (int(pid) if pid.isdigit() else 0), host


@contextlib.contextmanager
def output_lock(out, error=LockedError):
    """Hold ``<out>.lock`` (pid and host of the writer) while a run writes ``out``.

    ``flock`` makes the OS release the lock of a process that dies, so a lock file left by a
    killed run is simply taken over.  A lock still held by a pid that is dead on this host (an
    inherited descriptor) is stale too: the file is replaced.  Raises ``error`` when another
    live run holds it.  Temporary files of killed writers beside ``out`` are removed."""
    path = lock_path(out)
    me = f"{os.getpid()} {socket.gethostname()}"
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(0, "not a regular file")
        except OSError as e:
            raise error(f"{out}: cannot create its lock file {path} ({e.strerror})") from None
        try:
            got = _try_lock(fd)
            pid, host = _holder(fd)
            if not got:
                if host == socket.gethostname() and not pid_alive(pid):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)          # stale: its holder is gone; start a new file
                    os.close(fd)
                    continue
                raise error(f"{out} is being written by another run (process {pid or '?'} on "
                            f"{host or '?'}, lock {path}); wait for it to finish or choose another --out")
            if _same_file(fd, path):             # not a file another process unlinked meanwhile
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode() + b"\n", 0)
        p = Path(os.path.abspath(out))
        remove_stale(p.parent, [re.compile(re.escape(p.name) + r"\.(\d+)\.tmp$")])
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)                      # before closing: no one can take the old file
        os.close(fd)


def _try_lock(fd) -> bool:
    if fcntl is None:                            # pid check only
        pid, host = _holder(fd)
        return not pid or (host == socket.gethostname() and not pid_alive(pid))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _same_file(fd, path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
