"""Command line: ``hwmodel targets | estimate | compare | metrics | calibrate``.

Bad input exits with status 2 and one line ``hwmodel: error: ...`` (no traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .counts import CountsError, load_counts
from .estimate import EstimateError, _check_bits, check_external_inputs, estimate
from .errors import HwmodelError
from .metrics import neurobench
from .targets import TargetError, list_targets, load_target
from . import calibrate as _calibrate

ERRORS = (CountsError, TargetError, EstimateError, _calibrate.CalibrationError, HwmodelError)


class _Parser(argparse.ArgumentParser):
    def error(self, message):                      # one line, status 2
        self.exit(2, f"hwmodel: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hwmodel", description="SNN activity counts -> energy, latency and memory on hardware targets.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True, parser_class=_Parser,
                           help="targets | estimate | compare | metrics | calibrate | validate")
    t = sub.add_parser("targets", help="list the built-in targets")
    t.add_argument("--json", action="store_true")

    def common(q):
        q.add_argument("counts", metavar="COUNTS", help="counts JSON (hwmodel-counts/1) or brian-snn results HDF5")
        q.add_argument("--phase", choices=("training", "inference"), help="phase to read from an HDF5 results file")
        q.add_argument("--weight-bits", type=int, metavar="B", help="override every pathway's weight bits")
        q.add_argument("--state-bits", type=int, metavar="B", help="bits per neuron state word (default: target's, else 32)")
        q.add_argument("--json", action="store_true", help="print one JSON object")

    def inputs(q):
        q.add_argument("--external-inputs", metavar="NAME[,NAME]", default="",
                       help="input populations whose spikes arrive from the host (neuromorphic targets: priced "
                            "as host spikes, not as on-chip neuron updates; docs/targets.md 3.1)")
        q.add_argument("--power-scope", choices=("wall", "module", "soc"),
                       help="GPU targets: where the power is measured -- wall (developer kit at the socket), module "
                            "(module input rail, tegrastats VDD_IN; the Jetson default), soc (CPU/GPU/SoC rails, "
                            "VDD_CPU_GPU_CV + VDD_SOC); desktop GPUs: wall only")

    e = sub.add_parser("estimate", help="energy / latency / memory of COUNTS on one target")
    common(e)
    g = e.add_mutually_exclusive_group(required=True)
    g.add_argument("--target", metavar="ID", help="built-in target id (see `hwmodel targets`)")
    g.add_argument("--target-file", metavar="FILE", help="your own target TOML")
    e.add_argument("--power-mode", metavar="M", help="power mode of the target (default: its first)")
    inputs(e)
    c = sub.add_parser("compare", help="price one COUNTS file on several targets, side by side (not "
                                       "'brian-snn compare', which trains models and compares them)",
                       description="Price the counts of one run (COUNTS: a counts JSON or a brian-snn results "
                                   "HDF5) on several hardware targets and print them side by side: a comparison of "
                                   "targets for one network; nothing is trained or simulated.  To train several "
                                   "models and compare them (continual protocol), use 'brian-snn compare'.")
    common(c)
    c.add_argument("--targets", default="", metavar="A,B[:MODE],...", help="comma-separated ids (or 'all')")
    c.add_argument("--target-file", action="append", default=[], metavar="FILE", help="add a target file (repeatable)")
    c.add_argument("--plot", metavar="PNG", help="write bar charts of energy and latency per sample (values on the bars; a GPU "
                                                "target's interval as an error bar)")
    c.add_argument("--force", action="store_true", help="overwrite --plot when it exists")
    inputs(c)
    v = sub.add_parser("validate", help="GPU model: predicted vs published measured times by regime and device "
                                        "family (held-out rows, leave-one-sweep-out and leave-one-device-out errors)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument("--markdown", action="store_true", help="print the table as Markdown (README, docs)")
    v.add_argument("--refit", action="store_true", help="refit the GPU model and its leave-out refits first (minutes) "
                   "and store them in hwmodel/data/gpu_fit.json: after changing the calibration data or hwmodel/gpu.py")
    m = sub.add_parser("metrics", help="NeuroBench-style metrics of COUNTS")
    common(m)
    _calibrate.add_parser(sub)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"targets": _targets, "estimate": _estimate, "compare": _compare, "metrics": _metrics,
                "calibrate": _calibrate.run_cli, "validate": _validate}[args.cmd](args)
    except ERRORS as e:
        print(f"hwmodel: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:                        # e.g. `hwmodel targets | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:
        print(f"hwmodel: error: {e.filename}: {e.strerror or e}" if e.filename else f"hwmodel: error: {e}",
              file=sys.stderr)
        return 2


def _targets(a) -> int:
    rows = [load_target(i) for i in list_targets()]
    if a.json:
        print(json.dumps([{"id": t.id, "class": t.cls, "model": t.model, "name": t.name} for t in rows]))
        return 0
    for t in rows:
        print(f"{t.id:18s} {t.cls:13s} {t.model:15s} {t.name}")
    return 0


def _opts(a) -> dict:
    ext = tuple(x.strip() for x in getattr(a, "external_inputs", "").split(",") if x.strip())
    return {"weight_bits": a.weight_bits, "state_bits": a.state_bits, "external_inputs": ext or None}


def _estimate(a) -> int:
    counts = load_counts(a.counts, a.phase)
    est = estimate(counts, a.target or a.target_file, power_mode=a.power_mode, power_scope=a.power_scope, **_opts(a))
    if a.json:
        print(json.dumps(est.to_dict()))
        return 0
    print("\n".join(_report(est)))
    return 0


def _g(x, unit="") -> str:
    return "n/a" if x is None else f"{x:.4g}{(' ' + unit) if unit else ''}"


def _iv(iv) -> str:
    return "" if not iv else f"  [{iv[0]:.3g}, {iv[1]:.3g}]"


def _report(e) -> list[str]:
    en, mem = e.energy_j, e.memory_bytes
    out = [f"target      {e.target} — {e.name}",
           f"model       {e.model}" + (f" (scope {e.scope})" if e.scope else "")
           + (f", power mode {e.power_mode}" if e.power_mode else "")
           + f", phase {e.phase}, {e.per_sample['samples']} samples",
           f"energy      {_g(en['total'], 'J')} total{_iv(en.get('interval'))}  (dynamic {_g(en['dynamic'], 'J')}, "
           f"static {_g(en['static'], 'J')})" + (f"; power scope: {e.power_scope}" if e.power_scope else "")]
    for k, v in en["breakdown"].items():
        share = f"{100 * v / en['total']:5.1f} %" if en["total"] else ""
        out.append(f"  {k:20s} {v:.4g} J  {share}")
    b = mem["breakdown"]
    fits = {True: "yes", False: "NO", None: "unknown"}[e.fits]
    out += [f"latency     {_g(e.latency_s, 's')}{_iv(e.latency_interval_s)}"
            + (f"  ({e.gpu_regime})" if e.gpu_regime else ""),
            f"memory      {mem['total']:,} B (weights {b['weights']:,}, indices {b['indices']:,}, state {b['state']:,}, "
            f"traces {b['traces']:,}); capacity {_g(mem['capacity'], 'B')}; fits: {fits}",
            f"per sample  energy {_g(e.per_sample['energy_j'], 'J')}{_iv(e.per_sample.get('energy_interval_j'))}, "
            f"latency {_g(e.per_sample['latency_s'], 's')}{_iv(e.per_sample.get('latency_interval_s'))}",
            f"bits        weights {sorted(set(e.weight_bits.values()))}, state {e.state_bits}",
            f"evidence    {e.evidence} (weakest grade of the {len(e.prices)} prices used)"]
    out += [f"note        {n}" for n in e.notes]
    return out


def _compare(a) -> int:
    """Exit 0 when every requested target priced the counts; 1 when some did not (their rows print
    n/a and one stderr line names them); 2 (nothing printed) on bad input or when none could.
    ``--targets all`` means every built-in target that can price these counts: the others are
    skipped with a note on stderr and do not fail the command (docs/targets.md)."""
    from .files import check_plot
    check_plot(a.plot, a.force, inputs=[a.counts])
    counts = load_counts(a.counts, a.phase)
    refs = [r.strip() for r in a.targets.split(",") if r.strip()]
    skippable = set(list_targets()) if refs == ["all"] else set()
    if skippable:
        refs = list_targets()
    refs += a.target_file
    if not refs:
        raise EstimateError("compare: give --targets a,b,c (or 'all') and/or --target-file FILE")
    opts = _opts(a)                                 # bad input is refused before any estimate
    for flag, v in (("--weight-bits", a.weight_bits), ("--state-bits", a.state_bits)):
        if v is not None:
            _check_bits(v, flag)
    if opts["external_inputs"]:
        check_external_inputs(counts, opts["external_inputs"])
    jobs = []
    for ref in refs:
        tid, _, mode = ref.partition(":") if not ref.endswith(".toml") else (ref, "", "")
        t = load_target(tid)
        t.mode(mode or None)                        # an unknown power mode is bad input too
        jobs.append((ref, t, mode or None))
    rows = []
    for ref, t, mode in jobs:
        try:
            scope = a.power_scope if t.model == "gpu_time_power" else None     # other models have no scope
            rows.append((ref, estimate(counts, t, power_mode=mode, power_scope=scope, **opts), None))
        except ERRORS as err:                       # this target cannot price these counts
            rows.append((ref, None, str(err)))
    failed = [(r, m) for r, e, m in rows if e is None and r not in skippable]
    skipped = [(r, m) for r, e, m in rows if e is None and r in skippable]
    if len(failed) + len(skipped) == len(rows):
        raise EstimateError("compare: no target could price these counts: "
                            + "; ".join(f"{r}: {m}" for r, m in failed + skipped))
    if a.plot:
        _plot(rows, a.plot, os.path.basename(a.counts), a.force, [a.counts])
    if a.json:
        print(json.dumps({"counts": a.counts, "phase": counts.phase, "results": [
            {"target": r, "estimate": e.to_dict()} if e else {"target": r, "error": m} for r, e, m in rows]}))
    else:
        _compare_table(rows)
    why = lambda xs: "; ".join(f"{r}: {m}" for r, m in xs)          # noqa: E731
    sys.stdout.flush()
    if failed:
        print(f"hwmodel: error: compare: {len(failed)} of {len(rows)} targets failed: {why(failed)}"
              + (f" (also skipped by 'all': {', '.join(r for r, _ in skipped)})" if skipped else ""),
              file=sys.stderr)
        return 1
    if skipped:
        print(f"hwmodel: note: --targets all: skipped {len(skipped)} target(s) that cannot price these "
              f"counts: {why(skipped)}", file=sys.stderr)
    return 0


def _compare_table(rows):
    print(f"{'target':22s} {'model':15s} {'energy_J':>10s} {'E/sample_J':>10s} {'latency_s':>10s} "
          f"{'memory_B':>11s} {'fits':>5s}  evidence")
    for ref, e, msg in rows:
        if e is None:
            print(f"{ref:22s} n/a: {msg}")
            continue
        fits = {True: "yes", False: "NO", None: "?"}[e.fits]
        print(f"{ref:22s} {e.model:15s} {_g(e.energy_j['total']):>10s} {_g(e.per_sample['energy_j']):>10s} "
              f"{_g(e.latency_s):>10s} {e.memory_bytes['total']:>11,d} {fits:>5s}  {e.evidence}")


def _plot(rows, path, counts_name=None, force=False, inputs=()):
    from .plots import compare_chart
    compare_chart(rows, path, counts_name, force, inputs)


def _validate(a) -> int:
    from . import gpu
    from . import gpu_validation as gv
    if a.refit:
        gpu.write_fit()
    record = gv.record()
    if a.json:
        print(json.dumps(record))
        return 0
    print("\n".join(gv.markdown(record) if a.markdown else gv.text(record)))
    return 0


def _metrics(a) -> int:
    counts = load_counts(a.counts, a.phase)
    for flag, v in (("--weight-bits", a.weight_bits), ("--state-bits", a.state_bits)):
        if v is not None:
            _check_bits(v, flag)
    m = neurobench(counts, a.weight_bits, a.state_bits or 32)
    if a.json:
        print(json.dumps(m))
        return 0
    so = m["synaptic_operations"]
    print(f"synaptic operations per sample: effective ACs {_g(so['effective_acs'])}, "
          f"effective MACs {_g(so['effective_macs'])}, dense {_g(so['dense'])}")
    print(f"activation sparsity {_g(m['activation_sparsity'])}, connection sparsity {_g(m['connection_sparsity'])}, "
          f"footprint {m['footprint_bytes']:,} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
