"""``brian-snn nir run``: simulate a NIR graph (from any framework) on given inputs, write its outputs
and exact counts, and print the hardware estimate."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

from ..options import (add_backend_argument, add_force_argument, add_json_argument, add_target_argument,
                       int_at_least)

DEFAULT_TARGETS = "loihi1,jetson-nano"
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_dt(text) -> float:
    """``1ms``, ``0.1 ms``, ``100us``, ``1e-4`` (seconds) -> seconds."""
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(s|ms|us|µs|ns)?\s*", str(text))
    try:
        value = float(m.group(1)) * _UNITS[m.group(2) or "s"] if m else float("nan")
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        import argparse
        raise argparse.ArgumentTypeError(f"--dt must be a time > 0 such as 1ms, 100us or 1e-4 (seconds), got {text!r}")
    return value


def _probability(text) -> float:
    import argparse
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"--random must be a probability in [0, 1], got {text!r}")
    return v


def register(sub):
    p = sub.add_parser("nir", help="NIR graphs from other frameworks: run, count and price them",
                       description="Neuromorphic Intermediate Representation (NIR) graphs: simulate one in "
                                   "Brian2 and price its exact activity with hwmodel (docs/nir.md).")
    nsub = p.add_subparsers(dest="nir_command", required=True, parser_class=type(p), metavar="run",
                            help="run: simulate a graph on given inputs, write outputs and counts, price them")
    r = nsub.add_parser("run", help="simulate a NIR graph on given inputs; write outputs + counts; price them",
                        description="Simulate a NIR graph (.nir file) on the inputs of an .npz file (one array "
                                    "[samples, T, n] per Input node, named after it; a single array for a "
                                    "one-Input graph), write the outputs and the exact counts, and print "
                                    "the hardware estimate of each target.")
    r.add_argument("graph", metavar="GRAPH.nir", help="NIR graph (HDF5, as written by nir.write)")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="SPIKES.npz",
                     help="inputs: [samples, T, n_in] per Input node, 0/1 spikes or analog values, one step "
                          "of dt per entry")
    src.add_argument("--random", type=_probability, metavar="P",
                     help="instead of --input: random 0/1 spikes, each input firing with probability P per "
                          "step (price a graph at a chosen input activity)")
    r.add_argument("--samples", type=int_at_least(1, "a number of samples >= 1"), default=10, metavar="S",
                   help="--random: samples (default 10)")
    r.add_argument("--steps", type=int_at_least(1, "a number of steps >= 1"), default=100, metavar="T",
                   help="--random: steps per sample (default 100)")
    r.add_argument("--seed", type=int, default=0, metavar="S", help="--random: seed of the spikes (default 0)")
    r.add_argument("--dt", type=parse_dt, default=1e-3, metavar="DT",
                   help="time step, e.g. 1ms (default), 100us, 1e-4 (seconds): use the dt the graph was "
                        "trained with (snnTorch's exporter assumes 1e-4 s, Norse's its dt, default 1 ms)")
    r.add_argument("--semantics", choices=("exact", "snntorch", "norse"), default="exact",
                   help="how a step is computed: exact (default: NIR's equations integrated exactly, reset "
                        "to v_reset), snntorch or norse (that framework's discrete update at --dt, its reset "
                        "and its order of synaptic current and membrane: a graph it exported then runs "
                        "spike for spike as it ran there; docs/nir.md)")
    r.add_argument("--reset", choices=("value", "subtract", "zero"), default=None,
                   help="the reset, which a NIR file does not record: with --semantics snntorch, subtract "
                        "(default, snnTorch's default) or zero (reset_mechanism='zero'); with norse, value "
                        "(default, to v_reset) or subtract; exact: value")
    add_backend_argument(r, ("runtime", "cpp"), default="runtime")
    add_target_argument(r, DEFAULT_TARGETS, "targets of the cost lines")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="write outputs.npz (one array [samples, T, n] per Output node), counts.json "
                        "(hwmodel counts) and estimates.json here")
    add_force_argument(r, "write into a non-empty --out")
    add_json_argument(r)
    r.set_defaults(func=cmd_run)


def load_inputs(path, input_names) -> dict:
    """The arrays of an .npz file for the graph's Input nodes (one-line errors)."""
    from ..nir import NirError
    path = Path(path)
    if not path.is_file():
        raise NirError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise NirError(f"{path}: not a readable .npz file ({' '.join(str(e).split()) or type(e).__name__})") from None
    if len(input_names) == 1 and input_names[0] not in arrays:
        if len(arrays) != 1:
            raise NirError(f"{path}: holds {', '.join(arrays) or 'no arrays'}; name the input array "
                           f"{input_names[0]!r} (the graph's Input node)")
        return {input_names[0]: next(iter(arrays.values()))}
    missing = [n for n in input_names if n not in arrays]
    if missing:
        raise NirError(f"{path}: no array for Input node(s) {', '.join(missing)} (have {', '.join(arrays)})")
    return {n: arrays[n] for n in input_names}


