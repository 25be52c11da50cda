"""Dataset layer: IDX reader, IDX folders, download + cache (local HTTP server), splits, embedded subset.

Fast and offline; nothing is skipped.  The 8k-pool tests use a fixture built in a temp folder
(:func:`pool_fixture`): the real labels of the pool (``tests/data/mnist8k-labels-idx1-ubyte.gz``) and,
as images, the real MNIST images of the packaged embedded subset.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import brian_snn.data as data
from brian_snn.data import DataError, mnist
from brian_snn.data.idx import idx_bytes, parse_idx, read_idx, write_idx

# labels of the 8k pool: the first 8,000 labels of the official MNIST t10k file (tests/data/README.md)
POOL_LABELS = Path(__file__).resolve().parent / "data" / "mnist8k-labels-idx1-ubyte.gz"
# class counts of the pool (digits 0-9), as published with the 8k files
POOL_COUNTS = [773, 905, 834, 803, 788, 723, 756, 813, 787, 818]


def _idx_gz(path: Path, arr: np.ndarray) -> None:
    """Write an unsigned-byte IDX file (gzipped) byte by byte, independently of brian_snn.data.idx."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def pool_fixture(folder: Path) -> Path:
    """An 8k pool in ``mnist8k-*`` IDX files: the real pool labels; at the pool positions recorded in
    the embedded file (``idx_train``/``idx_test``) the embedded images themselves, elsewhere mirrored
    (left-right) embedded images of the same class, cycled, so every embedded image occurs in the pool
    exactly where it was taken from.  The split and subset rules look only at labels, so make_embedded
    must rebuild the embedded file from this pool exactly."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(POOL_LABELS, "rb") as f:
        raw = f.read()
    assert raw[:4] == bytes([0, 0, 8, 1]) and struct.unpack(">I", raw[4:8])[0] == len(raw) - 8 == 8000
    y = np.frombuffer(raw, dtype=np.uint8, offset=8)
    with np.load(data.EMBEDDED_FILE) as z:
        emb = {k: z[k] for k in z.files}
    x = np.zeros((len(y), 784), dtype=np.uint8)
    known = np.zeros(len(y), dtype=bool)
    for part in ("train", "test"):
        idx = emb[f"idx_{part}"]
        np.testing.assert_array_equal(y[idx], emb[f"y_{part}"])     # labels agree with the embedded file
        x[idx], known[idx] = emb[f"x_{part}"], True
    for c in range(10):
        donors, holes = np.flatnonzero(known & (y == c)), np.flatnonzero(~known & (y == c))
        mirrored = x[donors].reshape(-1, 28, 28)[:, :, ::-1].reshape(-1, 784)
        x[holes] = mirrored[np.arange(len(holes)) % len(donors)]
    originals = {r.tobytes() for r in x[known]}
    assert not any(r.tobytes() in originals for r in x[~known])
    _idx_gz(folder / "mnist8k-images-idx3-ubyte.gz", x.reshape(-1, 28, 28))
    _idx_gz(folder / "mnist8k-labels-idx1-ubyte.gz", y)
    return folder


def raises_one_line(fn, *args, match: str, **kwargs) -> str:
    """Call fn; assert it raises a one-line DataError containing ``match``; return the message."""
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and msg == msg.strip()
    assert match in msg, msg
    assert isinstance(info.value, ValueError)
    return msg


def fake_pair(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    return x, y[rng.permutation(n)]


def write_standard(folder: Path, n_train=30, n_test=20, gz=True, seed=0) -> dict:
    """Write the four standard IDX files; return {file name: (array)}."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    x_tr, y_tr = fake_pair(n_train, seed)
    x_te, y_te = fake_pair(n_test, seed + 1)
    out = {}
    for stem, arr in (("train-images-idx3-ubyte", x_tr), ("train-labels-idx1-ubyte", y_tr),
                      ("t10k-images-idx3-ubyte", x_te), ("t10k-labels-idx1-ubyte", y_te)):
        write_idx(folder / (stem + ext), arr)
        out[stem + ext] = arr
    return out


# ---------------------------------------------------------------------------------------------
# IDX reader
# ---------------------------------------------------------------------------------------------

