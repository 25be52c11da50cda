"""Reader and writer for the IDX format of MNIST / Fashion-MNIST (gzip-compressed or raw).

IDX layout (all integers big-endian)::

    byte 0-1  0x00 0x00
    byte 2    data type code (0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
    byte 3    number of dimensions d (>= 1)
    d x int32 size of each dimension
    data      prod(sizes) items of the given type, C order

Compression is detected from the gzip magic bytes (``1f 8b``), never from the file name.
Every problem (missing file, corrupt gzip, bad magic, unknown type code, truncated or
over-long data) raises :class:`DataError` with a one-line message that names the file.
"""
from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

#: IDX data type code -> (big-endian numpy dtype, readable name)
IDX_DTYPES = {
    0x08: (np.dtype(">u1"), "uint8"),
    0x09: (np.dtype(">i1"), "int8"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}
_CODE_OF = {np.dtype(dt).newbyteorder("="): code for code, (dt, _) in IDX_DTYPES.items()}


def read_bytes(path) -> bytes:
    """The content of ``path``, gunzipped if it starts with the gzip magic bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a data file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = _gunzip(data, path)
        except EOFError:
            raise DataError(f"{path}: truncated gzip stream (file ends before the end-of-stream marker)") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from None
    return data


MAX_IDX_BYTES = 1 << 30          # 1 GiB unpacked: 20x the 60,000 MNIST images; a gzip bomb stops here


def _gunzip(data: bytes, path) -> bytes:
    """Gunzip in pieces, refusing more than MAX_IDX_BYTES of output before it is allocated."""
    d, out, size = zlib.decompressobj(16 + zlib.MAX_WBITS), [], 0
    chunk = data
    while chunk:
        piece = d.decompress(chunk, 1 << 24)
        size += len(piece)
        if size > MAX_IDX_BYTES:
            raise DataError(f"{path}: unpacks to more than {MAX_IDX_BYTES >> 20:,} MiB (not an image data set, or a "
                            "gzip bomb); refused")
        out.append(piece)
        chunk = d.unconsumed_tail
    if not d.eof:
        raise EOFError
    return b"".join(out)


def _describe(dims, type_name: str) -> str:
    if len(dims) == 3:
        return f"{dims[0]} images of {dims[1]}x{dims[2]}"
    if len(dims) == 1:
        return f"{dims[0]} labels" if type_name == "uint8" else f"{dims[0]} items of {type_name}"
    return f"shape {'x'.join(map(str, dims))} of {type_name}"


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into a (native-endian, writable) array; ``name`` is used in errors."""
    if len(data) < 4:
        raise DataError(f"{name}: not an IDX file (only {len(data)} bytes, an IDX header needs at least 4)")
    if data[0] != 0 or data[1] != 0:
        magic = int.from_bytes(data[:4], "big")
        raise DataError(f"{name}: not an IDX file (magic 0x{magic:08x})")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{name}: bad IDX data type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{name}: bad IDX header (0 dimensions)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, file holds {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype, type_name = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    held = len(data) - header
    what = "pixel data" if ndim == 3 else "data"
    if held < expected:
        raise DataError(f"{name}: truncated: header says {_describe(dims, type_name)}, "
                        f"file holds {held} bytes of {what} (expected {expected})")
    if held > expected:
        raise DataError(f"{name}: {held - expected} bytes of trailing data: header says "
                        f"{_describe(dims, type_name)} ({expected} bytes), file holds {held}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip or raw, detected by magic bytes) into a numpy array.

    Validates the magic, the data type code, the dimensions and the exact data size;
    raises :class:`DataError` naming the file otherwise.
    """
    return parse_idx(read_bytes(path), name=str(path))


def idx_bytes(array) -> bytes:
    """Serialise an array to uncompressed IDX bytes."""
    arr = np.asarray(array)
    code = _CODE_OF.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"cannot write dtype {arr.dtype} as IDX (use uint8, int8, int16, int32, float32, float64)")
    if arr.ndim == 0 or arr.ndim > 255:
        raise DataError(f"cannot write a {arr.ndim}-dimensional array as IDX")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code][0]).tobytes()


def write_idx(path, array, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it when ``compress`` is true (default: name ends in ``.gz``).

    Gzip output is deterministic (mtime 0, no file name in the header).
    """
    path = Path(path)
    data = idx_bytes(array)
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(data)
        data = buf.getvalue()
    path.write_bytes(data)
    return path
