"""Checks every command runs on its input before any build or simulation.

Each raises ValueError with a one-line message (the CLI prints ``brian-snn: error: ...``, exit 2).
No brian2 import: the checks run before the simulator is loaded.
"""
import contextlib
import os
from pathlib import Path

# Model fields that have an option of their own (or come from the data): not for --param.
OWN_OPTIONS = {"n_exc": "use --neurons", "n_input": "it is set by the data set (pixels per image)"}


def check_params(model, params, own=OWN_OPTIONS):
    """``--param`` names of ``model``: unknown names list the valid ones; a name that has its own
    option says which."""
    from .models import model_class
    check_own(params, own)
    fields = [f for f in model_class(model).__dataclass_fields__ if f not in own]
    for name in params:
        if name not in fields:
            raise ValueError(f"--param {name}: {model} has no parameter {name!r}; valid: {', '.join(fields)}")


def check_own(params, own=OWN_OPTIONS):
    for name in params:
        if name in own:
            raise ValueError(f"--param {name}: not a --param; {own[name]}")


def check_targets(names):
    """hwmodel target ids or TOML files (one, or a list): load each now rather than after
    training.  Returns them as a tuple."""
    import difflib
    import hwmodel
    known = hwmodel.list_targets()
    names = (names,) if isinstance(names, str) else tuple(names)
    for t in names:
        if t not in known and not t.endswith(".toml") and not os.path.isfile(t):
            close = difflib.get_close_matches(t, known, 1)
            raise ValueError(f"unknown target {t!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                             + f" (known: {', '.join(known)}; or a target TOML file)")
        hwmodel.load_target(t)          # a file: TargetError (a ValueError) names the file and the field
    return names


def check_out(path, directory=False):
    """The output path can be written: not a folder (a file when ``directory``), never a device,
    FIFO or socket, not ``name/`` for a file, and its nearest existing ancestor a writable folder
    (missing folders are created when the run starts).  What an existing file holds is checked
    under the lock (:func:`claim`).  The rule is :func:`hwmodel.files.check_output`'s."""
    from .files import check_output, check_parent
    if not directory:
        return check_output(path, what="--out", exists_ok=True)
    p = Path(path)
    if not str(path).strip():
        raise ValueError("--out is empty")
    if p.exists() and not p.is_dir():
        raise ValueError(f"--out {path}: is a file; expected a folder")
    check_parent(Path(os.path.abspath(p)), f"--out {path}")


def check_run(models=(), params=None, targets=(), out=None, out_is_dir=False, backend=None, own=OWN_OPTIONS,
              scheduler=None):
    """The checks of a run command that need no data: ``--param`` names of each model, hwmodel
    targets, the output path, for compiled backends ``BRIAN_SNN_MAKE_JOBS``, and a ``--scheduler``
    (a Dask scheduler must answer there, within a bounded time: :func:`brian_snn.jobs.check_scheduler`)."""
    for m in models:
        check_params(m, params or {}, own)
    check_targets(targets)
    if out is not None:
        check_out(out, out_is_dir)
    if backend in ("cpp", "cuda"):
        from .backend import make_jobs
        make_jobs()
    if scheduler:
        from .jobs import check_scheduler
        check_scheduler(scheduler)


def check_overwrite(path, held, same_config, resume, force, complete_is_kept=False):
    """Whether a run may write ``path``, which holds ``held`` (see :func:`brian_snn.store.inspect`);
    ``same_config``: whether it was written with this configuration (None: unknown).

    Allowed: no file; a checkpoint of the same configuration (resumed, or discarded with
    ``--no-resume``); with ``complete_is_kept``, finished results of the same configuration (the
    command reports them without writing).  Everything else only with ``force``."""
    if held is None or force:
        return
    kind = held["kind"]
    if kind == "checkpoint" and same_config:
        return
    if kind == "finished" and same_config and resume and complete_is_kept:
        return
    what = {"other": f"is not a results file of this command ({held.get('what')})",
            "checkpoint": "holds a checkpoint of another configuration (these options cannot resume it)",
            "finished": "holds finished results" + (" of another configuration" if same_config is False else "")}
    raise ValueError(f"{path} {what[kind]}; pass --force to overwrite it, or choose another --out")


@contextlib.contextmanager
def claim(out, held_of=None, same=None, resume=True, force=False, complete_is_kept=False):
    """Hold the lock of ``out`` for the run (refused while another live run holds it), remove the
    temporary files killed writers left beside it, and refuse to overwrite what it holds unless
    :func:`check_overwrite` allows it.  Yields what it holds (``held_of(out)``, None: nothing)."""
    from .files import output_lock
    with output_lock(out):                 # also removes killed writers' temporary files
        held = held_of(out) if held_of else None
        check_overwrite(out, held, None if held is None or same is None else same(held), resume, force,
                        complete_is_kept)
        yield held


# -- memory -------------------------------------------------------------------------------------
# Bytes per synapse in Brian 2.8's standalone arrays (objects.cpp, brianlib/spikequeue.h): int32
# pre and post indices grown by push_back (up to twice their size while growing: 16), a double
# delay (8), and per event pathway an int delay copy plus the spike queue's synapse id (8); 8 per
# float variable.  In the Python process, counting a chunk's events reads i and j of every
# pathway and bins them as int64 (24 per synapse of the largest pathway, after the binary ends).
SYN_BYTES, PATH_BYTES, VAR_BYTES, PY_SYN_BYTES = 24, 8, 8, 24
NEURON_BYTES = 24 * 8            # state variables per neuron (doubles), generous
PROCESS_BYTES = 400 * 2 ** 20    # Python with brian2, numpy, h5py imported
SPIKE_BYTES, SPIKES_PER_SLOT = 12, 10     # monitors: int32 index + double time; per neuron per slot


def network_bytes(spec, n_images, chunk_slots=250) -> int:
    """Estimated peak memory of running ``spec`` on ``n_images`` images (image table of doubles
    in the binary and in Python, learned weights a few times in Python, plus the larger of the
    binary's synapses and Python's event counting)."""
    sizes = spec.sizes()
    syn = sizes["synapses"].values()
    neurons = sum(sizes["neurons"].values())
    binary = (sum(n * (SYN_BYTES + PATH_BYTES * paths + VAR_BYTES * nvar) for n, nvar, paths in syn)
              + neurons * (NEURON_BYTES + chunk_slots * SPIKES_PER_SLOT * SPIKE_BYTES))
    python = PROCESS_BYTES + 2 * n_images * spec.n_input * 8 + 4 * spec.n_input * spec.n_exc * 8
    return int(python + n_images * spec.n_input * 8 + max(binary, PY_SYN_BYTES * max(n for n, _, _ in syn)))


def available_memory():
    """Bytes this process can still allocate: MemAvailable (or free pages), capped by a cgroup v2
    limit; None when unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        cg = Path("/sys/fs/cgroup")
        limit = (cg / "memory.max").read_text().strip()
        if limit != "max":
            avail = min(avail, int(limit) - int((cg / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return avail


def _gb(b):
    return f"{b / 1e9:.1f} GB" if b >= 1e8 else f"{b / 1e6:.0f} MB"


def check_memory(specs, n_images, chunk_slots=250):
    """Refuse a network (or the largest of several) that will not fit in the memory available.
    ``BRIAN_SNN_NO_MEMORY_CHECK=1`` skips it (the estimate is an estimate)."""
    if os.environ.get("BRIAN_SNN_NO_MEMORY_CHECK", "") not in ("", "0"):
        return
    specs = [specs] if not isinstance(specs, (list, tuple)) else specs
    spec = max(specs, key=lambda s: network_bytes(s, n_images, chunk_slots))
    need = network_bytes(spec, n_images, chunk_slots)
    avail = available_memory()
    if avail is not None and need > avail:
        syn = sum(n for n, _, _ in spec.sizes()["synapses"].values())
        raise ValueError(f"{spec.NAME} with {spec.n_exc} neurons needs about {_gb(need)} of memory "
                         f"({syn:,} synapses), but {_gb(avail)} is available; use fewer --neurons "
                         f"(or set BRIAN_SNN_NO_MEMORY_CHECK=1 to run anyway)")


# -- doctor: what this machine has --------------------------------------------------------------
# (name, essential, what it is needed for); brian2 and a C++ compiler are the essentials: the
# main job ('brian-snn train', compiled C++) needs both.
NEEDED_FOR = {
    "python": "everything (3.10 or newer)",
    "brian2": "every simulation",
    "numpy": "everything",
    "scipy": "brian2 and hwmodel's GPU model fit",
    "h5py": "results files (--out)",
    "compiler": "--backend cpp (the default) and the runtime backend's Cython code",
    "brian2cuda": "--backend cuda and 'brian-snn export'",
    "nvcc": "--backend cuda and 'brian-snn export --build' (export alone needs none)",
    "curand": "--backend cuda and 'brian-snn export --build' (pip install 'brian-snn[cuda]')",
    "gpu": "running --backend cuda here (export and --build need none)",
    "dask": "'brian-snn search' and parallel 'brian-snn timestep' (pip install 'brian-snn[dask]'; "
            "timestep --serial runs without)",
    "matplotlib": "--plot, the heat maps of continual/compare and the plots of timestep/search",
    "nir": "'brian-snn nir run' and 'brian-snn export --format nir' (NIR graphs)",
}
ESSENTIAL = ("brian2", "compiler")


def _version(module):
    import importlib
    try:
        m = importlib.import_module(module)
    except Exception as e:                 # ImportError, or a broken install
        return None, f"cannot import {module} ({type(e).__name__}: {' '.join(str(e).split())[:120]})"
    return getattr(m, "__version__", "?"), None


def _compiler():
    """(path, first line of --version) of the C++ compiler ($CXX, g++ or c++), or (None, why)."""
    import shutil
    import subprocess
    names = [os.environ.get("CXX", "g++"), "c++"]
    path = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if path is None:
        return None, f"no {' or '.join(repr(n) for n in dict.fromkeys(names))} on PATH (Debian/Ubuntu: apt install g++)"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"{path} --version failed ({e})"
    return path, (out.strip().splitlines() or ["version unknown"])[0]


def environment_report():
    """[(item, ok, detail)]: detail is the version / path when ok, else why it is missing."""
    import sys
    rows = []
    py = sys.version.split()[0]
    rows.append(("python", sys.version_info >= (3, 10), f"{py} ({sys.executable})"))
    for m in ("brian2", "numpy", "scipy", "h5py"):
        v, why = _version(m)
        rows.append((m, v is not None, v or why))
    path, line = _compiler()
    rows.append(("compiler", path is not None, f"{path} ({line})" if path else line))
    v, why = _version("brian2cuda")
    rows.append(("brian2cuda", v is not None, v or why))
    cuda_path = None
    try:
        from .cuda import CudaError, detect_gpus, find_cuda, find_curand
    except Exception as e:                 # brian2 missing or broken
        for item in ("nvcc", "curand", "gpu"):
            rows.append((item, False, f"not checked: brian_snn.cuda cannot be imported ({type(e).__name__})"))
        return rows
    try:
        tc = find_cuda()
        cuda_path = tc.cuda_path
        archs = sorted(tc.archs, key=lambda a: int(a.split("_")[1]))
        rows.append(("nvcc", True, f"{tc.nvcc} (CUDA {tc.version:.1f}, {tc.cxx_std}"
                     + (f", {archs[0]} to {archs[-1]}" if archs else "") + ")"))
    except CudaError as e:
        rows.append(("nvcc", False, " ".join(str(e).split())))
    try:
        inc, lib = find_curand(cuda_path)
        rows.append(("curand", True, f"{lib} (headers {inc})"))
    except CudaError as e:
        rows.append(("curand", False, " ".join(str(e).split())))
    import shutil
    gpus = detect_gpus()
    rows.append(("gpu", bool(gpus), "; ".join(f"{i}: {n} (compute capability {c:g})" for i, n, c in gpus)
                 or ("nvidia-smi lists none" if shutil.which("nvidia-smi") else "no nvidia-smi on PATH")))
    dask, why = _version("dask")
    dist, why_dist = _version("distributed")
    rows.append(("dask", bool(dask and dist), f"dask {dask}, distributed {dist}" if dask and dist else why or why_dist))
    v, why = _version("matplotlib")
    rows.append(("matplotlib", v is not None, v or why))
    v, why = _version("nir")
    rows.append(("nir", v is not None, v or why))
    return rows
