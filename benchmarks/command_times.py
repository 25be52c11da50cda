"""Time every command of the README's set-up and usage blocks, as written, on a fresh clone.

    .venv/bin/python benchmarks/command_times.py [--work DIR] [--out benchmarks/results/commands.json]

Clones this repository's HEAD into an empty folder (nothing beside it, no venv, no build cache),
then runs each command line of the README's ```bash blocks in README order -- ``./setup.sh`` first,
so the clone builds its own ``.venv`` -- with ``bash -c`` from the clone's folder and only
/usr/bin:/bin on PATH (a fresh shell), brian-snn's build and download caches in new folders of the
work folder, and records its wall time and exit status.  Full sizes: the
commands exactly as a user types them.  The test command's row also records how many tests ran.
The README's ``commands`` section is generated from the record (benchmarks/report.py).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from brian_snn.files import replacing  # noqa: E402
from brian_snn.protocol import provenance  # noqa: E402


def readme_lines(readme: Path) -> list[str]:
    """The command lines of the README's ```bash blocks as written, comments stripped."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", readme.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def run(line: str, cwd: Path, caches: Path, log) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           # brian-snn's build and download caches start empty (the user's ~/.cache is not touched)
           "BRIAN_SNN_BUILD_DIR": str(caches / "builds"), "BRIAN_SNN_DATA": str(caches / "data")}
    t0 = time.perf_counter()
    p = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True)
    row = {"command": line, "wall_s": round(time.perf_counter() - t0, 1), "rc": p.returncode}
    tests = re.search(r"(\d+) passed", p.stdout)
    if "pytest" in line and tests:
        row["tests_passed"] = int(tests.group(1))
    if p.returncode:
        row["error_tail"] = (p.stdout + p.stderr)[-2000:]
    log(f"{row['wall_s']:8.1f} s  rc {p.returncode}  {line}")
    return row


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--work", default=None, help="an empty folder for the clone (default: a new temporary one)")
    a.add_argument("--out", default=str(HERE / "results" / "commands.json"))
    args = a.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="brian-snn-commands-"))
    if work.exists() and any(work.iterdir()):
        raise SystemExit(f"error: --work {work} is not empty (the clone must have nothing beside it)")
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True,
                          check=True).stdout.strip()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    rows = []
    for line in readme_lines(clone / "README.md"):
        rows.append(run(line, clone, work / "caches", log))
    rec = {"schema": "brian-snn-command-times/1",
           "what": "Wall time of every command of the README's set-up and usage blocks, run as written "
                   "(bash -c, PATH=/usr/bin:/bin) in README order on a fresh clone of the commit below, "
                   "nothing beside it (benchmarks/command_times.py).",
           "build_cache": "empty at the start: BRIAN_SNN_BUILD_DIR and BRIAN_SNN_DATA in the work folder",
           "machine": f"{os.cpu_count()} vCPUs shared with other work", "commit": head,
           "date": time.strftime("%Y-%m-%d"), "rows": rows, "provenance": provenance([Path(__file__)])}
    out = Path(args.out)
    with replacing(out) as tmp:
        tmp.write_text(json.dumps(rec, indent=1) + "\n")
    failed = [r["command"] for r in rows if r["rc"]]
    print(f"{len(rows)} commands timed in {sum(r['wall_s'] for r in rows):.0f} s; wrote {out}"
          + (f"; FAILED: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
