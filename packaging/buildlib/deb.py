"""The Debian package: the bundle in /opt/lora-studio, a command, a desktop entry and icons.

Double-clicking the .deb opens the distribution's software installer, which installs the
dependencies named in Depends (the desktop libraries the bundle takes from the host, computed
from the bundle itself by checks.host_needs). Removing the package removes every file it put
there; the menu and icon caches are refreshed by the triggers of desktop-file-utils and
gtk-update-icon-cache, so the package needs no maintainer scripts. User settings and datasets
live in the user's home and are never touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from buildlib import checks, desktop, project

INSTALL_DIR = Path("opt") / project.SLUG

DESCRIPTION = """\
 LoRA Studio is a desktop application in which you turn a folder of images into a
 trained LoRA (or a full finetune) of SD 1.x/2.x, SDXL, Flux.1 or SD3, with
 kohya-ss/sd-scripts as the training engine: dataset browsing, captioning,
 validated training parameters, launch and monitoring in one window.
 .
 The training engine and the machine-learning libraries are installed by the
 application itself, into a separate runtime chosen for your hardware."""

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: LoRA Studio
Comment: LoRA Studio bundles Python, Qt for Python (PySide6, LGPL-3.0) and other libraries;
 their licence notices are in /opt/lora-studio/_internal/licenses.

Files: *
Copyright: LoRA Studio developers
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
"""


def _normalise_modes(root: Path) -> None:
    """Directories 0755, files 0755 if executable else 0644, whatever the build's umask was."""
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(Path(dirpath, name), 0o755)
        for name in files:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            os.chmod(path, 0o755 if os.stat(path).st_mode & 0o111 else 0o644)
    os.chmod(root, 0o755)


def _md5sums(root: Path) -> str:
    lines = []
    for dirpath, _dirs, files in sorted(os.walk(root)):
        if Path(dirpath).relative_to(root).parts[:1] == ("DEBIAN",):
            continue
        for name in sorted(files):
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            lines.append(f"{digest}  {path.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"


def control(version: str, depends: list[str], installed_kib: int) -> str:
    maintainer = os.environ.get("LORA_STUDIO_MAINTAINER", project.MAINTAINER)
    return (f"Package: {project.SLUG}\n"
            f"Version: {project.debian_version(version)}\n"
            f"Architecture: {project.deb_architecture()}\n"
            f"Maintainer: {maintainer}\n"
            f"Installed-Size: {installed_kib}\n"
            f"Depends: {', '.join(depends)}\n"
            "Section: graphics\n"
            "Priority: optional\n"
            f"Description: {project.SUMMARY}\n{DESCRIPTION}\n")


def stage(bundle: Path, root: Path, version: str) -> Path:
    """Lay out the package's file tree under root (what dpkg-deb packs)."""
    target = root / INSTALL_DIR
    shutil.copytree(bundle, target, symlinks=True)
    bindir = root / "usr" / "bin"
    bindir.mkdir(parents=True)
    # The bootloader finds its _internal folder from its real path, so a symbolic link is enough.
    (bindir / project.SLUG).symlink_to(Path("/") / INSTALL_DIR / project.SLUG)
    share = root / "usr" / "share"
    apps = share / "applications"
    apps.mkdir(parents=True)
    (apps / f"{project.SLUG}.desktop").write_text(
        desktop.desktop_entry(f"/{INSTALL_DIR.as_posix()}/{project.SLUG}"), encoding="utf-8")
    desktop.install_icons(share)
    doc = share / "doc" / project.SLUG
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT, encoding="utf-8")
    _normalise_modes(root)
    installed_kib = int(checks.size_mb(root) * 1024) + 1
    depends = checks.host_needs(bundle).debian_depends()
    debian = root / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(control(version, depends, installed_kib), encoding="utf-8")
    (debian / "md5sums").write_text(_md5sums(root), encoding="utf-8")
    _normalise_modes(debian)
    return root


def build_deb(bundle: Path, out_dir: Path, version: str, *, fast: bool = False) -> Path:
    """Build ``lora-studio_<version>_<arch>.deb`` in out_dir. ``fast``: light compression (tests)."""
    if shutil.which("dpkg-deb") is None:
        raise RuntimeError("dpkg-deb is not installed (Debian/Ubuntu: it is part of dpkg)")
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / project.deb_name(version)
    compression = ["-Zgzip", "-z1"] if fast else ["-Zxz", "-z6"]
    with tempfile.TemporaryDirectory(prefix="lora-studio-deb-") as scratch:
        root = stage(bundle, Path(scratch) / "root", version)
        proc = subprocess.run(["dpkg-deb", "--root-owner-group", *compression, "--build", str(root), str(output)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"dpkg-deb failed:\n{proc.stdout}\n{proc.stderr}")
    return output
