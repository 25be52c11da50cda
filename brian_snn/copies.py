"""K independent copies of any model in one network: a transformation of how a model is built.

A model's ``build`` creates its Brian objects through a :class:`Builder`.  The plain builder
(``copies=None``) creates them exactly as written.  A batched builder (``copies=K``) creates the
same objects K times side by side in one network, so that a GPU runs all copies in the same
kernels (the per-step launch cost is paid once for K networks):

* every group holds K blocks (copy k owns neurons ``k*n .. (k+1)*n-1``), every ``connect`` is
  made within blocks only (block-diagonal synapses, in the order of the plain network), linked
  variables point into the copy's own block, compiled-in arrays (delays) are repeated per copy;
* parameters declared ``(shared)`` become per-element variables, so each copy gets its own
  run-time parameters (a sweep over them reuses one binary);
* the Poisson input draws counter-based random numbers (:mod:`brian_snn.noise`) from a per-copy
  seed instead of ``rand()``, so a copy's input depends on its own seed only;
* the presentation order is a table per copy (each copy has its own schedule controller).

Hence on ``cpp`` copy k of a batch reproduces, exactly, the same batched network run with K=1
and copy k's seed, order, parameters and initial state (``tests/test_copies.py``, for every
model).  Models that draw ``rand()`` elsewhere (stochastically rounded weights) cannot be
batched.  On CUDA the inputs stay identical, but parallel sums of synaptic input are accumulated
in varying order: copies agree to rounding and then diverge like any chaotic system.
"""
import re
from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, Synapses, linked_var
from brian2.utils.stringtools import word_substitute

from hwmodel.counts import Counts, PathwayCounts, PopulationCounts

from .noise import bsnn_uniform

_FLAGS = re.compile(r"^(?P<head>\s*(?P<name>\w+)\s*:[^(#]*)\((?P<flags>[^)]*)\)(?P<tail>[^#]*)$")


class Builder:
    """Creates a model's Brian objects, once (``copies=None``) or as ``copies`` independent
    copies in one network.  ``unshared``: group name -> parameters made per-copy (a hardware
    network would hold them once per copy, not as per-neuron state; the activity counter skips
    them when it counts state words)."""

    def __init__(self, copies=None):
        if copies is not None and (int(copies) != copies or copies < 1):
            raise ValueError(f"copies must be an integer >= 1, got {copies!r}")
        self.copies = copies
        self.k = copies or 1
        self.sizes = {}
        self.unshared = {}

    @property
    def batched(self) -> bool:
        return self.copies is not None

    def equations(self, eqs: str, owner: str) -> str:
        """``eqs`` with ``(shared)`` dropped from every declaration when batched."""
        if not self.batched:
            return eqs
        lines = []
        for line in eqs.split("\n"):
            code, hash_, comment = line.partition("#")
            m = _FLAGS.match(code)
            if m:
                flags = [f.strip() for f in m["flags"].split(",")]
                if "shared" in flags:
                    rest = ", ".join(f for f in flags if f != "shared")
                    code = m["head"] + (f"({rest})" if rest else "") + m["tail"]
                    self.unshared.setdefault(owner, set()).add(m["name"])
            lines.append(code + hash_ + comment)
        return "\n".join(lines)

    def neurons(self, n, eqs, name, **kw) -> NeuronGroup:
        self.sizes[name] = int(n)
        return NeuronGroup(n * self.k, self.equations(eqs, name), name=name, **kw)

    def synapses(self, source, target, model="", name=None, **kw) -> Synapses:
        return Synapses(source, target, self.equations(model, name), name=name, **kw)

    def connect(self, syn, j=None, condition=None):
        """``syn.connect(j=..., condition=...)`` (neither: all to all), within each copy."""
        if not self.batched:
            return syn.connect(j=j, condition=condition) if (j or condition) else syn.connect()
        m, n = self.sizes[syn.source.name], self.sizes[syn.target.name]
        if j is not None and j != "i":
            raise ValueError(f"batched connect: only j='i' or a condition, not j={j!r}")
        cond = "i == j" if j == "i" else condition
        block = f"k for k in range((i // {m}) * {n}, (i // {m} + 1) * {n})"
        if cond:       # the model's condition on indices within the copy
            block += " if " + word_substitute(cond, {"i": f"(i % {m})", "j": f"(k % {n})"})
        syn.connect(j=block)

    def link(self, group, var, source, index):
        """``group.var = linked_var(source, var, index)``, ``index`` within a copy."""
        index = np.asarray(index)
        if self.batched:
            m = self.sizes[source.name]
            index = np.concatenate([index + c * m for c in range(self.k)])
        setattr(group, var, linked_var(source, var, index=index))

    def per_copy(self, values):
        """A compiled-in per-element array of one copy, repeated for every copy."""
        return np.tile(values, self.k) if self.batched else values

    def local(self, index: str, group: str) -> str:
        """Code for ``index`` (``i`` or ``j``) counted within its copy of ``group``."""
        return f"({index} % {self.sizes[group]})" if self.batched else index

    def uniform(self, n):
        """(expression of a uniform random number, equations it needs, namespace) for a group
        of ``n`` neurons per copy: ``rand()``, or the counter-based draw from a per-copy seed."""
        if not self.batched:
            return "rand()", "", None
        return (f"bsnn_uniform(rng_seed, t_in_timesteps, i % {n})", "rng_seed : integer\n",
                {"bsnn_uniform": bsnn_uniform})


