"""Read the header of a .safetensors file: tensor names, dtypes, shapes and metadata, no tensor data.

The format is an 8-byte little-endian header length, that many bytes of JSON, then the data. The
file is untrusted: the length is bounded before anything is read, the JSON is checked entry by
entry, and every tensor's byte range must lie inside the file and match its shape. Anything else
raises ``FileFormatError`` with a reason; nothing here can raise another exception type.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from services.errors import FileAccessError, FileFormatError

# Real headers are kilobytes to a few megabytes (a large model has a few thousand tensors).
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_TENSORS = 500_000

DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "U16": 2, "I16": 2, "F16": 2,
    "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8, "F4": 1, "F6_E2M3": 1, "F6_E3M2": 1,
}


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class SafetensorsHeader:
    path: Path
    file_size: int
    header_size: int
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def parameter_count(self) -> int:
        return sum(t.numel for t in self.tensors.values())

    def dtype_bytes(self) -> dict[str, int]:
        """Bytes of tensor data per dtype."""
        out: dict[str, int] = {}
        for t in self.tensors.values():
            out[t.dtype] = out.get(t.dtype, 0) + (t.end - t.start)
        return out


def read_header(path: str | os.PathLike, *, max_header_bytes: int = MAX_HEADER_BYTES) -> SafetensorsHeader:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            file_size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            if len(head) < 8:
                raise FileFormatError(f"{path.name} is too short to be a safetensors file ({file_size} bytes).",
                                      "The file is empty or truncated; download it again.")
            (length,) = struct.unpack("<Q", head)
            if length == 0 or length > max_header_bytes:
                raise FileFormatError(
                    f"{path.name} claims a {_size(length)} header, which no real safetensors file has.",
                    "The file is corrupt or not a safetensors file; it was not read further.")
            if 8 + length > file_size:
                raise FileFormatError(f"{path.name} is truncated: its header needs {_size(length)}, the file has "
                                      f"{_size(file_size - 8)} after the length.", "Download the file again.")
            raw = fh.read(length)
    except FileFormatError:
        raise
    except FileNotFoundError:
        raise FileAccessError(f"The model file {path} does not exist.") from None
    except IsADirectoryError:
        raise FileFormatError(f"{path} is a folder, not a safetensors file.") from None
    except OSError as exc:
        raise FileAccessError(f"The model file {path} cannot be read: {exc.strerror or exc}.") from None
    return parse_header(raw, path=path, file_size=file_size)


def parse_header(raw: bytes, *, path: Path, file_size: int) -> SafetensorsHeader:
    """Validate the JSON header bytes of a file of ``file_size`` bytes."""
    name = path.name
    bad = f"{name} has a corrupt safetensors header"
    hint = "The file is damaged or not a safetensors file; download it again."
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FileFormatError(f"{bad} (not valid JSON).", hint) from None
    if not isinstance(data, dict):
        raise FileFormatError(f"{bad} (not a JSON object).", hint)
    header_size = len(raw)
    data_size = file_size - 8 - header_size
    result = SafetensorsHeader(path=path, file_size=file_size, header_size=header_size)
    metadata = data.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise FileFormatError(f"{bad} (__metadata__ is not an object).", hint)
        result.metadata = {str(k): v if isinstance(v, str) else json.dumps(v)[:10000] for k, v in metadata.items()}
    if len(data) > MAX_TENSORS:
        raise FileFormatError(f"{name} lists {len(data):,} tensors, far more than any model has.", hint)
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise FileFormatError(f"{bad} (entry {key[:80]!r} is not an object).", hint)
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
            raise FileFormatError(f"{bad} (tensor {key[:80]!r} has an unknown dtype {str(dtype)[:20]!r}).", hint)
        if not isinstance(shape, list) or len(shape) > 16 or not all(_is_count(d) for d in shape):
            raise FileFormatError(f"{bad} (tensor {key[:80]!r} has an invalid shape).", hint)
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)
                and offsets[0] <= offsets[1] <= data_size):
            raise FileFormatError(f"{bad} (tensor {key[:80]!r} points outside the file).", hint)
        expected = math.prod(shape) * DTYPE_BYTES[dtype]
        if dtype not in ("F4", "F6_E2M3", "F6_E3M2") and offsets[1] - offsets[0] != expected:
            raise FileFormatError(f"{bad} (tensor {key[:80]!r} has {offsets[1] - offsets[0]} bytes for "
                                  f"{expected} bytes of data).", hint)
        result.tensors[key] = TensorInfo(dtype, tuple(shape), offsets[0], offsets[1])
    return result


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover
