"""Offline tasks, MNIST rows and the UEA .npz loader (real sets and malformed files).

Everything runs on the data packaged with brian-snn (UEA sets, embedded MNIST); nothing is skipped.
"""
import gzip
import hashlib
import json
import shutil

import numpy as np
import pytest

from brian_snn.solsa import SolsaError
from brian_snn.solsa import make_uea
from brian_snn.solsa.tasks import make_mnist_rows, make_patterns, make_sines, read_idx
from brian_snn.solsa.uea import (MANIFEST_FILE, PACKAGED_DIR, PACKED_KEYS, available_sets, check_split, load_npz,
                                 load_uea, packaged_sets, read_packaged)

UEA_SETS = ["BasicMotions", "Epilepsy", "JapaneseVowels", "RacketSports"]


def write_folder_set(root, name, arrays=None):
    """Write packaged set ``name`` in the folder layout (``root/name/{train,test}_data.npz``)."""
    arrays = arrays if arrays is not None else read_packaged(name)
    (root / name).mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        np.savez(root / name / f"{split}_data.npz", data=arrays[f"{split}_data"], label=arrays[f"{split}_label"])
    return root


def test_patterns_are_rate_matched_and_seeded():
    t = make_patterns(n_train=30, n_test=10, classes=3, channels=7, T=20, spikes_per_channel=3, jitter=0,
                      p_drop=0.0, p_noise=0.0, seed=4)
    assert t.x_train.shape == (30, 20, 7) and t.kind == "classification" and t.n_classes == 3
    # without noise every channel fires exactly 3 times in every sample, whatever the class
    np.testing.assert_array_equal(t.x_train.sum(axis=1), 3.0)
    # only timing differs between classes
    means = [t.x_train[t.y_train == c].mean(axis=0) for c in range(3) if np.any(t.y_train == c)]
    assert any(not np.allclose(means[0], m) for m in means[1:])
    again = make_patterns(n_train=30, n_test=10, classes=3, channels=7, T=20, spikes_per_channel=3,
                          jitter=0, p_drop=0.0, p_noise=0.0, seed=4)
    np.testing.assert_array_equal(again.x_train, t.x_train)


def test_pattern_difficulty_knobs():
    easy = make_patterns(n_train=50, n_test=1, p_drop=0.0, p_noise=0.0, jitter=0, seed=1)
    hard = make_patterns(n_train=50, n_test=1, p_drop=0.5, p_noise=0.1, jitter=3, seed=1)
    assert hard.x_train.sum(axis=1).std() > easy.x_train.sum(axis=1).std()
    for bad in (dict(jitter=-1), dict(p_drop=1.5), dict(p_noise=float("nan")), dict(classes=1),
                dict(spikes_per_channel=50, T=10)):
        with pytest.raises(SolsaError):
            make_patterns(**bad)


def test_sines_target_is_a_sum_of_four_sines():
    t = make_sines(n_train=4, channels=10, T=120, seed=2)
    assert t.kind == "regression" and t.readout == "membrane" and t.y_train.shape == (4, 120, 1)
    y = t.y_test[0, :, 0]
    assert np.max(np.abs(y)) == pytest.approx(1.0)
    power = np.abs(np.fft.rfft(y)) ** 2
    assert set(np.argsort(power)[-4:]) == {1, 2, 3, 5}       # periods T, T/2, T/3, T/5
    assert power[[1, 2, 3, 5]].sum() / power.sum() > 0.999


def test_mnist_rows_shapes_and_split():
    t = make_mnist_rows(n_train=50, n_test=20, seed=0)
    assert t.x_train.shape == (50, 28, 28) and t.T == 28 and t.n_classes == 10
    assert 0.0 <= t.x_train.min() and t.x_train.max() <= 1.0
    with pytest.raises(SolsaError, match="exceeds"):
        make_mnist_rows(n_train=8000, n_test=1)