@dataclass(frozen=True, eq=False)
class Copies:
    """K copies of one model structure, each with its own run-time parameters: a model spec the
    backends build and run like any other.  ``models``: one spec per copy (same structure)."""
    models: tuple

    def __post_init__(self):
        models = tuple(self.models)
        object.__setattr__(self, "models", models)
        if not models:
            raise ValueError("copies: give at least one model")
        first = models[0]
        for s in models[1:]:
            if type(s) is not type(first) or s.structure() != first.structure():
                raise ValueError("copies: every copy must have the same model and structure "
                                 f"(copy 0: {first.NAME} {first.structure()}, other: {s.NAME} {s.structure()})")
        if getattr(first, "weight_bits", 0):
            raise ValueError(f"{first.NAME}: quantised weights draw rand() when they round, so copies of "
                             "the network would not be independent; batch with weight_bits=0")

    @classmethod
    def of(cls, spec, k):
        return cls((spec,) * int(k))

    @property
    def copies(self) -> int:
        return len(self.models)

    @property
    def model(self):
        return self.models[0]

    def __getattr__(self, name):          # per-copy sizes and names: those of the model
        if name in ("NAME", "n_exc", "n_input"):
            return getattr(self.models[0], name)
        raise AttributeError(name)

    def structure(self) -> dict:
        return dict(self.model.structure(), copies=self.copies)

    def sizes(self) -> dict:
        s = self.model.sizes()
        k = self.copies
        return {"neurons": {g: n * k for g, n in s["neurons"].items()},
                "synapses": {p: (v[0] * k,) + tuple(v[1:]) for p, v in s["synapses"].items()}}

    def build(self, images, order, presentation):
        return self.model.build(images, order, presentation, builder=Builder(self.copies))

    def parameter(self, name, obj):
        """Value of run-time parameter ``name`` for variable owner ``obj``: one number when all
        copies agree, else one value per element (copy k's value on copy k's elements)."""
        values = [getattr(s, name) for s in self.models]
        if all(v == values[0] for v in values):
            return values[0]
        s = self.model.sizes()
        per_copy = s["neurons"].get(obj.name) or s["synapses"][obj.name][0]
        return np.repeat(np.asarray(values, dtype=float), per_copy)

    def join(self, states):
        """One state of the whole batch from the copies' states (same keys)."""
        return {key: np.concatenate([np.atleast_1d(s[key]) for s in states]) for key in states[0]}

    def split(self, state):
        return [{key: part for key, part in zip(state, parts)}
                for parts in zip(*(np.split(np.asarray(v), self.copies) for v in state.values()))]


def batch_counts(counts_list):
    """The counts of a whole batch as one network (what the hardware runs): populations and pathways
    K times larger, activity summed; ``steps`` is the batch's (shared) number of steps.  The record
    keeps ``kernels_per_step`` (each kernel is launched once per step for the whole batch) and says
    ``copies`` = K; it has no ``batch`` key, since it is the whole launch, not a copy's share."""
    first = counts_list[0]
    pops = [PopulationCounts(p.name, sum(c.populations[i].n for c in counts_list),
                             sum(c.populations[i].spikes for c in counts_list),
                             sum(c.populations[i].neuron_updates for c in counts_list), p.state_vars)
            for i, p in enumerate(first.populations)]
    paths = [PathwayCounts(s.name, s.pre, s.post, sum(c.pathways[i].n_synapses for c in counts_list),
                           sum(c.pathways[i].synaptic_events for c in counts_list),
                           sum(c.pathways[i].plasticity_updates for c in counts_list), s.weight_bits, s.plastic)
             for i, s in enumerate(first.pathways)]
    extra = {k: v for k, v in first.extra.items() if k != "batch"}
    extra["copies"] = len(counts_list)
    return Counts(first.dt_s, max(c.steps for c in counts_list), sum(c.samples for c in counts_list),
                  first.phase, pops, paths, extra)
