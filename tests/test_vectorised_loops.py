"""The cpp backend lets GCC vectorise Brian2's state updaters, with the same results (issue 28).

Brian2's generated loops read their arrays through local ``__restrict`` pointers, which GCC's alias
analysis ignores, so a loop over 6+ arrays needs more run-time overlap tests than GCC's default
limit and stays scalar.  The backend raises that limit (:data:`brian_snn.backend.GCC_ALIAS_CHECKS`).
The test builds a small conductance-based LIF group (Diehl & Cook's excitatory equations with two
traces, without refractoriness: 6 arrays read and written in one loop) through the backend's
device set-up, then rebuilds the same project with Brian2's own flags, and checks (a) that GCC
reports the state updater's loop vectorised only with the flag and (b) that both binaries write
byte-identical results.  (Refractoriness adds a double-to-int64 conversion that GCC vectorises only
with AVX-512DQ; without it the loop vectorises at every x86-64 level, so the test does not depend
on the CPU it runs on.)"""
import shutil
import subprocess
from pathlib import Path

import pytest

from brian_snn.backend import GCC_ALIAS_CHECKS, CppBackend, check_compiler, compiler_is_gcc

EQS = """
dv/dt = ((-65*mV - v) + ge * (0*mV - v) + gi * (-100*mV - v)) / (100*ms) : volt
dge/dt = -ge / (1*ms) : 1
dgi/dt = -gi / (2*ms) : 1
dtheta/dt = -theta / (1e4*ms) : volt
dx/dt = -x / (20*ms) : 1
dy/dt = -y / (40*ms) : 1
"""


def _vectorised(project: Path, source: Path, flags) -> bool:
    out = subprocess.run(["g++", "-c", "-I.", *flags, "-fopt-info-vec-optimized", str(source), "-o", "/dev/null"],
                         cwd=project, capture_output=True, text=True, check=True).stderr
    return any(source.name in line and "loop vectorized" in line for line in out.splitlines())


@pytest.mark.skipif(shutil.which("g++") is None or not compiler_is_gcc(), reason="GCC only")
def test_state_updater_vectorised_with_the_same_results(tmp_path):
    check_compiler()
    from brian2 import NeuronGroup, Network, device, defaultclock, ms, mV, seed, set_device
    d = tmp_path / "vec"
    set_device("cpp_standalone", build_on_run=False, directory=str(d))
    device.reinit()
    device.activate(build_on_run=False, directory=str(d))
    CppBackend()._configure_device(str(d))
    defaultclock.dt = 0.5 * ms
    seed(7)                                           # both binaries draw the same initial state
    g = NeuronGroup(64, EQS, threshold="v > -52*mV + theta", reset="v = -65*mV; theta += 0.05*mV; x = 1; y = 1",
                    method="euler", name="g")
    g.v = "-65*mV + 20*mV * rand()"
    g.ge = "0.5 * rand()"
    g.gi = "0.05 * rand()"
    Network(g).run(200 * ms)
    device.build(directory=str(d), compile=True, run=True)
    makefile = (d / "makefile").read_text()
    assert GCC_ALIAS_CHECKS in makefile

    ours = next(line for line in makefile.splitlines() if line.startswith("OPTIMISATIONS ="))
    flags = ours.split("=", 1)[1].replace(GCC_ALIAS_CHECKS, "").split()
    flags = [f.strip('"') for f in flags]
    src = d / "code_objects" / "g_stateupdater_codeobject.cpp"
    assert _vectorised(d, src, flags + [GCC_ALIAS_CHECKS])
    assert not _vectorised(d, src, flags)

    brian = tmp_path / "brian_flags"                  # the same project, Brian2's own flags
    shutil.copytree(d, brian, ignore=shutil.ignore_patterns("*.o", "main", "results"))
    (brian / "results").mkdir()
    (brian / "makefile").write_text(makefile.replace(" " + GCC_ALIAS_CHECKS, ""))
    subprocess.run(["make", "-s"], cwd=brian, check=True, capture_output=True)
    subprocess.run(["./main"], cwd=brian, check=True, capture_output=True)
    ours_results = sorted(p.name for p in (d / "results").iterdir() if p.name.startswith("_array_g_"))
    assert {"v", "ge", "theta"} <= {n.split("_")[3] for n in ours_results}
    for name in ours_results:
        assert (d / "results" / name).read_bytes() == (brian / "results" / name).read_bytes(), name
