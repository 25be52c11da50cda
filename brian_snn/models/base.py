"""What every network model provides to the backends and experiments."""
from dataclasses import dataclass, field, fields, replace

import numpy as np


MAX_DELAY_MS = 10_000.0


@dataclass(frozen=True)
class ModelSpec:
    """Parameters of a network; the structural ones decide what gets compiled.

    Subclasses list their run-time parameters in ``RUNTIME``: those are shared variables in
    the network and change without recompiling.  Everything else is structural.
    """
    n_input: int = 784
    n_exc: int = 400
    max_delay_ms: float = 10.0       # input->exc synaptic delays, uniform in [0, max_delay]
    structure_seed: int = 0          # delays are drawn once per build from this seed

    RUNTIME = ()
    NAME = "base"
    POSITIVE = ()                    # parameters that divide (time constants, scales): > 0, not just >= 0
    SIGNED = ()                      # parameters that may be negative (exponents)

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if not np.isfinite(v):
                    raise ValueError(f"{self.NAME}: parameter {f.name} must be finite, got {v!r}")
                if (v < 0 and f.name not in self.SIGNED) or (v == 0 and f.name in self.POSITIVE):
                    bound = "> 0" if f.name in self.POSITIVE else ">= 0"
                    raise ValueError(f"{self.NAME}: parameter {f.name} must be {bound}, got {v!r}")
        if self.n_exc < 1 or self.n_input < 1:
            raise ValueError(f"{self.NAME}: n_exc and n_input must be >= 1")
        if self.max_delay_ms > MAX_DELAY_MS:           # the spike queue holds a slot per step of it
            raise ValueError(f"{self.NAME}: parameter max_delay_ms must be <= {MAX_DELAY_MS:g} (a presentation is "
                             f"a few hundred ms), got {self.max_delay_ms!r}")

    def structure(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.RUNTIME}

    def runtime(self) -> dict:
        return {k: getattr(self, k) for k in self.RUNTIME}

    def with_(self, **kw):
        return replace(self, **kw)

    def sizes(self) -> dict:
        """What ``build`` will allocate, without building it (memory checks before a build):
        ``neurons`` {group: n} and ``synapses`` {pathway: (synapses, per-synapse float
        variables besides the delay, event pathways (one spike queue each))}."""
        raise NotImplementedError


@dataclass
class BuiltModel:
    """Brian2 objects of one network plus the handles the experiments need."""
    objects: list
    exc: object                      # the learning layer
    input_syn: object                # input -> exc synapses (weights ``w``)
    controller: object
    input_group: object
    images: object                   # TimedArray of the image table
    order: object                    # TimedArray of the presentation order
    runtime_targets: dict            # run-time parameter name -> (group, variable)
    populations: list                # counted populations
    inhibition: list = field(default_factory=list)
    per_copy: dict = field(default_factory=dict)   # batched copies: group -> its per-copy parameters