HAND = (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02" + b"\x00\x00\x00\x02" + b"\x00\x00\x00\x03"
        + bytes([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]))
HAND_ARRAY = np.array([[[0, 1, 2], [3, 4, 5]], [[250, 251, 252], [253, 254, 255]]], dtype=np.uint8)


def test_idx_hand_written_raw_and_gz(tmp_path):
    raw = tmp_path / "hand-idx3-ubyte"
    raw.write_bytes(HAND)
    gz = tmp_path / "hand-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(HAND))
    for path in (raw, gz):
        a = read_idx(path)
        assert a.dtype == np.uint8 and a.shape == (2, 2, 3)
        np.testing.assert_array_equal(a, HAND_ARRAY)
    assert idx_bytes(HAND_ARRAY) == HAND


def test_idx_labels_and_big_endian_types(tmp_path):
    labels = b"\x00\x00\x08\x01\x00\x00\x00\x04" + bytes([7, 2, 1, 0])
    np.testing.assert_array_equal(parse_idx(labels), [7, 2, 1, 0])
    # int32 big-endian, 1-D: 258 and -1
    ints = b"\x00\x00\x0c\x01\x00\x00\x00\x02" + struct.pack(">ii", 258, -1)
    a = parse_idx(ints)
    assert a.dtype == np.int32 and a.dtype.isnative and a.tolist() == [258, -1]
    for dtype in (np.int8, np.int16, np.int32, np.float32, np.float64):
        arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        for name in ("a.idx", "a.idx.gz"):
            back = read_idx(write_idx(tmp_path / name, arr))
            assert back.dtype == arr.dtype
            np.testing.assert_array_equal(back, arr)


def test_gzip_detected_by_magic_not_extension(tmp_path):
    gz_named_raw = tmp_path / "x-idx3-ubyte.gz"
    gz_named_raw.write_bytes(HAND)                       # raw bytes, .gz name
    raw_named_gz = tmp_path / "y-idx3-ubyte"
    raw_named_gz.write_bytes(gzip.compress(HAND))        # gzip bytes, no .gz
    np.testing.assert_array_equal(read_idx(gz_named_raw), HAND_ARRAY)
    np.testing.assert_array_equal(read_idx(raw_named_gz), HAND_ARRAY)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_pixel_data(tmp_path, gz):
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    content = b"\x00\x00\x08\x03" + struct.pack(">iii", 60000, 28, 28) + bytes(1234)
    path.write_bytes(gzip.compress(content) if gz else content)
    msg = raises_one_line(read_idx, path, match="truncated: header says 60000 images of 28x28, "
                                                "file holds 1234 bytes of pixel data")
    assert msg.startswith(str(path))


def test_truncated_header_gzip_stream_and_trailing_data(tmp_path):
    p = tmp_path / "short-header"
    p.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")
    raises_one_line(read_idx, p, match="truncated header")
    p = tmp_path / "tiny"
    p.write_bytes(b"\x00\x00")
    raises_one_line(read_idx, p, match="not an IDX file")
    p = tmp_path / "cut.gz"
    p.write_bytes(gzip.compress(HAND * 50)[:-30])
    msg = raises_one_line(read_idx, p, match="gzip")
    assert str(p) in msg
    p = tmp_path / "crc.gz"
    blob = bytearray(gzip.compress(HAND))
    blob[-6] ^= 0xFF                                       # break the CRC
    p.write_bytes(bytes(blob))
    raises_one_line(read_idx, p, match="corrupt gzip data")
    p = tmp_path / "long"
    p.write_bytes(HAND + b"\x00\x00\x00")
    raises_one_line(read_idx, p, match="3 bytes of trailing data")


def test_wrong_magic(tmp_path):
    p = tmp_path / "double.gz"
    p.write_bytes(gzip.compress(gzip.compress(HAND, mtime=0), mtime=0))  # gunzipped once: still gzip
    msg = raises_one_line(read_idx, p, match="not an IDX file (magic 0x1f8b0800)")
    assert msg.startswith(str(p))
    p = tmp_path / "text"
    p.write_bytes(b"<html>not found</html>")
    raises_one_line(read_idx, p, match="not an IDX file (magic 0x3c68746d)")


