"""``brian-snn solsa``: through ``brian_snn.cli.main`` (options parsed as on the command line)."""
import argparse
import json

import h5py
import numpy as np
import pytest

from brian_snn.commands import solsa as solsa_cmd


def _run(argv, capsys):
    from brian_snn.cli import main
    rc = main(["solsa", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


SMALL = ["--hidden", "8", "--epochs", "2", "--train-samples", "12", "--test-samples", "12"]


def test_all_methods_json_and_hdf5(tmp_path, capsys):
    h5 = tmp_path / "r.h5"
    rc, out, err = _run(["--task", "patterns,uea", "--uea-set", "RacketSports", *SMALL, "--json",
                         "--out", str(h5)], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]     # r-jobs/ removed once r.h5 is written
    res = json.loads(out)
    assert [t["name"] for t in res["tasks"]] == ["patterns", "uea:RacketSports"]
    for t in res["tasks"]:
        assert set(t["methods"]) == {"solsa", "bptt", "online-simple"}
        for d in t["methods"].values():
            assert 0.0 <= d["test"] <= 1.0 and len(d["history"]) == 2
            assert all("test" not in h and 0.0 <= h["val"] <= 1.0 for h in d["history"])   # per epoch: val
            assert "best" not in d and d["val"] == d["history"][-1]["val"]
            assert d["memory"]["measured_bytes"] > 0 and d["memory"]["analytic_bytes"] > 0
        assert t["methods"]["solsa"]["engine"] == "brian2-runtime"
    s = res["summary"]
    # the summary is computed from the table, not typed in
    diffs = [100 * (t["methods"]["solsa"]["test"] - t["methods"]["bptt"]["test"]) for t in res["tasks"]]
    assert s["vs_bptt_points"] == pytest.approx(np.mean(diffs))
    assert s["paper"]["memory_reduction_percent"] == 72.0
    with h5py.File(h5) as f:
        assert f.attrs["schema"] == "brian-snn-solsa/1"
        g = f["tasks/patterns/solsa"]
        assert g.attrs["test"] == pytest.approx(res["tasks"][0]["methods"]["solsa"]["test"])
        assert g["W0"].shape == (8, res["tasks"][0]["sizes"][0]) and len(g["history_val"]) == 2
        assert "history_test" not in g and "best" not in g.attrs
    # validation: patterns draws n_train // 4 extra samples; UEA holds 20 % of the training samples out
    assert [(t["n_train"], t["n_val"], t["n_test"]) for t in res["tasks"]] == [(12, 3, 12), (9, 3, 12)]


def test_table_output_single_method_and_regression(capsys):
    rc, out, _ = _run(["--task", "sines", "--method", "bptt", "--hidden", "8", "--epochs", "1",
                       "--train-samples", "2"], capsys)
    assert rc == 0
    assert "sines" in out and "nmse" in out and "paper" in out


def test_progress_on_stderr_by_default_quiet_silences_it(capsys):
    argv = ["--task", "patterns", "--method", "bptt,online-simple", "--hidden", "8", "--epochs", "2",
            "--train-samples", "6", "--test-samples", "6"]
    rc, out, err = _run(argv, capsys)
    assert rc == 0 and "patterns" in out and "solsa:" not in out
    lines = err.splitlines()
    assert lines[0] == "solsa: 2 runs (1 task x 2 methods x 1 seed), 2 epochs each"
    assert sum("epoch" in ln and " val " in ln for ln in lines) == 4            # per epoch and method
    assert not any("test" in ln for ln in lines)                               # test is not progress
    done = [ln for ln in lines if ln.startswith("[2/2] patterns online-simple seed 0: val accuracy")]
    assert len(done) == 1 and "elapsed" in done[0]
    head = out.splitlines()[0].split()
    assert head[3:5] == ["val", "test"] and "best" not in head
    assert "test: the last epoch's network, evaluated once after training" in out
    rc, out, err = _run(argv + ["--quiet"], capsys)
    assert rc == 0 and err == "" and "patterns" in out


def test_mnist_rows_solsa_end_to_end(capsys):
    rc, out, err = _run(["--task", "mnist-rows", "--method", "solsa", "--hidden", "8", "--epochs", "1",
                         "--train-samples", "5", "--test-samples", "5", "--json"], capsys)
    assert rc == 0, err
    t = json.loads(out)["tasks"][0]
    assert t["name"] == "mnist-rows" and t["T"] == 28 and t["sizes"] == [28, 8, 10]


def test_memory_only_with_plot(tmp_path, capsys):
    png = tmp_path / "mem.png"
    rc, out, _ = _run(["--task", "uea", "--uea-set", "RacketSports", "--memory-only", "--plot", str(png)], capsys)
    assert rc == 0 and png.stat().st_size > 1000
    assert "SOLSA stops winning below T =" in out


@pytest.mark.parametrize("argv,msg", [
    (["--task", "cifar"], "unknown task cifar"),
    (["--method", "eprop"], "unknown method eprop"),
    (["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["--lr", "nan"], "lr must be finite"),
    (["--lr", "-0.1"], "lr must be >= 0"),
    (["--hidden", "0"], "--hidden must be positive"),
    (["--hidden", "a,b"], "--hidden must be comma-separated integers"),
    (["--task", "uea", "--uea-set", "Nope"], "unknown UEA set 'Nope'"),
    (["--train-samples", "0"], "argument --train-samples: expected a positive integer (at least 1 sample)"),
    (["--repeats", "0"], "argument --repeats: expected a positive integer"),
])
def test_bad_input_one_line_error_exit_2(argv, msg, capsys):
    rc, out, err = _run(argv, capsys)
    assert rc == 2
    assert err.startswith("brian-snn: error: ") and msg in err and err.count("\n") == 1


def test_malformed_npz_via_data_dir(tmp_path, capsys):
    d = tmp_path / "Bad"
    d.mkdir()
    np.savez(d / "train_data.npz", data=np.zeros((3, 4)), label=np.zeros(3))
    np.savez(d / "test_data.npz", data=np.zeros((3, 4, 1)), label=np.zeros(3))
    rc, _, err = _run(["--task", "uea", "--uea-set", "Bad", "--data-dir", str(tmp_path)], capsys)
    assert rc == 2 and "train_data.npz: 'data' must be [n, T, C]" in err


def test_unknown_backend_rejected_by_argparse():
    parser = argparse.ArgumentParser(prog="brian-snn")
    solsa_cmd.register(parser.add_subparsers())
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["solsa", "--backend", "cuda"])
    assert exc.value.code == 2


def test_jobs_folder_cleanup_removes_only_the_runners_files(tmp_path):
    d = tmp_path / "r-jobs"
    d.mkdir()
    for name in ("0123456789abcdef.json", "0123456789abcdef.npz", "0123456789abcdef.json.42.tmp"):
        (d / name).write_text("{}")
    solsa_cmd._remove_jobs(d)
    assert not d.exists()
    d.mkdir()
    (d / "0123456789abcdef.json").write_text("{}")
    (d / "notes.txt").write_text("mine")
    solsa_cmd._remove_jobs(d)
    assert [p.name for p in d.iterdir()] == ["notes.txt"]
