"""CLI: hand-written counts JSON, results HDF5, compare + plot, one-line errors with status 2."""
import json
import subprocess
import sys

import os

import h5py
import pytest

from hwmodel import Counts
from hwmodel.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
HAND = {  # written by hand: a 784-400 Diehl & Cook-like inference window of 2 samples
    "schema": "hwmodel-counts/1", "dt_s": 0.0005, "steps": 1400, "samples": 2, "phase": "inference",
    "populations": [{"name": "input", "n": 784, "spikes": 3000, "neuron_updates": 0, "state_vars": 0},
                    {"name": "exc", "n": 400, "spikes": 40, "neuron_updates": 560000, "state_vars": 3}],
    "pathways": [{"name": "input_exc", "pre": "input", "post": "exc", "n_synapses": 313600,
                  "synaptic_events": 1200000, "plasticity_updates": 0, "weight_bits": 32}]}


@pytest.fixture
def hand(tmp_path):
    p = tmp_path / "counts.json"
    p.write_text(json.dumps(HAND, indent=1))
    return str(p)


def run(argv, capsys):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_targets_lists_ids(capsys):
    rc, out, _ = run(["targets"], capsys)
    assert rc == 0 and out.splitlines()[0].split()[0] == "agx-orin-64gb" and "loihi1" in out


def test_estimate_json_is_one_object_with_design_keys(hand, capsys):
    rc, out, _ = run(["estimate", hand, "--target", "loihi1", "--weight-bits", "8", "--json"], capsys)
    assert rc == 0 and len(out.strip().splitlines()) == 1
    d = json.loads(out)
    assert {"target", "energy_j", "latency_s", "memory_bytes", "evidence"} <= set(d)
    assert set(d["energy_j"]) == {"total", "dynamic", "static", "breakdown", "interval"}
    assert d["target"] == "loihi1" and d["weight_bits"] == {"input_exc": 8}
    assert d["energy_j"]["breakdown"]["synop"] == pytest.approx(1200000 * 23.6e-12)
    assert d["memory_bytes"]["breakdown"]["weights"] == 313600


def test_estimate_text(hand, capsys):
    rc, out, _ = run(["estimate", hand, "--target", "asic-45nm"], capsys)
    assert rc == 0 and out.startswith("target      asic-45nm") and "mem_weights" in out
    assert "evidence    secondary" in out            # Horowitz via transcriptions


def test_estimate_on_results_hdf5(tmp_path, capsys):
    path = tmp_path / "results.h5"
    inf = Counts.from_dict(HAND)
    tr = Counts.from_dict(dict(HAND, phase="training", samples=5))
    with h5py.File(path, "w") as f:
        inf.to_hdf5(f.create_group("counts/inference"))
        tr.to_hdf5(f.create_group("counts/training"))
    rc, out, _ = run(["estimate", str(path), "--target", "spinnaker", "--json"], capsys)
    assert rc == 0 and json.loads(out)["phase"] == "inference"
    rc, out, _ = run(["estimate", str(path), "--target", "spinnaker", "--phase", "training", "--json"], capsys)
    assert json.loads(out)["per_sample"]["samples"] == 5


def test_compare_table_and_plot(hand, tmp_path, capsys):
    png = tmp_path / "cmp.png"
    rc, out, _ = run(["compare", hand, "--targets", "loihi1,spinnaker,jetson-nano:5W,asic-45nm",
                      "--weight-bits", "8", "--plot", str(png)], capsys)
    lines = out.splitlines()
    assert rc == 0 and lines[0].split()[:3] == ["target", "model", "energy_J"] and len(lines) == 5
    nano = next(l for l in lines if l.startswith("jetson-nano:5W"))
    assert "gpu_time_power" in nano and "transferred" in nano       # estimates out of the box
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc, out, _ = run(["compare", hand, "--targets", "loihi1,truenorth", "--json"], capsys)
    res = json.loads(out)["results"]
    assert "estimate" in res[0] and res[1]["target"] == "truenorth"


def test_metrics(hand, capsys):
    rc, out, _ = run(["metrics", hand, "--json"], capsys)
    m = json.loads(out)
    assert m["synaptic_operations"]["effective_acs"] == 1200000 / 2
    assert m["synaptic_operations"]["dense"] == 313600 * 1400 / 2
    assert m["activation_sparsity"] == pytest.approx(1 - 40 / (400 * 1400))
    assert m["connection_sparsity"] == 0.0
    assert m["footprint_bytes"] == 313600 * 4 + 400 * 3 * 4


