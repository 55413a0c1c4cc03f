"""Stripping, where it is safe: the Python installation's own binaries, never a wheel's libraries.

Some Python builds (pyenv's, for one) ship libpython and lib-dynload with their debug symbols:
stripping them takes ~25 MiB off a bundle. PyInstaller's own ``strip=True`` strips everything,
and that breaks the libraries a wheel vendors (auditwheel rewrote them with patchelf; stripped,
numpy's OpenBLAS no longer loads: "ELF load command address/offset not page-aligned"). So the spec
keeps PyInstaller's strip off and passes the interpreter's binaries through this first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from buildlib import elf


def _from_the_interpreter(source: Path) -> bool:
    base = Path(sys.base_prefix).resolve()
    return base in source.parents and not {"site-packages", "dist-packages"} & set(source.parts)


def strip_interpreter_binaries(binaries: list, out_dir: Path) -> list:
    """PyInstaller binary TOC entries, with the interpreter's own ELF files replaced by stripped
    copies in out_dir (a copy that would not load is dropped in favour of the original)."""
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        return binaries
    result = []
    for dest, source, kind in binaries:
        path = Path(source).resolve()
        if _from_the_interpreter(path) and elf.is_elf(path):
            target = out_dir / dest
            if not target.is_file() or target.stat().st_mtime < path.stat().st_mtime:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                target.chmod(0o755)
                done = subprocess.run([strip, "--strip-unneeded", str(target)], capture_output=True)
                if done.returncode != 0 or not elf.loadable(target):
                    target.unlink()
            if target.is_file():
                source = str(target)
        result.append((dest, source, kind))
    return result