def test_mnist_rows_from_the_packaged_images(monkeypatch):
    from brian_snn.data import load_embedded
    monkeypatch.setenv("BRIAN_SNN_SHARED_DATA", "/nonexistent")      # no 8k files there: packaged pool
    t = make_mnist_rows(n_train=1000, n_test=500, seed=3)
    emb = load_embedded()
    pool = np.concatenate([emb.x_train, emb.x_test]).astype(float) / 255.0
    order = np.random.default_rng(3).permutation(1500)
    np.testing.assert_array_equal(t.x_train.reshape(1000, 784), pool[order[:1000]])
    np.testing.assert_array_equal(t.y_test, np.concatenate([emb.y_train, emb.y_test])[order[1000:]])
    assert "mnist_embedded.npz" in t.info["source"]
    with pytest.raises(SolsaError, match="exceeds the 1500 images in the packaged embedded MNIST"):
        make_mnist_rows(n_train=1001, n_test=500)


def test_read_idx_rejects_malformed(tmp_path):
    good = tmp_path / "ok.gz"
    with gzip.open(good, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([1, 2, 3]))
    np.testing.assert_array_equal(read_idx(good), [1, 2, 3])
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes([1, 2]))
    with pytest.raises(SolsaError, match="payload"):
        read_idx(bad)
    with pytest.raises(SolsaError, match="not found"):
        read_idx(tmp_path / "missing.gz")


@pytest.mark.parametrize("name,shape,classes", [("BasicMotions", (40, 100, 6), 4), ("Epilepsy", (137, 207, 3), 4),
                                                ("JapaneseVowels", (270, 29, 12), 9),
                                                ("RacketSports", (151, 30, 6), 4)])
def test_uea_sets_load(name, shape, classes):
    t = load_uea(name)
    assert t.x_train.shape == shape and t.n_classes == classes
    assert np.all(np.isfinite(t.x_train)) and np.all(np.isfinite(t.x_test))
    assert set(np.unique(t.y_train)) == set(range(classes))
    assert name in available_sets()


