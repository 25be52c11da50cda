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


# as brian2cuda 1.0a7 writes it, with Brian's default include/library dirs (the virtual environment)
MAKEFILE = """PROGRAM = main

SRCS = a.cu
H_SRCS = a.h
OBJS = ${SRCS:.cu=.o}
NVCC = @/opt/cuda/bin/nvcc -ccbin $(CXX)
NVCCFLAGS = -I. -std=c++11 -arch=sm_90 -w -use_fast_math  -Xcompiler "-I/venv/include -w -O3 -march=native -std=c++11"
LFLAGS = -lcurand -I. -arch=sm_90 -L/venv/lib -Xlinker --enable-new-dtags,-R/venv/lib -w

all: $(PROGRAM)

$(PROGRAM): $(OBJS)
	$(NVCC) $(LFLAGS) $(OBJS) -o $(PROGRAM)

clean:
	rm $(OBJS) $(PROGRAM) $(DEPS)

%.o : %.cu
	$(NVCC) $(NVCCFLAGS) -dc $< -o $@
"""


def _fake_toolkit(root, version="10.2", curand=True):
    """A directory that looks like a CUDA toolkit to the makefile: bin/nvcc (a script answering
    --version), include/cuda_runtime.h and, with ``curand``, curand.h + lib64/libcurand.so."""
    (root / "bin").mkdir(parents=True)
    nvcc = root / "bin" / "nvcc"
    nvcc.write_text(f"#!/bin/sh\necho 'Cuda compilation tools, release {version}, V{version}.89'\n")
    nvcc.chmod(0o755)
    (root / "include").mkdir()
    (root / "include" / "cuda_runtime.h").write_text("")
    if curand:
        (root / "include" / "curand.h").write_text("")
        (root / "lib64").mkdir()
        (root / "lib64" / "libcurand.so").write_text("")
    return root


def _make(directory, *args, path="/usr/bin:/bin", **env):
    """``make`` in ``directory`` with a clean environment (no CUDA_PATH unless given)."""
    e = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(["make", *args], cwd=directory, capture_output=True, text=True, env=e)


def _make_var(directory, name, *args, **kw):
    r = _make(directory, "-s", "--eval", "print-%: ; @echo $($*)", f"print-{name}", *args, **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_patch_makefile_finds_the_toolchain_at_build_time(tmp_path):
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "makefile").write_text(MAKEFILE)
    (proj / "a.cu").write_text("")
    patch_makefile(proj, arch="sm_87")
    text = (proj / "makefile").read_text()
    assert "c++11" not in text and text.count("-std=$(CUDA_STD)") == 2     # nvcc and host compiler
    assert "/venv" not in text and "/opt/cuda" not in text        # nothing of the exporting machine
    assert "GPU_ARCH ?= sm_87" in text and "-arch=$(GPU_ARCH)" in text and "CUDA_PATH ?=" in text
    assert "NVCC = @$(NVCC_BIN) -ccbin $(CXX)" in text
    assert "NVCCFLAGS = -I. $(CURAND_FLAGS)" in text and "LFLAGS = $(CURAND_LFLAGS) -lcurand" in text
    assert "rm -f $(OBJS)" in text
    patch_makefile(proj, arch="sm_90")                             # a second call changes nothing
    assert (proj / "makefile").read_text() == text

    cuda10 = _fake_toolkit(tmp_path / "cuda-10.2", "10.2")
    cuda13 = _fake_toolkit(tmp_path / "cuda-13.0", "13.0")
    # CUDA_PATH given: the toolkit, its cuRAND and the C++ standard of its nvcc version
    assert _make_var(proj, "NVCC_BIN", CUDA_PATH=str(cuda10)) == f"{cuda10}/bin/nvcc"
    assert _make_var(proj, "CUDA_STD", CUDA_PATH=str(cuda10)) == "c++14"
    assert _make_var(proj, "CUDA_STD", CUDA_PATH=str(cuda13)) == "c++17"
    assert _make_var(proj, "CURAND_LIB", CUDA_PATH=str(cuda10)) == f"{cuda10}/lib64"
    # not given: the toolkit of the nvcc on PATH, else /usr/local/cuda
    assert _make_var(proj, "CUDA_PATH", path=f"{cuda13}/bin:/usr/bin:/bin") == str(cuda13)
    assert _make_var(proj, "CUDA_PATH") == "/usr/local/cuda"
    # the commands: compile with the toolkit's cuRAND, link with an rpath to it
    r = _make(proj, "-n", "GPU_ARCH=sm_53", CUDA_PATH=str(cuda10))
    assert r.returncode == 0, r.stderr
    compile_line = next(ln for ln in r.stdout.splitlines() if " -dc a.cu" in ln)
    assert compile_line.startswith(f"{cuda10}/bin/nvcc -ccbin g++ -I. -I{cuda10}/include -std=c++14 -arch=sm_53")
    link_line = next(ln for ln in r.stdout.splitlines() if ln.endswith("-o main"))
    assert f"-L{cuda10}/lib64 -Xlinker -rpath -Xlinker {cuda10}/lib64 -lcurand" in link_line
    # what is missing is named before nvcc runs
    r = _make(proj, CUDA_PATH=str(tmp_path / "nothing"))
    assert r.returncode != 0 and f"nvcc not found at {tmp_path}/nothing/bin/nvcc: set CUDA_PATH" in r.stdout
    no_curand = _fake_toolkit(tmp_path / "cuda-no-curand", "12.6", curand=False)
    r = _make(proj, CUDA_PATH=str(no_curand))
    assert r.returncode != 0 and f"cuRAND not found: no curand.h in {no_curand}/include" in r.stdout


