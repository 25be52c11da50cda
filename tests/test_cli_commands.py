"""``brian-snn`` commands a new user meets first, without a build: ``doctor``, what ``evaluate``
prints, and a ``--data-dir`` holding the other data set than ``--dataset`` names."""
import argparse
import json

import numpy as np
import pytest

from brian_snn import checks
from brian_snn.cli import main
from brian_snn.data import DataError, add_data_arguments, dataset_from_args, load_embedded, write_idx
from brian_snn.data import mnist


# -- doctor ------------------------------------------------------------------------------------------
def test_doctor_reports_every_item_ok_or_missing_with_what_for(capsys):
    rc = main(["doctor"])
    out = capsys.readouterr().out.splitlines()
    names = ["python", "brian2", "numpy", "scipy", "h5py", "C++ compiler", "brian2cuda", "nvcc", "cuRAND",
             "GPU", "dask", "matplotlib", "nir"]
    assert [ln[:13].strip() for ln in out[:len(names)]] == names
    for ln in out[:len(names)]:
        state = ln[13:]
        assert state.startswith("ok: ") or state.startswith("missing: needed for "), ln
    assert rc == 0 and out[-1] == "essentials (brian2, C++ compiler) ok"     # the test machine can simulate
    compiler = next(ln for ln in out if ln.startswith("C++ compiler"))
    assert "/" in compiler                                                   # its path


def test_doctor_exits_1_without_a_compiler_and_says_what_for(monkeypatch, capsys):
    monkeypatch.setattr(checks, "_compiler", lambda: (None, "no 'g++' or 'c++' on PATH"))
    monkeypatch.setattr("brian_snn.cuda.detect_gpus", lambda: [])
    assert main(["doctor"]) == 1
    cap = capsys.readouterr()
    line = next(ln for ln in cap.out.splitlines() if ln.startswith("C++ compiler"))
    assert line.startswith("C++ compiler missing: needed for --backend cpp (the default)")
    assert "no 'g++' or 'c++' on PATH" in line
    assert "GPU          missing: needed for running --backend cuda here" in cap.out
    assert cap.err.strip() == "brian-snn cannot simulate here: C++ compiler missing"


# -- evaluate ----------------------------------------------------------------------------------------
def _evaluated(reproduced):
    note = ("reproduces the stored test predictions exactly" if reproduced else
            "differs from the stored accuracy: run on runtime, trained on cpp (each backend draws its own "
            "Poisson input)")
    return {"scalars": {"accuracy": 0.69 if not reproduced else 0.698, "n_test": 500, "stored_accuracy": 0.698,
                        "reproduced": reproduced, "note": note, "data": "embedded mnist_embedded.npz: real MNIST"},
            "timings": {"test_sim_s": 2.0, "build_s": 0.5, "test_samples_per_s": 250.0},
            "counts": {"inference": None}, "arrays": {}}


