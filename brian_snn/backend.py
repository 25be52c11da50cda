"""Backends that run a model over a presentation sequence: ``runtime`` and ``cpp`` (and ``cuda``).

Every backend runs *chunks*: ``chunk_slots`` presentation slots in one simulation, with the
learned state (weights, thresholds, schedule) carried from chunk to chunk.  With ``cpp`` a
chunk is one execution of a compiled standalone binary; the binary is built once per model
structure (cached on disk, keyed by a hash of the structure), and images, order, learned state,
seeds and run-time parameters are handed to it through ``run_args``, so a second run of an
unchanged model -- or a sweep over run-time parameters, data or window lengths -- never
recompiles.  The binary's duration is that of ``chunk_slots`` slots of ``max_slot_ms``; a run
with shorter slots ends itself after its last slot (:func:`~brian_snn.encoding.add_end_of_run`).
"""
import functools
import gc
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import brian2
from brian2 import Network, SpikeMonitor, defaultclock, device, ms, prefs, second, set_device, volt

from brian2.utils.logger import BrianLogger

from . import integration  # noqa: F401  (registers the 'linear_implicit' state updater)

# Our bookkeeping pathways write one post-synaptic variable per synapse (well defined); Brian
# warns about the pattern in general.
BrianLogger.suppress_hierarchy("brian2.codegen.generators.base")
from . import activity
from .activity import ActivityCounter
from .encoding import add_end_of_run
from .errors import BrianSnnError
from .files import remove_stale, replacing
from .standalone_templates import install as install_own_templates

# name -> "module:class"; a backend module is imported when first asked for (CUDA pulls in
# brian2cuda), and no backend module imports another one's users
REGISTRY = {"runtime": "brian_snn.backend:RuntimeBackend", "cpp": "brian_snn.backend:CppBackend",
            "cuda": "brian_snn.cuda:CudaBackend"}
BACKENDS = tuple(REGISTRY)
CODE_VERSION = "14"       # bump when generated code changes in a way the hash cannot see
CONTROLLER_VARS = ("t_in", "count", "repeats", "intensity", "started", "t_end_on")


class BackendError(BrianSnnError, RuntimeError):
    pass


@dataclass
class ChunkResult:
    """What one chunk returns: learned state, slot log, excitatory spikes, exact counts."""
    state: dict
    slot_t: np.ndarray             # start time of each slot (s)
    slot_ptr: np.ndarray           # order position shown in each slot
    exc_i: np.ndarray
    exc_t: np.ndarray
    counts: object                 # hwmodel.Counts over the real (unpadded) slots
    real_slots: int
    wall_s: float
    timings: dict = field(default_factory=dict)


def default_cache_dir() -> Path:
    return Path(os.environ.get("BRIAN_SNN_BUILD_DIR", Path.home() / ".cache" / "brian_snn" / "builds"))


def check_compiler():
    """Raise a one-line BackendError when no C++ compiler is available."""
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None and shutil.which("c++") is None:
        raise BackendError(f"no C++ compiler found (looked for {cxx!r} and 'c++' on PATH); "
                           "install g++ (Debian/Ubuntu: apt install g++) or use --backend runtime")


MAX_MAKE_JOBS = 1024


def make_jobs(limit=None) -> int:
    """Parallel compiler jobs: ``$BRIAN_SNN_MAKE_JOBS``, else the cores this process may run on
    (at most ``limit``).  Brian2's default ``make -j`` starts every compiler at once."""
    env = os.environ.get("BRIAN_SNN_MAKE_JOBS", "").strip()
    if env:
        if not env.isdigit() or not 1 <= int(env) <= MAX_MAKE_JOBS:
            shown = env if len(env) <= 20 else env[:17] + "..."
            raise BackendError(f"BRIAN_SNN_MAKE_JOBS must be an integer in [1, {MAX_MAKE_JOBS}], got {shown!r}")
        return int(env)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, limit or cores))


_cleaned = set()


def clean_build_dir(directory):
    """Once per process and build folder: remove the run folders (``results_<pid>``) and run
    arguments (``static_arrays/p<pid>_*``) that killed processes left behind."""
    directory = Path(directory)
    if directory not in _cleaned:
        _cleaned.add(directory)
        remove_stale(directory)
        remove_stale(directory / "static_arrays")