def _fake_wheel(site, version="cu13"):
    """An installed nvidia-curand wheel under ``site``: nvidia/<version>/include/curand.h and a lib/
    with only libcurand.so.10 (as the real wheel ships it)."""
    root = site / "nvidia" / version
    (root / "include").mkdir(parents=True)
    (root / "include" / "curand.h").write_text("")
    (root / "lib").mkdir()
    (root / "lib" / "libcurand.so.10").write_text("")
    return root


def test_makefile_finds_the_nvidia_curand_wheel_by_itself(tmp_path):
    """A toolkit without cuRAND (a pip-installed CUDA, or ours): plain make finds the nvidia-curand
    wheel (pip --user folders, or through the Python of an active virtual environment), links it
    through a libcurand.so made at build time and gives the binary an rpath to it; no variable set."""
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "makefile").write_text(MAKEFILE)
    (proj / "a.cu").write_text("")
    patch_makefile(proj, arch="sm_87")
    cuda13 = _fake_toolkit(tmp_path / "cuda-13.0", "13.0", curand=False)
    path = f"{cuda13}/bin:/usr/bin:/bin"
    # nothing anywhere: the toolkit's folders, and make says what to install
    home = tmp_path / "home"
    home.mkdir()
    assert _make_var(proj, "CURAND_INC", path=path, HOME=str(home)) == f"{cuda13}/include"
    r = _make(proj, path=path, HOME=str(home))
    assert r.returncode != 0 and "pip install nvidia-curand" in r.stdout
    # pip install --user nvidia-curand: found in ~/.local
    user = _fake_wheel(home / ".local" / "lib" / "python3.11" / "site-packages")
    assert _make_var(proj, "CURAND_INC", path=path, HOME=str(home)) == f"{user}/include"
    assert _make_var(proj, "CURAND_LIB", path=path, HOME=str(home)) == f"{user}/lib"
    r = _make(proj, "-n", path=path, HOME=str(home))
    assert r.returncode == 0, r.stderr
    link_line = next(ln for ln in r.stdout.splitlines() if ln.endswith("-o main"))
    assert f"-Lcurand-link -L{user}/lib -Xlinker -rpath -Xlinker {user}/lib -lcurand" in link_line
    r = _make(proj, "curand-link", path=path, HOME=str(home))
    assert r.returncode == 0, r.stderr
    assert os.readlink(proj / "curand-link" / "libcurand.so") == f"{user}/lib/libcurand.so.10"
    assert _make(proj, "clean", path=path, HOME=str(home)).returncode == 0
    assert not (proj / "curand-link").exists()
    # an activated virtual environment: its Python says where its wheel is (before ~/.local)
    venv = tmp_path / "venv"
    wheel = _fake_wheel(venv / "lib" / "python3.11" / "site-packages")
    (venv / "bin").mkdir()
    py = venv / "bin" / "python3"
    py.write_text(f"#!/bin/sh\necho {wheel.parent}\n")        # answers: import nvidia; print(*nvidia.__path__)
    py.chmod(0o755)
    assert _make_var(proj, "CURAND_INC", path=path, HOME=str(home), VIRTUAL_ENV=str(venv)) == f"{wheel}/include"
    # a toolkit that has cuRAND comes first; a lib/ with libcurand.so needs no link
    cuda12 = _fake_toolkit(tmp_path / "cuda-12.6", "12.6")
    assert _make_var(proj, "CURAND_LIB", path=f"{cuda12}/bin:/usr/bin:/bin", HOME=str(home)) == f"{cuda12}/lib64"
    r = _make(proj, "-n", path=f"{cuda12}/bin:/usr/bin:/bin", HOME=str(home))
    link_line = next(ln for ln in r.stdout.splitlines() if ln.endswith("-o main"))
    assert "curand-link" not in link_line and f"-L{cuda12}/lib64 -Xlinker" in link_line


