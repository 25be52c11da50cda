"""Make a GPU target usable by adding YOUR measurements to a built-in target, then estimate.

Built-in GPU targets leave the per-step overhead and the idle power null: they are not published
(reference/hwmodel.md §9), so `hwmodel estimate` refuses them.  Measure them on your device
(e.g. time an empty Brian2CUDA run of N steps; read idle VDD_IN with tegrastats) and pass them:

    python examples/hwmodel_calibrated_gpu.py COUNTS.json --base jetson-nano \
        --per-step-overhead-s <measured> --idle-w <measured> [--power-mode 5W]

This writes `<base>-calibrated.toml` (a target file that `extends` the built-in one) and prints
the estimate; reuse the file with `hwmodel estimate COUNTS --target-file <base>-calibrated.toml`.
"""
import argparse

import hwmodel

p = argparse.ArgumentParser()
p.add_argument("counts")
p.add_argument("--base", default="jetson-nano", help="built-in GPU target id")
p.add_argument("--per-step-overhead-s", type=float, required=True, help="your measurement (s per time step)")
p.add_argument("--idle-w", type=float, help="your measured idle power (W)")
p.add_argument("--source", default="own measurement (describe the set-up here)")
p.add_argument("--power-mode")
a = p.parse_args()

q = '{{ value = {v!r}, unit = "{u}", evidence = "measured", source = "mine" }}'
text = [f'extends = "{a.base}"', f'id = "{a.base}-calibrated"', "[sources]", f'mine = "{a.source}"',
        "[gpu]", f"per_step_overhead = {q.format(v=a.per_step_overhead_s, u='s')}"]
if a.idle_w is not None:
    text += ["[static]", f"idle = {q.format(v=a.idle_w, u='W')}"]
path = f"{a.base}-calibrated.toml"
with open(path, "w") as f:
    f.write("\n".join(text) + "\n")
e = hwmodel.estimate(a.counts, path, power_mode=a.power_mode)
print(f"wrote {path}")
print(f"{e.target}: {e.energy_j['total']:.4g} J total, {e.latency_s:.4g} s, mode {e.power_mode}, evidence {e.evidence}")
for n in e.notes:
    print("note:", n)
