"""The README's result sections, generated from the committed result files (benchmarks/results/*.json).

    .venv/bin/python benchmarks/report.py            # rewrite every generated section of README.md
    .venv/bin/python benchmarks/report.py --check    # exit 1 when a README number differs from its file

``--check`` also reads the prose around the sections: an interval (``a ± b``), a factor (``1.6×``,
``×1.5``) or a percentage / number of points written there must be one a section prints (a factor
may be rounded), so a measured figure is quoted from a result file or not at all.

A generated section sits between ``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``; NAME is a
result file ``benchmarks/results/NAME.json`` and a renderer below.  Energies are priced here, from
each run's exact counts, on three target families: the Jetson Nano (hwmodel's fitted GPU model, with
its interval), Loihi 1 and the 45 nm ASIC.  Mean ± half-width of the 95 % t-interval over seeds.
"""
import argparse
import json
import math
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import hwmodel  # noqa: E402
from brian_snn.experiments.compare import PAPER  # noqa: E402  (SpikeDyn vs ASP as published)
from brian_snn.experiments.timestep import TOPSPARK_HEADLINE as TOPSPARK_PAPER  # noqa: E402
from brian_snn.backend import model_gpu_structure  # noqa: E402
from brian_snn.protocol import holm, paired, summarise  # noqa: E402

TARGETS = {"jetson-nano": "Jetson Nano", "loihi1": "Loihi 1 (host inputs)", "asic-45nm": "45 nm ASIC"}
JETSON = "jetson-nano"
LOIHI = "loihi1"
#: Where a run's input population lives on each target unless a cell says otherwise: on Loihi the
#: inputs arrive from the host as spikes (hwmodel's ``external_inputs``; docs/methods.md, "Loihi
#: inputs"), elsewhere every population is priced as counted.
INPUTS = {LOIHI: "host"}
VARIANT_REF = "SpikeDyn"        # the ablation's reference row
BLOCK = re.compile(r"(<!-- report:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /report:(?P=name) -->)", re.S)


def code_line(res) -> str:
    """The result file's provenance as stored: commit (its first 10 characters, "+dirty" kept), dirty
    flag, code fingerprint, date; "unknown" where the run recorded none (issue 25)."""
    pv = res.get("provenance") or {}
    commit = str(pv.get("git_commit", "unknown"))
    short = commit if commit == "unknown" else commit[:10] + ("+dirty" if commit.endswith("+dirty") else "")
    dirty = pv.get("dirty", "unknown")
    out = (f"Code {short} (dirty: {'yes' if dirty is True else 'no' if dirty is False else dirty}), "
           f"fingerprint {pv.get('code_fingerprint', 'unknown')}, {pv.get('date', 'unknown')}")
    if pv.get("committed_in"):
        out += f"; the file was committed in {pv['committed_in'][:10]}"
    return out


def _decimals(x, significant=3):
    """Decimals that show ``x`` to about ``significant`` digits."""
    return 0 if x == 0 or abs(x) >= 10 ** (significant - 1) else significant - 1 - math.floor(math.log10(abs(x)))


def pm(s, scale=1.0, digits=None, unit=""):
    """``mean ± ci`` of a summary (``± n/a`` for one seed); ``digits`` None: 3 significant digits."""
    mean = s["mean"] * scale
    d = _decimals(mean) if digits is None else digits
    ci = "n/a" if s["ci95"] != s["ci95"] else f"{s['ci95'] * scale:.{d}f}"
    return f"{mean:.{d}f} ± {ci}{unit}"


def source_populations(counts):
    """The populations no pathway feeds: the run's inputs."""
    fed = {p["post"] for p in counts["pathways"]}
    return tuple(p["name"] for p in counts["populations"] if p["name"] not in fed)


def per_sample_estimate(run, phase, target, inputs=None):
    """hwmodel's per-sample estimate of ``run["counts"][phase]`` on ``target``, priced once per run,
    phase, target and input placement (a table cell and a paired difference read the same price).
    ``inputs``: "host" (the source populations arrive as host spikes: ``external_inputs``) or "chip"
    (every population as counted); None: the target's default in INPUTS."""
    inputs = inputs or INPUTS.get(target, "chip")
    priced = run.setdefault("_priced", {})
    if (phase, target, inputs) not in priced:
        c = counts_record(run, phase)
        ext = source_populations(c) if inputs == "host" else None
        est = hwmodel.estimate(hwmodel.Counts.from_dict(c), target, external_inputs=ext).to_dict()
        e = est["energy_j"]
        priced[phase, target, inputs] = dict(est["per_sample"], regime=est.get("gpu_regime"),
                                             static_share=(e.get("static") or 0.0) / e["total"] if e["total"] else 0.0)
    return priced[phase, target, inputs]


def counts_record(run, phase):
    """The run's counts, with a brian-snn network's GPU structure (kernels and host copies per step,
    float type) as brian-snn counts it now where the record predates that rule: the structure follows
    from the model and the run's parameters (an inhibitory layer adds kernels), the activity is the
    record's own."""
    c = dict(run["counts"][phase])
    if c.get("simulator") == "brian2" and "host_copies_per_step" not in c and run.get("model"):
        c.update(model_gpu_structure(run["model"], n_exc=run.get("n_exc", 100), **run.get("params", {})))
    return c


def energy(run, phase, target, inputs=None):
    """(energy per sample J, [low, high] of the model's interval or None)."""
    est = per_sample_estimate(run, phase, target, inputs)
    return est["energy_j"], est.get("energy_interval_j")


def energy_cell(runs, phase, target, scale=1e3):
    """Mean ± CI over seeds of the energy per sample in mJ (``scale`` 1e6: µJ, for a Loihi or ASIC
    inference), the Jetson's model interval, averaged over seeds, in brackets."""
    vals = [energy(r, phase, target) for r in runs]
    cell = pm(summarise([v for v, _ in vals]), scale)
    if vals[0][1]:
        lo, hi = (scale * sum(iv[i] for _, iv in vals) / len(vals) for i in (0, 1))
        cell += f" [{lo:.{_decimals(lo)}f}, {hi:.{_decimals(hi)}f}]"
    return cell


class Marks:
    """The ✓ of one table: each paired comparison leaves a placeholder; :meth:`resolve` puts a ✓
    where Holm's correction over all the table's comparisons rejects 0 (familywise 5 %)."""

    def __init__(self):
        self.items = []

    def __call__(self, d, model_ok=True):
        self.items.append((d["p"], " ✓" if model_ok else " ✓ (seeds only)"))
        return f"\x00{len(self.items) - 1}\x00"

    def resolve(self, text):
        keep = holm([p for p, _ in self.items])
        return re.sub("\x00(\\d+)\x00", lambda m: self.items[int(m[1])][1] if keep[int(m[1])] else "", text)

    def note(self, jetson=False):
        out = (f"✓: the paired interval excludes 0 after Holm's correction for the {len(self.items)} comparisons of "
               f"this table (familywise error 5 %, step-down on the paired t-tests' p-values; the ± shown are the "
               f"uncorrected 95 % intervals, so a difference whose interval just excludes 0 may carry no ✓).")
        if jetson:
            out += ("  Jetson Nano: both arms are priced by the same fitted model on the same device; where both "
                    "are in the same regime (launch- or bandwidth-bound) the model's error is treated as one common "
                    "factor on both prices, which cancels in their ratio, so its interval does not widen a "
                    "relative difference; where the regimes differ the model's error no longer cancels, and a ✓ also "
                    "needs the two arms' model intervals not to overlap (else \"✓ (seeds only)\").")
        return out


def survives_model(base, new, phase, target):
    """Whether a paired relative difference on ``target`` survives the cost model's own interval:
    True on a non-GPU target (no model interval), on a GPU when every pair of runs is priced in the
    same regime (the model's error is one factor on both arms and cancels), else only when the two
    arms' mean model intervals do not overlap."""
    if target != JETSON:
        return True
    if all(per_sample_estimate(b, phase, target)["regime"] == per_sample_estimate(n, phase, target)["regime"]
           for b, n in zip(base, new)):
        return True
    iv = [[energy(r, phase, target)[1] for r in rs] for rs in (base, new)]
    (lb, hb), (ln, hn) = ([sum(x[i] for x in v) / len(v) for i in (0, 1)] for v in iv)
    return hn < lb or ln > hb