def test_run_make_gives_a_wheel_curand_to_the_linker_outside_the_project(tmp_path):
    lib = tmp_path / "wheel" / "lib"            # the nvidia-curand wheel: only libcurand.so.10
    lib.mkdir(parents=True)
    (lib / "libcurand.so.10").write_text("")
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "makefile").write_text("all:\n\treadlink $(CURAND_LIB)/libcurand.so > seen.txt\n"
                                   "\techo $(CURAND_LIB) $(CURAND_RPATH) $(CUDA_STD) >> seen.txt\n")
    opts = cuda.CudaOptions(9.0, 0, cuda.Toolchain("/opt/cuda", "/opt/cuda/bin/nvcc", 13.0, ()),
                            (str(tmp_path / "wheel" / "include"), str(lib)), 1)
    variables = cuda.make_variables(opts)
    assert variables == {"CUDA_PATH": "/opt/cuda", "NVCC_BIN": "/opt/cuda/bin/nvcc", "CUDA_STD": "c++17",
                         "CURAND_INC": str(tmp_path / "wheel" / "include"), "CURAND_LIB": str(lib),
                         "CURAND_RPATH": str(lib)}
    cuda.run_make(proj, 1, variables, nice=0)
    target, line = (proj / "seen.txt").read_text().splitlines()
    link_dir, rpath, std = line.split()
    assert target == str(lib / "libcurand.so.10") and rpath == str(lib) and std == "c++17"
    assert not Path(link_dir).exists() and not str(link_dir).startswith(str(proj))   # removed, not in the project
    assert sorted(p.name for p in proj.iterdir()) == ["make.log", "makefile", "seen.txt"]
    assert cuda.make_variables(cuda.CudaOptions(9.0, 0, None, (None, None), 1)) == {}     # generate only


def test_build_locked_compiles_with_this_machines_toolchain(tmp_path, monkeypatch):
    """The in-process backend (train --backend cuda): portable makefile + make VAR=... of this machine."""
    (tmp_path / "makefile").write_text(MAKEFILE)
    monkeypatch.setattr(cuda, "device", type("D", (), {"build": staticmethod(lambda **kw: None)}))
    calls = []
    monkeypatch.setattr(cuda, "run_make", lambda d, jobs, variables: calls.append((d, jobs, variables)) or 1.0)
    b = CudaBackend(compute_capability="8.7", compile=True, require_gpu=False)
    opts = cuda.CudaOptions(8.7, 0, cuda.Toolchain("/opt/cuda", "/opt/cuda/bin/nvcc", 12.4, ()),
                            ("/w/include", "/w/lib"), 3)
    cuda._build_locked(b, opts, tmp_path)
    assert calls == [(tmp_path, 3, cuda.make_variables(opts))] and b.make_s == 1.0
    text = (tmp_path / "makefile").read_text()
    assert "GPU_ARCH ?= sm_87" in text and "/opt/cuda" not in text and "/w/" not in text


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
    assert "GPU_ARCH ?= sm_90" in mk and "CUDA_STD ?= $(if" in mk and "c++11" not in mk
    assert "-lcurand" in mk
    for p in _abs_paths_of_this_machine(d):          # Brian's -I/-L/-R <venv> flags are gone
        assert p not in mk, p
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
    from brian_snn.commands import export as cuda_cmd
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