def test_uea_padding_becomes_zero_and_standardization_uses_train_stats(tmp_path):
    raw, _, pad = load_npz(write_folder_set(tmp_path, "JapaneseVowels") / "JapaneseVowels" / "train_data.npz")
    assert pad.any() and np.all(raw[pad] == 0.0)
    a = read_packaged("JapaneseVowels")
    raw2, _, pad2 = check_split("JapaneseVowels[train]", a["train_data"], a["train_label"])
    np.testing.assert_array_equal(raw2, raw)
    np.testing.assert_array_equal(pad2, pad)
    t = load_uea("JapaneseVowels")
    assert t.info["padded_rows_train"] == int(pad.sum())
    valid = np.any(t.x_train != 0, axis=2)
    np.testing.assert_allclose(t.x_train[valid].mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(t.x_train[valid].std(axis=0), 1.0, atol=1e-6)
    t2 = load_uea("RacketSports", standardize=False)
    assert abs(t2.x_train).max() > 10          # raw values kept


def _write(path, **arrays):
    np.savez(path, **arrays)


@pytest.mark.parametrize("arrays,msg", [
    (dict(data=np.zeros((3, 4, 2))), "missing array"),
    (dict(data=np.zeros((3, 4)), label=np.zeros(3)), "must be \\[n, T, C\\]"),
    (dict(data=np.zeros((3, 4, 2)), label=np.zeros(2)), "'label' must be \\[n\\]"),
    (dict(data=np.zeros((3, 4, 2)), label=np.array([0.5, 1, 0])), "integer class ids"),
    (dict(data=np.full((3, 4, 2), np.inf), label=np.zeros(3)), "infinite"),
    (dict(data=np.where(np.arange(24).reshape(3, 4, 2) == 5, np.nan, 1.0), label=np.zeros(3)), "NaN outside"),
    (dict(data=np.where(np.arange(4)[None, :, None] == 1, np.nan, np.ones((3, 4, 2))), label=np.zeros(3)),
     "not at the end"),
    (dict(data=np.array([[["a"]]]), label=np.zeros(1)), "real numbers"),
])
def test_malformed_npz_gives_one_line_error(tmp_path, arrays, msg):
    path = tmp_path / "train_data.npz"
    _write(path, **arrays)
    with pytest.raises(SolsaError, match=msg) as exc:
        load_npz(path)
    assert "\n" not in str(exc.value) and "train_data.npz" in str(exc.value)


def test_not_a_zip_and_unknown_set(tmp_path):
    (tmp_path / "X").mkdir()
    (tmp_path / "X" / "train_data.npz").write_bytes(b"garbage")
    (tmp_path / "X" / "test_data.npz").write_bytes(b"garbage")
    with pytest.raises(SolsaError, match="not a readable .npz"):
        load_uea("X", data_dir=tmp_path)
    with pytest.raises(SolsaError, match="unknown UEA set 'Nope' \\(available: X\\)"):
        load_uea("Nope", data_dir=tmp_path)


def test_train_test_mismatch(tmp_path):
    d = tmp_path / "S"
    d.mkdir()
    _write(d / "train_data.npz", data=np.ones((4, 5, 2)), label=np.array([0, 1, 0, 1]))
    _write(d / "test_data.npz", data=np.ones((4, 6, 2)), label=np.array([0, 1, 0, 1]))
    with pytest.raises(SolsaError, match="train \\[T, C\\]"):
        load_uea("S", data_dir=tmp_path)
    _write(d / "test_data.npz", data=np.ones((2, 5, 2)), label=np.array([0, 7]))
    with pytest.raises(SolsaError, match="test labels \\[7\\]"):
        load_uea("S", data_dir=tmp_path)
    _write(d / "train_data.npz", data=np.ones((4, 5, 2)), label=np.array([3, 5, 3, 5]))
    _write(d / "test_data.npz", data=np.ones((2, 5, 2)), label=np.array([5, 3]))
    t = load_uea("S", data_dir=tmp_path, standardize=False)      # ids re-indexed to 0..K-1
    assert t.n_classes == 2 and t.info["labels"] == [3, 5] and sorted(t.y_test.tolist()) == [0, 1]


# ----------------------------------------------------------------------------- packaged UEA sets
def test_packaged_sets_and_manifest():
    assert packaged_sets() == UEA_SETS
    manifest = json.loads(MANIFEST_FILE.read_text())
    assert "arXiv:1811.00075" in manifest["source"] and "shared" not in json.dumps(manifest)
    total = 0
    for name in UEA_SETS:
        path = PACKAGED_DIR / f"{name}.npz"
        entry = manifest["files"][f"{name}.npz"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert path.stat().st_size == entry["bytes"]
        total += entry["bytes"]
        a = read_packaged(name)
        assert a["train_data"].dtype == np.float32 and a["train_label"].dtype == np.int32
        assert [list(a[k].shape) for k in PACKED_KEYS] == [entry["shapes"][k] for k in PACKED_KEYS]
    assert total < 2_500_000


def test_loading_order_data_dir_then_env_then_packaged(tmp_path, monkeypatch):
    packaged = read_packaged("RacketSports")
    # smaller RacketSports sets (every 15th / 25th sample: the files are sorted by class) in an env root
    # and in a --data-dir folder
    write_folder_set(tmp_path / "env" / "uea", "RacketSports", {k: v[::15] for k, v in packaged.items()})
    write_folder_set(tmp_path / "explicit", "RacketSports", {k: v[::25] for k, v in packaged.items()})
    monkeypatch.setenv("BRIAN_SNN_SHARED_DATA", str(tmp_path / "env"))
    t = load_uea("RacketSports")
    assert len(t.x_train) == 11 and t.info["source"] == str(tmp_path / "env" / "uea" / "RacketSports")
    assert len(load_uea("RacketSports", data_dir=tmp_path / "explicit").x_train) == 7
    # a set the env root lacks comes from the package; available_sets lists both places
    assert load_uea("BasicMotions").info["source"] == str(PACKAGED_DIR / "BasicMotions.npz")
    assert available_sets() == UEA_SETS
    # an explicit folder is the only place looked at
    with pytest.raises(SolsaError, match="unknown UEA set 'BasicMotions' \\(available: RacketSports\\)"):
        load_uea("BasicMotions", data_dir=tmp_path / "explicit")
    # no env root (or one without the set): the packaged copy, same values as the source layout
    monkeypatch.setenv("BRIAN_SNN_SHARED_DATA", "/nonexistent")
    t = load_uea("RacketSports")
    assert len(t.x_train) == 151 and t.info["source"] == str(PACKAGED_DIR / "RacketSports.npz")
    write_folder_set(tmp_path / "copy", "RacketSports")
    t2 = load_uea("RacketSports", data_dir=tmp_path / "copy")
    np.testing.assert_array_equal(t.x_train, t2.x_train)
    np.testing.assert_array_equal(t.y_test, t2.y_test)
    monkeypatch.delenv("BRIAN_SNN_SHARED_DATA")
    assert available_sets() == UEA_SETS
    with pytest.raises(SolsaError, match="unknown UEA set 'Nope' \\(available: BasicMotions, Epilepsy, "):
        load_uea("Nope")


def test_packaged_file_checksum_is_verified(tmp_path):
    d = tmp_path / "uea"
    shutil.copytree(PACKAGED_DIR, d)
    manifest = d / "manifest.json"
    want = json.loads(manifest.read_text())["files"]["RacketSports.npz"]["sha256"]
    raw = (d / "RacketSports.npz").read_bytes()
    for bad in (raw[: len(raw) // 2], raw[:-1] + bytes([raw[-1] ^ 1])):           # truncated, one bit flipped
        (d / "RacketSports.npz").write_bytes(bad)
        with pytest.raises(SolsaError) as exc:
            read_packaged("RacketSports", d / "RacketSports.npz", manifest)
        msg = str(exc.value)
        got = hashlib.sha256(bad).hexdigest()
        assert "\n" not in msg and msg.startswith(f"{d / 'RacketSports.npz'}: SHA-256 mismatch")
        assert want in msg and got in msg
    (d / "RacketSports.npz").unlink()
    with pytest.raises(SolsaError, match="RacketSports.npz: file not found \\(listed in"):
        read_packaged("RacketSports", d / "RacketSports.npz", manifest)
    with pytest.raises(SolsaError, match="Other.npz: not listed in"):
        read_packaged("Other", d / "Other.npz", manifest)
    manifest.write_text("{not json")
    with pytest.raises(SolsaError, match="manifest.json: not a readable JSON manifest"):
        read_packaged("BasicMotions", d / "BasicMotions.npz", manifest)


def test_make_uea_rebuilds_and_checks(tmp_path, capsys):
    src = tmp_path / "src"
    for name in UEA_SETS:
        write_folder_set(src, name)
    out = tmp_path / "out"
    assert make_uea.main(["--source", str(src), "--out", str(out)]) == 0
    new = json.loads((out / "manifest.json").read_text())
    old = json.loads(MANIFEST_FILE.read_text())
    assert new["source"] == old["source"] and sorted(new["files"]) == sorted(old["files"])
    for fname, entry in new["files"].items():
        if entry["sha256"] != old["files"][fname]["sha256"]:          # other zlib build: content still equal
            with np.load(out / fname) as a, np.load(PACKAGED_DIR / fname) as b:
                assert all(a[k].tobytes() == b[k].tobytes() for k in PACKED_KEYS)
    capsys.readouterr()
    assert make_uea.main(["--source", str(src), "--check"]) == 0
    assert "4 packaged set(s)" in capsys.readouterr().out
    # one value changed in the source -> --check fails, naming the file and the array
    a = read_packaged("Epilepsy")
    a["test_data"] = a["test_data"].copy()
    a["test_data"][0, 0, 0] += 1
    write_folder_set(src, "Epilepsy", a)
    assert make_uea.main(["--source", str(src), "--check"]) == 1
    err = capsys.readouterr().err
    assert "Epilepsy.npz: test_data differ from" in err and err.count("\n") == 1