def relative_cell(base, new, phase, target, mark):
    """Paired relative change of the energy per sample, new vs base (same seeds, same order), with
    the table's ✓ placeholder."""
    def rel(inputs=None):
        ratios = [energy(n, phase, target, inputs)[0] / energy(b, phase, target, inputs)[0] - 1 for b, n in zip(base, new)]
        return paired(ratios, [0.0] * len(ratios))
    r = rel()
    cell = pm(r, 100, 0, " %") + mark(r, survives_model(base, new, phase, target))
    if target == LOIHI:                      # the other placement of the inputs, where the sign differs
        alt = rel("chip")
        if (alt["mean"] > 0) != (r["mean"] > 0):
            cell += f" (on-chip inputs: {pm(alt, 100, 0, ' %')}{mark(alt)})"
    return cell


def loihi_note(runs, phases=("training", "inference")):
    """What a Loihi 1 figure of these runs assumes about the inputs, and how much of it is static power."""
    share = {k: [per_sample_estimate(r, ph, LOIHI, k)["static_share"] for r in runs for ph in phases
                 if ph in r["counts"]] for k in ("host", "chip")}
    rng = {k: f"{100 * min(v):.0f}–{100 * max(v):.0f} %" for k, v in share.items() if v}
    return (f"Loihi 1 (host inputs): each run's input population (the populations no pathway feeds) arrives "
            f"from the host as spike messages (hwmodel `external_inputs`, CLI `--external-inputs`; priced at "
            f"Loihi's within-chip spike price, since no host-spike price is published: a lower bound), the "
            f"other neurons are on the chip; a difference whose sign changes with the inputs as on-chip "
            f"neurons shows both.  Static power over the modelled latency is {rng['host']} of every Loihi "
            f"energy here ({rng['chip']} with on-chip inputs), so Loihi's energy follows the modelled time per "
            f"step (cores in use, the barrier between them, the busiest core's event work), not the count of "
            f"operations.")


def per_sample(run, field, phase="training"):
    """A count per sample of ``phase``, summed over pathways (None when a pathway lacks it; a
    pathway without plasticity changes no weight)."""
    c = run["counts"][phase]
    vals = [0 if field == "weight_changes" and not p["plasticity_updates"] else p.get(field) for p in c["pathways"]]
    return None if any(v is None for v in vals) else sum(vals) / c["samples"]


def count_cell(runs, field, phase="training"):
    """Mean over seeds of a count per sample (n/a when a run's counts lack it)."""
    vals = [per_sample(r, field, phase) for r in runs]
    return "n/a" if None in vals else f"{sum(vals) / len(vals):,.0f}"


def by_seed(runs, key):
    """Runs grouped by ``key(run)``, each group sorted by seed (first-seen group order)."""
    groups = {}
    for r in runs:
        groups.setdefault(key(r), []).append(r)
    return {k: sorted(v, key=lambda r: r["seed"]) for k, v in groups.items()}


def same_seeds(a, b):
    return bool(a) and bool(b) and [r["seed"] for r in a] == [r["seed"] for r in b]


def missing_note(res, what):
    if not res.get("missing"):
        return ""
    return (f"  **{len(res['missing'])} planned run(s) did not finish** and are not in the tables: "
            + "; ".join(what(d) for d in res["missing"]) + ".")


ENERGY_HEAD = (" | ".join(f"training, {t}" for t in TARGETS.values()) + " | "
               + " | ".join(f"inference, {t}" for t in TARGETS.values()))
PHASES = ("training", "inference")


def static_mnist(res) -> str:
    runs = res["runs"]
    group = by_seed(runs, lambda r: (r["model"], r["n_exc"], r["epochs"]))
    cells = sorted({(n, e) for _, n, e in group})
    models = list(dict.fromkeys(r["model"] for r in runs))
    group = {k: group[k] for k in sorted(group, key=lambda k: (models.index(k[0]), k[1], k[2]))}
    sp, sel = res["split"], res["selection"]
    seeds = sorted({r["seed"] for r in runs})
    out = [f"Protocol: train {sp['train']['n']:,} / validation {sp['val']['n']:,} / test {sp['test']['n']:,} "
           f"images of the 8,000-image MNIST pool (seeded, stratified; split seed {sp['split_seed']}), seeds "
           f"{', '.join(map(str, seeds))} (initial weights, order, input noise), mean ± 95 % t-interval.  "
           f"SpikeDyn's x_tar chosen on **validation** ({', '.join(f'{x}: {100 * a:.1f} %' for x, a in sel['val_accuracy'].items())}"
           f" at N = {sel['neurons']}, {sel['epochs']} epoch, seed 0; with 3 seeds it keeps the best mean: section "
           f"\"Defaults re-chosen on validation\") → **{sel['chosen']}**; SpikeDyn's η (`nu_post` 0.002) and "
           f"adaptive learning rate (on), first set on test images, were re-chosen on **validation** afterwards and kept "
           f"(`benchmarks/results/defaults_selection.json`: N = 100, 1 epoch, x_tar = 0.1, 3 seeds; section \"Defaults "
           f"re-chosen on validation\"), so these runs use the validated values; Diehl & Cook as published.  "
           f"Test touched once per run.  {code_line(res)}."
           + missing_note(res, lambda d: f"{d['model']} N={d['n_exc']} {d['epochs']} ep seed {d['seed']}")]
    out += ["", "| model | N | epochs | validation % | **test %** | plasticity updates / training sample |",
            "|---|---|---|---|---|---|"]
    for (m, n, e), rs in group.items():
        out.append(f"| {m} | {n} | {e} | {pm(summarise([r['val_accuracy'] for r in rs]), 100, 2)} | "
                   f"**{pm(summarise([r['test_accuracy'] for r in rs]), 100, 2)}** | {count_cell(rs, 'plasticity_updates')} |")
    out += ["", "Energy per sample (mJ), priced from each run's counts (Jetson: [the model's interval]):", "",
            "| model | N | epochs | " + ENERGY_HEAD + " |", "|---|---|---|" + "---|" * (2 * len(TARGETS))]
    for (m, n, e), rs in group.items():
        out.append("| " + " | ".join([m, str(n), str(e)] + [energy_cell(rs, ph, t) for ph in PHASES for t in TARGETS]) + " |")
    mark = Marks()
    out += ["", "SpikeDyn − Diehl & Cook, paired by seed (✓: below the table):", "",
            "| N | epochs | Δ test accuracy (pp) | " + " | ".join(f"Δ training energy, {t}" for t in TARGETS.values())
            + " | " + " | ".join(f"Δ inference energy, {t}" for t in TARGETS.values()) + " |",
            "|---|---|---|" + "---|" * (2 * len(TARGETS))]
    for n, e in cells:
        a, b = group.get(("diehl-cook", n, e)), group.get(("spikedyn", n, e))
        if not same_seeds(a, b):
            continue
        d = paired([r["test_accuracy"] for r in b], [r["test_accuracy"] for r in a])
        out.append("| " + " | ".join([str(n), str(e), pm(d, 100, 2) + mark(d)]
                                     + [relative_cell(a, b, ph, t, mark) for ph in PHASES for t in TARGETS]) + " |")
    out += ["", mark.note(jetson=True), "", loihi_note(res["runs"])]
    return mark.resolve("\n".join(out) + "\n")


def _selection_line(res):
    sel = res["selection"]
    scores = by_seed(sel["runs"], lambda r: (r["model"], json.dumps(r["params"])))
    parts = [f"{m} {', '.join(f'{k}={v:g}' for k, v in json.loads(p).items())}: "
             f"{100 * sum(r['acc_new'] for r in rs) / len(rs):.1f} / {100 * sum(r['acc_old'] for r in rs) / len(rs):.1f} %"
             for (m, p), rs in scores.items()]
    chosen = "; ".join(f"{m} {', '.join(f'{k} = {v:g}' for k, v in c.items())}" for m, c in sel["chosen"].items())
    return (f"Chosen on **validation** (N = {sel['neurons']}, seed(s) {', '.join(map(str, sel['seeds']))}; "
            f"new / old-task accuracy: {'; '.join(parts)}) → **{chosen}**; SpikeDyn's η and adaptive learning rate "
            f"(0.002, on), first set on test images, were re-chosen on **validation** afterwards and kept "
            f"(`benchmarks/results/defaults_selection.json`, on the static validation split; section \"Defaults "
            f"re-chosen on validation\"), so these runs use the validated values; Diehl & Cook as published.")


