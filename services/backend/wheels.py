"""Writing a pure-Python wheel (PEP 427) from files in memory: the worker payload, and no more.

A wheel is a zip with the package files and a ``<name>-<version>.dist-info`` folder (METADATA,
WHEEL, RECORD). Entries get a fixed timestamp and a sorted order, so the same files always give
the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def normalise(name: str) -> str:
    """The file-name form of a distribution name: lower case, runs of -_. become one _."""
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_name(name: str, version: str) -> str:
    return f"{normalise(name)}-{version}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"sha256={digest}"


def write_wheel(dest_dir: str | os.PathLike, name: str, version: str, files: Mapping[str, bytes], *,
                requires: Iterable[str] = (), summary: str = "", dist_info_files: Mapping[str, bytes] | None = None,
                requires_python: str = "") -> Path:
    """Write ``<dest_dir>/<name>-<version>-py3-none-any.whl`` holding ``files`` (archive path ->
    bytes) and return its path. The file appears complete or not at all (temp name, then rename)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dist_info = f"{normalise(name)}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        metadata.append(f"Summary: {summary}")
    if requires_python:
        metadata.append(f"Requires-Python: {requires_python}")
    metadata += [f"Requires-Dist: {r}" for r in requires]
    entries: dict[str, bytes] = {path.replace("\\", "/"): data for path, data in files.items()}
    for extra, data in (dist_info_files or {}).items():
        entries[f"{dist_info}/{extra}"] = data
    entries[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode("utf-8")
    entries[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: lora-studio\nRoot-Is-Purelib: true\n"
                                     b"Tag: py3-none-any\n")
    record_path = f"{dist_info}/RECORD"
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in sorted(entries.items())]
    record.append(f"{record_path},,")
    entries[record_path] = ("\n".join(record) + "\n").encode("utf-8")

    target = dest_dir / wheel_name(name, version)
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(entries, key=lambda p: (p.startswith(dist_info), p)):  # dist-info last, as pip likes
            info = zipfile.ZipInfo(path, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[path])
    os.replace(partial, target)
    return target
