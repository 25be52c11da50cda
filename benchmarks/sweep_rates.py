"""Spike counts of two published GPU size sweeps that did not record them, so they can be fitted.

    .venv/bin/python benchmarks/sweep_rates.py                 # simulates both, writes results/sweep_rates.json
    .venv/bin/python benchmarks/sweep_rates.py --write-rows    # and (re)writes their calibration rows

The GPU model needs each row's synaptic events; two public sweeps publish their times but not their
spikes.  This script simulates each benchmark's own published definition on the CPU and counts the
events (presynaptic spikes x their synapses) of the timed run:

* **Brunel-Hakim** (brian2cuda's ``BrunelHakimHomogDelays`` speed test: N inhibitory LIF neurons
  with noise, C = 1,000 random inputs each, 2 ms delay; Vr 10 mV, theta 20 mV, tau 20 ms,
  refractory 2 ms, J 0.1 mV, mu_ext 25 mV, sigma_ext 1 mV, connect(p = C/N); timed for 10 s on an
  RTX 2080 Ti, N = 100 ... 912,499).  Brian2 (cython runtime), 2 s, the rate after a 200 ms
  transient.  For N >= C the rate no longer depends on N (each neuron keeps C inputs: 3.69, 3.58,
  3.58, 3.58 Hz at N = 1,000 ... 31,622), so the larger sizes take the largest simulated N's rate.
* **Vogels-Abbott** (Knight & Nowotny 2021's ``va_benchmark``: 80 % excitatory LIF, p = 0.1,
  weights 4e-3 / -51e-3 x (4000/N)(0.02/0.1), exponential currents 5 / 10 ms, dt 1 ms, 1 s timed
  on a Jetson TX2, a Titan RTX and a GTX 1650 for N = 1,000 ... 100,000).  A numpy replica of the
  GeNN 4 model it runs (LIF and ExpCurr as GeNN 4 defines them, in GeNN's order within a step:
  the previous step's spikes added to inSyn, Isyn = init x inSyn, the exact LIF update, threshold
  and reset, then inSyn decays), every published size simulated, events counted over the whole
  timed second.  GeNN's random connectivity and initial voltages cannot be reproduced draw for
  draw; seeds differ by ~0.2 Hz at N = 1,000 and ~0.01 Hz at 20,000.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

CAL = ROOT / "hwmodel" / "data" / "gpu_calibration.json"

# -- Brunel-Hakim (brian2cuda speed test) --------------------------------------------------------
BH_C, BH_SIZES = 1000, (100, 316, 1000, 3162, 10000, 31622)
BH_WHERE = ("dev/benchmarks_old/results_2021_07_24_complete_before_major_brian_update/data/"
            "BrunelHakimHomogDelays_All.csv")
BH_PUBLISHED = {  # N: (brian2cuda 'CUDA standalone (max blocks, atomics)', 'GeNN_optimized') in s, 10 s, float64
    100: (2.50003, 0.83494), 316: (2.59236, 0.844176), 1000: (5.03376, 0.890541), 3162: (5.24993, 1.03041),
    10000: (5.85558, 1.5103), 31622: (7.66415, 3.32207), 100000: (16.6017, 8.96319),
    316227: (45.0879, 35.8561), 912499: (None, 223.742)}


def simulate_bh(n: int, duration_s: float, seed: int) -> dict:
    import brian2 as b2
    b2.start_scope()
    b2.prefs.codegen.target = "cython"
    b2.seed(seed)
    b2.defaultclock.dt = 0.1 * b2.ms
    ns = {"Vr": 10 * b2.mV, "theta": 20 * b2.mV, "tau": 20 * b2.ms, "J": 0.1 * b2.mV,
          "muext": 25 * b2.mV, "sigmaext": 1 * b2.mV}
    g = b2.NeuronGroup(n, "dV/dt = (-V + muext + sigmaext * sqrt(tau) * xi) / tau : volt", threshold="V > theta",
                       reset="V = Vr", refractory=2 * b2.ms, method="euler", namespace=ns)
    g.V = ns["Vr"]
    s = b2.Synapses(g, g, on_pre="V += -J", delay=2 * b2.ms, namespace=ns)
    s.connect(p=float(BH_C) / n)
    mon = b2.SpikeMonitor(g)
    b2.run(duration_s * b2.second)
    late = mon.t[:] / b2.second > 0.2
    outdeg = np.bincount(np.asarray(s.i[:]), minlength=n)
    events = float(outdeg[np.asarray(mon.i[:])[late]].sum())
    span = duration_s - 0.2
    return {"N": n, "seed": seed, "synapses": int(len(s)), "rate_hz": int(late.sum()) / n / span,
            "events_per_s": events / span}


def bh_rows(rec: dict) -> list[dict]:
    steps, dt = 100000, 1e-4
    by = {r["N"]: r for r in rec["bh"]}
    top = max(by)
    rows = []
    for n, (t_b2c, t_genn) in BH_PUBLISHED.items():
        syn = n * n if n <= BH_C else n * BH_C          # connect(p = C/N): p >= 1 is all-to-all
        src = by.get(n, by[top])
        how = (f"simulated at N = {n:,}" if n in by else
               f"N >> C: events per neuron simulated at N = {top:,} (the rate is flat from N = 3,162)")
        events = src["events_per_s"] / src["N"] * n * steps * dt
        common = {"dt_s": dt, "steps": steps, "neurons": n, "synaptic_events": round(events),
                  "plasticity_updates": 0, "synapses": syn, "target_bytes": 8 * n, "connectivity": "sparse",
                  "source": "b2c2021", "precision": "float64", "split": "fit"}
        derived = (f"synaptic_events = events per second x 10 s from benchmarks/results/sweep_rates.json ({how}; "
                   f"rate {src['rate_hz']:.3f} Hz); synapses: expected count of connect(p = {min(1.0, BH_C / n):.3g})"
                   f"{' (all-to-all)' if n <= BH_C else ''}; target_bytes: one float64 per neuron (V for Brian2CUDA, "
                   "GeNN's inSyn for Brian2GeNN)")
        net = (f"BrunelHakimHomogDelays (brian2cuda speed test): N = {n:,} inhibitory LIF with noise, "
               f"{min(n, BH_C):,} inputs each, 2 ms delay, 10 s, float64")
        if t_b2c is not None:
            rows.append(dict(id=f"b2c-bh-2080ti-{n}", device="rtx-2080ti", simulator="brian2cuda", network=net,
                             kernels_per_step=5, host_copies_per_step=1, time_s=t_b2c, bytes_per_synapse=8,
                             sweep="b2c-bh-2080ti", where=f"{BH_WHERE}, row N={n}, column 'CUDA standalone (max "
                             "blocks, atomics)'", derived_fields=derived + "; bytes: synapse ID int32 + "
                             "_synaptic_post int32, no per-synapse variable (on_pre 'V += -J')",
                             assumptions="kernels: state update, thresholder reset + threshold, reset, synapses; one "
                             "spike-count copy per step (homogeneous delay)", **common))
        rows.append(dict(id=f"b2genn-bh-2080ti-{n}", device="rtx-2080ti", simulator="genn-4", network=net + ", "
                         "through Brian2GeNN", kernels_per_step=3, host_copies_per_step=0, time_s=t_genn,
                         bytes_per_synapse=4, sweep="b2genn-bh-2080ti", where=f"{BH_WHERE}, row N={n}, column "
                         "'GeNN_optimized'", derived_fields=derived + "; bytes: GeNN sparse uint32 index (assumed "
                         "Brian2GeNN layout)", assumptions="GeNN version not stated in the files (GeNN 4 structure: "
                         "neuron, synapse, spike-count reset kernels)", **common))
    return rows


# -- Vogels-Abbott (Knight & Nowotny 2021, va_benchmark) ------------------------------------------
VA_SIZES = (1000, 5000, 10000, 50000, 100000)
VA_SWEEPS = ("genn-va-tx2", "genn-va-titanrtx", "genn-va-1650")


def _fixed_probability(rng, npre: int, npost: int, p: float, no_autapse: bool, chunk: int = 500):
    """CSR (indptr, indices) of independent Bernoulli(p) connections, rows = presynaptic neurons."""
    ptr, idx = [np.zeros(1, np.int64)], []
    for a in range(0, npre, chunk):
        b = min(npre, a + chunk)
        m = rng.random((b - a, npost), dtype=np.float32) < p
        if no_autapse:
            r = np.arange(a, b)
            m[r - a, r] = False
        rows, cols = np.nonzero(m)
        idx.append(cols.astype(np.int32))
        ptr.append(ptr[-1][-1] + np.cumsum(np.bincount(rows, minlength=b - a)))
    return np.concatenate(ptr), np.concatenate(idx)


def _targets(csr, sources, n: int) -> np.ndarray:
    ptr, idx = csr
    if len(sources) == 0:
        return np.zeros(n)
    return np.bincount(np.concatenate([idx[ptr[s]:ptr[s + 1]] for s in sources]), minlength=n)


def simulate_va(n: int, seed: int, steps: int = 1000) -> dict:
    rng = np.random.default_rng(seed)
    ne = int(round(n * 4.0 / 5.0))
    ni = n - ne
    scale = (4000.0 / n) * (0.02 / 0.1)
    w_e, w_i = 4.0e-3 * scale, -51.0e-3 * scale                  # nA
    ee, ei = _fixed_probability(rng, ne, ne, 0.1, True), _fixed_probability(rng, ne, ni, 0.1, False)
    ii, ie = _fixed_probability(rng, ni, ni, 0.1, True), _fixed_probability(rng, ni, ne, 0.1, False)
    outdeg = np.concatenate([np.diff(ee[0]) + np.diff(ei[0]), np.diff(ii[0]) + np.diff(ie[0])])
    dt, tau_m, c, v_rest, v_reset, v_th, t_ref = 1.0, 20.0, 1.0, -49.0, -60.0, -50.0, 5.0   # ms, nF, mV
    r_m, exp_tc = tau_m / c, np.exp(-dt / tau_m)
    dec_e, dec_i = np.exp(-dt / 5.0), np.exp(-dt / 10.0)
    init_e, init_i = 5.0 * (1 - dec_e) / dt, 10.0 * (1 - dec_i) / dt
    v = rng.uniform(v_reset, v_th, n)
    refr, in_e, in_i = np.zeros(n), np.zeros(n), np.zeros(n)
    spk = np.zeros(n, bool)
    spikes = events = 0
    for _ in range(steps):
        se, si = np.flatnonzero(spk[:ne]), np.flatnonzero(spk[ne:])
        in_e[:ne] += w_e * _targets(ee, se, ne)
        in_e[ne:] += w_e * _targets(ei, se, ni)
        in_i[ne:] += w_i * _targets(ii, si, ni)
        in_i[:ne] += w_i * _targets(ie, si, ne)
        active = refr <= 0
        alpha = (init_e * in_e + init_i * in_i) * r_m + v_rest
        v = np.where(active, alpha - exp_tc * (alpha - v), v)
        refr = np.where(active, refr, refr - dt)
        spk = (refr <= 0) & (v >= v_th)
        v[spk], refr[spk] = v_reset, t_ref
        spikes += int(spk.sum())
        events += int(outdeg[spk].sum())
        in_e *= dec_e
        in_i *= dec_i
    return {"N": n, "seed": seed, "synapses": int(outdeg.sum()), "rate_hz": spikes / n / (steps * dt / 1000),
            "events_per_s": float(events) / (steps * dt / 1000)}


def va_update(rows: list[dict], rec: dict) -> int:
    """Fill the Vogels-Abbott rows' events (mean over the simulated seeds of that size)."""
    by = {}
    for r in rec["va"]:
        by.setdefault(r["N"], []).append(r)
    done = 0
    for row in rows:
        if row.get("sweep") not in VA_SWEEPS:
            continue
        sims = by[row["neurons"]]
        ev = float(np.mean([s["events_per_s"] for s in sims])) * row["steps"] * row["dt_s"]
        rate = float(np.mean([s["rate_hz"] for s in sims]))
        row["synaptic_events"] = round(ev)
        row["target_bytes"] = 8 * row["neurons"]       # one float32 inSyn per synapse group (EE, IE; EI, II) and target
        row.pop("excluded", None)
        old = row.get("assumptions", "")
        tail = old[old.find("time_s = "):] if "time_s = " in old else ""    # the row's other assumptions
        row["assumptions"] = (f"firing rate not published: synaptic events from a simulation of the benchmark's "
                              f"definition (benchmarks/sweep_rates.py, {len(sims)} seed(s): {rate:.3f} Hz, "
                              f"{ev:,.0f} events in the timed second; benchmarks/results/sweep_rates.json). {tail}").strip()
        done += 1
    return done


