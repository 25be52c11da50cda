"""``brian-snn export``: write the standalone CUDA project of a model (and optionally compile it), or
(``--format nir``) a trained SOLSA, Diehl & Cook or SpikeDyn network as a NIR graph.

``register(subparsers)`` adds the sub-command; ``run(args) -> int`` executes it.  Also runnable as
``python -m brian_snn.experiments.cuda_cmd ...`` (same options).
"""
from __future__ import annotations

import argparse
import json
from ..files import check_output
from ..options import _positive_int, checked_by, int_at_least, parse_params




def _cc(value):
    from ..cuda import parse_compute_capability       # imported when used (brian2cuda is heavy)
    return checked_by(parse_compute_capability)(value)


TRAIN_DEFAULTS = {"model": "spikedyn", "neurons": 400, "seed": 0, "chunk": 250}   # as 'brian-snn train'


def default_out(model, neurons, cc) -> str:
    """``--out`` when not given: ``<model>-<neurons>-sm_XY`` in the current folder."""
    from ..cuda import arch_flag, parse_compute_capability
    return f"{model}-{neurons}-{arch_flag(parse_compute_capability(cc))}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..data import add_data_arguments
    from ..models import MODEL_NAMES
    d = TRAIN_DEFAULTS
    p.add_argument("--format", choices=("cuda", "nir"), default="cuda",
                   help="cuda: the standalone CUDA project of --model (default); nir: the trained SOLSA, "
                        "Diehl & Cook or SpikeDyn network of --results as a NIR graph (.nir file at --out; "
                        "docs/nir.md)")
    p.add_argument("--results", default=None, metavar="RESULTS.h5",
                   help="--format nir: a SOLSA results file ('brian-snn solsa --out'; its first seed's weights) "
                        "or a 'brian-snn train' results file of diehl-cook / asp-decay / spikedyn (its learned "
                        "weights and thresholds; the kind is read from the file)")
    p.add_argument("--task", default=None, metavar="TASK",
                   help="--format nir: the task of the results file (needed when it holds several)")
    p.add_argument("--method", default="solsa", metavar="METHOD",
                   help="--format nir: solsa (default), bptt or online-simple")
    from .nir import parse_dt
    p.add_argument("--dt", default=None, metavar="DT", type=lambda text: (parse_dt(text), text)[1],
                   help="--format nir: seconds per step the graph assumes (SOLSA: per SOLSA step, default 1ms; "
                        "Diehl & Cook / SpikeDyn: default the training presentation's dt, 0.5ms)")
    p.add_argument("--v-ref", default="mid", metavar="MID|REST|MV",
                   help="--format nir, Diehl & Cook / SpikeDyn: potential at which the conductance synapses' "
                        "driving forces are frozen into currents: mid (half-way from rest to each neuron's "
                        "threshold; default, keeps the accuracy), rest, or a value in mV")
    p.add_argument("--form", choices=("cubalif", "exact"), default="cubalif",
                   help="--format nir: cubalif (one CubaLIF per layer: portable, event-driven, approximate; "
                        "default) or exact (LI filter + LI membrane + Threshold + delayed reset loop: SOLSA's "
                        "map exactly, needs Threshold and Delay support)")
    p.add_argument("--backend", choices=("cuda",), default="cuda", help="code generator (only cuda)")
    p.add_argument("--model", choices=MODEL_NAMES, default=d["model"], metavar="MODEL",
                   help=f"one of {', '.join(MODEL_NAMES)} (default {d['model']}, as train)")
    p.add_argument("--neurons", type=_positive_int, default=d["neurons"], metavar="N",
                   help=f"excitatory neurons (default {d['neurons']}, as train)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for the project, new or empty (default <model>-<neurons>-sm_XY, "
                        "e.g. spikedyn-400-sm_87)")
    p.add_argument("--compute-capability", "--cc", dest="cc", type=_cc, default="8.7", metavar="X.Y",
                   help="GPU to build for: 5.3 Jetson Nano, 6.2 TX2, 7.2 Xavier, 8.7 Orin (default), "
                        "9.0 H100, or a name (orin, h100, jetson-nano); 'make GPU_ARCH=sm_XY' changes it later")
    p.add_argument("--gpu-id", type=int_at_least(0, "a GPU index >= 0"), default=0,
                   help="GPU index the binary selects (default 0)")
    p.add_argument("--build", action="store_true",
                   help="also compile it here with nvcc (no GPU needed; the local nvcc must support --cc)")
    p.add_argument("--jobs", type=_positive_int, default=None, help="parallel nvcc jobs for --build")
    p.add_argument("--cuda-path", default=None, metavar="DIR", help="CUDA toolkit for --build (default: found from nvcc)")
    p.add_argument("--curand-dir", default=None, metavar="DIR",
                   help="folder with include/curand.h and lib/libcurand.so* for --build "
                        "(default: toolkit, nvidia-curand wheel)")
    p.add_argument("--chunk", type=_positive_int, default=d["chunk"], metavar="N",
                   help=f"presentation slots per run, compiled in (default {d['chunk']}, as train)")
    p.add_argument("--seed", type=int, default=d["seed"], metavar="S",
                   help=f"seed of the initial weights and the order (default {d['seed']})")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model parameter (repeatable), e.g. --param nu_post=0.002")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show brian2cuda's messages while generating (default: a short summary only)")
    add_data_arguments(p)


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="write the standalone CUDA project of a model (build it on a GPU machine)",
                              description=" ".join(__doc__.split("\n\n")[0].split()))   # the whole first paragraph
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    if args.format == "nir":
        return run_nir(args)
    from ..data import dataset_from_args
    from ..export import export_project
    from ..checks import check_run, claim
    from ..models import get_model_spec
    params = parse_params(args.param)
    if args.out is None:
        args.out = default_out(args.model, args.neurons, args.cc)
    check_run([args.model], params, out=args.out, out_is_dir=True,
              backend="cuda" if args.build and not args.jobs else None)      # BRIAN_SNN_MAKE_JOBS when used
    get_model_spec(args.model, n_exc=args.neurons, **params)          # fail fast on bad values
    dataset = dataset_from_args(args)
    with claim(args.out):          # no memory check: nothing runs here
        info = export_project(args.model, args.out, dataset, n_exc=args.neurons, compute_capability=args.cc,
                              build=args.build, params=params, chunk_slots=args.chunk, seed=args.seed,
                              gpu_id=args.gpu_id, cuda_path=args.cuda_path, curand_dir=args.curand_dir,
                              make_jobs=args.jobs, force=args.force, verbose=args.verbose)
    if args.json:
        print(json.dumps(info, default=str))
        return 0
    print(summary_text(info, args.out))
    return 0


