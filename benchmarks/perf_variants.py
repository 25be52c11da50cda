"""Before/after timing of the standalone changes of issue 28, interleaved in one job.

Every variant's binary of one model structure (Brian's own code, + FTZ/DAZ, + our spike queue,
+ one clock read per run, + the normalisation in memory order, + shared/linked conditions tested
once per step) reads the same run arguments, so the binaries built at those commits (kept in their
build folders: ``--dirs code=folder ...``) are run by the current backend in turn, ``--reps``
times, on the same chunk of training and of labelling (learning off) samples.
The best of the repeats counts (the machine is shared; noise only adds time).  Each variant's
learned state and responses are hashed: bit-identical results have equal hashes.

    .venv/bin/python benchmarks/perf_variants.py --model diehl-cook --dirs 4=DIR 5=DIR 6=DIR 7=DIR
"""
import argparse
import hashlib
import json
import resource
import time
from pathlib import Path

import numpy as np

from brian_snn.backend import get_backend
from brian_snn.data import load_embedded
from brian_snn.encoding import Presentation
from brian_snn.experiments.train_eval import image_table, initial_state
from brian_snn.models import get_model_spec
from brian_snn.runner import learned_state, present


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def digest(*arrays):
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="diehl-cook")
    ap.add_argument("--samples", type=int, default=250)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--dirs", nargs="+", required=True, help="CODE=BUILD_FOLDER of each variant")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    ds = load_embedded()
    spec = get_model_spec(a.model, n_exc=400)
    be = get_backend("cpp", chunk_slots=a.samples, cache_dir=a.cache_dir)
    tab, pres, order = image_table(ds), Presentation(), np.arange(a.samples)
    present(spec, be, pres, tab, order[:2], initial_state(spec, 0), plastic=1, phase="training", seed=1,
            progress=False)                         # the current build, in this process
    asm = be._built[1]
    variants = dict(d.split("=", 1) for d in a.dirs)
    res = {v: {"train_wall_s": [], "train_cpu_s": [], "label_wall_s": [], "label_cpu_s": []} for v in variants}
    for rep in range(a.reps):
        for v, folder in variants.items():
            asm.directory = Path(folder)
            c0 = child_cpu()
            t0 = time.perf_counter()
            r = present(spec, be, pres, tab, order, initial_state(spec, 0), plastic=1, phase="training",
                        seed=1, progress=False)
            c1, t1 = child_cpu(), time.perf_counter()
            lab = present(spec, be, pres, tab, order, learned_state(r.state), plastic=0, phase="inference",
                          seed=2, progress=False)
            c2, t2 = child_cpu(), time.perf_counter()
            st = learned_state(r.state)
            res[v]["train_wall_s"].append(t1 - t0)
            res[v]["train_cpu_s"].append(c1 - c0)
            res[v]["label_wall_s"].append(t2 - t1)
            res[v]["label_cpu_s"].append(c2 - c1)
            res[v]["state_hash"] = digest(*(st[k] for k in sorted(st)))
            res[v]["label_hash"] = digest(lab.responses)
            res[v]["spikes"] = {p.name: p.spikes for p in r.counts.populations}
            print(f"{a.model} {v} rep {rep}: train {t1 - t0:.2f} s wall {c1 - c0:.2f} s cpu, "
                  f"label {t2 - t1:.2f} s wall {c2 - c1:.2f} s cpu, {res[v]['state_hash']}", flush=True)
    for v, r in res.items():
        for k in ("train", "label"):
            r[f"{k}_samples_per_s_best"] = a.samples / min(r[f"{k}_wall_s"])
            r[f"{k}_samples_per_cpu_s_best"] = a.samples / min(r[f"{k}_cpu_s"])
    from brian_snn.protocol import provenance
    out = {"model": a.model, "n_exc": 400, "samples": a.samples, "reps": a.reps, "variants": res,
           "provenance": dict(provenance([Path(__file__)]),
                              note="the variants' binaries are the build folders given by --dirs, built at other commits")}
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({v: {k: round(x, 1) for k, x in r.items() if k.endswith("best")} for v, r in res.items()}))


if __name__ == "__main__":
    main()