OUTPUT_FILES = ("outputs.npz", "counts.json", "estimates.json")


def _check_empty(out, force):
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(f"{out} exists and is not an empty folder: choose a new --out (or --force)")


def _write_outputs(out, force, res, counts, hardware):
    """The three files under the one writer rule: the folder's lock, all written into a temporary
    folder of this process, then moved in (a new or empty folder: renamed whole, so a kill leaves
    it as it was and the same command runs again; with --force into a folder holding files: file
    by file, each one old or new and whole), and a second run at once is refused."""
    import os
    import shutil
    from ..files import output_lock, temporary
    with output_lock(out):                        # also removes killed runs' temporary folders
        _check_empty(out, force)
        tmp = temporary(out)
        try:
            tmp.mkdir(parents=True)
            np.savez_compressed(tmp / "outputs.npz", **dict(res.outputs, dt_s=np.array(res.dt_s)))
            counts.to_json(tmp / "counts.json")
            (tmp / "estimates.json").write_text(json.dumps(hardware, indent=1) + "\n")
            if out.is_symlink() or (out.is_dir() and any(out.iterdir())):
                for name in OUTPUT_FILES:
                    os.replace(tmp / name, out / name)
            else:                                 # rename(2) replaces an empty folder too
                os.replace(tmp, out)
        except OSError as e:
            raise ValueError(f"--out {out}: cannot write ({e.strerror or e}); nothing was changed") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def cmd_run(args):
    from ..checks import check_targets
    from ..nir import from_nir
    from .train import _hardware, hardware_line
    from ..checks import available_memory, check_out
    targets = check_targets(args.target)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out(args.out, directory=True)
        _check_empty(out, args.force)
    net = from_nir(args.graph, dt=args.dt, semantics=args.semantics, reset=args.reset)
    if "dt_s" in net.plan.outputs:                  # outputs.npz holds dt_s beside one array per Output
        raise ValueError(f"{args.graph}: an Output node is named 'dt_s', the name outputs.npz gives the time step; "
                         "rename the node")
    if args.input is None:                           # the random inputs, before they are drawn
        need = 8 * args.samples * args.steps * sum(p.n for p in net.plan.inputs)
        avail = available_memory()
        if avail is not None and need > avail // 2:
            raise ValueError(f"--samples {args.samples} x --steps {args.steps} random inputs need "
                             f"{need / 1e9:,.1f} GB (and the outputs as much again), but {avail / 1e9:.1f} GB is "
                             "available; use fewer --samples or --steps")
    for line in net.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if args.input is not None:
        inputs = load_inputs(args.input, [p.name for p in net.plan.inputs])
    else:
        rng = np.random.default_rng(args.seed)
        inputs = {p.name: (rng.random((args.samples, args.steps, p.n)) < args.random).astype(float)
                  for p in net.plan.inputs}
    res = net.run(inputs, backend=args.backend)
    counts = res.counts
    hardware = {t: _hardware(counts, t) for t in targets}
    if out is not None:
        _write_outputs(out, args.force, res, counts, hardware)
    if args.json:
        print(json.dumps({"graph": str(args.graph), "dt_s": res.dt_s, "samples": res.samples, "T": res.T,
                          "backend": res.backend, "semantics": net.semantics, "reset": net.reset,
                          "warnings": net.warnings, "notes": res.notes, "counts": counts.to_dict(),
                          "hardware": hardware, "out": None if out is None else str(out)}))
        return 0
    n = max(res.samples, 1)
    print(f"{args.graph}: {len(net.plan.populations)} populations, {len(net.plan.connections)} pathways; "
          f"{res.samples} samples x {res.T} steps of {res.dt_s * 1e3:g} ms ({res.backend})")
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"counts per sample ({counts.extra.get('kernels_per_step')} GPU kernels per step):")
    for p in counts.populations:
        print(f"  {p.name:<14} n={p.n:<6} spikes {p.spikes / n:12.1f}   neuron updates {p.neuron_updates / n:12.0f}")
    for p in counts.pathways:
        print(f"  {p.name:<14} syn={p.n_synapses:<8} events {p.synaptic_events / n:12.0f}")
    if counts.extra.get("graded_events"):
        print(f"  (graded events, analog values sent on: {', '.join(counts.extra['graded_events'])})")
    for t, h in hardware.items():
        print(hardware_line("inference", t, h))
    if out is not None:
        print(f"written: {out}/outputs.npz, {out}/counts.json (hwmodel estimate {out}/counts.json --target T), "
              f"{out}/estimates.json")
    return 0
