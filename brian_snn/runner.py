"""Present a sequence of samples to a model on a backend, chunk by chunk.

The sequence is cut into chunks of ``backend.chunk_slots`` presentation slots; learned state
is carried across chunks; the last chunk is padded with the blank image (its slots are not
counted).  Returns per-sample responses (excitatory spike counts of each sample's final
presentation), the exact counts and timings.
"""
import sys
import time
from dataclasses import dataclass, field

import numpy as np



@dataclass
class RunOutput:
    state: dict
    responses: np.ndarray          # [n_samples, n_exc] spike counts of the final presentation
    presentations: int             # slots used (>= samples: repeats of quiet samples)
    counts: object
    sim_wall_s: float
    build_s: float
    timings: dict = field(default_factory=dict)


class Progress:
    """A minimal progress bar over samples on stderr (no dependency)."""

    def __init__(self, total, label, enabled=True):
        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.t0 = time.perf_counter()

    def update(self, done):
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        rate = done / el if el > 0 else 0.0
        bar = "#" * int(30 * done / self.total)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {done}/{self.total} samples, {rate:.1f}/s")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


@dataclass
class Resume:
    """Where a sequence stopped: everything :func:`present` needs to continue it exactly as if it
    had never stopped.  ``position``: samples finished; ``chunk``: chunks run (each chunk's noise
    seed is a function of its index in the whole sequence, never of where a run was resumed);
    ``counts``/``sim_wall_s``: totals so far."""
    position: int = 0
    chunk: int = 0
    counts: object = None
    sim_wall_s: float = 0.0


def learned_state(state):
    """What a network carries into a new sequence (next epoch, task or test): its state without
    the presentation schedule's (``ctrl_*``), which a new sequence starts afresh."""
    return {k: np.asarray(v, dtype=float) for k, v in state.items() if not k.startswith("ctrl_")}


def chunk_seed(seed, chunk):
    """The noise seed of chunk ``chunk`` of a sequence started with ``seed``."""
    return seed * 100003 + chunk


def present(spec, backend, presentation, images, order, state, plastic, phase, seed,
            progress=True, on_chunk=None, resume=None):
    """Show ``images[order]`` (the last row of ``images`` must be blank) and return RunOutput.

    ``resume`` (a :class:`Resume`): continue the sequence from there, with ``state`` the learned
    state saved at that point; the result is bit-identical to an uninterrupted run.
    ``on_chunk(Resume, state)`` is called after every chunk (checkpointing).
    """
    order = np.asarray(order, dtype=np.int64)
    n = len(order)
    blank = len(images) - 1
    responses = np.zeros((n, spec.n_exc), dtype=np.int64)
    r = resume or Resume()
    position, chunk = r.position, r.chunk     # order position shown in the chunk's first slot
    counts, sim_wall, build_s, slots_used, profile = r.counts, r.sim_wall_s, 0.0, 0, {}
    bar = Progress(n, f"{phase} {spec.NAME}", progress)
    while position < n:
        window = np.full(backend.chunk_slots + 1, blank, dtype=np.int64)
        part = order[position:position + backend.chunk_slots + 1]
        window[:len(part)] = part
        res = backend.run_chunk(spec, presentation, images, window, state, plastic, phase,
                                n_real=n - position, seed=chunk_seed(seed, chunk))
        chunk += 1
        state = res.state
        sim_wall += res.wall_s
        build_s += res.timings.get("build_s", 0.0)
        bar.t0 += res.timings.get("build_s", 0.0)      # the rate shown is simulation speed
        for name, t in res.timings.get("profile", {}).items():
            profile[name] = profile.get(name, 0.0) + t
        counts = res.counts if counts is None else counts + res.counts
        slots_used += res.real_slots
        # Assign spikes to slots; a later slot with the same position overrides (a repeat).
        slot_of_spike = np.searchsorted(res.slot_t, res.exc_t, side="right") - 1
        for s in range(res.real_slots):
            p = position + res.slot_ptr[s]
            responses[p] = np.bincount(res.exc_i[slot_of_spike == s], minlength=spec.n_exc)
        last = position + int(res.slot_ptr[-1]) if len(res.slot_ptr) else position
        if last <= position and res.real_slots == 0:     # would loop for ever
            raise RuntimeError(f"{phase}: a chunk made no progress (slot longer than the run?)")
        position = min(last, n)
        counts.samples = position
        if on_chunk is not None:
            on_chunk(Resume(position, chunk, counts, sim_wall), state)
        bar.update(position)
    return RunOutput(state, responses, slots_used, counts, sim_wall, build_s,
                     {"profile": profile} if profile else {})