_SHARED = {}


def shared_backend(name: str, **kw):
    """One backend per (name, settings) in this process: later runs of the same model structure
    (a worker runs many jobs) reuse its build without even regenerating its code."""
    key = (name, tuple(sorted(kw.items())))
    if key not in _SHARED:
        _SHARED[key] = get_backend(name, **kw)
    return _SHARED[key]


def shared_backends() -> list:
    return list(_SHARED.values())


def get_backend(name: str, **kw):
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)(**kw)


class _Assembled:
    """A model's Brian2 objects plus the monitors every backend needs."""

    def __init__(self, spec, images, order, presentation, ends_itself=False):
        self.model = spec.build(images, order, presentation)
        self.net = Network(self.model.objects)
        if ends_itself:
            self.net.add(add_end_of_run(self.model.controller))
        self.slots = SpikeMonitor(self.model.controller, variables=["ptr"], name="_slots")
        recorded = [g for g in self.model.populations if g is not self.model.input_group]
        self.counter = ActivityCounter(self.model.objects, record=recorded, per_copy=self.model.per_copy)
        self.net.add(self.slots, *self.counter.monitors.values())

    def state_targets(self):
        """Carried state: name -> (variable view, SI unit)."""
        m = self.model
        # nspikes: spikes of the slot in progress -- its boundary (renormalisation, learned
        # count) may fall into the next chunk
        t = {"w": (m.input_syn.w, 1), "theta": (m.exc.theta, volt), "v": (m.exc.v, volt),
             "nspikes": (m.exc.nspikes, 1)}
        if "learned" in m.exc.variables:
            t["learned"] = (m.exc.learned, 1)
        if "sig" in m.input_syn.variables:        # ASP's per-synapse correlation (models/asp.py)
            t["sig"] = (m.input_syn.sig, 1)
        for var in CONTROLLER_VARS:
            t["ctrl_" + var] = (getattr(m.controller, var), second if var in ("t_in", "t_end_on") else 1)
        return t



