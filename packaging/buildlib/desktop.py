"""The freedesktop.org desktop entry and icons, shared by the .deb and the .run installer."""

from __future__ import annotations

import shutil
from pathlib import Path

from buildlib.project import ICONS, PACKAGING, SLUG

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
TEMPLATE = PACKAGING / "linux" / f"{SLUG}.desktop.in"


def exec_quote(path: str) -> str:
    """Quote a path for a desktop entry's Exec key (Desktop Entry Specification, "The Exec key")."""
    if all(c.isalnum() or c in "/._-+" for c in path):
        return path.replace("%", "%%")
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in path)
    # The value is also a desktop-entry string, in which a backslash is written twice.
    return '"' + escaped.replace("\\", "\\\\").replace("%", "%%") + '"'


def desktop_entry(executable: str, icon: str = SLUG) -> str:
    text = TEMPLATE.read_text(encoding="utf-8")
    return (text.replace("@EXEC@", exec_quote(executable)).replace("@TRYEXEC@", executable)
            .replace("@ICON@", icon))


def install_icons(share: Path) -> list[Path]:
    """Copy the icon into <share>/icons/hicolor (every PNG size and the scalable SVG)."""
    written = []
    for size in PNG_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{SLUG}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ICONS / f"{SLUG}-{size}.png", target)
        written.append(target)
    target = share / "icons" / "hicolor" / "scalable" / "apps" / f"{SLUG}.svg"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ICONS / f"{SLUG}.svg", target)
    written.append(target)
    return written
