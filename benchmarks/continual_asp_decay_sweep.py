"""Usage: python benchmarks/continual_asp_decay_sweep.py 1e-4,3e-4,1e-3

ASP decay constant: chosen on a validation split of the training data (never the test set)."""
import json, sys, time
import numpy as np
from brian_snn.data import load_dataset, stratified_split
from brian_snn.data.mnist import Dataset
from brian_snn.experiments.continual import ContinualConfig, run_continual
ds = load_dataset("mnist", data_dir="/work/shared/data/mnist")
xa, ya, xv, yv = stratified_split(ds.x_train, ds.y_train, 5000, 1000, seed=7)
val = Dataset("mnist-val", xa, ya, xv, yv, "6000-image training split -> 5000 train / 1000 validation (seed 7)")
out = {}
for lam in [float(v) for v in sys.argv[1].split(",")]:
    cfg = ContinualConfig(model="asp-decay", n_exc=200, samples_per_task=300, label_per_class=40, test_per_class=60,
                          params={"decay": lam})
    t = time.time()
    r = run_continual(cfg, val, out=None, progress=False, log=lambda *a: None)
    s = r["scalars"]
    out[lam] = {k: s[k] for k in ("mean_new", "mean_old", "final_average")}
    print(lam, out[lam], time.time() - t, flush=True)
print(json.dumps(out))
