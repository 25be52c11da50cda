"""brian-snn: energy-efficient spiking networks as Brian2 equations, compiled to C++/CUDA.

Heavy modules (brian2) load on first use, so ``import brian_snn`` stays cheap.
"""
__version__ = "0.1.0"

from .errors import BrianSnnError  # noqa: E402  (cheap: no brian2)


def __getattr__(name):
    if name == "ActivityCounter":
        from .activity import ActivityCounter
        return ActivityCounter
    if name == "count_activity":
        from .activity import count_activity
        return count_activity
    raise AttributeError(name)


__all__ = ["ActivityCounter", "count_activity", "BrianSnnError", "__version__"]
