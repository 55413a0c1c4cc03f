"""The one version number, read from the package metadata (pyproject.toml is its only source)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

SUPPORTED_PYTHON = ((3, 10), (3, 13))


@functools.cache
def app_version() -> str:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():  # a source checkout: the file is the truth even if an old install lingers
        match = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.M)
        if match:
            return match.group(1)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lora-studio")
    except PackageNotFoundError:
        return "0+unknown"


def python_supported(info=None) -> bool:
    import sys

    major_minor = tuple((info or sys.version_info)[:2])
    return SUPPORTED_PYTHON[0] <= major_minor <= SUPPORTED_PYTHON[1]


def supported_python_text() -> str:
    (lo_major, lo_minor), (hi_major, hi_minor) = SUPPORTED_PYTHON
    return f"{lo_major}.{lo_minor} to {hi_major}.{hi_minor}"
