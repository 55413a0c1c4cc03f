"""The licence notices of what a bundle carries, gathered into ``licenses/`` inside it.

For every installed distribution whose top-level package ended up in the bundle: its licence files
(LICENSE, COPYING, NOTICE, AUTHORS, and what a wheel lists under ``licenses/``) or, when a wheel
ships none (PySide6 does not), its METADATA, which names the licence. Plus Python's own licence.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

_LICENCE_FILE = re.compile(r"(licen[cs]e|copying|notice|authors)", re.I)


def _licence_files(dist: metadata.Distribution) -> list[tuple[str, Path]]:
    """(path inside the dist-info folder, file) of each licence file a distribution installed."""
    found = []
    for entry in dist.files or ():
        parts = entry.parts
        if not parts or not parts[0].endswith(".dist-info"):
            continue
        if _LICENCE_FILE.search(entry.name) or (len(parts) > 2 and parts[1] == "licenses"):
            path = Path(str(entry.locate()))
            if path.is_file():
                found.append(("/".join(parts[1:]), path))
    return found


def data_entries(bundled_top_levels: set[str]) -> list[tuple[str, str, str]]:
    """PyInstaller TOC entries (dest, source, "DATA") for the notices of what is bundled."""
    entries: dict[str, tuple[str, str, str]] = {}
    by_top = metadata.packages_distributions()
    names = sorted({dist for top in bundled_top_levels for dist in by_top.get(top, ())})
    for name in names:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        folder = f"licenses/{dist.metadata['Name']}"
        files = _licence_files(dist)
        if not files:
            meta = Path(str(dist.locate_file(f"{_dist_info_name(dist)}/METADATA")))
            files = [("METADATA", meta)] if meta.is_file() else []
        for relative, path in files:
            dest = f"{folder}/{relative}"
            entries.setdefault(dest, (dest, str(path), "DATA"))
    for candidate in (Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE.txt"):
        if candidate.is_file():
            entries["licenses/Python/LICENSE.txt"] = ("licenses/Python/LICENSE.txt", str(candidate), "DATA")
            break
    return sorted(entries.values())


def _dist_info_name(dist: metadata.Distribution) -> str:
    for entry in dist.files or ():
        if entry.parts and entry.parts[0].endswith(".dist-info"):
            return entry.parts[0]
    return ""
