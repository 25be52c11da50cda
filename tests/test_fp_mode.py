"""Every binary we build runs with flush-to-zero / denormals-are-zero (issue 28).

Brian2's makefile compiles with -ffast-math but does not link with it, so nothing sets FTZ/DAZ;
the backends set them first thing in ``main`` (:data:`brian_snn.backend.FLUSH_DENORMALS`).  The
test builds a tiny standalone program through the cpp backend's own device set-up and checks,
inside the running binary, the control register and that a subnormal result is flushed (it
survives, ~9e-313, in a binary built without the fix)."""
import platform

import numpy as np
import pytest

from brian_snn.backend import FLUSH_DENORMALS, CppBackend, check_compiler

_READ_FP_MODE = r"""
static inline int fp_flush_bits() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int c;
    __asm__ __volatile__("stmxcsr %0" : "=m"(c));
    return (int)(c & 0x8040u);
#elif defined(__aarch64__)
    unsigned long f;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(f));
    return ((f >> 24) & 1UL) ? 0x8040 : 0;
#else
    return -1;
#endif
}
"""


def test_built_binary_runs_with_ftz_and_daz(tmp_path):
    check_compiler()
    from brian2 import Function, NeuronGroup, Network, device, ms, defaultclock, set_device
    d = str(tmp_path / "build")
    set_device("cpp_standalone", build_on_run=False, directory=d)
    device.reinit()
    device.activate(build_on_run=False, directory=d)
    backend = CppBackend()
    backend._configure_device(d)               # what every cpp (and cuda) build does
    defaultclock.dt = 0.5 * ms
    mode = Function(lambda: 0, arg_units=[], return_unit=1, return_type="integer", stateless=False)
    mode.implementations.add_implementation("cpp", _READ_FP_MODE, name="fp_flush_bits")
    g = NeuronGroup(1, "x : 1\nbits : integer", namespace={"fp_flush_bits": mode})
    g.x = 1e-300
    g.run_regularly("x = x * 0.5\nbits = fp_flush_bits()")
    net = Network(g)
    net.run(40 * 0.5 * ms)                     # 1e-300 / 2**40 = 9.1e-313: subnormal
    device.build(directory=d, compile=True, run=True)
    main = (tmp_path / "build" / "main.cpp").read_text()
    assert main.index("ldmxcsr") < main.index("brian_start();")
    assert g.x[0] == 0.0                       # flushed (FTZ), not 9.1e-313
    if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "aarch64", "arm64"):
        assert int(g.bits[0]) == 0x8040        # FTZ and DAZ bits set in the running program


def test_flush_code_covers_x86_and_aarch64():
    assert "0x8040" in FLUSH_DENORMALS and "ldmxcsr" in FLUSH_DENORMALS
    assert "msr fpcr" in FLUSH_DENORMALS and "1UL << 24" in FLUSH_DENORMALS
