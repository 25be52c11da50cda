"""``--backend cuda``: brian2cuda's ``cuda_standalone``, with the work-arounds this stack needs.

The backend is the ``cpp`` backend with another device (one binary per model structure, re-run
with ``run_args``); what differs is how the project is generated and compiled:

* **Toolkit.** ``nvcc`` on PATH may be a wrapper script outside the toolkit (as on our machines),
  so brian2cuda's guess ``dirname(dirname(which nvcc))`` is wrong.  :func:`find_cuda` follows the
  wrapper to the real ``bin/nvcc`` and checks ``include/cuda_runtime.h``.
* **Portable makefile.** The generated makefile names nothing of this machine: the toolkit
  (``CUDA_PATH``: environment, else the toolkit of ``nvcc`` on PATH, else ``/usr/local/cuda``),
  cuRAND (the toolkit's), the C++ standard and the GPU architecture are make variables resolved
  where it is built, and Brian's ``-I/-L/-R <venv>`` flags are removed (:func:`patch_makefile`).
  A build here passes this machine's toolkit and cuRAND on the make command line
  (:func:`make_variables`, :func:`run_make`), so an exported folder can be copied anywhere.
* **C++ standard.** brian2cuda 1.0a7 hard-codes ``-std=c++11`` (makefile template and Brian's
  host-compiler flags); CUDA 13's Thrust/CUB/libcu++ (CCCL 3) need C++17.  The standard is a
  make variable (``CUDA_STD``: ``c++17`` for CUDA >= 12, else ``c++14``, from ``nvcc --version``)
  used for nvcc *and* the host compiler.
* **cuRAND.** Not part of every toolkit install (not of ours): :func:`find_curand` looks in the
  toolkit, then in the ``nvidia-curand`` wheel (``pip install 'brian-snn[cuda]'``), then in
  ``$BRIAN_SNN_CURAND_DIR``.  The wheel ships only ``libcurand.so.10``: :func:`run_make` gives
  the linker a ``libcurand.so`` link in a temporary folder and the binary an rpath to the wheel.
* **Quiet.** brian2cuda's ~30 INFO lines per project are hidden (``verbose=True`` shows them).
* **No GPU needed to build.** GPU detection is off; the compute capability is given
  (``5.3`` Jetson Nano, ``6.2`` TX2, ``7.2`` Xavier, ``8.7`` Orin, ``9.0`` H100) or, where a GPU
  is visible, read from ``nvidia-smi``.  The local nvcc must support it (CUDA 13: 7.5 and up);
  otherwise export the project and build it on the device with its own toolkit.
* **Seeds.** brian2cuda seeds cuRAND from ``time(0)`` (1 s resolution); the binary instead reads
  ``$BRIAN_SNN_SEED`` before the run and calls ``random_number_buffer.set_seed`` (host and
  device API), so every chunk gets its own, reproducible stream.
* **Parallel make.** brian2's default ``make -j`` (unbounded) is replaced by ``-j$BRIAN_SNN_MAKE_JOBS``
  (default: the cores this process may use, at most 4), run under ``nice``.

Options come from the constructor or, for ``brian-snn train --backend cuda``, from the
environment: ``BRIAN_SNN_CUDA_CC``, ``BRIAN_SNN_GPU_ID``, ``BRIAN_SNN_CUDA_PATH`` (or
``CUDA_PATH``), ``BRIAN_SNN_CURAND_DIR``, ``BRIAN_SNN_MAKE_JOBS``.  Every failure is one line
naming what is missing.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import brian2
from brian2 import defaultclock, device, ms, prefs, set_device

from .backend import (BRIAN_GCC_ARGS, BackendError, CppBackend, _locked, clean_build_dir, device_holds, make_jobs,
                      flush_denormals)

DEFAULT_TOOLKITS = ("/usr/local/cuda",)
MIN_CC = 5.0                       # brian2cuda 1.0a7's minimal_compute_capability
DEVICES = {"jetson-nano": 5.3, "jetson-tx2": 6.2, "xavier": 7.2, "orin": 8.7, "h100": 9.0,
           "a100": 8.0, "rtx3090": 8.6, "rtx4090": 8.9, "t4": 7.5}

SEED_FROM_ENV_CUDA = """
if (const char* _s = std::getenv("BRIAN_SNN_SEED")) {
    brian::random_number_buffer.set_seed(std::stoull(_s));
}
"""


class CudaError(BackendError):
    """A CUDA tool, library or GPU is missing, or an option is bad (one line)."""


# -- options -----------------------------------------------------------------------------
def parse_compute_capability(value) -> float:
    """``"8.7"``, ``8.7``, ``"87"``, ``"sm_87"`` or a device name (``orin``) -> 8.7."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        cc = float(value)
    else:
        s = str(value).strip().lower()
        if s in DEVICES:
            return DEVICES[s]
        m = re.fullmatch(r"(?:sm_|compute_)?(\d+)(?:\.(\d))?", s)
        if not m:
            raise CudaError(f"bad compute capability {value!r}: write major.minor, e.g. 5.3 (Jetson Nano), "
                            f"8.7 (Orin), 9.0 (H100), or one of {', '.join(DEVICES)}")
        major, minor = m.groups()
        if minor is None:               # "87" or "sm_87"
            if len(major) < 2:
                major, minor = major, "0"
            else:
                major, minor = major[:-1], major[-1]
        cc = float(f"{int(major)}.{minor}")
    if not MIN_CC <= cc < 20:
        raise CudaError(f"bad compute capability {value!r}: brian2cuda needs {MIN_CC} or higher "
                        f"(Jetson Nano 5.3, Orin 8.7, H100 9.0)")
    return cc


