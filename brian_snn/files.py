"""Files shared between processes: output locks, per-process temporary files, and the clean-up
of what killed processes leave behind (no brian2 import)."""
import contextlib
import os
import re
import shutil
import socket
from pathlib import Path

from .errors import BrianSnnError

try:
    import fcntl
except ImportError:              # not POSIX: the pid in the lock file is the only evidence
    fcntl = None


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


def temporary(path) -> Path:
    """A temporary name beside ``path`` that belongs to this process (``<name>.<pid>.tmp``)."""
    path = Path(path)
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path to write; on success it is renamed over ``path`` (atomic), on
    failure removed.  An interrupted write never destroys what ``path`` held before."""
    tmp = temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


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


class LockedError(BrianSnnError, RuntimeError):
    pass


def lock_path(out) -> Path:
    out = Path(os.path.abspath(out))         # also for "." or "dir/"
    return out.with_name(out.name + ".lock")


def _holder(fd) -> tuple:
    os.lseek(fd, 0, os.SEEK_SET)
    pid, _, host = os.read(fd, 200).decode(errors="replace").strip().partition(" ")
    return (int(pid) if pid.isdigit() else 0), host


@contextlib.contextmanager
def output_lock(out):
    """Hold ``<out>.lock`` (pid and host of the writer) while a run writes ``out``.

    ``flock`` makes the OS release the lock of a process that dies, so a lock file left by a
    killed run is simply taken over.  A lock still held by a pid that is dead on this host (an
    inherited descriptor) is stale too: the file is replaced.  Raises LockedError when another
    live run holds it."""
    path = lock_path(out)
    me = f"{os.getpid()} {socket.gethostname()}"
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise LockedError(f"{out}: cannot create its lock file {path} ({e.strerror})") from None
        try:
            got = _try_lock(fd)
            pid, host = _holder(fd)
            if not got:
                if host == socket.gethostname() and not pid_alive(pid):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)          # stale: its holder is gone; start a new file
                    os.close(fd)
                    continue
                raise LockedError(f"{out} is being written by another run (process {pid or '?'} on "
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