def _protocol_line(res):
    sp, cfg = res["split"], res["config"]
    seeds = sorted({r["seed"] for r in res["runs"]})
    return (f"Protocol: classes arrive one task at a time (0 → 9), {cfg['samples_per_task']} training images per task "
            f"from the train split ({sp['train']['n']:,} images; validation {sp['val']['n']:,}, test {sp['test']['n']:,}; "
            f"split seed {sp['split_seed']}), no replay; after each task the frozen network labels its neurons with "
            f"{cfg['label_per_class']} already-seen images per learned class and is tested on {cfg['test_per_class']} "
            f"test images per learned class.  Seeds {', '.join(map(str, seeds))} (initial weights, sample choice and "
            f"order, input noise), mean ± 95 % t-interval.  New task = mean over tasks 2-10 of the just-learned task's "
            f"accuracy; old tasks = mean over tasks 2-10 of the mean accuracy on the earlier tasks.  "
            f"{code_line(res)}.")


def continual_mnist(res) -> str:
    group = by_seed(res["runs"], lambda r: (r["model"], r["n_exc"]))
    group = {k: group[k] for k in sorted(group, key=lambda k: k[1])}
    out = [_protocol_line(res) + "  " + _selection_line(res)
           + missing_note(res, lambda d: f"{d['model']} N={d['n_exc']} seed {d['seed']}"), "",
           "| model | N | **new task %** | **old tasks %** | final average % | plasticity updates / sample "
           "| weight changes / sample | " + ENERGY_HEAD + " |",
           "|---|---|---|---|---|---|---|" + "---|" * (2 * len(TARGETS))]
    for (m, n), rs in group.items():
        row = [m, str(n)] + [pm(summarise([r[k] for r in rs]), 100, 1) for k in ("acc_new", "acc_old", "final_average")]
        row += [count_cell(rs, f) for f in ("plasticity_updates", "weight_changes")]
        out.append("| " + " | ".join(row + [energy_cell(rs, ph, t) for ph in PHASES for t in TARGETS]) + " |")
    out += ["", "Energies in mJ per sample (training: the stream; inference: labelling and testing passes).  "
            "SpikeDyn − each baseline, paired by seed (✓: below the table); paper: SpikeDyn vs ASP as "
            "published (training energy / inference energy / new task / old tasks):", "",
            "| N | baseline | Δ new task (pp) | Δ old tasks (pp) | "
            + " | ".join(f"Δ training energy, {t}" for t in TARGETS.values()) + " | "
            + " | ".join(f"Δ inference energy, {t}" for t in TARGETS.values()) + " | paper |",
            "|---|---|---|---|" + "---|" * (2 * len(TARGETS)) + "---|"]
    mark = Marks()
    for (m, n), base in group.items():
        sd = group.get(("spikedyn", n))
        if m == "spikedyn" or not same_seeds(base, sd):
            continue
        row = [str(n), m]
        for k in ("acc_new", "acc_old"):
            d = paired([r[k] for r in sd], [r[k] for r in base])
            row.append(pm(d, 100, 1) + mark(d))
        row += [relative_cell(base, sd, ph, t, mark) for ph in PHASES for t in TARGETS]
        p = PAPER.get(n) if m in ("asp", "asp-decay") else None
        row.append(f"{p['train_energy_pct']:+d} % / {p['inference_energy_pct']:+d} % / {p['new_pp']:+d} / {p['old_pp']:+d}"
                   if p else "-")
        out.append("| " + " | ".join(row) + " |")
    out += ["", mark.note(jetson=True), "", loihi_note(res["runs"])]
    return mark.resolve("\n".join(out) + "\n")


def decay_rate(runs) -> str:
    """The rate the ablation's "+ explicit weight decay" variant ran with (from its runs' parameters)."""
    rates = {r["params"].get("decay") for r in runs if r.get("variant") == "+ explicit weight decay"}
    return ", ".join(f"{x:g}" for x in sorted(x for x in rates if x is not None)) or "?"


def spikedyn_ablation(res) -> str:
    runs = res["runs"]
    cont = by_seed([r for r in runs if r["kind"] == "continual"], lambda r: r["variant"])
    stat = by_seed([r for r in runs if r["kind"] == "static"], lambda r: r["variant"])
    ref_c, ref_s = cont.get(VARIANT_REF), stat.get(VARIANT_REF)
    n = runs[0]["n_exc"] if runs else "?"
    epochs = res["config"]["ablation_epochs"]
    out = [f"SpikeDyn at N = {n}, each mechanism removed (−) or added (+) in turn, with the parameters chosen on "
           f"validation above ({', '.join(f'{k} = {v:g}' for k, v in res['selection']['chosen'].get('spikedyn', {}).items())}); "
           f"the added decay relaxes at {decay_rate(runs)} per sample (our ASP-style `asp-decay`'s rate, chosen on "
           f"validation), the spurious-update criterion a minimum of 3 "
           f"spikes fixed before any run.  Continual: the stream above; static: train {epochs} epoch on the train split, "
           f"test once.  Counts and energies per training / inference sample of the continual runs.  "
           f"Δ: paired by seed against SpikeDyn (✓: below the table)."
           + missing_note(res, lambda d: f"{d['variant']} ({d['kind']}) seed {d['seed']}"), "",
           "| variant | what it changes | new task % | old tasks % | static MNIST test % | plasticity updates / sample "
           "| weight changes / sample | " + ENERGY_HEAD + " |",
           "|---|---|---|---|---|---|---|" + "---|" * (2 * len(TARGETS))]
    what = {v["name"]: v["what"] for v in res["variants"]}
    mark = Marks()
    for name in what:
        rc, rs = cont.get(name, []), stat.get(name, [])
        cells = []
        for rows, ref, key in ((rc, ref_c, "acc_new"), (rc, ref_c, "acc_old"), (rs, ref_s, "test_accuracy")):
            if not rows:
                cells.append("n/a")
                continue
            cell = pm(summarise([r[key] for r in rows]), 100, 1)
            if name != VARIANT_REF and same_seeds(ref, rows):
                d = paired([r[key] for r in rows], [r[key] for r in ref])
                cell += f" (Δ {pm(d, 100, 1)}{mark(d)})"
            cells.append(cell)
        if rc:
            cells += [count_cell(rc, f) for f in ("plasticity_updates", "weight_changes")]
            cells += [energy_cell(rc, ph, t) for ph in PHASES for t in TARGETS]
        else:
            cells += ["n/a"] * (2 + 2 * len(TARGETS))
        out.append("| " + " | ".join([name.replace("- ", "− ", 1), what[name]] + cells) + " |")
    out += ["", mark.note(), "", loihi_note([r for r in runs if r["kind"] == "continual"])]
    return mark.resolve("\n".join(out) + "\n")


def _per_sample_ms(run, phase):
    """Measured CPU wall time of the simulation per sample (ms) of a TopSpark run's phase."""
    return 1e3 * (run["train_sim_s"] / run["train_samples"] if phase == "training"
                  else run["test_sim_s"] / run["test_samples"])


def _latency_ms(run, target=JETSON):
    est = per_sample_estimate(run, "inference", target)
    return 1e3 * est["latency_s"], [1e3 * x for x in est.get("latency_interval_s") or ()]


def ratio_cell(base, runs, value):
    """Per-seed ``value(base) / value(run)`` (how many times the run saves), mean ± 95 % CI."""
    return pm(summarise([value(b) / value(r) for b, r in zip(base, runs)]), 1.0, 2, "×")


def energy_ratio_cell(base, runs, phase, target):
    """ratio_cell of the energy per sample; on Loihi also the ratio with on-chip inputs where it is on
    the other side of 1 (a saving with one placement, a cost with the other)."""
    cell = ratio_cell(base, runs, lambda r: energy(r, phase, target)[0])
    if target == LOIHI:
        host, chip = ([energy(b, phase, target, k)[0] / energy(r, phase, target, k)[0] for b, r in zip(base, runs)]
                      for k in ("host", "chip"))
        if (sum(host) / len(host) > 1) != (sum(chip) / len(chip) > 1):
            cell += f" (on-chip inputs: {pm(summarise(chip), 1.0, 2, '×')})"
    return cell


def _topspark_rows(res):
    """{model: {window: runs by seed}} of a TopSpark record."""
    out = {}
    for (m, w), rs in by_seed(res["runs"], lambda r: (r["model"], r["window_ms"])).items():
        out.setdefault(m, {})[w] = rs
    return {m: dict(sorted(ws.items(), reverse=True)) for m, ws in out.items()}


