"""Read and write IDX files, the format of MNIST and FashionMNIST, gzip-compressed or raw.

An IDX file is a big-endian header followed by the array data:

- 4-byte magic ``0x00 0x00 <type code> <number of dimensions>``; type 0x08 is unsigned bytes, so images are
  ``0x00000803`` and labels ``0x00000801``;
- one big-endian uint32 per dimension (images: count, rows, cols; labels: count);
- the values, row-major.

Every way a file can be broken (too short, wrong magic, a payload that does not match the header, a damaged
gzip stream) raises ``ConfigError`` naming the file, what is wrong and what to do about it.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from nncore.errors import ConfigError

IMAGES_MAGIC = 0x00000803   # unsigned bytes, 3 dimensions: count, rows, cols
LABELS_MAGIC = 0x00000801   # unsigned bytes, 1 dimension: count

GZIP_SIGNATURE = b"\x1f\x8b"

# IDX type code -> numpy dtype (big-endian for multi-byte types).
_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _TYPES.items()}

_FIX = "delete it and download again (or replace it with a good copy)"


def _load_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it is a gzip stream (detected by content, not by name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", "data_dir") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", "data_dir") from None
    if not raw.startswith(GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise ConfigError(f"{path} is truncated: the gzip stream ends early ({len(raw)} bytes on disk); {_FIX}",
                          "data_dir") from None
    except (OSError, zlib.error) as exc:
        raise ConfigError(f"{path} is not a valid gzip file ({exc}); {_FIX}", "data_dir") from None


def _describe(magic: int) -> str:
    return f"0x{magic:08X}"


def _parse(path: Path, data: bytes, expected_magic: int | None) -> np.ndarray:
    """Validate the header of IDX ``data`` (read from ``path``) and return its array."""
    if len(data) < 4:
        raise ConfigError(f"{path} is truncated: {len(data)} bytes, too short for an IDX header; {_FIX}",
                          "data_dir")
    magic = int.from_bytes(data[:4], "big")
    code, ndim = data[2], data[3]
    if expected_magic is not None and magic != expected_magic:
        kind = {IMAGES_MAGIC: "an IDX image file", LABELS_MAGIC: "an IDX label file"}.get(expected_magic, "IDX")
        raise ConfigError(f"{path} is not {kind}: magic number is {_describe(magic)}, expected "
                          f"{_describe(expected_magic)}; check the file name or {_FIX}", "data_dir")
    if data[0] != 0 or data[1] != 0 or code not in _TYPES or ndim == 0:
        raise ConfigError(f"{path} is not an IDX file: magic number {_describe(magic)} is not 0x0000TTNN with a "
                          f"known type TT and at least one dimension NN; {_FIX}", "data_dir")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ConfigError(f"{path} is truncated: the header needs {header} bytes but the file holds {len(data)}; "
                          f"{_FIX}", "data_dir")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _TYPES[code]
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    if have != need:
        if ndim == 3:
            what = f"{dims[0]} images of {dims[1]}×{dims[2]}"
        elif ndim == 1:
            what = f"{dims[0]} labels"
        else:
            what = f"an array of shape {dims}"
        problem = "is truncated" if have < need else "has extra data"
        raise ConfigError(f"{path} {problem}: header says {what} ({need} bytes) but the file holds {have}; "
                          f"{_FIX}", "data_dir")
    array = np.frombuffer(data, dtype=dtype, count=need // dtype.itemsize, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path, expected_magic: int | None = None) -> np.ndarray:
    """Read any IDX file (gzip or raw). Returns a writable array of the header's shape in native byte order.

    ``expected_magic`` (e.g. ``IMAGES_MAGIC``) rejects files of another kind with a clear message.
    """
    path = Path(path)
    return _parse(path, _load_bytes(path), expected_magic)


def read_idx_images(path) -> np.ndarray:
    """Read an IDX image file (magic 0x00000803). Returns uint8 (n, rows, cols)."""
    return read_idx(path, IMAGES_MAGIC)


def read_idx_labels(path) -> np.ndarray:
    """Read an IDX label file (magic 0x00000801). Returns uint8 (n,)."""
    return read_idx(path, LABELS_MAGIC)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an uncompressed IDX file: uint8 (n, rows, cols) images, uint8 (n,) labels, or any
    shape of another IDX type (int8, int16, int32, float32, float64)."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ConfigError(f"IDX cannot store dtype {array.dtype}; use one of uint8, int8, int16, int32, "
                          f"float32, float64", "array")
    if array.ndim == 0 or array.ndim > 255:
        raise ConfigError(f"IDX needs an array with 1 to 255 dimensions, got {array.ndim}", "array")
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes()


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` (uint8 (n, rows, cols) images or uint8 (n,) labels) as an IDX file at ``path``.

    ``compress`` gzips the file; ``None`` means gzip exactly when the name ends in ``.gz``. Returns the path.
    """
    path = Path(path)
    data = idx_bytes(array)
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
