"""How much accuracy a trained SpikeDyn / Diehl & Cook network loses when exported to NIR.

Train a small network with the project's own pipeline ('brian-snn train', cpp backend, embedded MNIST
subset), or take ``--results``; draw the Poisson input spikes of labelling and test images once (the
project's encoding: rate = pixel / 8 * intensity Hz, one spike per step at most, t_on, dt of the
training presentation; one presentation per image, no repeat of weak ones); run the SAME spikes
through (a) the original conductance network with the learned weights and thresholds frozen
(``conductance_reference``: conductances, refractory period, the model's inhibition) and (b) the
exported NIR graph (``inference_to_nir`` -> ``run_nir``, runtime target), each state at rest at the
start of every image.  Each path labels its neurons on its own responses to the labelling images
(``assign_labels``) and predicts the test images (``predict``).  Recorded per ``v_ref`` of the export:
accuracy of both, the mean spike-count ratio NIR / original (test images), and the fraction of test
images with the same prediction.

Writes benchmarks/results/nir_snn_agreement.json.

    .venv/bin/python benchmarks/nir_snn_agreement.py [--results FILE.h5] [--label 300] [--test 200]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from brian_snn.data import load_dataset
from brian_snn.nir import run_nir
from brian_snn.nir.snn_export import conductance_reference, inference_to_nir, load_snn, poisson_input
from brian_snn.readout import assign_labels, predict
from brian_snn.store import read_results

OUT = Path(__file__).parent / "results" / "nir_snn_agreement.json"
TRAIN = ["--model", "spikedyn", "--neurons", "100", "--backend", "cpp", "--seed", "0"]


def nir_counts(graph, x, dt, batch=100):
    """Spike counts [samples, N] of the graph's output, ``batch`` images per run (memory)."""
    return np.concatenate([run_nir(graph, x[k:k + batch].astype(float), dt=dt).outputs["output"].sum(axis=1)
                           for k in range(0, len(x), batch)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=None, help="a 'brian-snn train' results file (default: train one)")
    ap.add_argument("--label", type=int, default=300, help="training images used to label neurons")
    ap.add_argument("--test", type=int, default=200, help="test images")
    ap.add_argument("--seed", type=int, default=0, help="seed of the Poisson input")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    tmp = None
    if a.results is None:
        tmp = tempfile.TemporaryDirectory()
        a.results = str(Path(tmp.name) / "trained.h5")
        subprocess.run([sys.executable, "-m", "brian_snn", "train", *TRAIN, "--out", a.results], check=True,
                       stdout=subprocess.DEVNULL)
    train_s = time.perf_counter() - t0
    st = load_snn(a.results)
    stored = read_results(a.results)
    cfg = stored["config"]
    data = cfg.get("data") or {}
    ds = load_dataset(data.get("dataset", "embedded"), n_train=data.get("n_train"), n_test=data.get("n_test"),
                      seed=data.get("data_seed", 0), download_ok=False)
    pres = st["presentation"]
    dt = float(pres.get("dt_ms", 0.5)) * 1e-3
    rng = np.random.default_rng(a.seed)
    n_label, n_test = min(a.label, len(ds.y_train)), min(a.test, len(ds.y_test))
    kw = dict(t_on_ms=float(pres.get("t_on_ms", 350.0)), dt_ms=dt * 1e3, intensity=float(pres.get("intensity0", 2.0)))
    x_lab = poisson_input(ds.x_train[:n_label], rng, **kw)
    x_test = poisson_input(ds.x_test[:n_test], rng, **kw)
    y_lab, y_test = ds.y_train[:n_label], ds.y_test[:n_test]

    def score(lab, test):
        assign, _ = assign_labels(lab, y_lab)
        pred = predict(test, assign)
        return pred, float(np.mean(pred == y_test))

    t1 = time.perf_counter()
    ref_lab = conductance_reference(st["w"], st["theta"], x_lab, st["model"], st["params"], dt)
    ref_test = conductance_reference(st["w"], st["theta"], x_test, st["model"], st["params"], dt)
    ref_s = time.perf_counter() - t1
    ref_pred, ref_acc = score(ref_lab, ref_test)
    rows = []
    for v_ref in ("rest", "mid"):
        t1 = time.perf_counter()
        g = inference_to_nir(st, v_ref=v_ref, dt=dt)
        nl, nt = nir_counts(g, x_lab, dt), nir_counts(g, x_test, dt)
        pred, acc = score(nl, nt)
        rows.append({"v_ref": v_ref, "accuracy_nir": acc, "accuracy_change": acc - ref_acc,
                     "spike_count_ratio": float(nt.sum() / max(ref_test.sum(), 1)),
                     "mean_spikes_per_image_nir": float(nt.sum(axis=1).mean()),
                     "same_prediction": float(np.mean(pred == ref_pred)),
                     "wall_s": round(time.perf_counter() - t1, 1)})
    res = {"what": __doc__.splitlines()[0], "results_file_model": st["model"], "n_exc": int(st["theta"].size),
           "train_command": None if tmp is None else "brian-snn train " + " ".join(TRAIN),
           "stored_accuracy_of_training_run": stored["scalars"].get("accuracy"),
           "dataset": ds.source, "label_images": n_label, "test_images": n_test, "dt_s": dt,
           "presentation": {"t_on_ms": kw["t_on_ms"], "intensity": kw["intensity"], "repeats": "none"},
           "input_seed": a.seed,
           "original": {"accuracy": ref_acc, "mean_spikes_per_image": float(ref_test.sum(axis=1).mean()),
                        "wall_s": round(ref_s, 1)},
           "nir": rows, "train_s": round(train_s, 1), "total_s": round(time.perf_counter() - t0, 1),
           "machine": platform.platform()}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({"original": res["original"], "nir": rows}, indent=1))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