def _saving_cells(base, runs, cpu_ms):
    """How many times less than ``base``, per seed: measured CPU time per training and per test sample
    (``cpu_ms(run, phase)``), the Jetson's modelled latency, the energy per sample on every target."""
    return ([ratio_cell(base, runs, lambda r: cpu_ms(r, ph)) for ph in PHASES]
            + [ratio_cell(base, runs, lambda r: _latency_ms(r)[0])]
            + [energy_ratio_cell(base, runs, ph, t) for ph in PHASES for t in TARGETS])


def _topspark_paper_row(before, after):
    """The abstract's row of a TopSpark table: ``before`` empty cells, its accuracy claim, ``after`` empty
    cells, then its latency and energy savings under the Jetson latency and energy columns."""
    p = TOPSPARK_PAPER
    cells = ["TopSpark (abstract)", "adaptive", *[""] * before, f"within {p['accuracy_pp']:g} %", *[""] * after,
             f"{p['latency']:g}×", f"{p['energy_train']:g}× (device not stated)", "", "", f"{p['energy_inference']:g}×",
             "", ""]
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def topspark(res) -> str:
    cfg, sp, sel = res["config"], res["split"], res["selection"]
    rows = _topspark_rows(res)
    seeds = sorted({r["seed"] for r in res["runs"]})
    w0 = max(cfg["windows_ms"])
    val = {(v["model"], v["window_ms"], v["candidate"]): v["values"] for v in sel["val_accuracy"]}
    out = [f"Protocol: train {sp['train']['n']:,} / validation {sp['val']['n']:,} / test {sp['test']['n']:,} images "
           f"(split seed {sp['split_seed']}), N = {cfg['n_exc']}, one epoch, seeds {', '.join(map(str, seeds))}, "
           f"mean ± 95 % t-interval; neurons labelled on {cfg['label_samples']:,} train images.  Every window has the "
           f"same tuning budget, {len(cfg['strengths'])} candidates: the full {w0:g} ms window tries the learning rate "
           f"× {' / '.join(f'{f:g}' for f in cfg['full_eta'])}, a shorter one the enhancement rules' exponents × "
           f"{' / '.join(f'{s:g}' for s in cfg['strengths'])} (0: no enhancement).  Kept per window: the best mean "
           f"**validation** accuracy; chosen window: {sel['rule']}; each kept candidate tested once.  "
           f"{code_line(res)}."
           + missing_note(res, lambda d: f"{d['model']} {d['window_ms']:g} ms seed {d['seed']}"), ""]
    head = ["model", "chosen window", "Δ test accuracy (pp)", "CPU time × training", "CPU time × inference",
            "Jetson latency ×", *(f"training energy × {t}" for t in TARGETS.values()),
            *(f"inference energy × {t}" for t in TARGETS.values())]
    out += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    marks = Marks()
    for m, ws in rows.items():
        w = sel["chosen_window_ms"][m]
        base, rs = ws[w0], ws[w]
        d = paired([r["test_accuracy"] for r in rs], [r["test_accuracy"] for r in base])
        cells = [m, f"{w:g} ms ({rs[0]['candidate']})", pm(d, 100, 1) + marks(d),
                 *_saving_cells(base, rs, _per_sample_ms)]
        out.append("| " + " | ".join(cells) + " |")
    out.append(_topspark_paper_row(0, 2))
    out += ["", marks.note(), "", loihi_note(res["runs"])]
    out += ["", "Every window (kept candidate; ×: how many times less than the full window, per seed):", "",
            "| model | window | kept (validation % of each candidate) | validation % | **test %** | CPU ms / training sample "
            "| CPU ms / test sample | Jetson latency ms / test sample [interval] | inference energy × Jetson / Loihi 1 (host inputs) / ASIC |",
            "|---|---|---|---|---|---|---|---|---|"]
    for m, ws in rows.items():
        for w, rs in ws.items():
            cands = [lab for (mm, ww, lab) in val if (mm, ww) == (m, w)]
            kept = rs[0]["candidate"]
            scores = ", ".join(("**" if lab == kept else "") + f"{lab}: {100 * sum(val[m, w, lab]) / len(val[m, w, lab]):.1f}"
                               + ("**" if lab == kept else "") for lab in cands)
            lat = [_latency_ms(r) for r in rs]
            lo, hi = (sum(iv[i] for _, iv in lat) / len(lat) for i in (0, 1))
            mark = " ◀" if w == sel["chosen_window_ms"][m] else ""
            out.append(f"| {m} | {w:g} ms{mark} | {scores} | {pm(summarise([r['val_accuracy'] for r in rs]), 100, 1)} | "
                       f"**{pm(summarise([r['test_accuracy'] for r in rs]), 100, 1)}** | "
                       f"{pm(summarise([_per_sample_ms(r, 'training') for r in rs]), 1.0, 2)} | "
                       f"{pm(summarise([_per_sample_ms(r, 'inference') for r in rs]), 1.0, 2)} | "
                       f"{pm(summarise([v for v, _ in lat]), 1.0, 3)} [{lo:.3f}, {hi:.3f}] | "
                       + " / ".join(energy_ratio_cell(ws[w0], rs, 'inference', t) for t in TARGETS)
                       + " |")
    return marks.resolve("\n".join(out) + "\n")


def _adaptive_cpu_ms(run, phase):
    """Measured CPU time of an adaptive-study run per sample of ``phase`` (ms)."""
    return 1e3 * run["cpu_s"][phase] / run["samples"][phase]


def topspark_adaptive(res) -> str:
    """TopSpark's adaptive window (issue 26): per model, the full fixed window, the protocol study's
    short fixed window (where it differs) and the adaptive candidate the cost-aware policy chose on
    validation, each tested once; ratios are how many times less than the full window, per seed."""
    cfg, sp, sel = res["config"], res["split"], res["selection"]
    groups = by_seed(res["adaptive"], lambda r: (r["model"], r["candidate"]))
    seeds = sorted({r["seed"] for r in res["adaptive"]})
    out = [f"{'Reduced scale' if str(res.get('scale', '')).startswith('reduced') else 'Protocol scale'}: train "
           f"{sp['train']['n']:,} / validation {sp['val']['n']:,} / test {sp['test']['n']:,} images "
           f"(split seed {sp['split_seed']}), N = {cfg['n_exc']}, one epoch, seeds {', '.join(map(str, seeds))}, "
           f"mean ± 95 % t-interval; neurons labelled on {cfg['label_samples']:,} train images.  Grid: stop when the "
           f"leading neuron has k spikes (k ∈ {{{', '.join(map(str, cfg['ks']))}}}) and leads the runner-up by m "
           f"(m ∈ {{{', '.join(map(str, cfg['ms']))}}}), at most T_max (the full {cfg['full_window_ms']:g} ms or the "
           f"protocol study's short window).  Rule: {res['rule']}.  {code_line(res)}.", ""]
    head = ["model", "candidate", "validation %", "**test %**", "Δ test vs full (pp)", "steps / test sample",
            "CPU time × training", "CPU time × inference", "Jetson latency ×",
            *(f"training energy × {t}" for t in TARGETS.values()), *(f"inference energy × {t}" for t in TARGETS.values())]
    out += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    marks = Marks()
    for model in cfg["models"]:
        base = groups[model, "fixed full"]
        for (m, cand), rs in groups.items():
            if m != model:
                continue
            steps = [r["test_steps_per_sample"] for r in rs]
            cells = [m, cand + (" ◀" if cand == sel[m]["chosen"] else ""),
                     pm(summarise([r["val_accuracy"] for r in rs]), 100, 1),
                     f"**{pm(summarise([r['test_accuracy'] for r in rs]), 100, 1)}**"]
            steps_cell = (f"{sum(s['mean'] for s in steps) / len(steps):,.0f} "
                          f"[{min(s['min'] for s in steps):,}–{max(s['max'] for s in steps):,}]")
            if rs is base:
                cells += ["—", steps_cell] + ["ref."] * (3 + 2 * len(TARGETS))
            else:
                d = paired([r["test_accuracy"] for r in rs], [r["test_accuracy"] for r in base])
                cells += [pm(d, 100, 1) + marks(d), steps_cell, *_saving_cells(base, rs, _adaptive_cpu_ms)]
            out.append("| " + " | ".join(cells) + " |")
    out.append(_topspark_paper_row(2, 3))
    feas = {m: len(s["feasible"]) for m, s in sel.items()}
    out += ["", marks.note(), "",
            "Policy on validation: " + "; ".join(
                f"{m}: {feas[m]} of {len(s['candidates'])} candidates within {cfg['tolerance_pp']:g} points of the full "
                f"window's {100 * s['reference_val_accuracy']:.1f} %, the cheapest on {cfg['target']} chosen"
                for m, s in sel.items()) + ".",
            "", loihi_note(res["adaptive"])]
    return marks.resolve("\n".join(out) + "\n")


