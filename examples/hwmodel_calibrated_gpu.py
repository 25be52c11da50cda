"""Put YOUR measured numbers into a built-in GPU target, then estimate.

Every built-in GPU target estimates out of the box from a model fitted to published measurements
(`hwmodel validate` shows how well).  When you have measured your own device (an empty run of N
steps timed for the per-step cost; idle power from tegrastats VDD_IN or NVML), put the numbers in a
target file that `extends` the built-in one; they override the built-in fit:

    python examples/hwmodel_calibrated_gpu.py COUNTS.json --base jetson-nano \
        --step-s <measured s per step> --idle-w <measured W> [--scope module]

`--step-s` replaces the host-side time per step (all of it goes into `gpu.sync`; launches and copies
are set to zero).  `--idle-w` replaces the published idle power in `--scope` (wall, module or soc);
the busy powers stay the published ones of that scope.  Several measured runs fit better:
`hwmodel calibrate MEASUREMENTS.json`.
"""
import argparse
from pathlib import Path

import hwmodel

p = argparse.ArgumentParser()
p.add_argument("counts")
p.add_argument("--base", default="jetson-nano", help="built-in GPU target id")
p.add_argument("--step-s", type=float, required=True, help="your measurement: host-side seconds per time step")
p.add_argument("--idle-w", type=float, help="your measured idle power (W)")
p.add_argument("--scope", default="module", choices=("wall", "module", "soc"),
               help="where the idle power was measured: wall (developer kit at the socket), module (VDD_IN), soc (rails)")
p.add_argument("--source", default="own measurement (describe the set-up here)")
p.add_argument("--power-mode")
a = p.parse_args()

q = '{{ value = {v!r}, unit = "{u}", evidence = "measured", source = "mine" }}'
tiny = '{ value = 1e-15, unit = "s", evidence = "measured", source = "mine", note = "inside gpu.sync" }'
text = [f'extends = "{a.base}"', f'id = "{a.base}-calibrated"', "[sources]", f'mine = "{a.source}"',
        "[gpu]", f"sync = {q.format(v=a.step_s, u='s')}", f"launch = {tiny}", f"host_copy = {tiny}"]
if a.idle_w is not None:
    text += ["[power]", f"scope = {a.scope!r}".replace("'", '"'), f"idle = {q.format(v=a.idle_w, u='W')}"]
path = Path("out") / f"{a.base}-calibrated.toml"          # out/ is ignored by git
path.parent.mkdir(exist_ok=True)
with open(path, "w") as f:
    f.write("\n".join(text) + "\n")
e = hwmodel.estimate(a.counts, path, power_mode=a.power_mode)
print(f"wrote {path}")
print(f"{e.target}: {e.energy_j['total']:.4g} J total {e.energy_j['interval']}, {e.latency_s:.4g} s, "
      f"mode {e.power_mode}, evidence {e.evidence}, power scope {e.power_scope}")
for n in e.notes:
    print("note:", n)
