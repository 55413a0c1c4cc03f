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


def write_truncated_jpeg(path: Path, size: tuple[int, int] = (256, 256), keep: float = 0.5) -> Path:
    """A JPEG whose header is complete but whose image data stops part-way (a broken download)."""
    write_jpeg(path, size, seed=3, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_truncated_png(path: Path, size: tuple[int, int] = (256, 256), keep: float = 0.5) -> Path:
    write_png(path, size, seed=4)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_png_bomb(path: Path, side: int = 10_000) -> Path:
    """A real PNG of side×side pixels (1 bit, all black): a few KB on disk, 100 million pixels."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("1", (side, side)).save(path, "PNG", optimize=False)
    return path


def write_png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG signature and IHDR chunk claiming a size, then garbage: a hostile header."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64)
    return path