def _search_priced(run, target=JETSON):
    """A model-search run's training energy per sample (J) and memory (bytes) re-priced from its counts
    at its weight bits, as the search prices them (brian_snn.experiments.search.price)."""
    from brian_snn.experiments.search import price
    e = price(hwmodel.Counts.from_dict(run["counts"]["training"]), run["weight_bits"], target)
    return e["energy_j_per_sample"], e["memory_bytes"]


def model_search(res) -> str:
    """The memory/energy-constrained model search over 3 seeds (benchmarks/model_search.py)."""
    cfg = res["config"]
    out = [f"SpikeDyn candidates N × weight bits, the short continual protocol ({cfg['samples_per_task']} training "
           f"samples per task, {cfg['label_per_class']} labelling and {cfg['test_per_class']} tested samples per "
           f"class), compared on {res['n_val']:,} validation images (20 % of the {res['n_train']:,} training images, "
           f"split seed {res['split_seed']}), seeds {', '.join(map(str, res['seeds']))}, mean ± 95 % t-interval.  "
           f"Budgets: memory {res['max_memory_bytes'] / 1000:g} KB, training energy {res['max_energy_j']:g} J per "
           f"sample on the Jetson Nano (module power).  Rule: {res['rule']}.  {code_line(res)}.", "",
           "| candidate | validation accuracy % | training energy mJ / sample, Jetson Nano | memory KiB | feasible | "
           "Pareto |", "|---|---|---|---|---|---|"]
    for m in res["means"]:
        rs = sorted((r for r in res["runs"] if r["name"] == m["name"]), key=lambda r: r["seed"])
        priced = [_search_priced(r) for r in rs]
        mark = " **selected**" if m["name"] == res["selected"] else ""
        out.append(f"| {m['name']}{mark} | {pm(summarise([r['accuracy'] for r in rs]), 100, 1)} | "
                   f"{pm(summarise([e for e, _ in priced]), 1e3)} | {priced[0][1] / 1024:.0f} | "
                   f"{'yes' if m['feasible'] else 'no'} | {'yes' if m['pareto'] else ''} |")
    for d in res["screened_out"]:
        out.append(f"| {d['name']} | – | – | {d['memory_bytes'] / 1024:.0f} | screened out: {d['reason']} | |")
    if res["test"]:
        ts = sorted(res["test"], key=lambda r: r["seed"])
        out += ["", f"Selected on validation: **{res['selected']}**; its test accuracy (test split touched once per "
                    f"seed): **{pm(summarise([r['accuracy'] for r in ts]), 100, 1)} %** "
                    "(seeds: " + ", ".join(f"{100 * r['accuracy']:.1f}" for r in ts) + ")."]
    else:
        out += ["", "No candidate meets the budgets."]
    return "\n".join(out) + "\n"


SOLSA_METHODS = {"solsa": "SOLSA", "online-simple": "simplified", "bptt": "BPTT"}
SOLSA_BASES = {"online-simple": "vs_non_bptt_points", "bptt": "vs_bptt_points"}


def _solsa_label(task):
    return task if task == "patterns" else f"{task} (UEA)"


def _solsa_choice(method, c):
    if method == "bptt":
        return f"lr {c['lr']:g}"
    return ("P = 8" if c["scheduled"] else "every step") + (", early stop" if c["early_stop"] else "")


def _kib(b):
    return f"{b / 1024:.1f}"


