"""Real image files for the tests (test helpers, not product code)."""

from __future__ import annotations

import random
from pathlib import Path


def _image(size: tuple[int, int], seed: int = 0):
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle([x0, y0, x0 + size[0] // 3, y0 + size[1] // 3],
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def write_jpeg(path: Path, size: tuple[int, int] = (64, 48), *, seed: int = 0, exif_orientation: int | None = None,
               quality: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = _image(size, seed)
    if exif_orientation is not None:
        exif = image.getexif()
        exif[0x0112] = exif_orientation
        image.save(path, "JPEG", quality=quality, exif=exif.tobytes())
    else:
        image.save(path, "JPEG", quality=quality)
    return path


def write_png(path: Path, size: tuple[int, int] = (64, 48), *, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _image(size, seed).save(path, "PNG")
    return path


def write_image(path: Path, size: tuple[int, int], fmt: str, *, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _image(size, seed).save(path, fmt)
    return path
