"""hwmodel refuses impossible input up front: one stderr line, no traceback, nothing written.

CASES is the table of docs/errors.md (section "## hwmodel"): each row is a bad input, the command,
the exit status and the exact stderr line (without the ``hwmodel: error:`` / ``hwmodel: note:``
prefix).  test_docs_table_matches_the_cases keeps the docs and the cases equal; print the table with
``python tests/test_hwmodel_validation.py``.
"""
import copy
import json
import os
import re

import pytest

from hwmodel.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = {  # 4 inputs -> 2 neurons (all-to-all), 2 -> 2 recurrent without self-connections, 10 steps
    "schema": "hwmodel-counts/1", "dt_s": 5e-4, "steps": 10, "samples": 1, "phase": "inference",
    "populations": [{"name": "input", "n": 4, "spikes": 6, "neuron_updates": 0, "state_vars": 0},
                    {"name": "exc", "n": 2, "spikes": 3, "neuron_updates": 20}],
    "pathways": [{"name": "input_exc", "pre": "input", "post": "exc", "n_synapses": 8, "synaptic_events": 12},
                 {"name": "exc_exc", "pre": "exc", "post": "exc", "n_synapses": 2, "synaptic_events": 3}]}
TARGET = ('schema = "hwmodel-target/1"\nextends = "loihi1"\nid = "mine"\n[sources]\nme = "my bench"\n')
NOTE = '{ value = %s, unit = "%s", evidence = "measured", source = "me" }'
CORTEX = ("hwmodel/targets/cortex-m4f.toml: field 'energy.add.int32' is null (not published) but the analytic "
          "model needs it (accumulate at 32-bit state); give a calibrated value in a --target-file")


def counts(**fields):
    """GOOD with fields changed; keys are paths like 'populations[1].spikes'; the value is JSON text."""
    d = copy.deepcopy(GOOD)
    text = {}
    for path, raw in fields.items():
        *parents, last = re.findall(r"\w+", path)
        node = d
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[last] = f"@{path}@"
        text[f'"@{path}@"'] = raw
    out = json.dumps(d, indent=1)
    for k, v in text.items():
        out = out.replace(k, v)
    return out


def measurements(c):
    return json.dumps({"schema": "hwmodel-measurements/1", "target": "jetson-nano",
                       "runs": [{"label": "a", "counts": json.loads(c), "time_s": 1.0},
                                {"label": "b", "counts": GOOD, "time_s": 2.0}]})


GOOD_JSON = counts()


def runs(**changes):
    """Measurements of two runs (inline counts) with run 0's fields changed (None: removed);
    ``top_<key>`` changes a top-level field."""
    d = json.loads(measurements(GOOD_JSON))
    for k, v in changes.items():
        node, key = (d, k[4:]) if k.startswith("top_") else (d["runs"][0], k)
        if v is None:
            node.pop(key, None)
        else:
            node[key] = v
    return json.dumps(d)