def solsa(res) -> str:
    cfg, runs, sel = res["config"], res["runs"], res["selection"]
    tasks = [t for t in cfg["tasks"] if sel.get(t)]
    group = by_seed(runs, lambda r: (r["task"], r["method"]))
    seeds = sorted({r["seed"] for r in runs})
    uea = [t for t in tasks if t != "patterns"]
    sp = res["splits"]
    parts = ", ".join(f"{t} {sp[t]['fit']['n']} / {sp[t]['val']['n']} / {sp[t]['test']['n']}" for t in uea)
    val = (f"Validation: a seeded stratified {cfg['val_fraction']:.0%} of each UEA TRAIN split, at least one per "
           f"class (fit / validation / test: {parts})")
    if "patterns" in sp:
        n = {k: sp["patterns"][k]["n"] for k in ("fit", "val", "test")}
        val += f"; for patterns {n['val']} extra generated samples ({n['fit']} / {n['val']} / {n['test']})"
    out = [f"Protocol: hidden {'-'.join(map(str, cfg['hidden']))}, {cfg['epochs']} epochs, batch 1, seeds "
           f"{', '.join(map(str, seeds))} (initial weights, sample order), mean ± 95 % t-interval, numpy engine (the "
           f"tests prove it identical to the Brian2 equations).  {val}.  Each method gets 4 candidates, chosen on "
           f"**validation** (mean over seeds at the last epoch): the online rules {{scheduled update P = 8, every "
           f"step}} × {{early stop on, off}}, BPTT the learning rate {{1e-3, 2e-3, 5e-3, 1e-2}}; the chosen runs are "
           f"tested once.  {code_line(res)}."
           + missing_note(res, lambda d: f"{d['task']} {d['method']} ({d['finished']}/{d['planned']} runs)")]
    head = ["task", *(f"{v} test %" for v in SOLSA_METHODS.values()), "Δ SOLSA − simplified (pp)",
            "Δ SOLSA − BPTT (pp)", "chosen (SOLSA / simplified / BPTT)"]
    out += ["", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    diffs = {m: [] for m in SOLSA_BASES}
    mark = Marks()
    for t in tasks:
        cells = [_solsa_label(t)]
        for m in SOLSA_METHODS:
            rs = group.get((t, m))
            cells.append(pm(summarise([r["test_accuracy"] for r in rs]), 100, 1) if rs else "n/a")
        s = group.get((t, "solsa"))
        for m in SOLSA_BASES:
            b = group.get((t, m))
            if same_seeds(s, b):
                d = paired([r["test_accuracy"] for r in s], [r["test_accuracy"] for r in b])
                diffs[m].append(d["values"])
                cells.append(pm(d, 100, 1) + mark(d))
            else:
                cells.append("n/a")
        cells.append(" / ".join(_solsa_choice(m, sel[t][m]["chosen_config"]) if m in sel[t] else "n/a"
                                for m in SOLSA_METHODS))
        out.append("| " + " | ".join(cells) + " |")
    avg = ["**mean of the tasks**", "", "", ""]
    for m in SOLSA_BASES:
        if len(diffs[m]) == len(tasks) and tasks:
            per_seed = [sum(v[i] for v in diffs[m]) / len(tasks) for i in range(len(seeds))]
            d = paired(per_seed, [0.0] * len(per_seed))
            avg.append(f"**{pm(d, 100, 1)}**" + mark(d))
        else:
            avg.append("n/a")
    out.append("| " + " | ".join(avg + [""]) + " |")
    p = res["paper"]
    out.append(f"| paper (abstract) | | | | {p['vs_non_bptt_points']:+.1f} | {p['vs_bptt_points']:+.1f} | |")
    out += ["", mark.note()]
    out += ["", "Learning memory per sample (KiB, analytic / tracemalloc-measured peak of the numpy engines; lean "
            "BPTT: the same gradient keeping V only, hidden spikes as bits) and SOLSA's change against each BPTT:", "",
            "| task | T | naive BPTT | lean BPTT | SOLSA | simplified | SOLSA vs naive BPTT | SOLSA vs lean BPTT |",
            "|---|---|---|---|---|---|---|---|"]
    red = {"naive": [], "lean": []}
    for t in tasks:
        mem = res["memory"][t]
        if not all(m in mem for m in SOLSA_METHODS):
            continue
        b, s = mem["bptt"], mem["solsa"]
        cell = {}
        for base, ref in (("naive", b), ("lean", b["lean"])):
            r = [100 * (s[k] / ref[k] - 1) for k in ("analytic_bytes", "measured_bytes")]
            red[base].append(r)
            cell[base] = f"{r[0]:+.0f} % / {r[1]:+.0f} %"
        out.append(f"| {_solsa_label(t)} | {sp[t]['T']} | " + " | ".join(
            f"{_kib(x['analytic_bytes'])} / {_kib(x['measured_bytes'])}" for x in (b, b["lean"], s, mem["online-simple"]))
            + f" | {cell['naive']} | {cell['lean']} |")
    if red["naive"]:
        mean = {k: [sum(r[i] for r in v) / len(v) for i in (0, 1)] for k, v in red.items()}
        out.append(f"| **mean of the tasks** | | | | | | **{mean['naive'][0]:+.0f} % / {mean['naive'][1]:+.0f} %** | "
                   f"**{mean['lean'][0]:+.0f} % / {mean['lean'][1]:+.0f} %** |")
        out.append(f"| paper (abstract) | | | | | | −{p['memory_reduction_percent']:g} % | |")
    out += ["", "Measured CPU time per training sample (one core, wall clock, numpy engines) and energy per sample "
            "(µJ) priced from each run's exact counts (Jetson: [the model's interval]).  Inference: the chosen "
            "network's test pass.  Training: the online rules' learning (spikes recorded while learning, synapses × "
            "update steps applied; per-step trace upkeep not priced); analog UEA inputs are a dense input (every channel "
            "an event every step).  BPTT's backward pass is dense arithmetic, "
            "not events, so its training is not priced:", "",
            "| task | method | CPU ms / training sample | " + ENERGY_HEAD + " |",
            "|---|---|---|" + "---|" * (2 * len(TARGETS))]
    for t in tasks:
        for m, label in SOLSA_METHODS.items():
            rs = group.get((t, m))
            if not rs:
                continue
            cells = [_solsa_label(t), label, pm(summarise([r["train_seconds_per_sample"] for r in rs]), 1e3)]
            cells += [energy_cell(rs, ph, tg, scale=1e6) if ph in rs[0]["counts"] else "n/a" for ph in PHASES for tg in TARGETS]
            out.append("| " + " | ".join(cells) + " |")
    out += ["", loihi_note(runs)]
    return mark.resolve("\n".join(out) + "\n")


def nir_agreement(res) -> str:
    """SOLSA exported to NIR and run by ``brian-snn nir run`` against SOLSA itself (same test inputs)."""
    seeds = res["per_seed"]
    cfg = res["config"]

    def cell(key, scale=100.0, digits=1):
        return pm(summarise([r[key] for r in seeds]), scale, digits)
    out = [f"SOLSA on {res['task']} (hidden {'-'.join(map(str, cfg['hidden']))}, {cfg['epochs']} epochs, "
           f"seeds {', '.join(str(r['seed']) for r in seeds)}), exported, imported and run at dt = "
           f"{1e3 * cfg['dt_s']:g} ms; mean ± 95 % t-interval over seeds.  {code_line(res)}.", "",
           "| | SOLSA | NIR `--form exact` | NIR `--form cubalif` (default) |", "|---|---|---|---|",
           f"| test accuracy % | {cell('accuracy_solsa')} | {cell('accuracy_nir_exact')} | {cell('accuracy_nir')} |",
           f"| spikes differing from SOLSA's | 0 | {sum(r['exact_form_spikes_differ'] for r in seeds)} | "
           f"recall {cell('same_step_recall')} % / precision {cell('same_step_precision')} % same step |",
           f"| output spike count ratio to SOLSA | 1 | 1 | {cell('count_ratio', 1.0, 3)} |",
           f"| same predicted class % | 100 | 100 | {cell('same_class')} |"]
    disc = res["discretisation"]
    betas = sorted({r["beta"] for r in disc["rows"]})
    out += ["", f"Exact integration against {disc['reference']} (dt = {1e3 * disc['dt_s']:g} ms; β = exp(−dt/τ)):", "",
            "| β | output spike count ratio | same-step recall % | recall within 1 step % |", "|---|---|---|---|"]
    for b in betas:
        rs = [r for r in disc["rows"] if r["beta"] == b]
        out.append(f"| {b:g} | {pm(summarise([r['count_ratio'] for r in rs]), 1.0, 3)} | "
                   f"{pm(summarise([r['same_step_recall'] for r in rs]), 100, 1)} | "
                   f"{pm(summarise([r['recall_within_1_step'] for r in rs]), 100, 1)} |")
    return "\n".join(out) + "\n"


def gpu_validation(res) -> str:
    """The GPU model against published size sweeps (benchmarks/gpu_validation.py): errors by split,
    regime and family, the held-out rows, and the interval an estimate prints by regime."""
    from hwmodel import gpu_validation as gv
    held, fit = res["summary"]["heldout"]["all"], res["summary"]["fit"]["all"]
    n_sweeps = len({r["sweep"] for r in res["time"] if r["sweep"]})
    head = (f"{fit['rows']} fitted and {held['rows']} held-out rows ({n_sweeps} size sweeps); error = predicted / "
            f"measured − 1. Held out: median |error| {100 * held['median_abs_error']:.0f} %, "
            f"{100 * held['coverage']:.0f} % inside the interval an estimate prints. "
            f"Fitted rows refitted without their sweep: median |error| {100 * fit['median_abs_error']:.0f} % "
            f"(without their device: {100 * fit['median_abs_lodo_error']:.0f} %).  {code_line(res)}.")
    return head + "\n\n" + "\n".join(gv.markdown(res)) + "\n"


def _seconds(x):
    """A wall time as the README writes it: seconds below 10 min, else minutes and seconds."""
    if x >= 600:
        return f"{int(x) // 60} min {int(x) % 60} s"
    return f"{x:g} s"


def commands(res) -> str:
    """The wall time of every README command (benchmarks/results/commands.json, written by
    benchmarks/command_times.py)."""
    out = [f"Every command above and under \"Using it\", run as written in README order on a fresh clone of "
           f"{res['commit'][:10]} ({res['machine']}, nothing beside the clone; build cache: {res['build_cache']}; "
           f"{res['date']}; `benchmarks/command_times.py` → `benchmarks/results/commands.json`):", "",
           "| command | wall time |", "|---|---|"]
    for r in res["rows"]:
        cell = _seconds(round(r["wall_s"]) if r["wall_s"] >= 10 else r["wall_s"])
        if "tests_passed" in r:
            cell += f" ({r['tests_passed']} tests passed)"
        if r["rc"]:
            cell += f" **failed (exit {r['rc']})**"
        out.append(f"| `{r['command']}` | {cell} |")
    return "\n".join(out) + "\n"


def main_job(res) -> str:
    """The main job's output (benchmarks/results/main_job.json, written by benchmarks/main_job.py or,
    for an older record, transcribed with the commits that wrote each line): no run is repeated here."""
    prov, sp = res["provenance"], res["steps_per_sample"]
    if prov.get("git_commit", "unknown") != "unknown":
        origin = (f"Output of the run recorded in `benchmarks/results/main_job.json` by `benchmarks/main_job.py` "
                  f"(code {prov['git_commit'][:10]}{'+dirty' if prov.get('dirty') is True else ''}, fingerprint "
                  f"{prov['code_fingerprint'][:10]}, {prov['date']}; its exact counts are stored with it).")
    else:
        commits = sorted({(ln["date"], ln["recorded_in_commit"][:7]) for ln in res["lines"]})
        origin = (f"Output as recorded in `benchmarks/results/main_job.json` (lines written by commits "
                  f"{', '.join(f'{c} ({d})' for d, c in commits)}; no commit or code fingerprint was recorded "
                  "with the runs).")
    out = ["```"] + [ln["text"] for ln in res["lines"]] + ["```", "",
           origin + "  " + res["note_on_hardware_lines"]
           + f"  {res['kernels_per_step']} kernel launches and {res['host_copies_per_step']} spike-count copies per step "
           f"make the Nano launch-bound ({sp['value']:,} steps per sample)."]
    return "\n".join(out) + "\n"


def nir_snn_agreement(res) -> str:
    """A trained SpikeDyn through its NIR export (benchmarks/nir_snn_agreement.py), as the README quotes it."""
    o, by = res["original"], {r["v_ref"]: r for r in res["nir"]}
    mid, rest = by["mid"], by["rest"]
    return (f"Measured on a {res['n_exc']}-neuron SpikeDyn with the same Poisson input spikes ({res['test_images']} test "
            f"images of the embedded subset, one network, one seed, one input draw; "
            f"`benchmarks/results/nir_snn_agreement.json`): accuracy {o['accuracy']:.3f} → {mid['accuracy_nir']:.3f}, "
            f"{100 * (1 - mid['spike_count_ratio']):.0f} % fewer spikes, {100 * mid['same_prediction']:.0f} % of "
            f"predictions unchanged (freezing the force at rest instead: {rest['accuracy_nir']:.3f}).  The default "
            f"`v_ref = mid` was first chosen between these two candidates on these same test images; it has since been "
            f"re-chosen on **validation** and kept (three networks, `benchmarks/results/defaults_selection.json`, "
            f"section \"Defaults re-chosen on validation\").  {code_line(res)}.\n")


def throughput(res) -> str:
    """Training throughput (benchmarks/throughput.py): the compiled binary against the project's
    tight-loop bound (same counted work) and Brian2's runtime per-sample loop, one job."""
    s, mach = res["setup"], res["machine"]
    out = [f"N = {s['n_exc']}, dt {s['dt_ms']:g} ms, {s['t_on_ms']:g} + {s['t_rest_ms']:g} ms, {s['threads']} thread, "
           f"{s['data']}; one job on this {mach['cores']}-core {mach['cpu']} machine ({mach['date']}); bound compiled "
           f"with `{res['bound_compiler']}`.", "",
           "| model | compiled training (samples/s) | labelling, learning off (samples/s) | tight-loop bound (samples/s) "
           "| fraction of the bound | bound with the model's input delays (samples/s) | fraction of it "
           "| runtime per-sample loop (samples/s) | speed-up | synaptic events / sample | plasticity updates / sample |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for m, r in res["models"].items():
        c, rt = r["compiled"], r["runtime_loop"]
        delayed = (f"{r['bound_with_delays']['samples_per_s']:.0f} | {100 * r['fraction_of_bound_with_delays']:.0f} %"
                   if "bound_with_delays" in r else "no delays | --")
        out.append(f"| {m} | {c['samples_per_s']:.1f} | {c['labelling_samples_per_s']:.1f} | "
                   f"{r['bound']['samples_per_s']:.0f} | {100 * r['fraction_of_bound']:.0f} % | {delayed} | "
                   f"{rt['samples_per_s']:.2f} ({rt['samples']} samples) | {r['speedup']:.0f}× | "
                   f"{c['synaptic_events_per_sample']:,.0f} | {c['plasticity_updates_per_sample']:,.0f} |")
    copies = [(m, r["copies"]) for m, r in res["models"].items() if r.get("copies")]
    if copies:
        out += ["", "Batched copies in one binary on this CPU (for the record): " + "; ".join(
            f"{m} × {c['copies']}: {c['aggregate_samples_per_s']:.1f} samples/s in all "
            f"({c['per_copy_samples_per_s']:.1f} per copy)" for m, c in copies) + "."]
    profiled = [(m, r["profile"]) for m, r in res["models"].items() if r.get("profile")]
    if profiled:
        out += ["", f"Where the binary's time goes in training ({profiled[0][1]['method']}; share of its CPU time):", ""]
        for m, p in profiled:
            top = [(k, v) for k, v in p["share"].items() if k != "other"][:6]
            out.append(f"- {m}: " + ", ".join(f"`{k.replace('_codeobject', '')}` {100 * v:.0f} %" for k, v in top))
    return "\n".join(out) + "\n"


def speedup_vs_commit(res) -> str:
    """This tree against an earlier commit, in one job (benchmarks/speedup_vs_commit.py; issue 28)."""
    s = res["setup"]
    out = [f"`brian-snn train --backend cpp --neurons {s['neurons']}` on {s['train_samples']:,} training and "
           f"{s['test_samples']:,} test MNIST images, this tree ({code_line(res)}) against commit "
           f"`{res['earlier_commit']}` in one job, alternating, best of {s['reps']} runs each; \"frozen passes\" = "
           "labelling the training images, then testing (learning off).", "",
           "| model | training, earlier (samples/s) | training, now | speed-up | frozen passes, earlier | "
           "frozen passes, now | speed-up | same accuracy |", "|---|---|---|---|---|---|---|---|"]
    for m, r in res["models"].items():
        e, n, x = r["best"]["earlier"], r["best"]["this"], r["speedup"]
        out.append(f"| {m} | {e['train_samples_per_s']:.1f} | {n['train_samples_per_s']:.1f} | "
                   f"{x['train_samples_per_s']:.2f}× | {e['test_samples_per_s']:.1f} | {n['test_samples_per_s']:.1f} | "
                   f"{x['test_samples_per_s']:.2f}× | {'yes' if r['same_accuracy'] else '**no**'} |")
    return "\n".join(out) + "\n"


def defaults_selection(res) -> str:
    """SpikeDyn's nu_post x adaptive learning rate, its x_tar and the NIR export's v_ref, chosen on validation
    (benchmarks/defaults_selection.py; issue 25)."""
    sd = res["spikedyn"]
    seeds = sd["seeds"]
    out = [f"Chosen on **validation** (`benchmarks/results/defaults_selection.json`, `\"selected_on\": \"validation\"`): "
           f"SpikeDyn N = {sd['neurons']}, {sd['epochs']} epoch on the train split ({res['split']['train']['n']:,} images), "
           f"labels from the train images, accuracy on the {res['split']['val']['n']:,} validation images (%), seeds "
           f"{', '.join(map(str, seeds))}, mean ± 95 % t-interval; every other parameter at its default (x_tar = "
           f"{sd['other_params']['x_tar']:g}); the test split not evaluated.  Rule, fixed before the runs: the best mean replaces the default only if its paired-by-seed "
           f"interval against the default excludes 0.  {code_line(res)}.", "",
           "| `nu_post` (η) | adaptive learning rate | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± 95 % |",
           "|---|---|" + "---|" * len(seeds) + "---|"]
    for c in sd["candidates"]:
        s = sd["summary"][c["name"]]
        cell = pm(s, 100, 1)
        if c["name"] == sd["chosen"]:
            cell = f"**{cell}**"
        out.append(f"| {c['nu_post']:g}{' (default)' if c['default'] else ''} | "
                   f"{'on' if c['lr_adaptation'] else 'off'} | "
                   + " | ".join(f"{100 * v:.1f}" for v in s["values"]) + f" | {cell} |")
    d = sd["best_minus_default"]
    out += ["", f"Best mean: {sd['best_mean']}; best − default, paired by seed: {pm(d, 100, 1)} points → "
            f"**{sd['chosen']}** ({'changed' if sd['changed'] else 'the default is kept; no correction for the five comparisons is needed to keep it'})."]
    xt = res.get("x_tar")
    if xt:
        d = xt["best_minus_default"]
        out += ["", f"SpikeDyn `x_tar` (same runs and rule, η and the adaptive rate at their defaults):", "",
                "| `x_tar` | " + " | ".join(f"seed {s}" for s in xt["seeds"]) + " | mean ± 95 % |",
                "|---|" + "---|" * len(xt["seeds"]) + "---|"]
        for c in xt["candidates"]:
            sm = xt["summary"][c["name"]]
            cell = pm(sm, 100, 1)
            out.append(f"| {c['x_tar']:g}{' (default)' if c['default'] else ''} | "
                       + " | ".join(f"{100 * v:.1f}" for v in sm["values"])
                       + f" | {f'**{cell}**' if c['name'] == xt['chosen'] else cell} |")
        out += ["", f"Best mean: {xt['best_mean']}; best − default, paired by seed: {pm(d, 100, 1)} points → "
                f"**{xt['chosen']}** ({'changed' if xt['changed'] else 'the default is kept'}).  {code_line(xt)}."]
    nir = res.get("nir_v_ref")
    if nir:
        net, ref = nir["networks"], "summary_original" in nir
        out += ["", f"NIR export `v_ref` ({nir['networks_from']}; the {len(net)} networks' graphs on the same Poisson "
                f"spikes, labels from {nir['label_images']}, accuracy on the validation images, %):", "",
                "| | " + " | ".join(f"network seed {r['seed']}" for r in net) + " | mean ± 95 % |"
                + (" same prediction as the original | NIR / original spikes |" if ref else ""),
                "|---|" + "---|" * len(net) + "---|" + ("---|---|" if ref else "")]
        if ref:
            s = nir["summary_original"]
            out.append("| original (conductances) | " + " | ".join(f"{100 * v:.1f}" for v in s["values"])
                       + f" | {pm(s, 100, 1)} | | |")
        for v in nir["candidates"]:
            s = nir["summary"][v]
            cell = pm(s, 100, 1)
            out.append(f"| NIR, `v_ref = {v}`{' (default)' if v == nir['default_before'] else ''} | "
                       + " | ".join(f"{100 * x:.1f}" for x in s["values"])
                       + f" | {f'**{cell}**' if v == nir['chosen'] else cell} |"
                       + (f" {pm(summarise([r[v]['same_prediction'] for r in net]), 100, 0)} % | "
                          f"{pm(summarise([r[v]['spike_count_ratio'] for r in net]), 1, 2)} |" if ref else ""))
        base = nir["default_before"]
        if nir["best_mean"] == base:
            diff = "; ".join(f"`{base}` − `{v}`, paired by network: "
                             f"{pm(paired(nir['summary'][base]['values'], nir['summary'][v]['values']), 100, 1)} points"
                             for v in nir["candidates"] if v != base)
        else:
            diff = f"`{nir['best_mean']}` − `{base}`, paired by network: {pm(nir['best_minus_default'], 100, 1)} points"
        out += ["", f"Best mean: `{nir['best_mean']}`; {diff} → **`v_ref = {nir['chosen']}`** "
                f"({'changed' if nir['changed'] else 'the default is kept'}).  The graphs are integrated by a vectorised "
                f"copy of `run_nir`'s equations, identical spike counts to `run_nir` on the first "
                f"{net[0][base]['check_run_nir']['images']} validation images of every network and candidate.  "
                f"{code_line(nir)}."]
    return "\n".join(out) + "\n"


RENDERERS = {"static_mnist": static_mnist, "gpu_validation": gpu_validation, "continual_mnist": continual_mnist,
             "spikedyn_ablation": spikedyn_ablation,
             "topspark": topspark, "topspark_adaptive": topspark_adaptive, "nir_agreement": nir_agreement,
             "model_search": model_search,
             "solsa": solsa, "commands": commands, "main_job": main_job,
             "nir_snn_agreement": nir_snn_agreement,
             "throughput": throughput, "defaults_selection": defaults_selection,
             "speedup_vs_commit": speedup_vs_commit}


#: Every section the README must carry: --check fails when a marker pair is missing (issue 25).
REQUIRED = ("commands", "main_job", "nir_snn_agreement", "nir_agreement", "gpu_validation", "static_mnist",
            "throughput", "speedup_vs_commit", "continual_mnist", "spikedyn_ablation", "topspark",
            "topspark_adaptive", "solsa", "defaults_selection", "model_search")


def render(name, results=HERE / "results") -> str:
    path = Path(results) / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"report: {path} is missing (the README has a section '{name}')")
    if name not in RENDERERS:
        raise SystemExit(f"report: no renderer for the README section '{name}'")
    return RENDERERS[name](json.loads(path.read_text()))


_RENDERED = {}


def rendered(name, results=HERE / "results") -> str:
    """render(), once per section, results folder and file version (the tests check many README copies)."""
    path = Path(results) / f"{name}.json"
    key = (name, str(Path(results).resolve()), path.stat().st_mtime_ns if path.exists() else None)
    if key not in _RENDERED:
        _RENDERED[key] = render(name, results)
    return _RENDERED[key]


INTERVAL = re.compile(r"[−+-]?\d[\d.,]*\s*±\s*\d[\d.,]*")
#: A measured figure in prose: a number followed by ×, % or points/pp, or ×N (a factor written first).
FIGURE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?=\s?(?:×|%|points?\b|pp\b))|(?<=×)\d[\d,]*(?:\.\d+)?")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _prose_and_sections(text) -> tuple[str, str]:
    """(the README without its generated sections, HTML tags and code, the sections' text)."""
    spans = [(m.start(), m.end()) for m in BLOCK.finditer(text)]
    inside = "\n".join(text[a:b] for a, b in spans).replace("−", "-")
    prose = text
    for a, b in reversed(spans):
        prose = prose[:a] + "\n" + prose[b:]
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)
    return re.sub(r"<[^>]*>|`[^`\n]*`", "", prose), inside