def _abs_paths_of_this_machine(*more):
    """Absolute paths no exported file may name: this checkout, the virtual environment (as given
    and resolved), the cuRAND found here, and ``more``."""
    import sys
    import brian_snn
    paths = {str(Path(brian_snn.__file__).resolve().parents[1]), sys.prefix, os.path.realpath(sys.prefix)}
    try:
        paths.update(cuda.find_curand(None))
    except CudaError:
        pass
    paths.update(str(m) for m in more)
    return sorted(p for p in paths if p and p != "/")


def assert_portable(folder, *more):
    """No file under ``folder`` names this machine, no link is absolute, no lock file is left."""
    folder = Path(folder)
    needles = [p.encode() for p in _abs_paths_of_this_machine(folder.resolve(), *more)]
    for root, dirs, files in os.walk(folder):           # links are not followed
        for name in dirs + files:
            p = Path(root) / name
            if p.is_symlink():
                assert not os.path.isabs(os.readlink(p)), f"absolute link {p} -> {os.readlink(p)}"
            elif p.is_file():
                data = p.read_bytes()
                for n in needles:
                    assert n not in data, f"{p} names {n.decode()}"
            assert not name.endswith(".lock"), p
    assert not any(p.is_symlink() for p in folder.rglob("*"))


def test_export_is_quiet_portable_and_builds_elsewhere(tmp_path, capfd, monkeypatch):
    """Default output: a short summary, no brian2cuda INFO lines; the folder names nothing of this
    machine (checkout, virtual environment, cuRAND, its own location), has no link, no lock, and
    after a move its makefile resolves the target's toolkit."""
    import sys
    from brian2.utils.logger import BrianLogger
    from brian_snn.cli import main
    monkeypatch.setattr(BrianLogger.console_handler, "stream", sys.stderr)    # Brian's console, captured
    here = tmp_path / "exporting"
    here.mkdir()
    monkeypatch.chdir(here)
    rc = main(["export", "--neurons", "6", "--cc", "8.7", "--chunk", "12",
               "--train-samples", "40", "--test-samples", "20"])
    out, err = capfd.readouterr()
    assert rc == 0, err
    folder = here / "spikedyn-6-sm_87"                  # default --out: <model>-<neurons>-<arch>
    assert "INFO" not in out + err and err == "", err
    lines = out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("spikedyn-6-sm_87: CUDA project of spikedyn N=6")
    assert "make -j4 && ./run.sh" in out and "files: makefile" in out
    assert not (folder / ".build.lock").exists() and not (folder / "_curand").exists()
    assert_portable(folder, tmp_path)
    # moved (as if copied to the board): make finds the toolkit there and builds from relative paths
    board = tmp_path / "board" / "home" / "nvidia"
    board.mkdir(parents=True)
    moved = board / "spikedyn-6-sm_87"
    shutil.move(str(folder), str(moved))
    jetpack = _fake_toolkit(tmp_path / "board" / "usr" / "local" / "cuda", "10.2")
    r = _make(moved, "-n", CUDA_PATH=str(jetpack))
    assert r.returncode == 0, r.stderr
    nvcc_lines = [ln for ln in r.stdout.splitlines() if ln.startswith(f"{jetpack}/bin/nvcc")]
    assert len(nvcc_lines) == len(list(moved.rglob("*.cu"))) + 1          # compile each + link
    assert all(f"-I. -I{jetpack}/include -std=c++14 -arch=sm_87" in ln for ln in nvcc_lines[:-1])
    assert not any(str(here) in ln for ln in r.stdout.splitlines())
    # --verbose shows brian2cuda's messages
    rc = main(["export", "--neurons", "6", "--cc", "8.7", "--chunk", "12", "--train-samples", "40",
               "--test-samples", "20", "--out", str(tmp_path / "v"), "--verbose"])
    assert rc == 0 and "INFO" in capfd.readouterr().err


def test_export_defaults_are_trains():
    from brian_snn.cli import build_parser
    p = build_parser()
    train = vars(p.parse_args(["train"]))
    export = vars(p.parse_args(["export"]))
    for name in ("model", "neurons", "seed", "chunk", "param", "dataset", "n_train", "n_test", "data_seed"):
        assert export[name] == train[name], name
    assert (export["model"], export["neurons"]) == ("spikedyn", 400)
    from brian_snn.commands.export import default_out
    assert default_out("spikedyn", 400, "orin") == "spikedyn-400-sm_87"


