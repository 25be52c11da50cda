"""``brian-snn export``: write the complete standalone CUDA project of a model to a folder.

The folder is self-contained and portable (no file names this machine, no absolute link, no lock
file): generated sources with Brian's headers (``brianlib/``), a makefile that finds the CUDA
toolkit and its cuRAND where it is built (``CUDA_PATH``, ``nvcc`` on PATH or ``/usr/local/cuda``;
the C++ standard from the nvcc version; the GPU architecture a make variable), the data of one
ready-made training run (image table, presentation order, initial weights, run-time parameters as
``run_args`` files), ``run.sh`` to start it, ``results_index.json`` (which result file holds which
variable) and a README on building and running it on a Jetson or desktop GPU.  ``build=True`` also
compiles it here with nvcc (no GPU needed); the objects and ``main`` are then this machine's
(``make clean`` on the target).
"""
from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
from brian2 import device

from .backend import _run_args_list
from .cuda import CudaBackend, CudaError
from .encoding import Presentation
from .models import get_model_spec


def export_project(model, out, dataset, n_exc=400, compute_capability="8.7", build=False,
                   params=None, presentation=None, chunk_slots=250, seed=0, gpu_id=0,
                   cuda_path=None, curand_dir=None, make_jobs=None, force=False, verbose=False) -> dict:
    """Generate the CUDA project of ``model`` into ``out`` (see the module docstring).

    Returns a summary dict (directory, options, files, build time).  ``out`` must be empty or
    absent unless ``force``.
    """
    from .experiments.train_eval import image_table, initial_state
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise CudaError(f"{out} is not empty: choose a new --out folder (or --force to overwrite)")
    spec = get_model_spec(model, n_exc=n_exc, n_input=dataset.x_train.shape[1], **(params or {}))
    pres = Presentation(**(presentation or {}))
    backend = CudaBackend(compute_capability=compute_capability, gpu_id=gpu_id, cuda_path=cuda_path,
                          curand_dir=curand_dir, make_jobs=make_jobs, compile=build, require_gpu=False,
                          chunk_slots=chunk_slots, cache_dir=out.parent, verbose=verbose)
    images = image_table(dataset)
    n_train = len(dataset.y_train)
    order = np.random.default_rng(seed).permutation(n_train)
    window = np.full(chunk_slots + 1, len(images) - 1, dtype=np.int64)
    window[:min(n_train, chunk_slots + 1)] = order[:chunk_slots + 1]
    opts = backend.options()
    from .cuda import generate_project
    asm = generate_project(backend, spec, pres, images, out, order=window.astype(float))

    # the data of one training chunk, as run_args files next to the sources
    state = initial_state(spec, seed)
    vals = backend._settings(asm, spec, pres, state, window, 1, n_real=min(n_train, chunk_slots + 1))
    vals[asm.model.images] = np.asarray(images, dtype=float)
    args, _ = _run_args_list(out, vals, private=False)
    env_seed = int(seed) * 100003 % (2 ** 31)
    run_sh = out / "run.sh"
    run_sh.write_text("#!/bin/sh\n# One training chunk of the exported model (data in static_arrays/init_*).\n"
                      "# Usage: ./run.sh [SEED]   -- results land in results/ (see results_index.json)\n"
                      f'cd "$(dirname "$0")"\nBRIAN_SNN_SEED=${{1:-{env_seed}}} exec ./main '
                      + " ".join(shlex.quote(a) for a in args) + "\n")
    run_sh.chmod(0o755)
    index = _results_index(asm)
    (out / "results_index.json").write_text(json.dumps(index, indent=1))
    info = {"model": model, "n_exc": n_exc, "n_input": spec.n_input, "chunk_slots": chunk_slots,
            "dt_ms": pres.dt_ms, "slot_ms": pres.slot_ms, "samples_in_run": int(min(n_train, chunk_slots)),
            "data": getattr(dataset, "source", "?"), "seed": seed, "cuda": opts.describe(portable=True),
            "built": bool(build), "build_s": round(asm.build_s, 1) if build else None,
            "model_params": {k: getattr(spec, k) for k in spec.__dataclass_fields__},
            "presentation": {k: getattr(pres, k) for k in pres.__dataclass_fields__}}
    (out / "export.json").write_text(json.dumps(info, indent=1, default=str))
    build_json = json.loads((out / "build.json").read_text())
    build_json["cuda"] = info["cuda"]                        # without this machine's paths
    (out / "build.json").write_text(json.dumps(build_json, indent=1))
    (out / "README.md").write_text(_readme(info, opts, out.name))
    shutil.rmtree(out / "results", ignore_errors=True)
    (out / "results").mkdir(exist_ok=True)
    (out / ".build.lock").unlink(missing_ok=True)           # the build lock of generate_project
    info["directory"] = str(out)
    info["files"] = _file_summary(out)
    return info


