"""The memory/energy-constrained model search under the results protocol: 3 seeds (issue 25).

    .venv/bin/python benchmarks/model_search.py --data-dir DIR [--workers 2]

The search of docs/continual.md (SpikeDyn, N in {100, 200, 400} x weight bits {4, 8, 16, 32}, a
600 KB memory and 1.6 J training-energy budget on the Jetson Nano, the short continual protocol:
100 training samples per task, 20 labelling and 20 tested samples per class) was selected with one
seed.  Here every candidate that passes the analytic screen is evaluated on the validation split
(20 % of the training images, seeded and stratified) with seeds 0, 1, 2; the rule, fixed before the
runs: the feasible candidate (mean energy and memory within the budgets) with the best **mean**
validation accuracy (ties: less energy, then less memory); then the selected candidate alone is
tested once per seed on the test split.  Writes ``benchmarks/results/model_search.json``; the
README section ``model_search`` is generated from it (benchmarks/report.py re-prices the counts).
Evaluations are cached in ``--work`` (a killed run resumes).
"""
import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.data import load_described  # noqa: E402
from brian_snn.experiments.continual import ContinualConfig  # noqa: E402
from brian_snn.experiments import search  # noqa: E402
from brian_snn.experiments.search import (Candidate, candidate_grid, code_fingerprint, evaluate_candidate,  # noqa: E402
                                          evaluation_job, point_from, screen, select)
from brian_snn.files import replacing  # noqa: E402
from brian_snn.jobs import run_jobs  # noqa: E402
from brian_snn.protocol import provenance  # noqa: E402

NEURONS, BITS = (100, 200, 400), (4, 8, 16, 32)
MAX_MEMORY, MAX_ENERGY = 600_000, 1.6          # bytes; J per training sample on the Jetson Nano
SEEDS = (0, 1, 2)
RULE = ("the feasible candidate (mean training energy per sample and memory within the budgets) with the "
        "best mean validation accuracy over the seeds (ties: less energy, then less memory); fixed before the runs")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="folder with the MNIST files (mnist8k or the official names)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default="out/model_search", help="job cache (a killed run resumes from it)")
    p.add_argument("--out", default=str(HERE / "results" / "model_search.json"))
    a = p.parse_args(argv)
    log = lambda *x: print(*x, file=sys.stderr, flush=True)  # noqa: E731
    data = {"dataset": "embedded", "data_dir": a.data_dir, "n_train": None, "n_test": None, "data_seed": 0}
    ds = load_described(data)
    n_val = int(round(0.2 * ds.n_train))
    base = ContinualConfig(model="spikedyn", n_exc=400, samples_per_task=100, label_per_class=20, test_per_class=20,
                           data=data)
    cands = candidate_grid(NEURONS, BITS, ("spikedyn",))
    kept, dropped = screen(cands, base, "training", MAX_MEMORY, MAX_ENERGY)
    fingerprint = code_fingerprint()

    def job(c: Candidate, seed: int, evaluate: str) -> dict:
        return evaluation_job(c, replace(base, seed=seed), fingerprint, None, n_val, 0, evaluate)

    cache = Path(a.work) / "jobs"
    val_jobs = [job(k["candidate"], s, "val") for k in kept for s in SEEDS]
    val = run_jobs(val_jobs, evaluate_candidate, cache, None, a.workers, log,
                   lambda j, ev: f"{Candidate(**ev['candidate']).name} seed {j['base']['seed']}: "
                                 f"validation {100 * ev['accuracy']:.1f} %")
    runs = []
    for j in val_jobs:
        pt = point_from(val[j["key"]], "training")
        runs.append(dict(pt, seed=j["base"]["seed"], split="val", counts=val[j["key"]]["counts"]))
    means = []
    for k in kept:
        rs = [r for r in runs if r["name"] == k["candidate"].name]
        means.append({"name": k["candidate"].name, "n_exc": k["candidate"].n_exc,
                      "weight_bits": k["candidate"].weight_bits,
                      **{f: sum(r[f] for r in rs) / len(rs) for f in ("accuracy", "energy_j", "memory_bytes")}})
    feas, front, best = select(means, MAX_MEMORY, MAX_ENERGY)
    test = []
    if best:
        chosen = next(k["candidate"] for k in kept if k["candidate"].name == best["name"])
        test_jobs = [job(chosen, s, "test") for s in SEEDS]
        res = run_jobs(test_jobs, evaluate_candidate, cache, None, a.workers, log)
        for j in test_jobs:
            test.append(dict(point_from(res[j["key"]], "training"), seed=j["base"]["seed"], split="test",
                             counts=res[j["key"]]["counts"]))
    rec = {"schema": "brian-snn-results/1", "experiment": "model-search", "selected_on": "validation",
           "rule": RULE, "seeds": list(SEEDS), "n_val": n_val, "split_seed": 0, "n_train": ds.n_train,
           "target": "jetson-nano", "energy_phase": "training", "max_memory_bytes": MAX_MEMORY,
           "max_energy_j": MAX_ENERGY, "config": asdict(base),
           "screened_out": [{"name": d["candidate"].name, "reason": d["reason"], "memory_bytes": d["memory_bytes"]}
                            for d in dropped],
           "means": [dict(m, feasible=m in feas, pareto=m in front) for m in means],
           "selected": best["name"] if best else None, "runs": runs, "test": test,
           "provenance": provenance([Path(__file__), Path(search.__file__)])}
    out = Path(a.out)
    with replacing(out) as tmp:
        tmp.write_text(json.dumps(rec, indent=1) + "\n")
    print(f"selected on validation (3 seeds): {rec['selected']}; wrote {out}")


if __name__ == "__main__":
    main()