def test_bad_dtype_code_and_dims(tmp_path):
    p = tmp_path / "bad-code"
    p.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    msg = raises_one_line(read_idx, p, match="bad IDX data type code 0x07")
    assert str(p) in msg
    p = tmp_path / "zero-dims"
    p.write_bytes(b"\x00\x00\x08\x00")
    raises_one_line(read_idx, p, match="0 dimensions")


def test_missing_file_and_directory(tmp_path):
    raises_one_line(read_idx, tmp_path / "nope", match="nope: no such file")
    raises_one_line(read_idx, tmp_path, match="is a directory")


# ---------------------------------------------------------------------------------------------
# IDX folders
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_dir_standard_names(tmp_path, gz):
    files = write_standard(tmp_path, gz=gz)
    ds = data.load_idx_dir(tmp_path)
    ext = ".gz" if gz else ""
    assert ds.name == "mnist" and str(tmp_path) in ds.source
    assert ds.x_train.shape == (30, 784) and ds.x_test.shape == (20, 784)
    assert ds.x_train.dtype == ds.y_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.x_train, files["train-images-idx3-ubyte" + ext].reshape(30, 784))
    np.testing.assert_array_equal(ds.y_test, files["t10k-labels-idx1-ubyte" + ext])
    assert data.load_idx_dir(tmp_path, name="fashion-mnist").name == "fashion-mnist"


def test_load_idx_dir_mixed_gz_and_raw(tmp_path):
    write_standard(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").rename(tmp_path / "t10k-labels.tmp")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress((tmp_path / "t10k-labels.tmp").read_bytes()))
    (tmp_path / "t10k-labels.tmp").unlink()
    assert data.load_idx_dir(tmp_path).n_test == 20


def test_load_idx_dir_errors(tmp_path):
    raises_one_line(data.load_idx_dir, tmp_path / "absent", match="absent: no such directory")
    empty = tmp_path / "empty"
    empty.mkdir()
    raises_one_line(data.load_idx_dir, empty, match="no IDX data")
    write_standard(tmp_path / "incomplete")
    (tmp_path / "incomplete" / "t10k-images-idx3-ubyte.gz").unlink()
    raises_one_line(data.load_idx_dir, tmp_path / "incomplete",
                    match="incomplete IDX set: missing t10k-images-idx3-ubyte[.gz]")
    amb = tmp_path / "amb"
    amb.mkdir()
    for prefix in ("a-", "b-"):
        x, y = fake_pair(10, 0)
        write_idx(amb / f"{prefix}images-idx3-ubyte.gz", x)
        write_idx(amb / f"{prefix}labels-idx1-ubyte.gz", y)
    raises_one_line(data.load_idx_dir, amb, match="ambiguous: 2 image/label pairs")


def test_count_mismatch_names_the_files(tmp_path):
    write_standard(tmp_path)
    x, _ = fake_pair(31, 5)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    msg = raises_one_line(data.load_idx_dir, tmp_path, match="images/labels count differ (31 images, 30 labels)")
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg


def test_wrong_image_size_and_label_range(tmp_path):
    write_standard(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((20, 32, 32), np.uint8))
    raises_one_line(data.load_idx_dir, tmp_path, match="t10k-images-idx3-ubyte.gz: expected uint8 images of 28x28")
    write_standard(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(30, 12, np.uint8))
    raises_one_line(data.load_idx_dir, tmp_path, match="train-labels-idx1-ubyte.gz: label 12 out of range 0-9")
    write_standard(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">iii", 30, 28, 28) + bytes(100)))
    raises_one_line(data.load_idx_dir, tmp_path, match="train-images-idx3-ubyte.gz: truncated: header says 30 images")