def summary_text(info, out) -> str:
    """The few lines ``brian-snn export`` prints: what was written, the files, how to build it."""
    import shlex
    c, f = info["cuda"], info["files"]
    name = shlex.quote(str(out).rstrip("/"))
    base = shlex.quote(str(out).rstrip("/").rsplit("/", 1)[-1])
    state = (f"compiled here in {info['build_s']} s (run 'make clean' before building it elsewhere)"
             if info["built"] else "generated, not compiled")
    return "\n".join([
        f"{out}: CUDA project of {info['model']} N={info['n_exc']} for compute capability "
        f"{c['compute_capability']:.1f} ({c['arch']}), {state}",
        f"  files: makefile, {f['sources']} .cu sources + brianlib/ headers, run.sh (one training chunk: "
        f"{info['samples_in_run']} samples), static_arrays/ ({f['data_files']} data files), "
        f"results_index.json, export.json, README.md; {f['bytes'] / 1e6:.1f} MB in all",
        f"  on the Jetson: scp -r {name} jetson:  then there: cd {base} && make -j4 && ./run.sh",
        "  make finds CUDA via CUDA_PATH, nvcc on PATH or /usr/local/cuda (JetPack's, with cuRAND), "
        "else cuRAND from an nvidia-curand pip wheel; see README.md there",
    ])


def results_kind(path) -> str:
    """'solsa' or 'snn' (a 'brian-snn train' file) from the file's schema; a one-line error otherwise."""
    import h5py
    from ..solsa.store import SCHEMA as SOLSA
    from ..store import SCHEMA as TRAIN, open_results
    from ..nir import NirError
    try:
        with h5py.File(path, "r") as f:
            schema = f.attrs.get("schema")
    except (OSError, FileNotFoundError):
        open_results(path)                     # the store's one-line error (missing, corrupt)
        raise
    schema = schema.decode() if isinstance(schema, bytes) else schema
    if schema == SOLSA:
        return "solsa"
    if schema == TRAIN:
        return "snn"
    raise NirError(f"{path}: neither a SOLSA results file nor a Diehl & Cook / SpikeDyn 'brian-snn train' "
                   f"results file (schema {schema!r}): nothing to export to NIR")


