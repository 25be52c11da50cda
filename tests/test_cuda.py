"""--backend cuda / brian-snn export: option parsing, toolkit and cuRAND discovery, the generated
project (checked without compiling), one-line errors; the nvcc build itself is the slow test."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from brian_snn import cuda
from brian_snn.backend import _run_args_list
from brian_snn.cuda import CudaBackend, CudaError, parse_compute_capability, patch_makefile
from brian_snn.encoding import Presentation
from brian_snn.models import get_model_spec
from brian_snn.models.diehl_cook import synaptic_delays_ms

PRES = Presentation(t_on_ms=50, t_rest_ms=20)


# -- options -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, cc", [("5.3", 5.3), ("8.7", 8.7), ("87", 8.7), ("sm_90", 9.0), ("9", 9.0),
                                      (9.0, 9.0), ("orin", 8.7), ("jetson-nano", 5.3), ("compute_75", 7.5)])
def test_compute_capability_forms(text, cc):
    assert parse_compute_capability(text) == cc
    assert cuda.arch_flag(cc) == f"sm_{round(cc * 10)}"


@pytest.mark.parametrize("bad", ["abc", "8.7.1", "", "4.0", "3.5", "sm_35", "99.0"])
def test_bad_compute_capability_is_one_line(bad):
    with pytest.raises(CudaError) as e:
        parse_compute_capability(bad)
    assert "compute capability" in str(e.value) and "\n" not in str(e.value)


# -- toolkit and cuRAND discovery -----------------------------------------------------------------
def _fake_elf(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF" + b"\0" * 60)
    return path


def test_wrapper_script_is_followed_to_the_toolkit(tmp_path):
    real = _fake_elf(tmp_path / "cuda-13.0" / "bin" / "nvcc")
    wrapper = tmp_path / "wrap" / "nvcc"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    assert cuda._toolkit_of(wrapper) == tmp_path / "cuda-13.0"
    assert cuda._toolkit_of(real) == tmp_path / "cuda-13.0"


def test_missing_nvcc_is_one_line(tmp_path, monkeypatch):
    for v in ("BRIAN_SNN_CUDA_PATH", "CUDA_PATH", "CUDA_HOME"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(cuda, "DEFAULT_TOOLKITS", (str(tmp_path / "none"),))
    with pytest.raises(CudaError, match=r"^nvcc not found .*install the CUDA toolkit or set CUDA_PATH"):
        cuda.find_cuda()
    with pytest.raises(CudaError, match=r"^no CUDA toolkit at /nonexistent: expected bin/nvcc"):
        cuda.find_cuda("/nonexistent")


def test_curand_discovery(tmp_path, monkeypatch):
    monkeypatch.delenv("BRIAN_SNN_CURAND_DIR", raising=False)
    root = tmp_path / "cu"
    (root / "include").mkdir(parents=True)
    (root / "include" / "curand.h").write_text("")
    (root / "lib").mkdir()
    (root / "lib" / "libcurand.so.10").write_text("")
    assert cuda.find_curand(curand_dir=str(root)) == (str(root / "include"), str(root / "lib"))
    monkeypatch.setattr(cuda, "_wheel_dirs", lambda: [root])          # as the nvidia-curand wheel
    assert cuda.find_curand(str(tmp_path / "toolkit-without-curand"))[0] == str(root / "include")
    monkeypatch.setattr(cuda, "_wheel_dirs", lambda: [])
    with pytest.raises(CudaError, match=r"^cuRAND not found .*pip install 'brian-snn\[cuda\]'"):
        cuda.find_curand(str(tmp_path / "toolkit-without-curand"))
    with pytest.raises(CudaError, match=r"^cuRAND not found in .*empty: expected include/curand.h"):
        cuda.find_curand(curand_dir=str(tmp_path / "empty"))


MAKEFILE = """PROGRAM = main