def test_load_idx_dir_single_pool(tmp_path):
    x, y = fake_pair(200, 3)
    write_idx(tmp_path / "mine-images-idx3-ubyte", x)
    write_idx(tmp_path / "mine-labels-idx1-ubyte.gz", y)
    ds = data.load_idx_dir(tmp_path, seed=4)
    assert (ds.n_train, ds.n_test) == (150, 50)
    assert "pool of 200" in ds.source and "seed 4" in ds.source and "150 train / 50 test" in ds.source
    np.testing.assert_array_equal(ds.class_counts("test"), [5] * 10)
    # every pool image lands in exactly one part
    rows = {r.tobytes() for r in x.reshape(200, -1)}
    got = [r.tobytes() for r in np.concatenate([ds.x_train, ds.x_test])]
    assert len(set(got)) == 200 and set(got) == rows
    ds2 = data.load_idx_dir(tmp_path, test_fraction=0.1)
    assert (ds2.n_train, ds2.n_test) == (180, 20)
    raises_one_line(data.load_idx_dir, tmp_path, test_fraction=1.5, match="test_fraction=1.5")


# ---------------------------------------------------------------------------------------------
# stratified split and subsets
# ---------------------------------------------------------------------------------------------

def test_stratified_split_proportions_disjoint_deterministic():
    rng = np.random.default_rng(1)
    counts = [50, 120, 7, 300, 33, 90, 61, 12, 200, 127]       # 1000, deliberately unbalanced
    y = rng.permutation(np.repeat(np.arange(10), counts)).astype(np.uint8)
    x = np.arange(len(y), dtype=np.int64)                       # x = index, to check disjointness
    for n_train, n_test in ((100, 37), (333, 250), (999, 1), (600, 400), (0, 10)):
        x_tr, y_tr, x_te, y_te = data.stratified_split(x, y, n_train, n_test, seed=7)
        assert len(x_tr) == n_train and len(x_te) == n_test
        assert not set(x_tr) & set(x_te)
        np.testing.assert_array_equal(y[x_tr], y_tr)
        np.testing.assert_array_equal(y[x_te], y_te)
        for part, n in ((y_tr, n_train), (y_te, n_test)):
            exact = n * np.array(counts) / len(y)
            assert np.all(np.abs(np.bincount(part, minlength=10) - exact) < 1), (n, np.bincount(part, minlength=10))
    a = data.stratified_split(x, y, 100, 50, seed=3)
    b = data.stratified_split(x, y, 100, 50, seed=3)
    c = data.stratified_split(x, y, 100, 50, seed=4)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    # parts come class-interleaved, not sorted by class
    assert np.any(np.diff(a[1].astype(int)) < 0)


def test_stratified_split_errors():
    y = np.repeat(np.arange(10, dtype=np.uint8), 10)
    x = np.zeros((100, 784), np.uint8)
    raises_one_line(data.stratified_split, x, y, 101, 0, match="n_train=101 exceeds the 100")
    raises_one_line(data.stratified_split, x, y, 60, 41, match="n_test=41 exceeds the 40")
    raises_one_line(data.stratified_split, x, y, -1, 0, match="n_train=-1")
    raises_one_line(data.stratified_split, x, y[:99], 10, 10, match="images/labels count differ")
    x_tr, y_tr, x_te, y_te = data.stratified_split(x, y, 60, 40, seed=0)
    assert len(y_tr) + len(y_te) == 100


def test_dataset_subset():
    x, y = fake_pair(500, 0)
    xt, yt = fake_pair(200, 1)
    ds = data.Dataset("mnist", x.reshape(500, -1), y, xt.reshape(200, -1), yt, "fake")
    sub = ds.subset(100, 30, seed=2)
    assert (sub.n_train, sub.n_test) == (100, 30)
    np.testing.assert_array_equal(sub.class_counts("train"), [10] * 10)
    np.testing.assert_array_equal(sub.class_counts("test"), [3] * 10)
    assert "stratified subset (seed 2)" in sub.source
    np.testing.assert_array_equal(sub.x_train, ds.subset(100, 30, seed=2).x_train)
    # the train subset does not depend on n_test
    np.testing.assert_array_equal(sub.x_train, ds.subset(100, None, seed=2).x_train)
    keep = ds.subset(None, 10)
    np.testing.assert_array_equal(keep.x_train, ds.x_train)
    raises_one_line(ds.subset, 501, match="n_train=501 exceeds the 500 training images available in mnist")
    raises_one_line(ds.subset, None, 201, match="n_test=201 exceeds the 200 test images")
    raises_one_line(data.Dataset, "bad", x, y, xt, yt, "", match="x_train must be a uint8 array")
    assert "train=500x784" in repr(ds)