def run_nir(args) -> int:
    """``--format nir``: the SOLSA, Diehl & Cook or SpikeDyn network of ``--results`` as a .nir file."""
    from pathlib import Path
    from ..nir import load_solsa, solsa_to_nir, write_nir
    from .nir import parse_dt
    if not args.results:
        raise ValueError("--format nir needs --results FILE.h5 (written by 'brian-snn solsa --out' or "
                         "'brian-snn train --out')")
    if results_kind(args.results) == "snn":
        return run_nir_snn(args)
    dt = parse_dt(args.dt or "1ms")
    net, params, task = load_solsa(args.results, args.task, args.method)
    out = Path(args.out or f"{task}-{args.method}.nir")
    check_output(out, args.force, inputs=[args.results])
    graph = solsa_to_nir(net, params, dt=dt, form=args.form)
    write_nir(graph, out)
    info = {"out": str(out), "task": task, "method": args.method, "form": args.form, "sizes": net.sizes,
            "readout": net.readout,
            "dt_s": dt, "nodes": {k: type(v).__name__ for k, v in graph.nodes.items()}}
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{out}: SOLSA network {'-'.join(map(str, net.sizes))} ({task}, {args.method}, {net.readout} readout) "
          f"as NIR: {' -> '.join(info['nodes'].values())}; dt {dt * 1e3:g} ms per step")
    print("  " + ("approximations: hard reset to v_reset = theta - V_r/lam for SOLSA's soft reset, continuous "
                  "synaptic current (docs/nir.md)" if args.form == "cubalif" else
                  "exact: SOLSA's map (filter, membrane, threshold, soft reset one step later)")
          + "; price it: brian-snn nir run " + str(out) + " --input X.npz")
    return 0


def run_nir_snn(args) -> int:
    """``--format nir`` of a Diehl & Cook / SpikeDyn results file (brian_snn.nir.snn_export)."""
    from pathlib import Path
    from ..nir import write_nir
    from ..nir.snn_export import inference_to_nir, load_snn
    from .nir import parse_dt
    from ..experiments.train_eval import check_trained, stored_network
    from ..store import read_results
    stored = read_results(args.results)          # the one validation of a stored network: no NaN exported
    check_trained(stored, args.results, stored_network(stored, args.results))
    st = load_snn(args.results)
    dt = parse_dt(args.dt) if args.dt else float(st["presentation"].get("dt_ms", 0.5)) * 1e-3
    v_ref = args.v_ref
    if v_ref not in ("rest", "mid"):
        try:
            v_ref = float(v_ref)
        except ValueError:
            raise ValueError(f"--v-ref must be rest, mid or a potential in mV, got {v_ref!r}") from None
    n = int(st["theta"].size)
    out = Path(args.out or f"{st['model']}-{n}.nir")
    check_output(out, args.force, inputs=[args.results])
    graph = inference_to_nir(st, dt=dt, v_ref=v_ref)
    write_nir(graph, out)
    info = {"out": str(out), "model": st["model"], "n_exc": n, "dt_s": dt, "v_ref": graph.metadata["v_ref"],
            "nodes": {k: type(v).__name__ for k, v in graph.nodes.items()}}
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{out}: {st['model']} inference network {st['w'].shape[0]}-{n} (learned weights and thresholds) as NIR: "
          "Input -> Linear -> CubaLIF -> Output, lateral inhibition CubaLIF -> Linear -> CubaLIF; "
          f"dt {dt * 1e3:g} ms per step")
    print(f"  approximations: conductances as currents (driving force at v_ref = {info['v_ref']}), inhibition "
          "with the excitatory synaptic time constant, no refractory period"
          + (", inhibitory layer collapsed into exc -> exc" if st["model"] != "spikedyn"
             or int(st["params"].get("inhibitory_layer", 0)) else "")
          + " (docs/nir.md); price it: brian-snn nir run " + str(out) + " --input X.npz")
    return 0