class _ChunkedBackend:
    name = "?"

    ends_itself = True      # the main loop runs on the host, so a run can end early

    def __init__(self, chunk_slots=250, max_slot_ms=500.0, cache_dir=None, verbose=False):
        if chunk_slots < 1:
            raise ValueError("chunk_slots must be >= 1")
        if not np.isfinite(max_slot_ms) or max_slot_ms <= 0:
            raise ValueError(f"max_slot_ms must be a positive number, got {max_slot_ms!r}")
        self.chunk_slots = int(chunk_slots)
        self.max_slot_ms = float(max_slot_ms)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.verbose = verbose

    def table_rows(self, copies=1) -> int:
        """Rows of a chunk's image table: each copy's window (``chunk_slots + 1``) and a blank
        row.  The table holds only the images the chunk shows, so no data size is compiled in."""
        return copies * (self.chunk_slots + 1) + 1

    def blank_table(self, images, copies=1):
        return np.zeros((self.table_rows(copies), np.shape(images)[1]))

    def blank_order(self, spec, images):
        """An order that shows only the blank last row of ``images`` (the build's initial values)."""
        copies = getattr(spec, "copies", None)
        shape = (self.chunk_slots + 1,) + ((copies,) if copies else ())
        return np.full(shape, len(images) - 1, dtype=float)

    def chunk_table(self, images, order_chunk):
        """The images a chunk shows as its own table (``order_chunk`` -- [slots + 1] or, for
        batched copies, [slots + 1, copies] -- and the blank last row of ``images``) and the
        order as indices into it."""
        order_chunk = np.asarray(order_chunk, dtype=np.int64)
        if len(order_chunk) != self.chunk_slots + 1:
            raise ValueError(f"a chunk's order has {self.chunk_slots + 1} entries, got {len(order_chunk)}")
        rows = np.append(order_chunk.T.ravel(), len(images) - 1)      # copy by copy
        index = np.ascontiguousarray(np.arange(order_chunk.size).reshape(order_chunk.T.shape).T)
        return np.asarray(images)[rows], index

    def run_ms(self, presentation) -> float:
        """Duration of one simulation: long enough for ``chunk_slots`` slots of any length up to
        ``max_slot_ms`` (longer slots get a longer run -- with cpp, another build)."""
        slot = max(self.max_slot_ms, presentation.slot_ms) if self.ends_itself else presentation.slot_ms
        return self.chunk_slots * slot

    def _assemble(self, spec, images, order, presentation):
        return _Assembled(spec, images, order, presentation, ends_itself=self.ends_itself)

    # -- helpers shared by both backends -------------------------------------------------
    def _settings(self, asm, spec, presentation, state, order_chunk, plastic, n_real):
        """(view or TimedArray) -> value for everything that changes between runs."""
        m = asm.model
        copies = getattr(spec, "copies", None)
        # batched copies end together, after chunk_slots slots (a finished copy sees blank slots)
        vals = {m.controller.t_stop: self.chunk_slots * presentation.slot_ms * ms,
                m.controller.n_stop: 1e18 if copies else float(n_real),
                m.controller.n_real: np.asarray(n_real, dtype=float), m.exc.nchanged: 0.0}
        for name, (obj, var, unit) in m.runtime_targets.items():
            vals[getattr(obj, var)] = (spec.parameter(name, obj) if copies else getattr(spec, name)) * unit
        for name, value in presentation.runtime_values().items():
            vals[getattr(m.controller, name)] = value
        vals[m.exc.plastic] = float(plastic)
        # A run starts with the schedule carried over, or else on a boundary with no sample
        # shown yet (the build's initial values may belong to another window length).
        start = {"ctrl_t_in": presentation.slot_ms * 1e-3, "ctrl_count": 0.0, "ctrl_repeats": 0.0,
                 "ctrl_intensity": presentation.intensity0, "ctrl_started": 0.0,
                 "ctrl_t_end_on": presentation.t_on_ms * 1e-3}
        for k, (view, unit) in asm.state_targets().items():
            if k in state or k in start:
                vals[view] = state.get(k, start.get(k)) * unit
        vals[m.controller.ptr] = 0.0
        vals[m.exc.wsum] = np.asarray(state["w"]).reshape(-1, spec.n_input, spec.n_exc).sum(axis=1).ravel()
        vals[m.order] = np.asarray(order_chunk, dtype=float)
        return vals

    def _collect(self, asm, spec, presentation, n_real, phase, wall, timings=None):
        """The chunk's ChunkResult; for batched copies a list, one per copy (``n_real``: a list)."""
        m = asm.model
        state = {k: np.asarray(view[:] / unit, dtype=float)
                 for k, (view, unit) in asm.state_targets().items()}
        slot_i = np.asarray(asm.slots.i[:]).astype(np.int64)
        slot_t = np.asarray(asm.slots.t_[:])
        slot_ptr = np.asarray(asm.slots.ptr[:]).astype(np.int64)
        exc_mon = asm.counter.monitors[(m.exc.name, "spike")]
        exc_i = np.asarray(exc_mon.i[:]).astype(np.int64)
        exc_t = np.asarray(exc_mon.t_[:])
        changed_by_neuron = np.asarray(m.exc.nchanged[:])      # read once (a file read on standalone)
        copies = getattr(spec, "copies", None)
        states = spec.split(state) if copies else [state]
        results = []
        for k, (st, n) in enumerate(zip(states, n_real if copies else [n_real])):
            slots, mine = slot_i == k, exc_i // spec.n_exc == k
            real = int(np.searchsorted(slot_ptr[slots], n, side="left"))   # slots showing real samples
            t_end = real * presentation.slot_ms * 1e-3
            steps = real * presentation.steps_per_slot
            if getattr(presentation, "adaptive", False):     # slots of varying length: read the slot log
                t_end, steps = adaptive_end(slot_t[slots], real, float(np.ravel(st["ctrl_t_in"])[0]),
                                             presentation.dt_ms * 1e-3)
            counts = asm.counter.counts(phase, samples=0, steps=steps,
                                        dt_s=presentation.dt_ms * 1e-3, t_end=t_end,
                                        copy=(k, copies) if copies else None,
                                        extra={"batch": copies} if copies else None)
            changed = int(changed_by_neuron[k * spec.n_exc:(k + 1) * spec.n_exc].sum())
            counts.pathways = [replace(p, weight_changes=changed) if p.name == m.input_syn.name else p
                               for p in counts.pathways]
            results.append(ChunkResult(st, slot_t[slots], slot_ptr[slots], exc_i[mine] - k * spec.n_exc,
                                       exc_t[mine], counts, real, wall, dict(timings or {})))
        return results if copies else results[0]