@pytest.mark.parametrize("reproduced", [True, False])
def test_evaluate_prints_accuracy_stored_accuracy_and_its_data(reproduced, monkeypatch, capsys):
    from brian_snn.experiments import train_eval
    monkeypatch.setattr(train_eval, "evaluate_file", lambda path, backend=None, progress=True: _evaluated(reproduced))
    assert main(["evaluate", "r.h5", "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"accuracy        {69.80 if reproduced else 69.00:.2f} % on 500 test samples"
    assert out[1].startswith("stored accuracy 69.80 % (at training): ")
    assert ("reproduces the stored test predictions exactly" in out[1]) == reproduced
    assert out[2] == "test data       embedded mnist_embedded.npz: real MNIST"
    assert out[3] == "throughput      test 250.0 samples/s (build 0.5 s)"            # only what it measured
    assert not any("train" in ln and "samples/s" in ln for ln in out)
    assert main(["evaluate", "r.h5", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["reproduced"] is reproduced and s["stored_accuracy"] == 0.698 and s["data"].startswith("embedded")
    assert "train_samples_per_s" not in s


def test_evaluate_refuses_a_bad_target_before_testing(monkeypatch, capsys):
    from brian_snn.experiments import train_eval
    monkeypatch.setattr(train_eval, "evaluate_file", lambda *a, **k: pytest.fail("tested anyway"))
    assert main(["evaluate", "r.h5", "--target", "jetson-nan"]) == 2
    assert "did you mean 'jetson-nano'" in capsys.readouterr().err


# -- --dataset against the files in --data-dir --------------------------------------------------------
def _args(*argv):
    p = argparse.ArgumentParser()
    add_data_arguments(p)
    return p.parse_args(list(argv))


def _pool(folder, x, y):
    folder.mkdir()
    write_idx(folder / "p-images-idx3-ubyte", x.reshape(-1, 28, 28))
    write_idx(folder / "p-labels-idx1-ubyte", y)
    return folder


def test_fashion_mnist_with_mnist_digits_is_refused(tmp_path):
    ds = load_embedded()
    d = _pool(tmp_path / "m", ds.x_train[:200], ds.y_train[:200])           # raw files, another name
    with pytest.raises(DataError, match=r"^--dataset fashion-mnist, but --data-dir .*/m holds MNIST: 200 of its "
                                        r"images are MNIST images shipped with brian-snn; pass --dataset mnist"):
        dataset_from_args(_args("--dataset", "fashion-mnist", "--data-dir", str(d), "--train-samples", "20"))
    got = dataset_from_args(_args("--dataset", "mnist", "--data-dir", str(d), "--train-samples", "20"))
    assert got.n_train == 20 and "p-images-idx3-ubyte" in got.source      # the log line names the files


def test_other_images_pass_and_subsets_are_those_load_dataset_makes(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (80, 784), dtype=np.uint8)                    # not MNIST digits
    y = np.repeat(np.arange(10, dtype=np.uint8), 8)
    d = _pool(tmp_path / "f", x, y)
    got = dataset_from_args(_args("--dataset", "fashion-mnist", "--data-dir", str(d), "--train-samples", "30",
                                  "--test-samples", "10", "--data-seed", "2"))
    ref = mnist.load_dataset("fashion-mnist", data_dir=d, n_train=30, n_test=10, seed=2)
    assert got.name == "fashion-mnist" and got.source == ref.source
    np.testing.assert_array_equal(got.x_train, ref.x_train)
    np.testing.assert_array_equal(got.y_test, ref.y_test)


def test_mnist_with_official_fashion_files_is_refused(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    d = tmp_path / "f"
    d.mkdir()
    for role, stem in mnist.STANDARD_FILES.items():
        n = 40 if role.startswith("train") else 20
        arr = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if role.endswith("images")
               else np.arange(n, dtype=np.uint8) % 10)
        write_idx(d / f"{stem}.gz", arr)
    # pretend these are the official Fashion-MNIST files (their real MD5s need the real files)
    fake = {f"{stem}.gz": mnist.file_md5(d / f"{stem}.gz") for stem in mnist.STANDARD_FILES.values()}
    monkeypatch.setitem(mnist.MD5, "fashion-mnist", fake)
    for dataset in ("mnist", "embedded"):
        with pytest.raises(DataError, match=rf"^--dataset {dataset}, but --data-dir .* holds Fashion-MNIST: "
                                            r"train-images-idx3-ubyte.gz is the official Fashion-MNIST file"):
            dataset_from_args(_args("--dataset", dataset, "--data-dir", str(d)))
    assert dataset_from_args(_args("--dataset", "fashion-mnist", "--data-dir", str(d))).n_train == 40


# -- the two compare commands ---------------------------------------------------------------------------
def _help(run, argv, capsys) -> str:
    try:
        run(argv)
    except SystemExit:
        pass
    return " ".join(capsys.readouterr().out.split())


def test_the_two_compare_commands_say_what_they_compare_and_name_each_other(capsys):
    from hwmodel.cli import main as hw_main
    both = _help(main, ["--help"], capsys) + _help(hw_main, ["--help"], capsys)
    assert "train models (baselines vs SpikeDyn)" in both and "(not 'hwmodel compare'" in both
    assert "price one COUNTS file on several targets" in both and "(not 'brian-snn compare'" in both
    text = _help(main, ["compare", "--help"], capsys)
    assert "a comparison of models (it runs simulations)" in text and "use 'hwmodel compare'" in text
    text = _help(hw_main, ["compare", "--help"], capsys)
    assert "nothing is trained or simulated" in text and "use 'brian-snn compare'" in text
