"""Render LoRA Studio's icon from its SVG source into the PNGs and the .ico the installers use.

    python packaging/render_icons.py        (after editing resources/icons/lora-studio.svg)

The SVG is the source; the PNGs (the usual hicolor sizes) and the Windows .ico (every size drawn
from the vector, not scaled down from one bitmap) are generated and committed, so a build needs
neither this script nor an SVG renderer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SOURCE = ICONS / "lora-studio.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_path(size: int) -> Path:
    return ICONS / f"lora-studio-{size}.png"


def render(size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"{SOURCE} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    for size in PNG_SIZES:
        render(size).save(str(png_path(size)), "PNG")
    images = [Image.open(png_path(size)).convert("RGBA") for size in ICO_SIZES]
    largest = images[-1]
    largest.save(ICONS / "lora-studio.ico", format="ICO", sizes=[(s, s) for s in ICO_SIZES],
                 append_images=images[:-1])
    print(f"rendered {len(PNG_SIZES)} PNGs and lora-studio.ico into {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