def adaptive_end(slot_t, real, t_in_end, dt):
    """(end time, steps) of the real slots of a run with an adaptive window: the start of the first
    slot that is not real or, when all were, the last slot's start plus its length (the run ends at
    a slot's end, where the controller's ``t_in`` is that length)."""
    if real == 0:
        return 0.0, 0
    t_end = float(slot_t[real]) if real < len(slot_t) else float(slot_t[real - 1]) + t_in_end
    return t_end, int(round(t_end / dt))


class RuntimeBackend(_ChunkedBackend):
    """Brian2 runtime mode (Cython, or numpy with ``codegen_target='numpy'``): small jobs, tests."""
    name = "runtime"

    def __init__(self, codegen_target="cython", **kw):
        super().__init__(**kw)
        self.codegen_target = codegen_target

    def run_chunk(self, spec, presentation, images, order_chunk, state, plastic, phase, n_real, seed):
        if getattr(spec, "copies", None):
            raise BackendError("batched copies run on the cpp or cuda backend (their input noise is "
                               "compiled code), not on runtime")
        images, order_chunk = self.chunk_table(images, order_chunk)
        set_device("runtime")
        prefs.codegen.target = self.codegen_target
        brian2.seed(seed)
        defaultclock.dt = presentation.dt_ms * ms
        asm = self._assemble(spec, images, order_chunk, presentation)
        asm.net.run(0 * ms)          # create synapses so their variables can be set
        for view, value in self._settings(asm, spec, presentation, state, order_chunk, plastic,
                                          n_real).items():
            if view is asm.model.order:
                continue             # already built with this chunk's order
            view[:] = value
        t0 = time.perf_counter()
        asm.net.run(self.run_ms(presentation) * ms)
        return self._collect(asm, spec, presentation, n_real, phase, time.perf_counter() - t0)


SEED_FROM_ENV = """
if (const char* _s = std::getenv("BRIAN_SNN_SEED")) {
    unsigned long _base = std::stoul(_s);
    for (size_t _k = 0; _k < brian::_random_generators.size(); _k++)
        brian::_random_generators[_k].seed(_base + 7919 * _k);
}
"""


# Flush-to-zero and denormals-are-zero for the whole program, first thing in ``main``.  Brian2's
# makefile compiles with -ffast-math but links without it, so GCC's crtfastmath.o (which would set
# these bits) is never linked, and every decaying variable that reaches the subnormal range
# (< 2.2e-308) costs tens to ~100 cycles per operation.  FTZ/DAZ changes arithmetic only there.
# Inline assembly, so that no header is needed (g++, clang++ and nvcc's host compiler); threads
# started later (OpenMP) inherit the control register.  docs/performance.md.
FLUSH_DENORMALS = """
#if defined(__x86_64__) || defined(__i386__)
{   /* MXCSR: FTZ (bit 15) and DAZ (bit 6) */
    unsigned int _brian_snn_csr;
    __asm__ __volatile__("stmxcsr %0" : "=m"(_brian_snn_csr));
    _brian_snn_csr |= 0x8040u;
    __asm__ __volatile__("ldmxcsr %0" : : "m"(_brian_snn_csr));
}
#elif defined(__aarch64__)
{   /* FPCR: FZ (bit 24) flushes denormal inputs and results (Jetson) */
    unsigned long _brian_snn_fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(_brian_snn_fpcr));
    _brian_snn_fpcr |= (1UL << 24);
    __asm__ __volatile__("msr fpcr, %0" : : "r"(_brian_snn_fpcr));
}
#endif
"""


SPIKE_QUEUE = Path(__file__).parent / "cpp" / "spikequeue.h"


_LOOP_CLOCK = re.compile(r"\n[ \t]*current = std::clock\(\);\n[ \t]*(elapsed_realtime = [^\n]*;)\n")


def network_without_per_step_clock(cpp: str) -> str:
    """Brian's ``Network::run`` calls ``std::clock()`` (a system call, CLOCK_PROCESS_CPUTIME_ID)
    after every time step only to know the elapsed time at the end (or for ``maximum_run_time``,
    which we do not use): measured 2-6 % of a run.  Read it once, after the loop.  Unchanged
    when the pattern is not there (another Brian version, a maximum run time, OpenMP)."""
    if "if(elapsed_realtime>" in cpp or "omp_get_wtime" in cpp:
        return cpp
    loop = cpp.rfind("clock = next_clocks();", 0, cpp.find("if(!did_break_early)"))
    end = cpp.find("if(!did_break_early) t = t_end;")
    m = _LOOP_CLOCK.search(cpp, loop)
    if loop < 0 or end < 0 or not m or m.end() > end:
        return cpp
    cpp = cpp[:m.start()] + "\n" + cpp[m.end():]
    end = cpp.find("if(!did_break_early) t = t_end;")
    return cpp[:end] + f"current = std::clock();\n    {m.group(1)}\n    " + cpp[end:]


class standalone_patches:
    """While a cpp_standalone project is generated: its ``brianlib/spikequeue.h`` is ours
    (:data:`SPIKE_QUEUE`: Brian's queue, heterogeneous delays pushed one block per delay; same
    queue contents, bit-identical results; copied with its own time stamp, so an unchanged build
    is not recompiled by the next process that generates it), and its ``network.cpp`` reads the
    process clock once per run, not once per step (:func:`network_without_per_step_clock`)."""

    def __init__(self, dev=None):
        from brian2 import get_device
        self.dev = get_device() if dev is None or not hasattr(type(dev), "copy_source_files") else dev

    def __enter__(self):
        dev, cls = self.dev, type(self.dev)

        def copy_source_files(writer, directory):
            cls.copy_source_files(dev, writer, directory)
            shutil.copy2(SPIKE_QUEUE, Path(directory) / "brianlib" / "spikequeue.h")

        class _Writer:
            def __init__(self, writer):
                self.writer = writer

            def write(self, name, contents):
                if name != "network.*":
                    return self.writer.write(name, contents)
                self.writer.write("network.cpp", network_without_per_step_clock(contents.cpp_file))
                self.writer.write("network.h", contents.h_file)

        def generate_network_source(writer, compiler):
            cls.generate_network_source(dev, _Writer(writer), compiler)
        dev.copy_source_files = copy_source_files
        dev.generate_network_source = generate_network_source
        return self

    def __exit__(self, *exc):
        for name in ("copy_source_files", "generate_network_source"):
            self.dev.__dict__.pop(name, None)
        return False


def flush_denormals():
    """Let the standalone program being generated (cpp or cuda host code) run with FTZ/DAZ on."""
    device.insert_code("before_start", FLUSH_DENORMALS)


# Brian2's generated loops read their arrays through local ``__restrict`` pointers, which GCC does
# not use for alias analysis (only parameters' restrict counts), so a neuron group's state
# updater, which reads and writes 5-8 arrays, needs more run-time overlap tests than GCC's default
# of 10 and stays scalar.  With a higher limit GCC versions the loop (one overlap test before it)
# and vectorises it: the same arithmetic per element, the same bits (element-wise loops have no
# reductions to reorder).  GCC only (a clang/icx build keeps Brian's flags).  docs/performance.md.
GCC_ALIAS_CHECKS = "--param=vect-max-version-for-alias-checks=400"
BRIAN_GCC_ARGS = tuple(prefs.codegen.cpp.extra_compile_args_gcc)


def compiler_is_gcc() -> bool:
    return _is_gcc(os.environ.get("CXX", "g++"))


@functools.lru_cache(maxsize=None)
def _is_gcc(cxx) -> bool:
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Free Software Foundation" in out and "clang" not in out.lower()


def cpp_compile_args():
    """The C++ flags of our cpp_standalone builds: Brian2's, plus :data:`GCC_ALIAS_CHECKS` for GCC."""
    return list(BRIAN_GCC_ARGS) + ([GCC_ALIAS_CHECKS] if compiler_is_gcc() else [])


