"""Diehl & Cook vs SpikeDyn on static MNIST under the results protocol (issue 15).

    .venv/bin/python benchmarks/static_mnist.py [--data-dir ../shared/data/mnist] [--workers 2]

Trains every (model, N, epochs, seed) of ``brian_snn.experiments.static.StaticConfig`` on the
8,000-image MNIST pool (train 5,000 / validation 1,000 / test 2,000, seeded and stratified), after
choosing SpikeDyn's x_tar on validation.  Writes ``benchmarks/results/static_mnist.json``; runs and
their job cache live in ``--work`` (a killed run started again loses only the jobs in flight).
``benchmarks/report.py`` turns the JSON into the README table.
"""
import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.experiments.static import StaticConfig, run_static  # noqa: E402


def finished_only(cfg, work, log):
    """The result record from the runs that finished (``--finished-only``: a run cut short keeps its
    finished jobs; the record lists the missing ones).  Same job keys as ``run_static``."""
    import numpy as np
    from brian_snn.data import load_described
    from brian_snn.experiments.static import _job, source_files
    from brian_snn.jobs import ResultCache
    from brian_snn.protocol import protocol_splits, provenance
    prov = provenance(source_files())
    cache = ResultCache(Path(work) / "jobs")
    sel = [_job(cfg, "spikedyn", cfg.select_neurons, cfg.select_epochs, s, {"x_tar": x}, False, work,
                prov["code_fingerprint"]) for x in cfg.xtar_grid for s in cfg.select_seeds]
    by_x = {x: float(np.mean([cache.load(j["key"])["val_accuracy"] for j in sel if j["params"]["x_tar"] == x]))
            for x in cfg.xtar_grid}
    best = max(cfg.xtar_grid, key=lambda x: (by_x[x], -abs(x - 0.1)))
    params = {"diehl-cook": {}, "spikedyn": {"x_tar": best}}
    final = [_job(cfg, m, n, e, s, params[m], True, work, prov["code_fingerprint"])
             for n in cfg.neurons for m in cfg.models for e in cfg.epochs for s in cfg.seeds]
    runs, missing = [], []
    for j in final:
        r = cache.load(j["key"])
        desc = {k: j[k] for k in ("model", "n_exc", "epochs", "seed", "params")}
        (runs.append(desc | r) if r is not None else missing.append(desc))
    log(f"{len(runs)} of {len(final)} runs finished")
    return {"schema": "brian-snn-results/1", "experiment": "static_mnist", "selected_on": "validation",
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()},
            "split": protocol_splits(load_described(cfg.data), cfg.n_val, cfg.split_seed).record,
            "selection": {"parameter": "x_tar", "model": "spikedyn", "neurons": cfg.select_neurons,
                          "epochs": cfg.select_epochs, "seeds": list(cfg.select_seeds),
                          "val_accuracy": {str(x): a for x, a in by_x.items()}, "chosen": best},
            "runs": runs, "missing": missing, "provenance": prov}


def main(argv=None):
    shared = Path(os.environ.get("BRIAN_SNN_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(shared / "mnist"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default=str(HERE.parent / "out" / "static_mnist"))
    p.add_argument("--out", default=str(HERE / "results" / "static_mnist.json"))
    p.add_argument("--finished-only", action="store_true", help="write the record of the runs finished so far")
    a = p.parse_args(argv)
    cfg = StaticConfig(data={"dataset": "mnist", "data_dir": a.data_dir})
    log = lambda *m: print(*m, flush=True)  # noqa: E731
    result = (finished_only(cfg, a.work, log) if a.finished_only
              else run_static(cfg, a.work, workers=a.workers, log=log))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