# ---------------------------------------------------------------------------------------------
# download + cache against a local HTTP server
# ---------------------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.startswith("/short/"):           # lies about its length, then hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(500))
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server over tmp_path/www; yields (base_url, www folder, request log)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", www, httpd.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def serve_fake(www: Path, monkeypatch, name="mnist") -> dict:
    """Write fake official .gz files into www and patch the MD5 table to match them."""
    write_standard(www, n_train=40, n_test=20, gz=True)
    table = {f: hashlib.md5((www / f).read_bytes()).hexdigest() for f in mnist.MD5[name]}
    monkeypatch.setitem(mnist.MD5, name, table)
    return table


def test_download_cache_hit_and_load(server, tmp_path, monkeypatch):
    base, www, requests = server
    table = serve_fake(www, monkeypatch)
    cache = tmp_path / "cache"
    got = data.download("mnist", cache_dir=cache, base_url=base)
    assert got == cache
    assert sorted(requests) == sorted("/" + f for f in table)
    for f, md5 in table.items():
        assert hashlib.md5((cache / f).read_bytes()).hexdigest() == md5
    assert sorted(p.name for p in cache.iterdir()) == sorted(table)      # no temp files left
    data.download("mnist", cache_dir=cache, base_url=base)
    assert len(requests) == 4                                           # cache hit: no new request
    ds = data.load_dataset("mnist", cache_dir=cache, download_ok=False)
    assert (ds.n_train, ds.n_test) == (40, 20) and "MD5-verified" in ds.source
    # a damaged cached file is fetched again
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    raises_one_line(data.load_dataset, "mnist", cache_dir=cache, download_ok=False, match="MD5 mismatch")
    data.download("mnist", cache_dir=cache, base_url=base)
    assert requests[4:] == ["/t10k-labels-idx1-ubyte.gz"]


def test_download_md5_mismatch_leaves_nothing(server, tmp_path, monkeypatch):
    base, www, requests = server
    table = dict(serve_fake(www, monkeypatch))
    table["train-labels-idx1-ubyte.gz"] = "0" * 32
    monkeypatch.setitem(mnist.MD5, "mnist", table)
    cache = tmp_path / "cache"
    msg = raises_one_line(data.download, "mnist", cache_dir=cache, base_url=base,
                          match=f"MD5 mismatch (expected {'0' * 32}, got ")
    assert msg.startswith(base + "train-labels-idx1-ubyte.gz: ")
    assert not (cache / "train-labels-idx1-ubyte.gz").exists()
    assert not any(p.name.endswith(".part") for p in cache.iterdir())


def test_download_http_errors_leave_nothing(server, tmp_path, monkeypatch):
    base, www, requests = server
    serve_fake(www, monkeypatch)
    cache = tmp_path / "cache"
    (www / "t10k-images-idx3-ubyte.gz").unlink()
    raises_one_line(data.download, "mnist", cache_dir=cache, base_url=base,
                    match="t10k-images-idx3-ubyte.gz: download failed (HTTP 404")
    raises_one_line(data.download, "mnist", cache_dir=cache, base_url=base + "short/",
                    match="truncated download")
    assert not any(p.name.startswith(".") for p in cache.iterdir())
    # nothing listening -> clear error mentioning the offline alternative
    raises_one_line(data.download, "mnist", cache_dir=tmp_path / "c2", base_url="http://127.0.0.1:9/",
                    timeout=5, match="download failed")
    raises_one_line(data.download, "cifar", cache_dir=cache, match="downloadable data sets are mnist, fashion-mnist")