class CppBackend(_ChunkedBackend):
    """cpp_standalone: one compiled binary per model structure, re-run with ``run_args``."""
    name = "cpp"
    device_name = "cpp_standalone"

    def __init__(self, threads=0, profile=False, **kw):
        super().__init__(**kw)
        self.threads = threads      # OpenMP was slower than 1 thread on 2 vCPUs (measured)
        self.profile = profile      # Brian2 per-code-object timing (adds a small per-step cost)
        self._built = None          # (key, assembled) of the build active in this process

    def build_key(self, spec, presentation):
        desc = {"model": spec.NAME, "structure": spec.structure(), "dt_ms": presentation.dt_ms,
                "run_ms": self.run_ms(presentation),      # a simulation's duration is compiled in
                "table_rows": self.table_rows(getattr(spec, "copies", None) or 1), "chunk_slots": self.chunk_slots, "device": self.device_name,
                "threads": self.threads, "profile": self.profile, "code": CODE_VERSION, "brian2": brian2.__version__}
        return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16], desc

    def _configure_device(self, directory):
        prefs.devices.cpp_standalone.openmp_threads = self.threads
        # not part of the build key: -j does not change the binary
        prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{make_jobs()}"]
        prefs.codegen.cpp.extra_compile_args_gcc = cpp_compile_args()
        flush_denormals()

    def _ensure_built(self, spec, presentation, images):
        """The build for ``spec`` (``images``: any table with the data's pixel count)."""
        key, desc = self.build_key(spec, presentation)
        if self._built and self._built[0] == key and device_holds(self._built[1].model.exc):
            return self._built[1]
        check_compiler()
        # Brian names code objects uniquely among the objects alive: with an earlier build still
        # alive a rebuild would get new names (``..._codeobject_2``), so new sources, and recompile
        # everything when a process switches between two structures (a training build and its
        # frozen one).  Free the earlier build first: the names, sources and object files repeat.
        self._built = None
        gc.collect()
        directory = self.cache_dir / f"{spec.NAME}-{key}"
        directory.mkdir(parents=True, exist_ok=True)
        clean_build_dir(directory)
        (directory / "build.json").write_text(json.dumps(desc, indent=1))
        set_device(self.device_name, build_on_run=False, directory=str(directory))
        device.reinit()             # the standalone device may hold an earlier build
        device.activate(build_on_run=False, directory=str(directory))
        self._configure_device(directory)
        defaultclock.dt = presentation.dt_ms * ms
        images = self.blank_table(images, getattr(spec, "copies", None) or 1)
        asm = self._assemble(spec, images, self.blank_order(spec, images), presentation)
        if not self.threads:        # our code-object templates (same results; serial code only)
            asm.own_templates = install_own_templates(asm.net.objects)
        device.insert_code("before_network_run", SEED_FROM_ENV)
        asm.net.run(self.run_ms(presentation) * ms, profile=self.profile)
        t0 = time.perf_counter()
        print(f"{spec.NAME}: compiling {len(getattr(device, 'code_objects', {}))} code objects (once per network "
              f"structure)...", file=sys.stderr, flush=True)
        try:
            with _locked(directory), standalone_patches(device):   # other processes may build it too
                device.build(directory=str(directory), compile=True, run=False)
        except Exception as e:   # compiler errors arrive as long multi-line messages
            raise BackendError(f"building {spec.NAME} in {directory} failed: "
                               f"{str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__}") from e
        asm.build_s = time.perf_counter() - t0
        print(f"{spec.NAME}: compiled in {asm.build_s:.0f} s", file=sys.stderr, flush=True)
        asm.directory = directory
        self._built = (key, asm)
        return asm

    def run_chunk(self, spec, presentation, images, order_chunk, state, plastic, phase, n_real, seed):
        images, order_chunk = self.chunk_table(images, order_chunk)
        asm = self._ensure_built(spec, presentation, images)
        vals = self._settings(asm, spec, presentation, state, order_chunk, plastic, n_real)
        vals[asm.model.images] = np.asarray(images, dtype=float)
        if getattr(spec, "copies", None):      # one seed per copy, for its counter-based input noise
            vals[asm.model.input_group.rng_seed] = np.repeat(np.asarray(seed, dtype=np.int64) % (2 ** 31),
                                                             spec.n_input).astype(np.int32)
            seed = seed[0]
        os.environ["BRIAN_SNN_SEED"] = str(int(seed) % (2 ** 31))    # read by SEED_FROM_ENV
        t0 = time.perf_counter()
        args, written = _run_args_list(asm.directory, vals)
        # results in a folder of this process: several processes may share one build
        device.run(directory=str(asm.directory), results_directory=f"results_{os.getpid()}",
                   with_output=self.verbose, run_args=args)
        wall = time.perf_counter() - t0
        timings = {"build_s": getattr(asm, "build_s", 0.0),
                   "net_s": getattr(device, "_last_run_time", None)}   # the network's run inside the binary
        if self.profile:
            prof = Path(asm.directory) / f"results_{os.getpid()}" / "profiling_info.txt"
            timings["profile"] = {k: float(v) for k, v in
                                  (line.split() for line in prof.read_text().splitlines())}
        result = self._collect(asm, spec, presentation, n_real, phase, wall, timings)
        asm.build_s = 0.0           # report the build once
        shutil.rmtree(Path(asm.directory) / f"results_{os.getpid()}", ignore_errors=True)
        for f in written:           # images, order, weights etc. change every run
            f.unlink(missing_ok=True)
        return result