def unquoted_intervals(text) -> list[str]:
    """Every ``mean ± half-width`` the README's prose writes outside the generated sections that no
    generated section contains (prose may quote an interval only as a section prints it)."""
    prose, inside = _prose_and_sections(text)
    return [m.group(0) for m in INTERVAL.finditer(prose)
            if m.group(0).replace("−", "-").lstrip("+") not in inside]


def _factors(inside) -> list[float]:
    """The factors a section prints: "1.64 ± 0.05×" (its mean), "3.9×", "×1.5"."""
    after = re.findall(r"(\d[\d,]*(?:\.\d+)?)(?:\s*±\s*[\d.]+)?\s?×", inside)
    return [float(x.replace(",", "")) for x in after + re.findall(r"×\s?(\d[\d,]*(?:\.\d+)?)", inside)]


def is_factor(line, m) -> bool:
    """Whether the FIGURE match ``m`` in ``line`` is a factor (written "1.6×", "1.6 ×" or "×1.6")."""
    return line[m.end():m.end() + 2].lstrip()[:1] == "×" or line[m.start() - 1:m.start()] == "×"


def printed(x: str, factor: bool, sections: str) -> bool:
    """Whether the sections print the figure ``x``: a factor as one of theirs rounded to x's
    decimals, any other number as written."""
    if not factor:
        return x in set(NUMBER.findall(sections))
    d = len(x.split(".")[1]) if "." in x else 0
    return any(round(f, d) == float(x.replace(",", "")) for f in _factors(sections))


