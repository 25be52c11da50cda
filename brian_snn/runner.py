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
    steps_per_sample: object = None  # [n_samples] time steps each sample took (its repeats included)


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

    Batched copies (``spec`` a :class:`~brian_snn.copies.Copies` of K): ``order``, ``state`` and
    ``seed`` are lists (one per copy; the orders of equal length), and so are the RunOutput's
    state, responses, presentations and counts and the Resume's position and counts.  A copy
    that has finished sees blank slots until all have; its results stop where its samples end.
    """
    copies = getattr(spec, "copies", None)
    if getattr(presentation, "adaptive", False):
        if copies:
            raise ValueError("the adaptive window runs one network at a time (batched copies end their "
                             "chunks together, after the same number of fixed slots)")
        if not getattr(backend, "ends_itself", True):
            raise ValueError(f"the adaptive window needs a backend whose runs can end early (cpp, runtime), "
                             f"not {getattr(backend, 'name', backend)}")
    one = (lambda x: list(x)) if copies else (lambda x: [x])          # noqa: E731
    orders = [np.asarray(o, dtype=np.int64) for o in one(order)]
    states, seeds = one(state), one(seed)
    n = len(orders[0])
    if any(len(o) != n for o in orders) or len(states) != len(orders) or len(seeds) != len(orders):
        raise ValueError(f"give one order (all of the same length), state and seed per copy ({copies})")
    blank = len(images) - 1
    responses = [np.zeros((n, spec.n_exc), dtype=np.int64) for _ in orders]
    steps = [np.zeros(n, dtype=np.int64) for _ in orders]
    r = resume or Resume(position=[0] * copies if copies else 0, counts=[None] * copies if copies else None)
    positions, counts = one(r.position), one(r.counts)   # order position shown in the chunk's first slot
    chunk, sim_wall, build_s, slots_used, profile = r.chunk, r.sim_wall_s, 0.0, [0] * len(orders), {}
    bar = Progress(n * len(orders), f"{phase} {spec.NAME}" + (f" x{copies}" if copies else ""), progress)
    while min(positions) < n:
        window = np.full((backend.chunk_slots + 1, len(orders)), blank, dtype=np.int64)
        for k, o in enumerate(orders):
            part = o[positions[k]:positions[k] + backend.chunk_slots + 1]
            window[:len(part), k] = part
        seeds_now = [chunk_seed(s, chunk) for s in seeds]
        res = backend.run_chunk(spec, presentation, images, window if copies else window[:, 0],
                                spec.join(states) if copies else states[0], plastic, phase,
                                n_real=[n - p for p in positions] if copies else n - positions[0],
                                seed=seeds_now if copies else seeds_now[0])
        parts = one(res)
        chunk += 1
        sim_wall += parts[0].wall_s
        build_s += parts[0].timings.get("build_s", 0.0)
        bar.t0 += parts[0].timings.get("build_s", 0.0)      # the rate shown is simulation speed
        for name, t in parts[0].timings.get("profile", {}).items():
            profile[name] = profile.get(name, 0.0) + t
        for k, part in enumerate(parts):
            if positions[k] >= n:          # this copy had finished: it was shown blank slots
                continue
            states[k] = part.state
            counts[k] = part.counts if counts[k] is None else counts[k] + part.counts
            slots_used[k] += part.real_slots
            # Assign spikes to slots; a later slot with the same position overrides (a repeat).
            slot_of_spike = np.searchsorted(part.slot_t, part.exc_t, side="right") - 1
            starts = np.round(np.asarray(part.slot_t[:part.real_slots]) / (presentation.dt_ms * 1e-3)).astype(np.int64)
            slot_steps = np.diff(np.append(starts, part.counts.steps))
            for s in range(part.real_slots):
                p = positions[k] + part.slot_ptr[s]
                responses[k][p] = np.bincount(part.exc_i[slot_of_spike == s], minlength=spec.n_exc)
                steps[k][p] += slot_steps[s]
            last = positions[k] + int(part.slot_ptr[-1]) if len(part.slot_ptr) else positions[k]
            if last <= positions[k] and part.real_slots == 0:     # would loop for ever
                raise RuntimeError(f"{phase}: a chunk made no progress (slot longer than the run?)")
            positions[k] = min(last, n)
            counts[k].samples = positions[k]
        if on_chunk is not None:
            on_chunk(Resume(list(positions) if copies else positions[0], chunk,
                            list(counts) if copies else counts[0], sim_wall),
                     list(states) if copies else states[0])
        bar.update(sum(positions))
    pick = (lambda x: x) if copies else (lambda x: x[0])      # noqa: E731
    return RunOutput(pick(states), pick(responses), pick(slots_used), pick(counts), sim_wall, build_s,
                     {"profile": profile} if profile else {}, pick(steps))