def _bad(tmp_path, mutate):
    d = json.loads(json.dumps(HAND))
    mutate(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    return str(p)


@pytest.mark.parametrize("mutate,expect", [
    (lambda d: d.pop("steps"), "field 'steps' is missing"),
    (lambda d: d["populations"][1].pop("spikes"), "field 'populations[1].spikes' is missing"),
    (lambda d: d["populations"][1].update(spikes="many"), "field 'populations[1].spikes' must be an integer"),
    (lambda d: d["pathways"][0].update(synaptic_events=-3), "field 'pathways[0].synaptic_events' must be >= 0"),
    (lambda d: d["pathways"][0].update(synaptic_events=2.5), "field 'pathways[0].synaptic_events' must be an integer"),
    (lambda d: d.update(phase="testing"), "field 'phase' must be one of"),
])
def test_bad_counts_one_line_exit_2(tmp_path, capsys, mutate, expect):
    path = _bad(tmp_path, mutate)
    rc, out, err = run(["estimate", path, "--target", "loihi1"], capsys)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"hwmodel: error: {path}: ") and expect in err


@pytest.mark.parametrize("args,expect", [
    (["--target", "nope"], "unknown target 'nope'"),
    (["--target", "jetson-nano", "--power-mode", "3W"], "unknown power mode '3W'"),
    (["--target", "truenorth", "--weight-bits", "8"], "field 'precision.weight_bits_max'"),
    (["--target", "loihi1", "--weight-bits", "0"], "--weight-bits must be an integer in 1..64"),
    (["--target-file", "missing.toml"], "missing.toml: target file not found"),
    ([], "one of the arguments --target --target-file is required"),
])
def test_bad_options_one_line_exit_2(hand, capsys, args, expect):
    rc, out, err = run(["estimate", hand, *args], capsys) if args != [] else _argparse_exit(hand, capsys)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("hwmodel: error: ") and expect in err


def _argparse_exit(hand, capsys):
    with pytest.raises(SystemExit) as e:
        main(["estimate", hand])
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_missing_source_in_target_file(hand, tmp_path, capsys):
    p = tmp_path / "t.toml"
    p.write_text('schema = "hwmodel-target/1"\nid = "x"\nname = "x"\nclass = "neuromorphic"\n'
                 'execution = "event_driven"\n[sources]\na = "citation"\n[energy]\nscope = "per_term"\n'
                 'synop = { value = 1e-12, unit = "J", evidence = "measured" }\n')
    rc, _, err = run(["estimate", hand, "--target-file", str(p)], capsys)
    assert rc == 2 and err == f"hwmodel: error: {p}: field 'energy.synop.source' is missing\n"


def test_console_script_and_no_brian2(hand):
    code = ("import sys, hwmodel, hwmodel.cli; hwmodel.estimate(sys.argv[1], 'loihi1'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('brian2', 'brian_snn')]; "
            "assert not bad, bad; print('ok')")
    r = subprocess.run([sys.executable, "-c", code, hand], capture_output=True, text=True, env=ENV)
    assert r.stdout.strip() == "ok", r.stderr
    r = subprocess.run([sys.executable, "-m", "hwmodel", "estimate", hand, "--target", "nope"],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 2 and r.stderr.startswith("hwmodel: error: unknown target") and "Traceback" not in r.stderr


def test_examples_run(hand, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "hwmodel_estimate.py")],
                       capture_output=True, text=True, cwd=tmp_path, env=ENV)
    assert r.returncode == 0 and "loihi1" in r.stdout and "156,800 B" in r.stdout, r.stderr
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "hwmodel_calibrated_gpu.py"), hand,
                        "--step-s", "2e-5", "--idle-w", "1.5", "--power-mode", "5W"],
                       capture_output=True, text=True, cwd=tmp_path, env=ENV)
    assert r.returncode == 0 and "jetson-nano-calibrated" in r.stdout, r.stderr
    assert (tmp_path / "out" / "jetson-nano-calibrated.toml").exists()


def test_external_inputs_flag_matches_the_python_option(hand, capsys):
    import hwmodel
    rc, out, _ = run(["estimate", hand, "--target", "loihi1", "--external-inputs", "input", "--json"], capsys)
    want = hwmodel.estimate(hand, "loihi1", external_inputs=("input",))
    assert rc == 0 and json.loads(out)["energy_j"]["total"] == pytest.approx(want.energy_j["total"])
    assert "host_spike" in json.loads(out)["energy_j"]["breakdown"]
