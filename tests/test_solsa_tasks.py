"""Offline tasks, MNIST rows and the UEA .npz loader (real sets and malformed files)."""
import gzip

import numpy as np
import pytest

from brian_snn.solsa import SolsaError
from brian_snn.solsa.tasks import make_mnist_rows, make_patterns, make_sines, read_idx, shared_data_dir
from brian_snn.solsa.uea import available_sets, load_npz, load_uea

UEA = shared_data_dir("uea")
MNIST = shared_data_dir("mnist")
needs_uea = pytest.mark.skipif(not (UEA / "RacketSports").is_dir(), reason="shared UEA data not present")
needs_mnist = pytest.mark.skipif(not (MNIST / "mnist8k-images-idx3-ubyte.gz").is_file(), reason="no MNIST")


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


@needs_mnist
def test_mnist_rows_shapes_and_split():
    t = make_mnist_rows(n_train=50, n_test=20, seed=0)
    assert t.x_train.shape == (50, 28, 28) and t.T == 28 and t.n_classes == 10
    assert 0.0 <= t.x_train.min() and t.x_train.max() <= 1.0
    with pytest.raises(SolsaError, match="exceeds"):
        make_mnist_rows(n_train=8000, n_test=1)


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


@needs_uea
@pytest.mark.parametrize("name,shape,classes", [("BasicMotions", (40, 100, 6), 4), ("Epilepsy", (137, 207, 3), 4),
                                                ("JapaneseVowels", (270, 29, 12), 9),
                                                ("RacketSports", (151, 30, 6), 4)])
def test_uea_sets_load(name, shape, classes):
    t = load_uea(name)
    assert t.x_train.shape == shape and t.n_classes == classes
    assert np.all(np.isfinite(t.x_train)) and np.all(np.isfinite(t.x_test))
    assert set(np.unique(t.y_train)) == set(range(classes))
    assert name in available_sets()


@needs_uea
def test_uea_padding_becomes_zero_and_standardization_uses_train_stats():
    raw, _, pad = load_npz(UEA / "JapaneseVowels" / "train_data.npz")
    assert pad.any() and np.all(raw[pad] == 0.0)
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