def _run_args_list(directory, values, private=True):
    """Brian's run_args conversion.  ``private``: array files belong to this process (named by
    pid and content; another process sharing the build may delete its own files at any time);
    otherwise files stay (an export)."""
    from brian2 import TimedArray
    args, written = [], []
    for key, value in values.items():
        if isinstance(key, TimedArray):
            name, text, fname, arr = device._prepare_timed_array_run_arg(key, value)
        else:
            name, text, fname, arr = device._prepare_variableview_run_arg(key, value)
        if fname:
            fname = f"p{os.getpid()}_{fname}" if private else fname
            path = Path(directory) / "static_arrays" / fname
            if not path.exists():
                with replacing(path) as tmp:
                    arr.tofile(tmp)
                written.append(path)
            text = f"static_arrays/{fname}"
        args.append(f"{name}={text}")
    return args, written


def device_holds(group) -> bool:
    """Whether the active standalone device still holds this build (another build in the same
    process re-initialises the device, and the old objects can no longer be run or read)."""
    from brian2 import get_device
    return group.variables["v"] in getattr(get_device(), "arrays", {})


class _locked:
    """An exclusive advisory lock on a build directory (fcntl; a no-op where unavailable)."""

    def __init__(self, directory):
        self.path = Path(directory) / ".build.lock"

    def __enter__(self):
        self.f = open(self.path, "w")
        try:
            import fcntl
            fcntl.flock(self.f, fcntl.LOCK_EX)
        except ImportError:
            pass
        return self

    def __exit__(self, *exc):
        self.f.close()
        return False


_STRUCTURES: dict = {}


def model_gpu_structure(model: str, **params) -> dict:
    """``kernels_per_step``, ``host_copies_per_step`` and ``float_bits`` of a brian-snn model's
    network as :func:`activity.gpu_structure` counts them today (the network is built with numpy code
    generation; nothing runs).  Results recorded before a change of the counting rule are priced
    with these (benchmarks/report.py)."""
    from .encoding import Presentation
    from .models import get_model_spec

    spec = get_model_spec(model, **params)
    key = (model, tuple(sorted(spec.structure().items())))
    if key not in _STRUCTURES:
        target = prefs.codegen.target
        prefs.codegen.target = "numpy"
        try:
            n_in = spec.sizes().get("input", 784)
            built = _Assembled(spec, np.zeros((2, n_in)), np.array([0, 1]), Presentation())
            k, c = activity.gpu_structure(built.model.objects)
            for obj in built.net.objects:
                obj._network = 0                   # built to be counted, never run: no "unused" warnings
        finally:
            prefs.codegen.target = target
        _STRUCTURES[key] = {"kernels_per_step": k, "host_copies_per_step": c,
                            "float_bits": 8 * np.dtype(prefs.core.default_float_dtype).itemsize}
    return dict(_STRUCTURES[key])
