"""The one-folder bundle: PyInstaller runs lora_studio.spec, then checks.check_bundle judges it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from buildlib import project

SPEC = project.PACKAGING / "lora_studio.spec"


def build_bundle(dist_dir: Path, work_dir: Path, python: str = sys.executable) -> Path:
    """Run PyInstaller; returns dist_dir/lora-studio. The work folder is kept as PyInstaller's cache."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise RuntimeError("PyInstaller is not installed: pip install -e '.[packaging]' "
                           "(scripts/setup.sh test installs it)") from None
    dist_dir.mkdir(parents=True, exist_ok=True)
    bundle = dist_dir / project.BUNDLE_NAME
    if bundle.exists():
        shutil.rmtree(bundle)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(project.ROOT), str(project.PACKAGING)]))
    proc = subprocess.run([python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                           "--distpath", str(dist_dir), "--workpath", str(work_dir), str(SPEC)],
                          capture_output=True, text=True, env=env, cwd=project.ROOT)
    log = work_dir / "pyinstaller.log"
    work_dir.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0 or not project.bundle_executable(bundle).is_file():
        raise RuntimeError(f"PyInstaller failed (exit {proc.returncode}); the log is {log}:\n{proc.stderr[-4000:]}")
    return bundle