def arch_flag(cc: float) -> str:
    return f"sm_{int(round(cc * 10))}"


# -- toolkit discovery ---------------------------------------------------------------------
@dataclass
class Toolchain:
    cuda_path: str
    nvcc: str
    version: float                 # e.g. 13.0
    archs: tuple                   # sm_XY codes the nvcc supports (empty if unknown)

    @property
    def cxx_std(self) -> str:
        """C++ standard for nvcc and the host compiler: CCCL 3 (CUDA 13) needs C++17."""
        return "c++17" if self.version >= 12 else "c++14"

    def supports(self, cc: float) -> bool:
        return not self.archs or arch_flag(cc) in self.archs


def _is_elf(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _toolkit_of(nvcc_path):
    """The toolkit directory of an nvcc binary, following a shell wrapper (``exec .../nvcc``)."""
    p = Path(os.path.realpath(nvcc_path))
    if _is_elf(p):
        return p.parent.parent
    try:
        text = p.read_text(errors="replace")[:4000]
    except OSError:
        return None
    for cand in re.findall(r"(/[^\s\"']*/bin/nvcc)\b", text):
        if _is_elf(cand):
            return Path(os.path.realpath(cand)).parent.parent
    return None


def find_cuda(cuda_path=None) -> Toolchain:
    """The CUDA toolkit to use: ``cuda_path``, ``$BRIAN_SNN_CUDA_PATH``, ``$CUDA_PATH``, the
    toolkit behind ``nvcc`` on PATH (wrappers followed), ``/usr/local/cuda``."""
    tried = []
    cands = [cuda_path, os.environ.get("BRIAN_SNN_CUDA_PATH"), os.environ.get("CUDA_PATH"),
             os.environ.get("CUDA_HOME")]
    explicit = next((c for c in cands if c), None)
    if explicit:
        cands = [explicit]
    else:
        which = shutil.which("nvcc")
        cands = ([_toolkit_of(which)] if which else []) + list(DEFAULT_TOOLKITS)
    for c in cands:
        if c is None:
            continue
        root = Path(os.path.expanduser(str(c)))
        nvcc = root / "bin" / "nvcc"
        tried.append(str(root))
        if _is_elf(nvcc) and (root / "include" / "cuda_runtime.h").exists():
            return Toolchain(str(root), str(nvcc), _nvcc_version(nvcc), _nvcc_archs(nvcc))
    where = f" (looked in {', '.join(tried)})" if tried else ""
    if explicit:
        raise CudaError(f"no CUDA toolkit at {explicit}: expected bin/nvcc and include/cuda_runtime.h there")
    raise CudaError(f"nvcc not found{where}: install the CUDA toolkit or set CUDA_PATH "
                    "(or BRIAN_SNN_CUDA_PATH) to its directory; 'brian-snn export' without --build "
                    "needs no toolkit")


def _nvcc_version(nvcc) -> float:
    try:
        out = subprocess.run([str(nvcc), "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise CudaError(f"{nvcc} --version failed: {e}") from None
    m = re.search(r"release (\d+)\.(\d+)", out)
    if not m:
        raise CudaError(f"cannot read the CUDA version from '{nvcc} --version'")
    return float(f"{m.group(1)}.{m.group(2)}")


def _nvcc_archs(nvcc) -> tuple:
    try:
        out = subprocess.run([str(nvcc), "--list-gpu-code"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(sorted(set(re.findall(r"\bsm_\d+\b", out.stdout)))) if out.returncode == 0 else ()


def _wheel_dirs():
    """Candidate cuRAND roots inside installed ``nvidia-curand*`` wheels."""
    out = []
    spec = importlib.util.find_spec("nvidia")
    for base in (spec.submodule_search_locations or []) if spec else []:
        for sub in ("cu13", "cu12", "curand", "cu11"):
            out.append(Path(base) / sub)
    return out


def find_curand(cuda_path=None, curand_dir=None):
    """(include dir, lib dir) of cuRAND: ``curand_dir`` / ``$BRIAN_SNN_CURAND_DIR``, the toolkit,
    then the nvidia-curand wheel."""
    explicit = curand_dir or os.environ.get("BRIAN_SNN_CURAND_DIR")
    cands = [Path(explicit)] if explicit else []
    if not explicit:
        if cuda_path:
            cands.append(Path(cuda_path))
        cands += _wheel_dirs()
    for root in cands:
        inc = root / "include"
        for lib in (root / "lib64", root / "lib", root / "targets" / "x86_64-linux" / "lib"):
            if (inc / "curand.h").exists() and list(lib.glob("libcurand.so*")):
                return str(inc), str(lib)
    if explicit:
        raise CudaError(f"cuRAND not found in {explicit}: expected include/curand.h and lib/libcurand.so*")
    raise CudaError("cuRAND not found (no curand.h + libcurand.so in the CUDA toolkit or an nvidia-curand "
                    "wheel): pip install 'brian-snn[cuda]' (CUDA 13: nvidia-curand; CUDA 12: "
                    "nvidia-curand-cu12) or set BRIAN_SNN_CURAND_DIR")


def detect_gpus():
    """[(index, name, compute capability)] from nvidia-smi; [] when none is visible."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index,name,compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    gpus = []
    for line in out.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            try:
                gpus.append((int(parts[0]), parts[1], float(parts[2])))
            except ValueError:
                continue
    return gpus


def _env(name, default=None):
    v = os.environ.get(name)
    return v if v not in (None, "") else default


def default_make_jobs() -> int:
    """As for C++ builds, at most 4: an nvcc job takes a GB or more of memory."""
    return make_jobs(limit=4)


# -- makefile --------------------------------------------------------------------------------
# The head of every generated makefile: nothing in it names this machine.  The toolkit is found
# where the project is built ($CUDA_PATH, else the toolkit of `nvcc` on PATH, else /usr/local/cuda,
# where JetPack and NVIDIA's installers put it); cuRAND is the toolkit's, else the nvidia-curand pip
# wheel's (as find_curand() does for our own builds: through the Python of an active virtual
# environment or conda, else python3 on PATH, else the usual pip folders), its lib/ having only
# libcurand.so.N being linked through a `curand-link/libcurand.so` link made at build time; the C++ standard follows
# the nvcc version (CUDA 10/11: c++14, 12 and later: c++17, which CUDA 13 needs).  Each variable
# can be given on the make command line or in the environment.
MAKEFILE_HEAD = """\
# brian-snn: portable toolchain settings, found where the project is built.  Override any of
# them on the make command line or in the environment, e.g.
#   make -j4 CUDA_PATH=/usr/local/cuda-12.6 GPU_ARCH=sm_87
#   make -j4 CURAND_INC=<dir with curand.h> CURAND_LIB=<dir with libcurand.so*>
#   make -j4 PYTHON=<venv>/bin/python        (the Python whose nvidia-curand wheel to use)
_NVCC_ON_PATH := $(realpath $(shell command -v nvcc 2>/dev/null))
_CUDA_OF_NVCC := $(patsubst %/bin/nvcc,%,$(_NVCC_ON_PATH))
CUDA_PATH ?= $(if $(wildcard $(_CUDA_OF_NVCC)/include/cuda_runtime.h),$(_CUDA_OF_NVCC),/usr/local/cuda)
NVCC_BIN ?= $(CUDA_PATH)/bin/nvcc
# CUDA major version, read once from nvcc when first needed
CUDA_MAJOR = $(eval CUDA_MAJOR := $(shell $(NVCC_BIN) --version 2>/dev/null | sed -n 's/.*release \\([0-9]*\\)\\..*/\\1/p'))$(CUDA_MAJOR)
CUDA_STD ?= $(if $(filter 9 10 11,$(CUDA_MAJOR)),c++14,c++17)
GPU_ARCH ?= {arch}
# cuRAND: the toolkit's; else an nvidia-curand pip wheel (CUDA 13: nvidia-curand, CUDA 12:
# nvidia-curand-cu12), asked from $(PYTHON) or found in ~/.local, /usr/local or /usr (looked up once)
PYTHON ?= $(or $(if $(VIRTUAL_ENV),$(wildcard $(VIRTUAL_ENV)/bin/python3)),$(if $(CONDA_PREFIX),$(wildcard \\
    $(CONDA_PREFIX)/bin/python3)),python3)
_PIP_NVIDIA = $(shell $(PYTHON) -c 'import nvidia; print(*nvidia.__path__)' 2>/dev/null) \\
    $(wildcard $(HOME)/.local/lib/python3*/site-packages/nvidia /usr/local/lib/python3*/dist-packages/nvidia \\
    /usr/local/lib/python3*/site-packages/nvidia /usr/lib/python3/dist-packages/nvidia)
_CURAND_WHEEL = $(patsubst %/include/curand.h,%,$(firstword $(foreach d,$(_PIP_NVIDIA),$(foreach h,$(wildcard \\
    $(d)/*/include/curand.h),$(if $(wildcard $(h:%/include/curand.h=%)/lib/libcurand.so*),$(h))))))
_CURAND_ROOT = $(eval _CURAND_ROOT := $(if $(wildcard $(CUDA_PATH)/include/curand.h),,$(_CURAND_WHEEL)))$(_CURAND_ROOT)
CURAND_INC ?= $(if $(_CURAND_ROOT),$(_CURAND_ROOT)/include,$(CUDA_PATH)/include)
CURAND_LIB ?= $(if $(_CURAND_ROOT),$(_CURAND_ROOT)/lib,$(or $(patsubst %/,%,$(dir $(firstword $(wildcard \\
    $(CUDA_PATH)/lib64/libcurand.so $(CUDA_PATH)/lib/libcurand.so $(CUDA_PATH)/targets/*/lib/libcurand.so)))),$(CUDA_PATH)/lib64))
CURAND_RPATH ?= $(CURAND_LIB)
# a lib/ with only libcurand.so.N (the wheel): the linker gets a libcurand.so link made at build time
_CURAND_SO_N = $(firstword $(wildcard $(CURAND_LIB)/libcurand.so.*))
_CURAND_LINKDIR = $(if $(wildcard $(CURAND_LIB)/libcurand.so),,$(if $(_CURAND_SO_N),curand-link))
CURAND_FLAGS = $(if $(CURAND_INC),-I$(CURAND_INC))
CURAND_LFLAGS = $(if $(_CURAND_LINKDIR),-L$(_CURAND_LINKDIR)) $(if $(CURAND_LIB),-L$(CURAND_LIB)) \\
    $(if $(CURAND_RPATH),-Xlinker -rpath -Xlinker $(CURAND_RPATH))

"""

MAKEFILE_TAIL = """
# brian-snn: say what is missing before nvcc fails on it
.PHONY: toolchain-check
$(OBJS): | toolchain-check
toolchain-check:
\t@test -x "$(NVCC_BIN)" || { echo "nvcc not found at $(NVCC_BIN): set CUDA_PATH to the CUDA toolkit (make CUDA_PATH=/usr/local/cuda-X.Y) or put its bin/ on PATH"; exit 1; }
\t@test -f "$(CURAND_INC)/curand.h" || { echo "cuRAND not found: no curand.h in $(CURAND_INC); install the toolkit's cuRAND, or pip install nvidia-curand (CUDA 13; CUDA 12: nvidia-curand-cu12) for the python3 on PATH or an activated virtual environment (or make PYTHON=<its python>), or set CURAND_INC and CURAND_LIB"; exit 1; }
.PHONY: curand-link
$(PROGRAM): | $(_CURAND_LINKDIR)
curand-link:
\t@mkdir -p $@ && ln -sf "$(_CURAND_SO_N)" $@/libcurand.so
"""

# absolute include/library/run-time paths Brian adds from its preferences (codegen.cpp.include_dirs
# etc., by default <sys.prefix>/include and /lib: the virtual environment); the project needs none
_ABSOLUTE_FLAGS = (r' ?-Xlinker --enable-new-dtags,-R/[^\s"]*', r" ?-Xlinker -rpath -Xlinker /[^\s\"]*",
                   r' ?-Wl,[^\s"]*-R/[^\s"]*', r' ?-(?:I|L|R)/[^\s"]*')


def patch_makefile(directory, *, arch, **_legacy):
    """Make the generated makefile portable and CUDA-13-proof: the toolkit, cuRAND, the C++
    standard and the GPU architecture become make variables found at build time (see
    :data:`MAKEFILE_HEAD`; ``make CUDA_PATH=... GPU_ARCH=sm_53 ...`` overrides them), and the
    absolute paths of this machine (Brian's ``-I<venv>/include -L<venv>/lib -R<venv>/lib``) are
    removed.  This machine's toolkit and cuRAND are given to ``make`` by :func:`run_make` instead.
    (``nvcc``, ``cxx_std``, ``curand_inc``, ``curand_lib``: accepted from older callers, unused.)"""
    path = Path(directory) / "makefile"
    text = path.read_text()
    if "CUDA_STD ?=" in text:
        return
    text = re.sub(r"^NVCC = @\S+", "NVCC = @$(NVCC_BIN)", text, count=1, flags=re.M)
    text = text.replace("-std=c++11", "-std=$(CUDA_STD)")
    text = re.sub(r"-arch=sm_\d+", "-arch=$(GPU_ARCH)", text)
    text = re.sub(r"^(NVCCFLAGS = -I\.)", r"\1 $(CURAND_FLAGS)", text, count=1, flags=re.M)
    text = re.sub(r"^LFLAGS = -lcurand", "LFLAGS = $(CURAND_LFLAGS) -lcurand", text, count=1, flags=re.M)
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if line.startswith(("NVCCFLAGS =", "LFLAGS =")):
            for pattern in _ABSOLUTE_FLAGS:
                line = re.sub(pattern, "", line)
            lines[k] = line
    text = "\n".join(lines)
    # `make clean` twice (or before any build) must not fail
    text = re.sub(r"^(clean:\n\t)rm (?!-f)", r"\1rm -f ", text, count=1, flags=re.M)
    text = re.sub(r"^(clean:\n\trm -f [^\n]*)", r"\1\n\trm -rf curand-link", text, count=1, flags=re.M)
    path.write_text(MAKEFILE_HEAD.replace("{arch}", arch) + text.rstrip("\n") + "\n" + MAKEFILE_TAIL)


def make_variables(opts) -> dict:
    """The make variables of a build on this machine: its toolkit and cuRAND (command line only,
    never written into the project)."""
    tc = opts.toolchain
    if tc is None:
        return {}
    out = {"CUDA_PATH": tc.cuda_path, "NVCC_BIN": tc.nvcc, "CUDA_STD": tc.cxx_std}
    inc, lib = opts.curand
    if inc:
        out.update(CURAND_INC=inc, CURAND_LIB=lib, CURAND_RPATH=lib)
    return out


def run_make(directory, jobs, variables=None, log_name="make.log", nice=10):
    """Compile a generated project with ``make VAR=value ...`` (``variables``; ``None``: this
    machine's toolkit and cuRAND as found by :func:`find_cuda` / :func:`find_curand`).  A cuRAND
    with only ``libcurand.so.<N>`` (the nvidia-curand wheel) gets a ``libcurand.so`` link for the
    linker in a temporary folder, removed afterwards (the binary finds the library by its rpath).
    A failure raises one line (the first compiler error)."""
    import tempfile
    if variables is None:
        tc = find_cuda()
        variables = make_variables(CudaOptions(0.0, 0, tc, find_curand(tc.cuda_path), jobs))
    variables = dict(variables)
    cmd = ["make", f"-j{int(jobs)}"]
    if nice and shutil.which("nice"):
        cmd = ["nice", "-n", str(nice)] + cmd
    with tempfile.TemporaryDirectory(prefix="brian-snn-curand-") as tmp:
        lib = variables.get("CURAND_LIB")
        if lib and not (Path(lib) / "libcurand.so").exists():
            real = sorted(Path(lib).glob("libcurand.so.*"))
            if real:
                (Path(tmp) / "libcurand.so").symlink_to(real[0])
                variables["CURAND_LIB"] = tmp
        cmd += [f"{k}={v}" for k, v in variables.items()]
        t0 = time.perf_counter()
        log = Path(directory) / log_name
        with open(log, "w") as f:
            rc = subprocess.call(cmd, cwd=str(directory), stdout=f, stderr=subprocess.STDOUT)
    if rc != 0:
        lines = log.read_text(errors="replace").splitlines()
        err = next((ln for ln in lines if "error" in ln.lower() or "not found" in ln), lines[-1] if lines else "")
        raise CudaError(f"nvcc build in {directory} failed (exit {rc}; see {log}): {err.strip()[:300]}")
    return time.perf_counter() - t0


class quiet_brian:
    """Brian's console log at WARNING for the duration (brian2cuda prints ~30 INFO lines per
    project: its preferences, 'Failed to parallelise ...'); ``verbose=True`` leaves it alone.
    The log file (if any) still receives everything."""

    def __init__(self, verbose=False):
        self.verbose = verbose

    def __enter__(self):
        from brian2.utils.logger import BrianLogger
        self.handler = None if self.verbose else BrianLogger.console_handler
        if self.handler is not None:
            import logging
            self.level = self.handler.level
            self.handler.setLevel(max(self.level, logging.WARNING))
        return self

    def __exit__(self, *exc):
        if self.handler is not None:
            self.handler.setLevel(self.level)
        return False


# -- device configuration ------------------------------------------------------------------
@dataclass
class CudaOptions:
    compute_capability: float
    gpu_id: int
    toolchain: Toolchain | None      # None: generate only (no toolkit on this machine)
    curand: tuple                    # (include, lib) or (None, None)
    make_jobs: int

    def describe(self, portable=False) -> dict:
        """The options; ``portable=True`` leaves out this machine's paths (for an export)."""
        tc = self.toolchain
        d = {"compute_capability": self.compute_capability, "arch": arch_flag(self.compute_capability),
             "gpu_id": self.gpu_id, "cuda_path": tc.cuda_path if tc else None,
             "cuda_version": tc.version if tc else None,
             "cxx_std": tc.cxx_std if tc else "c++17",
             "curand_include": self.curand[0], "curand_lib": self.curand[1]}
        if portable:
            for k in ("cuda_path", "curand_include", "curand_lib"):
                d.pop(k)
            if tc is None:
                d["cxx_std"] = "from the nvcc version (c++17 for CUDA >= 12, else c++14)"
        return d


def configure_prefs(opts: CudaOptions, directory):
    """Set the brian2cuda preferences for a build without GPU detection."""
    from brian2cuda.utils import gputools
    gputools.reset_cuda_installation()
    gputools.reset_gpu_selection()
    cb = prefs.devices.cuda_standalone.cuda_backend
    cb.detect_gpus = False
    cb.gpu_id = int(opts.gpu_id)
    cb.compute_capability = float(opts.compute_capability)
    tc = opts.toolchain
    if tc is not None:
        cb.cuda_path = tc.cuda_path
        cb.cuda_runtime_version = float(tc.version)
        cb.detect_cuda = True
    else:                       # generate only: brian2cuda still wants a path and a version
        cb.cuda_path = "/usr/local/cuda"
        cb.cuda_runtime_version = 12.0
        cb.detect_cuda = False
    cb.extra_compile_args_nvcc = ["-w", "-use_fast_math"]
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{opts.make_jobs}"]
    prefs.devices.cpp_standalone.openmp_threads = 0


class CudaBackend(CppBackend):
    """cuda_standalone (brian2cuda): one compiled CUDA binary per model structure.

    ``compute_capability``: of the GPU to build for (``None``: read from nvidia-smi or
    ``$BRIAN_SNN_CUDA_CC``).  ``compile=False`` generates the project only (export).
    ``require_gpu``: check for a visible GPU before building (a run needs one).
    ``verbose``: show brian2cuda's INFO lines while generating (default: warnings only).
    """
    name = "cuda"
    device_name = "cuda_standalone"
    # The controller runs in a kernel and cannot end the host loop, so a run lasts exactly
    # chunk_slots slots: the window length is compiled in (one build per window).
    ends_itself = False

    def __init__(self, compute_capability=None, gpu_id=None, cuda_path=None, curand_dir=None,
                 make_jobs=None, compile=True, require_gpu=True, threads=0, verbose=False, **kw):
        if threads:
            raise CudaError("the cuda backend has no OpenMP threads (threads must be 0)")
        super().__init__(threads=0, **kw)
        cc = compute_capability if compute_capability is not None else _env("BRIAN_SNN_CUDA_CC")
        self.compute_capability = parse_compute_capability(cc) if cc is not None else None
        try:
            self.gpu_id = int(gpu_id if gpu_id is not None else _env("BRIAN_SNN_GPU_ID", 0))
        except ValueError:
            raise CudaError(f"bad GPU id {gpu_id or os.environ.get('BRIAN_SNN_GPU_ID')!r}: "
                            "expected an integer (0 for the first GPU)") from None
        self.cuda_path = cuda_path
        self.curand_dir = curand_dir
        self.make_jobs = int(make_jobs) if make_jobs else default_make_jobs()
        self.compile = compile
        self.require_gpu = require_gpu and compile
        self.verbose = verbose
        self._options = None

    # -- options ---------------------------------------------------------------------------
    def options(self) -> CudaOptions:
        """Resolve toolkit, cuRAND, GPU and compute capability (raises CudaError, one line)."""
        if self._options is not None:
            return self._options
        cc = self.compute_capability
        if self.require_gpu or cc is None:
            gpus = detect_gpus()
            if self.require_gpu and not gpus and not _env("BRIAN_SNN_ASSUME_GPU"):
                raise CudaError("no NVIDIA GPU visible (nvidia-smi lists none): --backend cuda runs on a GPU; "
                                "to generate or compile the CUDA project here use 'brian-snn export "
                                "--backend cuda --compute-capability X [--build]' (on a Jetson without "
                                "nvidia-smi set BRIAN_SNN_ASSUME_GPU=1 and BRIAN_SNN_CUDA_CC)")
            if cc is None:
                mine = [g for g in gpus if g[0] == self.gpu_id]
                if not mine:
                    raise CudaError("compute capability unknown: no GPU with id "
                                    f"{self.gpu_id} visible; give --compute-capability (e.g. 8.7) "
                                    "or set BRIAN_SNN_CUDA_CC")
                cc = parse_compute_capability(mine[0][2])
        tc, curand = None, (None, None)
        if self.compile:
            tc = find_cuda(self.cuda_path)
            if not tc.supports(cc):
                raise CudaError(f"nvcc {tc.version:g} cannot build compute capability {cc:g} "
                                f"({arch_flag(cc)}; it supports {', '.join(tc.archs)}): export the project "
                                "without --build and compile it on the device with its own toolkit")
            curand = find_curand(tc.cuda_path, self.curand_dir)
        else:
            try:
                curand = find_curand(None, self.curand_dir)
            except CudaError:
                pass
        self._options = CudaOptions(cc, self.gpu_id, tc, curand, self.make_jobs)
        return self._options

    def build_key(self, spec, presentation):
        key, desc = super().build_key(spec, presentation)
        o = self.options()
        desc = dict(desc, cuda=o.describe(), compiled=self.compile)
        return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16], desc

    def _configure_device(self, directory):
        configure_prefs(self.options(), directory)
        prefs.codegen.cpp.extra_compile_args_gcc = list(BRIAN_GCC_ARGS)   # not the cpp backend's
        flush_denormals()              # the host code's arithmetic (docs/performance.md)

    # -- build -------------------------------------------------------------------------------
    def _ensure_built(self, spec, presentation, images):
        key, desc = self.build_key(spec, presentation)
        if self._built and self._built[0] == key and device_holds(self._built[1].model.exc):
            return self._built[1]
        directory = self.cache_dir / f"{spec.NAME}-{key}"
        clean_build_dir(directory)
        asm = generate_project(self, spec, presentation, self.blank_table(images, getattr(spec, "copies", None) or 1),
                               directory, desc)
        self._built = (key, asm)
        return asm

    def run_chunk(self, spec, presentation, images, order_chunk, state, plastic, phase, n_real, seed):
        if not self.compile:
            raise CudaError("this cuda backend only generates code (compile=False); it cannot run")
        try:
            return super().run_chunk(spec, presentation, images, order_chunk, state, plastic,
                                     phase, n_real, seed)
        except RuntimeError as e:
            if isinstance(e, BackendError):
                raise
            msg = str(e).strip().splitlines()
            raise CudaError(f"the CUDA binary failed on GPU {self.gpu_id} "
                            f"(compute capability {self.options().compute_capability:g}): "
                            f"{msg[-1] if msg else type(e).__name__}") from e


def generate_project(backend: CudaBackend, spec, presentation, images, directory, desc=None,
                     order=None):
    """Generate (and, when ``backend.compile``, compile) the CUDA project of a model.

    Returns the assembled model (``_Assembled``) with ``directory`` and ``build_s`` set.  A project
    that is already compiled (``main`` newer than its makefile) is not compiled again.
    """
    import brian2cuda  # noqa: F401  (registers the cuda_standalone device)
    directory = Path(directory)
    opts = backend.options()
    directory.mkdir(parents=True, exist_ok=True)
    if desc is None:
        desc = backend.build_key(spec, presentation)[1]
    (directory / "build.json").write_text(json.dumps(desc, indent=1))
    set_device(backend.device_name, build_on_run=False, directory=str(directory))
    device.reinit()
    device.activate(build_on_run=False, directory=str(directory))
    backend._configure_device(directory)
    defaultclock.dt = presentation.dt_ms * ms
    if order is None:
        order = backend.blank_order(spec, images)
    with quiet_brian(getattr(backend, "verbose", False)):
        asm = backend._assemble(spec, images, order, presentation)
        avoid_j_redeclaration(asm.net.objects)
        device.insert_code("before_network_run", SEED_FROM_ENV_CUDA)
        asm.net.run(backend.run_ms(presentation) * ms, profile=backend.profile)
        t0 = time.perf_counter()
        with _locked(directory):
            _build_locked(backend, opts, directory)
    asm.build_s = time.perf_counter() - t0
    asm.directory = directory
    return asm


def avoid_j_redeclaration(objects):
    """brian2cuda 1.0a7's synapse kernels loop with ``for(int j = tid; ...)`` and then declare the
    user's ``j`` (post index) inside that loop: ``error: "j" ... may not be redeclared``.  Use the
    equivalent ``i_post`` in on_pre/on_post code instead.  Returns the pathways changed."""
    from brian2 import Synapses
    changed = []
    for obj in objects:
        if isinstance(obj, Synapses):
            for p in obj._pathways:
                if re.search(r"\bj\b", p.code):
                    p.code = re.sub(r"\bj\b", "i_post", p.code)
                    changed.append(p.name)
    return changed


def _build_locked(backend, opts, directory):
    # brian2cuda's writer leaves unchanged files untouched, so make recompiles only what changed
    # (nothing, when the same structure is built again)
    try:
        device.build(directory=str(directory), compile=False, run=False)
    except Exception as e:
        raise CudaError(f"generating the CUDA project in {directory} failed: "
                        f"{_last_line(e)}") from e
    patch_makefile(directory, arch=arch_flag(opts.compute_capability))
    if backend.compile:
        backend.make_s = run_make(directory, opts.make_jobs, make_variables(opts))


def _last_line(e) -> str:
    s = str(e).strip()
    return s.splitlines()[-1] if s else type(e).__name__


def backend_summary() -> dict:
    """What this machine has for CUDA (for docs / doctor): each item or the reason it is missing."""
    out = {"python": sys.version.split()[0], "brian2": brian2.__version__}
    try:
        import brian2cuda
        out["brian2cuda"] = brian2cuda.__version__
    except Exception as e:         # pragma: no cover
        out["brian2cuda"] = f"missing ({e})"
    try:
        tc = find_cuda()
        out["nvcc"] = f"{tc.nvcc} (CUDA {tc.version:g}, {tc.cxx_std})"
        out["archs"] = " ".join(tc.archs)
        cuda_path = tc.cuda_path
    except CudaError as e:
        out["nvcc"] = f"missing: {e}"
        cuda_path = None
    try:
        out["curand"] = " ".join(find_curand(cuda_path))
    except CudaError as e:
        out["curand"] = f"missing: {e}"
    gpus = detect_gpus()
    out["gpus"] = [f"{i}: {n} (cc {c:g})" for i, n, c in gpus] or "none visible"
    return out
