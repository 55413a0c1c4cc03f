"""The no-root alternative to the .deb: a self-extracting ``.run`` archive made with makeself.

Running it (``sh LoRA-Studio-<version>-linux-<arch>.run``, or double-click where the file manager
offers to run it) unpacks into a temporary folder and runs linux/install.sh, which installs into
the user's home (~/.local/opt/lora-studio) with a desktop entry, icons, a ``lora-studio`` command
and an uninstaller.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from buildlib import checks, desktop, hostlibs, project

LINUX = project.PACKAGING / "linux"


def stage(bundle: Path, root: Path, version: str) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(bundle, root / project.SLUG, symlinks=True)
    for name in ("install.sh", "uninstall.sh"):
        shutil.copy2(LINUX / name, root / name)
        (root / name).chmod(0o755)
    shutil.copy2(desktop.TEMPLATE, root / desktop.TEMPLATE.name)
    icons = root / "icons"
    for size in desktop.PNG_SIZES:
        (icons / f"{size}x{size}").mkdir(parents=True)
        shutil.copyfile(project.ICONS / f"{project.SLUG}-{size}.png", icons / f"{size}x{size}" / f"{project.SLUG}.png")
    (icons / "scalable").mkdir()
    shutil.copyfile(project.ICONS / f"{project.SLUG}.svg", icons / "scalable" / f"{project.SLUG}.svg")
    (root / "VERSION").write_text(version + "\n", encoding="utf-8")
    # The host libraries the window needs, so the installer can name what is missing.
    lines = [f"{soname} {package}" for soname, package in checks.host_needs(bundle).packages_by_soname().items()
             if soname not in hostlibs.OPTIONAL]
    (root / "host-libraries.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def build_run(bundle: Path, out_dir: Path, version: str, *, fast: bool = False) -> Path:
    """Build ``LoRA-Studio-<version>-linux-<arch>.run`` in out_dir. ``fast``: light compression (tests)."""
    makeself = shutil.which("makeself") or shutil.which("makeself.sh")
    if makeself is None:
        raise RuntimeError("makeself is not installed (Debian/Ubuntu: sudo apt-get install makeself)")
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / project.run_name(version)
    compression = ["--gzip", "--complevel", "1"] if fast else ["--xz", "--complevel", "6", "--threads", "0"]
    with tempfile.TemporaryDirectory(prefix="lora-studio-run-") as scratch:
        root = stage(bundle, Path(scratch) / "payload", version)
        proc = subprocess.run([makeself, "--quiet", *compression, "--sha256", "--tar-quietly", str(root), str(output),
                               f"{project.APP_NAME} {version}", "./install.sh"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"makeself failed:\n{proc.stdout}\n{proc.stderr}")
    return output