@pytest.mark.parametrize("extra, message", [
    (["--cc", "4.1"], "bad compute capability '4.1'"),
    (["--cc", "x"], "bad compute capability 'x'"),
    (["--build", "--cuda-path", "/nonexistent"], "no CUDA toolkit at /nonexistent"),
    (["--curand-dir", "/nonexistent-curand", "--build"], None),
])
def test_export_errors_are_one_line(tmp_path, capsys, extra, message):
    from brian_snn.cli import main
    if message is None:
        try:
            cuda.find_cuda()
        except CudaError:
            pytest.skip("no CUDA toolkit here")
        message = "cuRAND not found in /nonexistent-curand"
    rc = main(["export", "--out", str(tmp_path / "o"), "--neurons", "3", "--n-train", "20", "--n-test", "10"] + extra)
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_export_refuses_an_arch_the_local_nvcc_cannot_build(tmp_path, capsys):
    try:
        tc = cuda.find_cuda()
    except CudaError as e:
        pytest.skip(str(e))
    if not tc.archs or "sm_53" in tc.archs:
        pytest.skip(f"nvcc {tc.version} still supports sm_53")
    from brian_snn.cli import main
    rc = main(["export", "--out", str(tmp_path / "o"), "--neurons", "3", "--n-train", "20", "--n-test", "10",
               "--cc", "5.3", "--build"])
    err = capsys.readouterr().err
    assert rc == 2 and f"nvcc {tc.version:g} cannot build compute capability 5.3" in err


# -- the nvcc build (slow: ~4-10 min on 2 cores) ----------------------------------------------------
@pytest.mark.slow
def test_nvcc_builds_the_exported_project_after_a_move(tmp_path):
    """Export (generate only), move the folder elsewhere, build it there with this machine's nvcc
    and cuRAND given on the make command line -- what the in-process backend (train --backend
    cuda) does after generating, and what a user does on the board."""
    try:
        tc = cuda.find_cuda()
        cuda.find_curand(tc.cuda_path)
    except CudaError as e:
        pytest.skip(str(e))
    cc = "9.0" if tc.supports(9.0) else tc.archs[-1].replace("sm_", "")
    from brian_snn.cli import main as cli_main
    here = tmp_path / "exporting" / "proj"
    assert cli_main(["export", "--neurons", "4", "--cc", cc, "--chunk", "5", "--train-samples", "20",
                     "--test-samples", "10", "--out", str(here)]) == 0
    assert_portable(here, tmp_path)
    moved = tmp_path / "elsewhere" / "deeper" / "proj"
    moved.parent.mkdir(parents=True)
    shutil.move(str(here), str(moved))
    opts = CudaBackend(compute_capability=cc, compile=True, require_gpu=False).options()
    make_s = cuda.run_make(moved, opts.make_jobs, cuda.make_variables(opts))
    main = moved / "main"
    assert main.exists() and main.read_bytes()[:4] == b"\x7fELF"
    assert not (moved / "_curand").exists() and not any(p.is_symlink() for p in moved.rglob("*"))
    print(f"nvcc {tc.version:g} built the moved export {moved} for {cuda.arch_flag(parse_compute_capability(cc))} "
          f"in {make_s:.0f} s ({opts.make_jobs} jobs)")
    if shutil.which("readelf"):
        dyn = subprocess.run(["readelf", "-d", str(main)], capture_output=True, text=True).stdout
        assert "libcurand.so" in dyn
        assert opts.curand[1] in dyn                 # RUNPATH: the cuRAND found here, given at build time
    # the loader finds cuRAND; without a GPU the binary stops at cudaSetDevice, with one it runs the chunk
    r = subprocess.run(["./run.sh", "7"], cwd=moved, capture_output=True, text=True, timeout=600)
    assert "error while loading shared libraries" not in r.stdout + r.stderr, r.stderr
    if r.returncode == 0:
        idx = json.loads((moved / "results_index.json").read_text())
        assert (moved / "results" / idx["input_exc.w"]["file"]).exists()
    else:
        print("the binary without a GPU:", (r.stdout + r.stderr).strip().splitlines()[-1:])


def test_generated_cuda_host_code_flushes_denormals(generated):
    _, _, _, _, d = generated
    main = (d / "main.cu").read_text()
    assert "ldmxcsr" in main and "msr fpcr" in main
    assert main.index("ldmxcsr") < main.index("brian_start();")