SRCS = a.cu
NVCC = @/opt/cuda/bin/nvcc -ccbin $(CXX)
NVCCFLAGS = -I. -std=c++11 -arch=sm_90 -w -use_fast_math  -Xcompiler "-w -O3 -march=native -std=c++11"
LFLAGS = -lcurand -I. -arch=sm_90 -w
"""


def test_patch_makefile_makes_toolchain_variables(tmp_path):
    lib = tmp_path / "wheel" / "lib"
    lib.mkdir(parents=True)
    (lib / "libcurand.so.10").write_text("")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "makefile").write_text(MAKEFILE)
    patch_makefile(tmp_path / "p", nvcc="/opt/cuda/bin/nvcc", cxx_std="c++17", arch="sm_87",
                   curand_inc="/w/include", curand_lib=str(lib))
    text = (tmp_path / "p" / "makefile").read_text()
    assert "c++11" not in text and text.count("-std=$(CUDA_STD)") == 2     # nvcc and host compiler
    assert "CUDA_STD ?= c++17" in text and "GPU_ARCH ?= sm_87" in text and "-arch=$(GPU_ARCH)" in text
    assert "NVCC = @$(NVCC_BIN) -ccbin $(CXX)" in text and "NVCC_BIN ?= /opt/cuda/bin/nvcc" in text
    assert "NVCCFLAGS = -I. $(CURAND_FLAGS)" in text and "LFLAGS = $(CURAND_LFLAGS) -lcurand" in text
    assert f"CURAND_RPATH ?= {lib}" in text and "CURAND_LIB ?= _curand" in text
    link = tmp_path / "p" / "_curand" / "libcurand.so"        # the wheel has only libcurand.so.10
    assert link.is_symlink() and os.readlink(link) == str(lib / "libcurand.so.10")
    # the make variables resolve as intended
    out = subprocess.run(["make", "-n", "-p", "-f", "makefile", "GPU_ARCH=sm_53", "CUDA_STD=c++14"],
                         cwd=tmp_path / "p", capture_output=True, text=True).stdout
    flags = re.search(r"^NVCCFLAGS = (.*)$", out, re.M).group(1)
    assert flags.startswith("-I. $(CURAND_FLAGS) -std=$(CUDA_STD) -arch=$(GPU_ARCH)")


# -- the generated project (no compile) -----------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    spec = get_model_spec("diehl-cook", n_exc=4, n_input=16)
    rng = np.random.default_rng(0)
    images = np.vstack([rng.integers(0, 256, (5, 16)), np.zeros((1, 16))]).astype(float)
    d = tmp_path_factory.mktemp("cudagen")
    b = CudaBackend(compute_capability="9.0", compile=False, chunk_slots=5, cache_dir=d)
    asm = b._ensure_built(spec, PRES, images)
    yield b, spec, images, asm, Path(asm.directory)
    import brian2
    brian2.set_device("runtime")
    brian2.device.reinit()
    brian2.device.activate()


def test_generated_makefile_has_the_cuda13_workarounds(generated):
    b, spec, images, asm, d = generated
    mk = (d / "makefile").read_text()
    assert "GPU_ARCH ?= sm_90" in mk and "CUDA_STD ?= c++17" in mk and "c++11" not in mk
    assert "-lcurand" in mk
    sources = mk.split("SRCS = ")[1].splitlines()[0].split()
    assert "main.cu" in sources and all((d / s).exists() for s in sources)
    built = json.loads((d / "build.json").read_text())
    assert built["cuda"]["compute_capability"] == 9.0 and built["device"] == "cuda_standalone"


def test_generated_main_seeds_curand_from_env_before_the_run(generated):
    _, _, _, _, d = generated
    main = (d / "main.cu").read_text()
    seed = main.index('std::getenv("BRIAN_SNN_SEED")')
    assert "random_number_buffer.set_seed(std::stoull(_s))" in main[seed:seed + 200]
    run = re.search(r"\bnetwork\w*\.run\(", main).start()        # network, network_1, ... (name counter)
    assert seed < main.index("set_from_command_line(args);") < run
    assert "cudaSetDevice(0)" in main


def test_delays_are_compiled_in_before_the_spike_queue_is_built(generated):
    b, spec, images, asm, d = generated
    main = (d / "main.cu").read_text()
    load = main.index("_dynamic_array_input_exc_delay[i] = _static_array__dynamic_array_input_exc_delay[i]")
    assert load < main.index("_before_run_input_exc_pre_push_spikes();")
    files = list((d / "static_arrays").glob("_static_array__dynamic_array_input_exc_delay*"))
    assert len(files) == 1
    np.testing.assert_array_equal(np.fromfile(files[0], dtype=np.float64), synaptic_delays_ms(spec) * 1e-3)


def test_every_run_arg_is_settable_in_the_binary(generated):
    b, spec, images, asm, d = generated
    from brian_snn.experiments.train_eval import initial_state
    table, order = b.chunk_table(images, np.arange(b.chunk_slots + 1) % (len(images) - 1))
    vals = b._settings(asm, spec, PRES, initial_state(spec, 0), order, 1, n_real=len(order))
    vals[asm.model.images] = table
    import brian2
    brian2.set_device("cuda_standalone", build_on_run=False)     # the autouse fixture went back to runtime
    args, written = _run_args_list(d, vals)
    objects = (d / "objects.cu").read_text()
    names = [a.split("=", 1)[0] for a in args]
    assert "input_exc.w" in names and "image_table.values" in names and "presentation_order.values" in names
    assert not any(n.endswith(".delay") for n in names)      # compiled in (queue set up before run_args)
    for n in names:
        assert f'if (name == "{n}")' in objects, n
    for f in written:
        f.unlink()


def test_no_synapse_kernel_redeclares_the_loop_variable_j(generated):
    _, _, _, _, d = generated
    for f in (d / "code_objects").glob("*.cu"):
        text = f.read_text()
        if "for(int j = tid;" in text:
            assert "const int32_t j =" not in text, f.name


def test_cuda_train_without_gpu_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(cuda, "detect_gpus", lambda: [])
    monkeypatch.delenv("BRIAN_SNN_ASSUME_GPU", raising=False)
    from brian_snn.cli import main
    rc = main(["train", "--backend", "cuda", "--neurons", "4", "--n-train", "20", "--n-test", "10",
               "--out", str(tmp_path / "r.h5"), "--quiet"])
    assert rc == 2


def test_cuda_backend_without_gpu_error_text(monkeypatch):
    monkeypatch.setattr(cuda, "detect_gpus", lambda: [])
    monkeypatch.delenv("BRIAN_SNN_ASSUME_GPU", raising=False)
    with pytest.raises(CudaError, match=r"^no NVIDIA GPU visible .*brian-snn export --backend cuda"):
        CudaBackend().options()


# -- brian-snn export -----------------------------------------------------------------------------
def _export_parser():
    from brian_snn.cli import _Parser
    from brian_snn.experiments import cuda_cmd
    p = _Parser(prog="brian-snn")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    cuda_cmd.register(sub)
    return p


def test_export_writes_a_runnable_project(tmp_path, capsys):
    p = _export_parser()
    out = tmp_path / "proj"
    a = p.parse_args(["export", "--model", "spikedyn", "--neurons", "6", "--out", str(out), "--cc", "5.3",
                      "--chunk", "12", "--n-train", "40", "--n-test", "20", "--json"])
    assert a.func(a) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cuda"]["arch"] == "sm_53" and info["built"] is False and info["samples_in_run"] == 12
    for f in ("README.md", "makefile", "main.cu", "objects.cu", "run.sh", "results_index.json", "export.json"):
        assert (out / f).exists(), f
    run_sh = (out / "run.sh").read_text()
    args = run_sh.split("./main ", 1)[1].split()
    objects = (out / "objects.cu").read_text()
    for arg in args:                         # every argument names a settable variable and an existing file
        name, value = arg.split("=", 1)
        assert f'if (name == "{name}")' in objects
        if value.startswith("static_arrays/"):
            assert (out / value).exists()
    w_arg = next(a for a in args if a.startswith("input_exc.w="))
    w = np.fromfile(out / w_arg.split("=", 1)[1], dtype=np.float64).reshape(784, 6)
    np.testing.assert_allclose(w.sum(axis=0), 78.0)          # initial columns normalised to `norm`
    readme = (out / "README.md").read_text()
    assert "GPU_ARCH=sm_53" in readme and "CUDA_STD=c++14" in readme and "BRIAN_SNN_SEED" in readme
    idx = json.loads((out / "results_index.json").read_text())
    assert {"input_exc.w", "exc.theta", "exc_spikes.i", "exc_spikes.t"} <= set(idx)


@pytest.mark.parametrize("extra, message", [
    (["--cc", "4.1"], "bad compute capability '4.1'"),
    (["--cc", "x"], "bad compute capability 'x'"),
    (["--build", "--cuda-path", "/nonexistent"], "no CUDA toolkit at /nonexistent"),
    (["--curand-dir", "/nonexistent-curand", "--build"], None),
])
def test_export_errors_are_one_line(tmp_path, capsys, extra, message):
    from brian_snn.experiments.cuda_cmd import main
    if message is None:
        try:
            cuda.find_cuda()
        except CudaError:
            pytest.skip("no CUDA toolkit here")
        message = "cuRAND not found in /nonexistent-curand"
    rc = main(["--out", str(tmp_path / "o"), "--neurons", "3", "--n-train", "20", "--n-test", "10"] + extra)
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_export_refuses_an_arch_the_local_nvcc_cannot_build(tmp_path, capsys):
    try:
        tc = cuda.find_cuda()
    except CudaError as e:
        pytest.skip(str(e))
    if not tc.archs or "sm_53" in tc.archs:
        pytest.skip(f"nvcc {tc.version} still supports sm_53")
    from brian_snn.experiments.cuda_cmd import main
    rc = main(["--out", str(tmp_path / "o"), "--neurons", "3", "--n-train", "20", "--n-test", "10",
               "--cc", "5.3", "--build"])
    err = capsys.readouterr().err
    assert rc == 2 and f"nvcc {tc.version:g} cannot build compute capability 5.3" in err


# -- the nvcc build (slow: ~3-10 min on 2 cores) ----------------------------------------------------
@pytest.mark.slow
def test_nvcc_builds_the_generated_project(tmp_path):
    try:
        tc = cuda.find_cuda()
        cuda.find_curand(tc.cuda_path)
    except CudaError as e:
        pytest.skip(str(e))
    cc = "9.0" if tc.supports(9.0) else tc.archs[-1].replace("sm_", "")
    spec = get_model_spec("diehl-cook", n_exc=4, n_input=16)
    images = np.vstack([np.random.default_rng(0).integers(0, 256, (5, 16)), np.zeros((1, 16))]).astype(float)
    b = CudaBackend(compute_capability=cc, compile=True, require_gpu=False, chunk_slots=5, cache_dir=tmp_path)
    asm = b._ensure_built(spec, PRES, images)
    main = Path(asm.directory) / "main"
    assert main.exists() and main.read_bytes()[:4] == b"\x7fELF"
    print(f"nvcc {tc.version:g} built {asm.directory} for {cuda.arch_flag(parse_compute_capability(cc))} "
          f"in {b.make_s:.0f} s ({b.make_jobs} jobs)")
    if shutil.which("readelf"):
        dyn = subprocess.run(["readelf", "-d", str(main)], capture_output=True, text=True).stdout
        assert "libcurand.so" in dyn
