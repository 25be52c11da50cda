"""The one place that switches Brian2 into cpp_standalone mode and back.

Standalone mode is global state in Brian2: everything created while it is active belongs to the
standalone project, and the process cannot use runtime mode until the device is reset.
"""
from __future__ import annotations

import contextlib
import tempfile

BACKENDS = ("runtime", "cpp")


@contextlib.contextmanager
def cpp_standalone(directory: str | None = None):
    """Activate ``cpp_standalone`` (build on the first ``run``) for the body, then return to runtime.

    Yields the project directory.  Compiler and binary run at low priority with two make jobs,
    because the machines this project runs on are shared.
    """
    from brian2 import device, set_device, prefs

    directory = directory or tempfile.mkdtemp(prefix="solsa_cpp_")
    sp = prefs.devices.cpp_standalone
    saved = (prefs.codegen.target, sp.make_cmd_unix, sp.run_cmd_unix, sp.extra_make_args_unix)
    set_device("cpp_standalone", directory=directory, build_on_run=True)
    sp.make_cmd_unix = "nice -n 19 make"
    sp.run_cmd_unix = ["nice", "-n", "19", "./main"]
    sp.extra_make_args_unix = ["-j2"]
    try:
        yield directory
    finally:
        prefs.codegen.target, sp.make_cmd_unix, sp.run_cmd_unix, sp.extra_make_args_unix = saved
        device.reinit()
        device.activate()
        set_device("runtime")


def use_numpy_target():
    """Runtime mode with Brian2's numpy code generation (no compiler needed)."""
    from brian2 import prefs
    prefs.codegen.target = "numpy"
