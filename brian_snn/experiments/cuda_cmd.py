"""``brian-snn export``: write the standalone CUDA project of a model (and optionally compile it).

``register(subparsers)`` adds the sub-command; ``run(args) -> int`` executes it.  Also runnable as
``python -m brian_snn.experiments.cuda_cmd ...`` (same options).
"""
from __future__ import annotations

import argparse
import json
import sys
from ..cli import _positive_int, parse_params




def _cc(value):
    from ..cuda import CudaError, parse_compute_capability
    try:
        parse_compute_capability(value)
    except CudaError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..data import add_data_arguments
    from ..models import MODEL_NAMES
    p.add_argument("--backend", choices=("cuda",), default="cuda", help="code generator (cuda)")
    p.add_argument("--model", choices=MODEL_NAMES, default="diehl-cook",
                   help=f"one of {', '.join(MODEL_NAMES)} (default diehl-cook)")
    p.add_argument("--neurons", type=_positive_int, default=100, help="excitatory neurons (default 100)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the project (new or empty)")
    p.add_argument("--compute-capability", "--cc", dest="cc", type=_cc, default="8.7", metavar="X.Y",
                   help="GPU to build for: 5.3 Jetson Nano, 6.2 TX2, 7.2 Xavier, 8.7 Orin (default), "
                        "9.0 H100, or a name (orin, h100, jetson-nano)")
    p.add_argument("--gpu-id", type=int, default=0, help="GPU index the binary selects (default 0)")
    p.add_argument("--build", action="store_true",
                   help="also compile it here with nvcc (no GPU needed; the local nvcc must support --cc)")
    p.add_argument("--jobs", type=_positive_int, default=None, help="parallel nvcc jobs for --build")
    p.add_argument("--cuda-path", default=None, metavar="DIR", help="CUDA toolkit (default: found from nvcc)")
    p.add_argument("--curand-dir", default=None, metavar="DIR",
                   help="folder with include/curand.h and lib/libcurand.so* (default: toolkit, nvidia-curand wheel)")
    p.add_argument("--chunk", type=_positive_int, default=250, help="presentation slots per run (default 250)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the order")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model parameter (repeatable)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    add_data_arguments(p)


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="write the standalone CUDA project of a model (build it on a GPU machine)",
                              description=__doc__.splitlines()[0])
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..data import dataset_from_args
    from ..export import export_project
    from ..checks import check_run, claim
    from ..models import get_model_spec
    params = parse_params(args.param)
    check_run([args.model], params, out=args.out, out_is_dir=True,
              backend="cuda" if args.build and not args.jobs else None)      # BRIAN_SNN_MAKE_JOBS when used
    get_model_spec(args.model, n_exc=args.neurons, **params)          # fail fast on bad values
    dataset = dataset_from_args(args)
    with claim(args.out):          # no memory check: nothing runs here
        info = export_project(args.model, args.out, dataset, n_exc=args.neurons, compute_capability=args.cc,
                              build=args.build, params=params, chunk_slots=args.chunk, seed=args.seed,
                              gpu_id=args.gpu_id, cuda_path=args.cuda_path, curand_dir=args.curand_dir,
                              make_jobs=args.jobs, force=args.force)
    if args.json:
        print(json.dumps(info, default=str))
        return 0
    c = info["cuda"]
    state = f"compiled in {info['build_s']} s" if info["built"] else "generated (not compiled)"
    print(f"{info['directory']}: {args.model} N={args.neurons}, {state} for compute capability "
          f"{c['compute_capability']:g} ({c['arch']}, {c['cxx_std']}); see its README.md, run with ./run.sh")
    return 0


def main(argv=None) -> int:
    """``python -m brian_snn.experiments.cuda_cmd ...`` = ``brian-snn export ...``"""
    from ..cli import main as cli_main
    return cli_main(argv, command="export")

if __name__ == "__main__":
    sys.exit(main())