def test_fashion_mnist_download_and_env_cache(server, tmp_path, monkeypatch):
    base, www, requests = server
    serve_fake(www, monkeypatch, name="fashion-mnist")
    monkeypatch.setenv("BRIAN_SNN_DATA", str(tmp_path / "env"))
    assert data.default_cache_dir("fashion-mnist") == tmp_path / "env" / "fashion-mnist"
    cache = data.download("fashion-mnist", base_url=base)
    assert cache == tmp_path / "env" / "fashion-mnist"
    ds = data.load_dataset("fashion-mnist", n_train=20, n_test=10)    # cache complete: no request
    assert len(requests) == 4
    assert ds.name == "fashion-mnist" and (ds.n_train, ds.n_test) == (20, 10)
    raises_one_line(data.load_dataset, "mnist", download_ok=False, match="not in the cache and downloading is disabled")


def test_default_mirrors_and_checksums():
    assert data.MIRRORS["mnist"] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert data.MD5["mnist"]["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert data.MD5["fashion-mnist"]["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert all(len(t) == 4 for t in data.MD5.values())


# ---------------------------------------------------------------------------------------------
# load_dataset, CLI options
# ---------------------------------------------------------------------------------------------

def test_load_dataset_options(tmp_path):
    raises_one_line(data.load_dataset, "cifar10", match="unknown data source 'cifar10': valid sources are "
                                                         "embedded, mnist, fashion-mnist")
    write_standard(tmp_path, n_train=50, n_test=20)
    ds = data.load_dataset(data_dir=tmp_path, n_train=20, n_test=10, seed=1)
    assert ds.name == "mnist" and (ds.n_train, ds.n_test) == (20, 10)
    assert data.load_dataset("fashion-mnist", data_dir=tmp_path).name == "fashion-mnist"
    raises_one_line(data.load_dataset, data_dir=tmp_path, n_train=51, match="n_train=51 exceeds the 50")
    raises_one_line(data.load_dataset, "embedded", n_test=501, match="n_test=501 exceeds the 500 test images")


def test_cli_data_arguments(tmp_path):
    write_standard(tmp_path, n_train=50, n_test=20)
    parser = argparse.ArgumentParser()
    data.add_data_arguments(parser)
    args = parser.parse_args(["--data-dir", str(tmp_path), "--n-train", "10", "--data-seed", "3"])
    ds = data.dataset_from_args(args)
    assert (ds.n_train, ds.n_test) == (10, 20)
    assert data.dataset_from_args(parser.parse_args([])).n_train == 1000


# ---------------------------------------------------------------------------------------------
# embedded subset
# ---------------------------------------------------------------------------------------------

def test_embedded_subset():
    ds = data.load_embedded()
    assert ds.name == "mnist"
    assert ds.x_train.shape == (1000, 784) and ds.x_test.shape == (500, 784)
    assert ds.x_train.dtype == ds.x_test.dtype == ds.y_train.dtype == ds.y_test.dtype == np.uint8
    assert mnist.content_sha256({"x_train": ds.x_train, "y_train": ds.y_train,
                                 "x_test": ds.x_test, "y_test": ds.y_test}) == mnist.EMBEDDED_SHA256
    assert data.EMBEDDED_FILE.stat().st_size < 400_000
    p = np.array(POOL_COUNTS) / sum(POOL_COUNTS)
    assert np.all(np.abs(ds.class_counts("train") - 1000 * p) < 1)
    assert np.all(np.abs(ds.class_counts("test") - 500 * p) < 1)
    assert 30 < ds.x_train.mean() < 37 and ds.x_train.max() == 255
    assert "real MNIST" in ds.source
    assert data.load_dataset().n_train == 1000


def test_embedded_checksum_and_corruption(tmp_path):
    with np.load(data.EMBEDDED_FILE) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["x_train"] = arrays["x_train"].copy()
    arrays["x_train"][0, 400] ^= 1
    np.savez_compressed(tmp_path / "tampered.npz", **arrays)
    raises_one_line(data.load_embedded, tmp_path / "tampered.npz", match="tampered.npz: SHA-256 mismatch")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 junk")
    raises_one_line(data.load_embedded, tmp_path / "junk.npz", match="junk.npz: corrupt embedded data")
    raises_one_line(data.load_embedded, tmp_path / "none.npz", match="none.npz: no such file")
    np.savez_compressed(tmp_path / "partial.npz", x_train=arrays["x_train"])
    raises_one_line(data.load_embedded, tmp_path / "partial.npz", match="missing arrays y_train, x_test, y_test")


# ---------------------------------------------------------------------------------------------
# real data (8k pool fixture: real labels, real MNIST images from the embedded subset)
# ---------------------------------------------------------------------------------------------

def test_pool_split_and_sanity(tmp_path):
    pool = pool_fixture(tmp_path / "mnist")
    ds = data.load_idx_dir(pool)
    assert (ds.n_train, ds.n_test) == (6000, 2000)
    np.testing.assert_array_equal(ds.class_counts("train") + ds.class_counts("test"), POOL_COUNTS)
    exact = 2000 * np.array(POOL_COUNTS) / 8000
    assert np.all(np.abs(ds.class_counts("test") - exact) < 1)
    # real MNIST: mean pixel about 33 (official sets: 33.3 train, 33.8 test), ink is 255
    assert 31 < ds.x_train.mean() < 36 and 31 < ds.x_test.mean() < 36
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0
    assert "pool of 8000" in ds.source and "6000 train / 2000 test" in ds.source
    again = data.load_dataset(data_dir=pool, seed=0)
    np.testing.assert_array_equal(again.y_test, ds.y_test)
    other = data.load_dataset(data_dir=pool, seed=1)
    assert not np.array_equal(other.y_test, ds.y_test)


def test_embedded_is_reproducible_from_pool(tmp_path):
    from brian_snn.data import make_embedded
    src = pool_fixture(tmp_path / "mnist")
    arrays = make_embedded.build(src)
    assert mnist.content_sha256(arrays) == mnist.EMBEDDED_SHA256
    # embedded train/test are subsets of the 6000/2000 pool split's train/test parts
    pool = data.load_idx_dir(src)
    train_rows = {r.tobytes() for r in pool.x_train}
    test_rows = {r.tobytes() for r in pool.x_test}
    emb = data.load_embedded()
    assert all(r.tobytes() in train_rows for r in emb.x_train)
    assert all(r.tobytes() in test_rows for r in emb.x_test)
    with np.load(data.EMBEDDED_FILE) as z:
        assert not set(z["idx_train"]) & set(z["idx_test"])
    assert make_embedded.main(["--shared", str(src), "--check"]) == 0
    out = tmp_path / "e.npz"
    assert make_embedded.main(["--shared", str(src), "--out", str(out)]) == 0
    if out.read_bytes() != data.EMBEDDED_FILE.read_bytes():       # other zlib build: content still equal
        assert data.load_embedded(out).source == emb.source


def test_make_embedded_needs_a_pool_folder(monkeypatch, capsys):
    from brian_snn.data import make_embedded
    monkeypatch.delenv("BRIAN_SNN_SHARED_DATA", raising=False)
    with pytest.raises(SystemExit) as exc:
        make_embedded.main(["--check"])
    assert exc.value.code == 2 and "--shared DIR is required" in capsys.readouterr().err


def test_pool_labels_fixture_is_unchanged():
    # the committed copy of the 8k pool's label file (tests/data/README.md), byte for byte
    assert hashlib.sha256(POOL_LABELS.read_bytes()).hexdigest() == \
        "a4519f3b56984ff8d3a6ce4514cfe6590bae9e5a744e2549037cebe117d87d4b"


def test_data_layer_does_not_import_brian2():
    import ast
    for path in Path(data.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "brian2" for n in names), path


def test_a_gzip_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    """Unpacking stops as soon as the output passes the limit (set low here: 1 MiB), one line."""
    from brian_snn.data import idx
    monkeypatch.setattr(idx, "MAX_IDX_BYTES", 1 << 20)
    bomb = tmp_path / "x.gz"
    bomb.write_bytes(gzip.compress(bytes(3 << 20)))                # 3 MiB of zeros, a few kB packed
    with pytest.raises(DataError, match=r"x.gz: unpacks to more than 1 MiB .* refused"):
        idx.read_bytes(bomb)
    ok = tmp_path / "y.gz"
    ok.write_bytes(gzip.compress(bytes(1 << 19)))                  # under the limit: read as before
    assert idx.read_bytes(ok) == bytes(1 << 19)
