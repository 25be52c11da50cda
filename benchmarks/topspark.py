"""TopSpark's window reduction under the results protocol (issue 16).

    .venv/bin/python benchmarks/topspark.py [--data-dir DIR] [--workers 2]
    .venv/bin/python benchmarks/topspark.py --finished-only     # record of the runs done so far
    .venv/bin/python benchmarks/topspark.py --figure-only       # the figure from the result file

Runs ``brian_snn.experiments.timestep.study`` (candidates and the window chosen on validation, each
window's kept candidate tested once) and writes ``benchmarks/results/topspark.json``.  Runs and their
job cache live in ``--work`` (a killed study started again loses only the jobs in flight).
``benchmarks/report.py`` prices the counts and writes the README section.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from brian_snn.experiments.timestep.study import StudyConfig, run_study  # noqa: E402
from brian_snn.protocol import paired, summarise  # noqa: E402
import report  # noqa: E402  (prices the counts as the README does)


def summary(record) -> dict:
    """Per model and window (kept candidate): mean ± 95 % CI over seeds of the accuracies, measured CPU
    time, the Jetson latency (with the model's interval) and the energy per sample on each target
    family; and the chosen window's savings against the full window (per seed, then the interval)."""
    rows = report._topspark_rows(record)
    out = {}
    for m, ws in rows.items():
        base = ws[max(ws)]
        for w, rs in ws.items():
            lat = [report._latency_ms(r) for r in rs]
            cell = {"candidate": rs[0]["candidate"],
                    "val_accuracy": summarise([r["val_accuracy"] for r in rs]),
                    "test_accuracy": summarise([r["test_accuracy"] for r in rs]),
                    "test_minus_full_pp": paired([100 * r["test_accuracy"] for r in rs],
                                                 [100 * b["test_accuracy"] for b in base]),
                    "cpu_ms_per_sample": {ph: summarise([report._per_sample_ms(r, ph) for r in rs])
                                          for ph in report.PHASES},
                    "jetson_latency_ms_per_test_sample": dict(summarise([v for v, _ in lat]),
                                                              model_interval=[sum(iv[i] for _, iv in lat) / len(lat)
                                                                              for i in (0, 1)]),
                    "energy_j_per_sample": {ph: {t: summarise([report.energy(r, ph, t)[0] for r in rs])
                                                 for t in report.TARGETS} for ph in report.PHASES}}
            out.setdefault(m, {})[f"{w:g}"] = cell
        out[m]["chosen_window_ms"] = record["selection"]["chosen_window_ms"][m]
    for r in record["runs"]:
        r.pop("_priced", None)          # report's price cache, not part of the record
    return out


def plot(record, path):
    """Test accuracy per window, and what each window saves against the full one (per seed, mean ±
    95 % CI): measured CPU time, modelled Jetson latency, inference energy on three families."""
    from brian_snn.plots import _plt
    plt = _plt()
    rows = report._topspark_rows(record)
    chosen = record["selection"]["chosen_window_ms"]
    savings = {"CPU time (measured)": lambda r: report._per_sample_ms(r, "inference"),
               "Jetson latency (model)": lambda r: report._latency_ms(r)[0],
               **{f"energy, {name}": (lambda r, t=t: report.energy(r, "inference", t)[0])
                  for t, name in report.TARGETS.items()}}
    fig, axes = plt.subplots(1, 1 + len(rows), figsize=(4.4 * (1 + len(rows)), 3.8))
    for m, ws in rows.items():
        windows = list(ws)
        acc = [summarise([100 * r["test_accuracy"] for r in ws[w]]) for w in windows]
        axes[0].errorbar(windows, [a["mean"] for a in acc], [a["ci95"] for a in acc], marker="o", capsize=3, label=m)
        axes[0].axvline(chosen[m], ls=":", lw=0.8, color=axes[0].lines[-1].get_color())
    axes[0].set(xscale="log", xlabel="window (ms)", ylabel="test accuracy % (kept candidate)", title="accuracy (dotted: chosen)")
    axes[0].legend(fontsize=8)
    for ax, (m, ws) in zip(axes[1:], rows.items()):
        base = ws[max(ws)]
        for name, value in savings.items():
            s = [summarise([value(b) / value(r) for b, r in zip(base, ws[w])]) for w in ws]
            ax.errorbar(list(ws), [x["mean"] for x in s], [x["ci95"] for x in s], marker="o", capsize=3, label=name)
        ax.set(xscale="log", yscale="log", xlabel="window (ms)", ylabel="× less than the full window (inference)",
               title=f"{m}: what a shorter window saves")
        ax.axhline(1, color="grey", lw=0.6)
        ax.legend(fontsize=7)
    from matplotlib.ticker import FuncFormatter, NullFormatter
    for ax in axes:
        ax.set_xticks(sorted({w for ws in rows.values() for w in ws}))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        if ax is not axes[0]:
            ax.set_yticks([0.5, 1, 2, 4, 8, 16])
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
            ax.yaxis.set_minor_formatter(NullFormatter())
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with the 8,000-image MNIST pool (mnist8k-images-idx3-ubyte.gz + "
                        "mnist8k-labels-idx1-ubyte.gz); default: built once from the checksummed MNIST download "
                        "(python -m brian_snn.data.pool)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default=str(HERE.parent / "out" / "topspark"))
    p.add_argument("--results", default=str(HERE / "results"))
    p.add_argument("--figure", default=str(HERE.parent / "docs" / "img" / "topspark.png"))
    p.add_argument("--finished-only", action="store_true", help="write the record of the runs finished so far")
    p.add_argument("--figure-only", action="store_true", help="only redraw the figure from the result file")
    a = p.parse_args(argv)
    if not getattr(a, "figure_only", False):
        from brian_snn.data.pool import pool_for_script
        a.data_dir = pool_for_script(a.data_dir, __file__)
    path = Path(a.results) / "topspark.json"
    if not a.figure_only:
        cfg = StudyConfig(data={"dataset": "mnist", "data_dir": a.data_dir})
        record = run_study(cfg, workers=a.workers, log=lambda *m: print(*m, flush=True), out_dir=a.work,
                           finished_only=a.finished_only)
        record["summary"] = summary(record)
        Path(a.results).mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {path} ({len(record['runs'])} runs, {len(record['missing'])} missing)")
    print(f"figure: {plot(json.loads(path.read_text()), a.figure)}")


if __name__ == "__main__":
    sys.exit(main())
