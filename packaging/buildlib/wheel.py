"""LoRA Studio's own wheel, which the bundle carries for the backend runtime.

The frozen GUI cannot lend its code to another interpreter, yet the captioning and training
workers (``workers/``, and the domain modules of ``services/`` they use) run in the backend
runtime's Python. So every bundle ships the project as an ordinary wheel in ``backend/``; the
backend set-up installs it there with ``pip install --no-deps`` (the ML stack is chosen per
hardware by that set-up, and the GUI's Qt dependencies are not wanted in that runtime).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from buildlib.project import ROOT

# What a wheel build reads; copied to a scratch folder so the build leaves nothing in the tree.
SOURCES = ("pyproject.toml", "README.md", "app", "widgets", "services", "workers")


def build_wheel(out_dir: Path, python: str = sys.executable) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("lora_studio-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="lora-studio-wheel-") as scratch:
        src = Path(scratch) / "src"
        src.mkdir()
        for name in SOURCES:
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif path.is_file():
                shutil.copy2(path, src / name)
        # No build isolation: setuptools comes from the build environment (the `test` extra), so
        # building needs no network and takes a second.
        proc = subprocess.run([python, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--disable-pip-version-check", "-q", "--wheel-dir", str(out_dir), str(src)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("building LoRA Studio's wheel failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
    wheels = sorted(out_dir.glob("lora_studio-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {out_dir}, found {wheels}")
    return wheels[0]


def extract_metadata(wheel: Path, dest_root: Path) -> Path:
    """Copy the wheel's ``*.dist-info`` (without RECORD) under dest_root.

    Inside the bundle this makes ``importlib.metadata.version("lora-studio")`` answer, which is how
    services/version.py finds the version when there is no pyproject.toml beside the code.
    """
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.split("/")[0].endswith(".dist-info")]
        info_dir = names[0].split("/")[0]
        target = dest_root / info_dir
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for name in names:
            if name.endswith("/RECORD") or name.endswith("/"):
                continue
            (target / Path(name).name).write_bytes(archive.read(name))
    return target