def unquoted_figures(text) -> list[str]:
    """Every figure the prose quotes with ×, % or points (e.g. "1.6×", "−28 %", "×1.5", "14
    points") that no generated section prints (:func:`printed`).  The published figures are in the
    sections' paper rows."""
    prose, inside = _prose_and_sections(text)
    out = []
    for line in prose.splitlines():
        line = INTERVAL.sub(" ", line)           # intervals: unquoted_intervals checks them whole
        for m in FIGURE.finditer(line):
            factor = is_factor(line, m)
            if not printed(m.group(0), factor, inside):
                out.append(f"{m.group(0)}{'×' if factor else ''} in: {line.strip()[:90]}")
    return out


def problems(text, results=HERE / "results") -> list[str]:
    """What --check reports for a README text: sections that differ from their files, required
    sections without their marker pair, and a marker without its pair."""
    out = []
    found = [m["name"] for m in BLOCK.finditer(text)]
    for m in BLOCK.finditer(text):
        if rendered(m["name"], results) != m["body"]:
            out.append(f"{m['name']}: differs from its result file")
    for name in REQUIRED:
        if name not in found:
            out.append(f"{name}: the README has no <!-- report:{name} --> ... <!-- /report:{name} --> section")
    out += [f"prose: {q!r} is quoted outside the generated sections but appears in none of them"
            for q in unquoted_intervals(text)]
    out += [f"prose: figure {q!r} is printed by no generated section" for q in unquoted_figures(text)]
    opened = re.findall(r"<!-- report:([\w-]+) -->", text)
    closed = re.findall(r"<!-- /report:([\w-]+) -->", text)
    for name in sorted(set(opened) ^ set(closed) | {n for n in set(opened) if opened.count(n) != 1 or closed.count(n) != 1}):
        out.append(f"{name}: unmatched or repeated marker")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 when a generated section differs from its file")
    p.add_argument("--readme", default=str(HERE.parent / "README.md"))
    p.add_argument("--results", default=str(HERE / "results"), help="folder of the result files")
    a = p.parse_args(argv)
    readme = Path(a.readme)
    text = readme.read_text()
    stale = []

    def fill(m):
        body = rendered(m["name"], a.results)
        if body != m["body"]:
            stale.append(m["name"])
        return m.group(1) + body + m.group(4)
    if a.check:
        bad = problems(text, a.results)
        if bad:
            print("report: README sections differ from their result files or are missing (run "
                  "benchmarks/report.py):\n  " + "\n  ".join(bad), file=sys.stderr)
            return 1
        print(f"report: {len(BLOCK.findall(text))} README section(s) match their result files")
        return 0
    new = BLOCK.sub(fill, text)
    readme.write_text(new)
    print(f"report: {len(stale)} section(s) rewritten ({', '.join(stale) or 'none changed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