def _file_summary(out) -> dict:
    """What the folder holds, for the command's summary."""
    sources = [p for p in out.rglob("*.cu")]
    return {"sources": len(sources), "headers": len(list(out.rglob("*.h"))),
            "data_files": len(list((out / "static_arrays").iterdir())),
            "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.is_symlink())}


def _results_index(asm) -> dict:
    """Result file (under results/) of each variable a user reads back, with dtype and size."""
    m = asm.model
    wanted = {"input_exc.w": m.input_syn.variables["w"], "exc.theta": m.exc.variables["theta"],
              "exc.v": m.exc.variables["v"]}
    mon = asm.counter.monitors.get((m.exc.name, "spike"))
    if mon is not None:
        wanted["exc_spikes.i"] = mon.variables["i"]
        wanted["exc_spikes.t"] = mon.variables["t"]
        wanted["exc_spikes.count"] = mon.variables["count"]
    wanted["slots.t"] = asm.slots.variables["t"]
    wanted["slots.ptr"] = asm.slots.variables["ptr"]
    for (g, ev), mon in asm.counter.monitors.items():
        wanted.setdefault(f"{g}_{ev}.count", mon.variables["count"])
    out = {}
    for key, var in wanted.items():
        out[key] = {"file": device.get_array_filename(var), "dtype": np.dtype(var.dtype).name,
                    "dynamic": bool(getattr(var, "dynamic", False))}
    return out


def _readme(info, opts, name="FOLDER") -> str:
    d = opts.describe(portable=True)
    cc = d["compute_capability"]
    built = ("It was also compiled on the exporting machine (`main` and the `.o` files are that "
             "machine's): run `make clean` before building it elsewhere.") if info["built"] else \
        "It was generated only (not compiled): build it on the machine with the GPU."
    return f"""# Standalone CUDA project: {info['model']} ({info['n_exc']} excitatory neurons)

Generated by `brian-snn export --backend cuda` (brian2 + brian2cuda 1.0a7).  {built}

* network: {info['model']}, {info['n_input']} inputs, {info['n_exc']} excitatory neurons, dt {info['dt_ms']} ms,
  {info['chunk_slots']} presentation slots of {info['slot_ms']} ms per run (one compiled run = one chunk)
* data of the ready-made run (`run.sh`): {info['samples_in_run']} training samples of {info['data']},
  initial weights for seed {info['seed']}; all in `static_arrays/init_*.dat`
* made for compute capability {cc:g} (`GPU_ARCH={d['arch']}`)

The folder is portable: no file names the exporting machine.  Copy it anywhere, e.g.

    scp -r {name} jetson:              # or rsync -a, a USB stick; then on the board: cd {name}

## Build

Requirements: the CUDA toolkit (nvcc) with cuRAND, a host C++ compiler, GNU make -- JetPack
installs all of them (CUDA in `/usr/local/cuda`).  The makefile finds the toolkit when it runs:
`CUDA_PATH` if set, else the toolkit of the `nvcc` on PATH, else `/usr/local/cuda`; cuRAND in
the toolkit, else an `nvidia-curand` pip wheel (asked from the Python of an activated virtual
environment or conda, else `python3` on PATH, else found in `~/.local`, `/usr/local`, `/usr`); the C++
standard from the nvcc version (c++14 for CUDA 10/11, c++17 from 12 on):

    make -j4                                  # on a Jetson with JetPack: nothing else to give
    ./run.sh

Anything can be overridden on the make command line (or in the environment):

    make -j4 CUDA_PATH=/usr/local/cuda-12.6   # another toolkit
    make -j4 GPU_ARCH=sm_87                   # another GPU (default {d['arch']})
    make -j4 CURAND_INC=DIR CURAND_LIB=DIR    # cuRAND elsewhere (DIR with libcurand.so*)
    make -j4 PYTHON=VENV/bin/python           # the Python whose nvidia-curand wheel to use
    make -j4 CUDA_STD=c++14                   # force the C++ standard

* **Jetson Nano** (JetPack 4.6, CUDA 10.2, compute capability 5.3): export with `--cc 5.3` (or
  `make GPU_ARCH=sm_53`); the makefile picks c++14 (CUDA 10.2 has no C++17).  CUDA 13 cannot
  target 5.3, so the Nano must build with its own toolkit.
* **Jetson Orin** (JetPack 6, CUDA 12.x, 8.7): `GPU_ARCH=sm_87` (c++17).
* **Desktop / H100** (9.0): `GPU_ARCH=sm_90`.
* cuRAND missing from the toolkit (a pip-installed CUDA): `pip install nvidia-curand` (CUDA 13)
  or `nvidia-curand-cu12`, then plain `make`: it finds the wheel, links its `libcurand.so.10`
  through `curand-link/libcurand.so` (made at build time, removed by `make clean`) and gives the
  binary an rpath to the wheel's `lib/`.
* `make` first checks that nvcc and `curand.h` are where it looks and says which is missing.
* The binary uses GPU {d['gpu_id']} (`cudaSetDevice`); with several GPUs choose one with
  `CUDA_VISIBLE_DEVICES`.

## Run

    ./run.sh [SEED]          # = BRIAN_SNN_SEED=SEED ./main <run_args>

`BRIAN_SNN_SEED` seeds cuRAND (host and device API); without it brian2cuda uses `time(0)`.
Each `NAME=static_arrays/FILE` argument replaces a variable or a TimedArray without recompiling
(weights `input_exc.w`, thresholds `exc.theta`, the image table `image_table.values`, the
presentation order `presentation_order.values`, run-time parameters).  To present other data,
write new raw float64 files of the same size and pass them the same way.  On a Jetson measure
power while it runs with `tegrastats` (VDD_IN), on a desktop GPU with `nvidia-smi` / NVML.

## Results

`results/` receives raw binary arrays (native byte order); `results_index.json` names the file,
dtype and whether it is dynamic (size = file size / item size) of the variables worth reading:
learned weights (`input_exc.w`, i-major: input pixel x excitatory neuron), thresholds, the
excitatory spikes (`exc_spikes.i`, `exc_spikes.t` in s), the slot log and the exact per-neuron
event counts of every population.  In Python:

    import json, numpy as np
    idx = json.load(open("results_index.json"))
    w = np.fromfile("results/" + idx["input_exc.w"]["file"], dtype=idx["input_exc.w"]["dtype"])

`export.json` holds every model and presentation parameter of this export.
"""