DEEP = "[" * 200_000 + "]" * 200_000
# (case, files to write, command after `hwmodel`, exit status, the stderr line after its prefix)
CASES = [
    ("counts: a truncated or corrupt results file", {"r.h5": "not HDF5"}, "estimate r.h5 --target loihi1", 2,
     "r.h5: not an HDF5 file (no HDF5 signature: truncated or corrupt?)"),
    ("counts: an integer too large for a float (10**400)",
     {"c.json": counts(**{"populations[1].spikes": str(10 ** 400)})}, "estimate c.json --target loihi1", 2,
     "c.json: field 'populations[1].spikes' = 1.000e+400 (401 digits) is more than a 64-bit counter holds "
     "(9,223,372,036,854,775,807)"),
    ("counts: NaN", {"c.json": counts(steps="NaN")}, "estimate c.json --target loihi1", 2,
     "c.json: field 'steps' must be a finite integer, got nan"),
    ("counts: a number that overflows to infinity (1e999)", {"c.json": counts(dt_s="1e999")},
     "estimate c.json --target loihi1", 2, "c.json: field 'dt_s' must be a finite number, got inf"),
    ("counts: a negative count", {"c.json": counts(**{"pathways[0].synaptic_events": "-5"})},
     "estimate c.json --target loihi1", 2, "c.json: field 'pathways[0].synaptic_events' must be >= 0, got -5"),
    ("counts: spikes > n x steps", {"c.json": counts(**{"populations[1].spikes": "21"})},
     "metrics c.json", 2, "c.json: field 'populations[1].spikes' = 21 is more than n x steps = 2 x 10 = 20"),
    ("counts: neuron updates > n x steps", {"c.json": counts(**{"populations[1].neuron_updates": "40"})},
     "estimate c.json --target loihi1", 2,
     "c.json: field 'populations[1].neuron_updates' = 40 is more than n x steps = 2 x 10 = 20"),
    ("counts: synaptic events > presynaptic spikes x largest fan-out",
     {"c.json": counts(**{"pathways[1].synaptic_events": "7"})}, "estimate c.json --target jetson-nano", 2,
     "c.json: field 'pathways[1].synaptic_events' = 7 is more than 'exc' spikes x largest fan-out "
     "min(post n, n_synapses) = 3 x 2 = 6"),
    ("counts: n_synapses > pre x post", {"c.json": counts(**{"pathways[0].n_synapses": "9"})},
     "estimate c.json --target asic-45nm", 2,
     "c.json: field 'pathways[0].n_synapses' = 9 is more than pre x post neurons = 4 x 2 = 8"),
    ("counts: two populations with one name", {"c.json": counts(**{"populations[1].name": '"input"'})},
     "estimate c.json --target loihi1", 2, "c.json: field 'populations[1].name': duplicate name 'input'"),
    ("target: a misspelled optional price", {"t.toml": TARGET + "[energy]\nneuron_updte = " + NOTE % ("8e-11", "J")},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: unknown key 'energy.neuron_updte' (did you mean 'energy.neuron_update'?)"),
    ("target: an unknown table", {"t.toml": TARGET + "[precison]\nstate_bits = " + NOTE % ("16", "bit")},
     "estimate c.json --target-file t.toml", 2, "t.toml: unknown table [precison] (did you mean [precision]?)"),
    ("target: an unknown key with no close name", {"t.toml": TARGET + "[latency]\nwarmup = " + NOTE % ("1e-3", "s")},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: unknown key 'latency.warmup' (known in [latency]: host_spike, mode, neuron_update, note, "
     "plasticity_update, spike, sync, sync_1, sync_max, synop, tick)"),
    ("target: a misspelled quantity key",
     {"t.toml": TARGET + '[static]\npower = { value = 0.1, unit = "W", evidnce = "measured", source = "me" }'},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: field 'static.power.evidnce' is not a quantity key (did you mean 'evidence'? allowed: bound, "
     "evidence, note, source, unit, value)"),
    ("target: a fractional bit width", {"t.toml": TARGET + "[precision]\nweight_bits_max = " + NOTE % ("2.5", "bit")},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: field 'precision.weight_bits_max.value' must be a whole number, got 2.5"),
    ("target: a NaN price", {"t.toml": TARGET + "[static]\npower = " + NOTE % ("nan", "W")},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: field 'static.power.value' must be a finite number or \"null\", got nan"),
    ("target: a negative price", {"t.toml": TARGET + "[energy]\nsynop = " + NOTE % ("-2e-11", "J")},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: field 'energy.synop.value' must be > 0 (write \"null\" when not published), got -2e-11"),
    ("GPU: a power scope a desktop GPU does not publish", {"c.json": counts()},
     "estimate c.json --target gtx-1080ti --power-scope soc", 2,
     "hwmodel/targets/gtx-1080ti.toml: no published 'soc'-scope power for desktop GPUs (only the whole system at "
     "the wall); use --power-scope wall, or hwmodel calibrate with your own NVML readings"),
    ("GPU: --power-scope on a target that is not a GPU", {"c.json": counts()},
     "estimate c.json --target loihi1 --power-scope soc", 2,
     "--power-scope applies to GPU targets; 'loihi1' uses the event_driven model"),
    ("GPU: a target's own power in a scope hwmodel does not know, without all three powers",
     {"t.toml": 'schema = "hwmodel-target/1"\nextends = "orin-nano-8gb"\nid = "mine"\n[sources]\nme = "my bench"\n'
                '[power]\nscope = "bench supply"\nidle = ' + NOTE % ("3.0", "W") + "\n"},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: power scope 'bench supply' is not one of wall, module, soc: a target in its own scope gives "
     "power.idle, power.light and power.heavy"),
    ("target: power modes as a plain table", {"t.toml": TARGET + '[power_modes]\nname = "10W"'},
     "estimate c.json --target-file t.toml", 2,
     "t.toml: field 'power_modes' must be an array of tables: write [[power_modes]]"),
    ("compare: one requested target cannot price the counts (the other row prints)", {},
     "compare c.json --targets loihi1,cortex-m4f", 1, f"compare: 1 of 2 targets failed: cortex-m4f: {CORTEX}"),
    ("compare: no requested target can price the counts (no plot written)", {},
     "compare c.json --targets cortex-m4f --plot p.png", 2,
     f"compare: no target could price these counts: cortex-m4f: {CORTEX}"),
    ("compare: a bad target file among good ids", {"t.toml": TARGET + "[enrgy]\nsynop = " + NOTE % ("1e-11", "J")},
     "compare c.json --targets loihi1 --target-file t.toml", 2,
     "t.toml: unknown table [enrgy] (did you mean [energy]?)"),
    ("compare: an unknown power mode", {}, "compare c.json --targets loihi1,jetson-nano:7W", 2,
     "hwmodel/targets/jetson-nano.toml: unknown power mode '7W' for target 'jetson-nano' (have 10W, 5W)"),
    ("compare: --targets all (every built-in that can price the counts; not an error)", {},
     "compare c.json --targets all", 0,
     f"--targets all: skipped 1 target(s) that cannot price these counts: cortex-m4f: {CORTEX}"),
    # -- issue 29: inputs that gave a traceback
    ("counts: JSON nested 200,000 deep", {"c.json": DEEP}, "estimate c.json --target loihi1", 2,
     "c.json: not valid JSON (nested more than 100 levels deep)"),
    ("target: TOML nested 200,000 deep", {"t.toml": TARGET + "note = " + DEEP}, "estimate c.json --target-file t.toml",
     2, "t.toml: not valid TOML (nested more than 100 levels deep)"),
    ("target: invalid UTF-8", {"t.toml": TARGET.encode() + b'note = "\xff"\n'}, "estimate c.json --target-file t.toml",
     2, "t.toml: not UTF-8 text (byte 0xff at offset 93)"),
    ("compare: --plot with an ending matplotlib cannot write", {}, "compare c.json --targets loihi1 --plot p.txt", 2,
     "--plot p.txt: expected a file name ending in .png, .pdf, .svg"),
    ("compare: --plot names the counts file", {}, "compare c.json --targets loihi1 --plot c.json", 2,
     "--plot c.json: expected a file name ending in .png, .pdf, .svg"),
    ("calibrate: power_mode not a string", {"m.json": runs(top_power_mode=5)}, "calibrate m.json", 2,
     "m.json: field 'power_mode' must be a non-empty string, got 5"),
    ("calibrate: counts_file a number", {"m.json": runs(counts=None, counts_file=5)}, "calibrate m.json", 2,
     "m.json: runs[0]: field 'counts_file' must be a non-empty string, got 5"),
    ("calibrate: counts_file a list", {"m.json": runs(counts=None, counts_file=["c.json"])}, "calibrate m.json", 2,
     "m.json: runs[0]: field 'counts_file' must be a non-empty string, got ['c.json']"),
    ("calibrate: time_s 1e308", {"m.json": runs(time_s=1e308)}, "calibrate m.json", 2,
     "m.json: runs[0]: field 'time_s' = 1e+308 is more than 1e+09 s (31 years)"),
    ("calibrate: invalid UTF-8", {"m.json": runs(label="@").replace('"@"', '"\udcff"').encode("utf-8", "surrogateescape")},
     "calibrate m.json", 2, "m.json: not UTF-8 text (byte 0xff at offset 82)"),
    # -- issue 29: silent wrong results, lost files, hangs
    ("target: a price of 1e308 (estimates were inf J, nan %)", {"t.toml": TARGET + "[energy]\nsynop = " + NOTE % ("1e308", "J")},
     "estimate c.json --target-file t.toml --json", 2,
     "t.toml: field 'energy.synop.value' = 1e+308 is more than 1e+30 (no hardware quantity is this large; "
     "estimates from it overflow)"),
    ("calibrate: holdout \"no\" (was taken as true)", {"m.json": runs(holdout="no")}, "calibrate m.json", 2,
     "m.json: runs[0]: field 'holdout' must be true or false, got 'no'"),
    ("calibrate: --id with a path (wrote outside its folder)", {"m.json": runs()}, "calibrate m.json --id ../x", 2,
     "--id must be lower-case letters, digits, '.', '_' or '-' (it names the target and its file), got '../x'"),
    ("calibrate: --out exists (was overwritten)", {"m.json": runs(), "cal.toml": "mine"},
     "calibrate m.json --out cal.toml", 2, "cal.toml exists; pass --force to overwrite it, or choose another --out"),
    ("calibrate: --out is its own input (was destroyed)", {"m.json": runs()}, "calibrate m.json --out m.json --force",
     2, "--out m.json: is also m.json, which this command reads or writes; choose another name"),
    ("compare: --plot exists (was overwritten)", {"p.png": "mine"}, "compare c.json --targets loihi1 --plot p.png", 2,
     "p.png exists; pass --force to overwrite it, or choose another --plot"),
    ("estimate: counts from a FIFO (hung)", {"f.json": None}, "estimate f.json --target loihi1", 2,
     "f.json: not a regular file (a FIFO); give a file"),
    ("calibrate: impossible counts in the measurements (no --out file written)",
     {"m.json": measurements(counts(**{"populations[0].spikes": "41"}))}, "calibrate m.json --out cal.toml", 2,
     "m.json: runs[0].counts: field 'populations[0].spikes' = 41 is more than n x steps = 4 x 10 = 40"),
]


@pytest.mark.parametrize("case,files,command,status,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line(case, files, command, status, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text(GOOD_JSON)
    for name, text in files.items():
        if text is None:
            os.mkfifo(tmp_path / name)
        elif isinstance(text, bytes):
            (tmp_path / name).write_bytes(text)
        else:
            (tmp_path / name).write_text(text)
    before = set(os.listdir(tmp_path))
    rc = main(command.split())
    out, err = capsys.readouterr()
    assert rc == status
    assert err == f"hwmodel: {'note' if status == 0 else 'error'}: {message}\n"      # exactly one line
    assert "Traceback" not in out + err
    if status == 2:                                  # refused: nothing printed, nothing written
        assert out == "" and set(os.listdir(tmp_path)) == before
    else:                                            # the targets that could price the counts print
        assert "loihi1" in out and "event_driven" in out


def test_the_good_counts_pass(tmp_path, capsys):
    (tmp_path / "c.json").write_text(GOOD_JSON)
    assert main(["estimate", str(tmp_path / "c.json"), "--target", "loihi1", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)["metrics"]
    assert 0 <= m["activation_sparsity"] <= 1 and 0 <= m["connection_sparsity"] <= 1


def test_python_built_counts_are_checked_too():
    from hwmodel import Counts, CountsError, estimate, neurobench
    c = Counts.from_dict(GOOD)
    c.populations[1] = type(c.populations[1])("exc", 2, 21, 20)           # built in Python, impossible
    for f in (lambda: estimate(c, "loihi1"), lambda: neurobench(c)):
        with pytest.raises(CountsError, match=r"'populations\[1\].spikes' = 21 is more than n x steps = 2 x 10"):
            f()


def table() -> str:
    """The Markdown table of docs/errors.md, section hwmodel."""
    rows = ["| bad input | command | exit | the stderr line, after `hwmodel: error:` (exit 0: `hwmodel: note:`) |", "|---|---|---|---|"]
    for case, _, command, status, message in CASES:
        assert "|" not in case + command + message and "`" not in message
        rows.append(f"| {case} | `hwmodel {command}` | {status} | `{message}` |")
    return "\n".join(rows)


def test_docs_table_matches_the_cases():
    text = open(os.path.join(ROOT, "docs", "errors.md"), encoding="utf-8").read()
    section = re.search(r"^## hwmodel\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, "docs/errors.md has no '## hwmodel' section"
    rows = [line for line in section.group(1).splitlines() if line.startswith("|")]
    assert rows == table().splitlines(), "docs/errors.md (## hwmodel) differs from CASES: paste table()"


if __name__ == "__main__":
    print(table())
