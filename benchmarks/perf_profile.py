"""Per-code-object CPU shares of a ``perf record`` of benchmarks/perf_variants.py (issue 28).

    perf record -e cpu-clock -F 2000 -o perf.data -- .venv/bin/python benchmarks/perf_variants.py \\
        --model diehl-cook --dirs clock=DIR guard=DIR
    .venv/bin/python benchmarks/perf_profile.py perf.data clock=DIR guard=DIR > profile.json

Every binary process ('main') is told apart by its build folder (the path of its 'main'); the samples
of the libraries and the kernel it ran go to the same variant.  ``samples`` counts perf samples (2000
per CPU second); ``share`` the fraction per code object (>= 0.4 %)."""
import collections
import json
import re
import subprocess
import sys


def profile(data, folders):
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,ip,sym,dso"], capture_output=True,
                         text=True, check=True).stdout
    rows, variant_of = [], {}
    for line in out.splitlines():
        m = re.match(r"\s*main\s+(\d+)\s+[0-9a-f]+\s+(.*?)\s*\((.*)\)\s*$", line)
        if not m:
            continue
        pid, sym, dso = m.groups()
        rows.append((pid, sym.split("(")[0].strip(), dso))
        if dso.endswith("/main"):
            for v, f in folders.items():
                if dso[:-len("/main")].rstrip("/") == f.rstrip("/"):
                    variant_of[pid] = v
    counts = collections.defaultdict(collections.Counter)
    for pid, sym, dso in rows:
        if pid not in variant_of:
            continue
        if "kernel" in dso:
            key = "[kernel]"
        elif "mersenne" in sym:
            key = "random numbers"
        elif "libm" in dso and "exp" in sym:
            key = "exp"
        elif dso.endswith("/main") and sym.startswith("_run_"):
            key = sym[len("_run_"):]
        elif dso.endswith("/main") and sym.startswith("CSpikeQueue::push"):
            key = "CSpikeQueue::push"
        else:
            key = "other"
        counts[variant_of[pid]][key] += 1
    res = {}
    for v in folders:
        c = counts[v]
        total = sum(c.values())
        res[v] = {"samples": total,
                  "share": {k: round(n / total, 4) for k, n in c.most_common() if n / total >= 0.004}}
    return res


if __name__ == "__main__":
    print(json.dumps(profile(sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])), indent=1))