def write_rows(rec: dict) -> int:
    """Rewrite the Brunel-Hakim rows (replacing the single N = 100 points they supersede) and fill the
    Vogels-Abbott rows' events in the calibration set."""
    cal = json.loads(CAL.read_text())
    new = bh_rows(rec)
    drop = {"b2c-bh100-2080ti", "b2genn-bh100-2080ti"} | {r["id"] for r in new}
    cal["runs"] = [r for r in cal["runs"] if r["id"] not in drop] + new
    n = va_update(cal["runs"], rec)
    CAL.write_text(json.dumps(cal, indent=1, ensure_ascii=False) + "\n")
    return len(new) + n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "results" / "sweep_rates.json"))
    ap.add_argument("--write-rows", action="store_true", help="also rewrite the sweeps' rows in "
                    "hwmodel/data/gpu_calibration.json (then run: hwmodel validate --refit)")
    ap.add_argument("--reuse", action="store_true", help="take the simulations from --out instead of running them")
    a = ap.parse_args(argv)
    if a.reuse:
        rec = json.loads(Path(a.out).read_text())
    else:
        from brian_snn.protocol import provenance
        rec = {"about": "spikes of two GPU benchmark networks whose published timings did not record them, "
               "simulated on the CPU from their published definitions (docstring of benchmarks/sweep_rates.py)",
               "bh": [], "va": []}
        for n in BH_SIZES:
            t0 = time.time()
            rec["bh"].append(simulate_bh(n, 2.0, 1))
            print(f"Brunel-Hakim N = {n:>7,}: {rec['bh'][-1]['rate_hz']:.3f} Hz ({time.time() - t0:.0f} s)", flush=True)
        for n in VA_SIZES:
            for seed in range(3 if n <= 10000 else 1):
                t0 = time.time()
                rec["va"].append(simulate_va(n, seed))
                print(f"Vogels-Abbott N = {n:>7,} seed {seed}: {rec['va'][-1]['rate_hz']:.3f} Hz "
                      f"({time.time() - t0:.0f} s)", flush=True)
        rec["provenance"] = provenance([Path(__file__)])
        Path(a.out).write_text(json.dumps(rec, indent=1) + "\n")
    if a.write_rows:
        n = write_rows(rec)
        print(f"wrote {n} rows of hwmodel/data/gpu_calibration.json; now run: hwmodel validate --refit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
