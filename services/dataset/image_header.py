"""Image sizes from file headers, without decoding a pixel.

Opening 10,000 images to learn their sizes must take well under a second, so this module reads
only the bytes that hold the size (a JPEG's SOF segment, a PNG's IHDR chunk, ...) and the EXIF
orientation, recognising the format by its content (a PNG named ``.jpg`` is still a PNG). It
never raises anything but ``HeaderError`` whatever the bytes are: a zero-byte file, a text file
named ``.png``, a truncated header or a decompression bomb (more pixels than ``MAX_PIXELS``) each
get a clear reason.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
# The same ceiling as Pillow's default MAX_IMAGE_PIXELS: beyond it an image is treated as a
# decompression bomb (a small file that would need gigabytes to decode) and never decoded.
MAX_PIXELS = 89_478_485
MAX_SIDE = 65_535
_HEAD = 4_096  # one read covers most headers; longer ones (big EXIF/ICC segments) are followed by seeking

_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class HeaderError(Exception):
    """The file is not a readable image; ``str(exc)`` says why, for a person."""


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str  # "JPEG", "PNG", "WEBP", "BMP", "GIF"
    width: int  # as stored
    height: int
    orientation: int = 1  # EXIF orientation 1..8 (5..8 swap width and height when shown)
    animated: bool = False  # GIF/WebP with more than one frame (only the first is used)

    @property
    def display_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def is_image_name(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def read_header(path: str | os.PathLike) -> ImageHeader:
    """The format, stored size and orientation of the image at ``path`` (raises HeaderError)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
            return parse_header(head, fh)
    except HeaderError:
        raise
    except IsADirectoryError as exc:
        raise HeaderError("is a folder with an image name") from exc
    except PermissionError as exc:
        raise HeaderError("cannot be read: permission denied") from exc
    except OSError as exc:
        raise HeaderError(f"cannot be read: {exc.strerror or exc}") from exc


def parse_header(head: bytes, fh: BinaryIO | None = None) -> ImageHeader:
    """Parse the header from ``head`` (the first bytes of the file); ``fh`` lets long JPEG/PNG/WebP
    headers be followed beyond ``head``."""
    if not head:
        raise HeaderError("is empty (0 bytes)")
    if head.startswith(b"\xff\xd8"):
        header = _jpeg(head, fh)
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        header = _png(head, fh)
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        header = _webp(head, fh)
    elif head.startswith((b"GIF87a", b"GIF89a")):
        header = _gif(head)
    elif head.startswith(b"BM"):
        header = _bmp(head)
    else:
        raise HeaderError("is not an image (not PNG, JPEG, WebP, BMP or GIF content)")
    if header.width <= 0 or header.height <= 0:
        raise HeaderError(f"has an invalid size ({header.width}×{header.height})")
    if header.width > MAX_SIDE or header.height > MAX_SIDE or header.width * header.height > MAX_PIXELS:
        raise HeaderError(f"is {header.width}×{header.height} pixels, too large to decode safely "
                          "(a possible decompression bomb)")
    return header


class _Reader:
    """Random access over ``head`` with a fallback to the file for bytes beyond it."""

    def __init__(self, head: bytes, fh: BinaryIO | None) -> None:
        self.head, self.fh = head, fh

    def read(self, offset: int, n: int) -> bytes:
        end = offset + n
        if end <= len(self.head):
            return self.head[offset:end]
        if self.fh is None:
            return self.head[offset:end]
        self.fh.seek(offset)
        return self.fh.read(n)

    def exact(self, offset: int, n: int, what: str) -> bytes:
        data = self.read(offset, n)
        if len(data) != n:
            raise HeaderError(f"is truncated (the {what} ends early)")
        return data


def _jpeg(head: bytes, fh: BinaryIO | None) -> ImageHeader:
    r = _Reader(head, fh)
    pos = 2
    orientation = 1
    for _ in range(10_000):  # a bound on segments, against hostile files
        chunk = r.read(pos, 2)
        if len(chunk) < 2:
            raise HeaderError("is truncated (the JPEG header ends before the image size)")
        if chunk[0] != 0xFF:
            raise HeaderError("is a damaged JPEG (bad segment marker)")
        marker = chunk[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            raise HeaderError("is a damaged JPEG (no frame header before the image data)")
        (length,) = struct.unpack(">H", r.exact(pos + 2, 2, "JPEG header"))
        if length < 2:
            raise HeaderError("is a damaged JPEG (bad segment length)")
        if marker in _SOF:
            seg = r.exact(pos + 4, 5, "JPEG frame header")
            height, width = struct.unpack(">HH", seg[1:5])
            if height == 0:
                raise HeaderError("is a JPEG whose height is only given after the image data; not supported")
            return ImageHeader("JPEG", width, height, orientation)
        if marker == 0xE1 and length > 8:
            data = r.read(pos + 4, min(length - 2, 4_096))  # IFD0 sits at the start
            if data.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(data[6:])
        pos += 2 + length
    raise HeaderError("is a damaged JPEG (too many segments)")


def _png(head: bytes, fh: BinaryIO | None) -> ImageHeader:
    r = _Reader(head, fh)
    ihdr = r.exact(8, 25, "PNG header")
    length, kind = struct.unpack(">I4s", ihdr[:8])
    if kind != b"IHDR" or length != 13:
        raise HeaderError("is a damaged PNG (no IHDR chunk)")
    width, height = struct.unpack(">II", ihdr[8:16])
    orientation, animated = 1, False
    pos = 33
    for _ in range(1_000):  # chunks before the image data may carry EXIF (eXIf) or animation (acTL)
        chunk = r.read(pos, 8)
        if len(chunk) < 8:
            break
        length, kind = struct.unpack(">I4s", chunk)
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"eXIf" and length < 1_000_000:
            orientation = _exif_orientation(r.read(pos + 8, length))
        elif kind == b"acTL":
            animated = True
        pos += 12 + length
    return ImageHeader("PNG", width, height, orientation, animated)


def _webp(head: bytes, fh: BinaryIO | None) -> ImageHeader:
    r = _Reader(head, fh)
    kind = r.exact(12, 4, "WebP header")
    data = r.exact(20, 10, "WebP header")
    if kind == b"VP8 ":
        if data[3:6] != b"\x9d\x01\x2a":
            raise HeaderError("is a damaged WebP (bad VP8 frame)")
        w, h = struct.unpack("<HH", data[6:10])
        return ImageHeader("WEBP", w & 0x3FFF, h & 0x3FFF)
    if kind == b"VP8L":
        if data[0] != 0x2F:
            raise HeaderError("is a damaged WebP (bad lossless header)")
        bits = int.from_bytes(data[1:5], "little")
        return ImageHeader("WEBP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":
        flags = data[0]
        w = int.from_bytes(data[4:7], "little") + 1
        h = int.from_bytes(r.exact(27, 3, "WebP header"), "little") + 1
        orientation = 1
        if flags & 0x08:  # has EXIF: walk the chunks to it
            pos = 30
            for _ in range(1_000):
                chunk = r.read(pos, 8)
                if len(chunk) < 8:
                    break
                ckind, clen = chunk[:4], int.from_bytes(chunk[4:8], "little")
                if ckind == b"EXIF" and clen < 1_000_000:
                    exif = r.read(pos + 8, clen)
                    orientation = _exif_orientation(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
                    break
                pos += 8 + clen + (clen & 1)
        return ImageHeader("WEBP", w, h, orientation, bool(flags & 0x02))
    raise HeaderError("is a WebP of an unknown kind")


def _gif(head: bytes) -> ImageHeader:
    if len(head) < 10:
        raise HeaderError("is truncated (the GIF header ends early)")
    w, h = struct.unpack("<HH", head[6:10])
    return ImageHeader("GIF", w, h)


def _bmp(head: bytes) -> ImageHeader:
    if len(head) < 26:
        raise HeaderError("is truncated (the BMP header ends early)")
    (dib,) = struct.unpack("<I", head[14:18])
    if dib == 12:
        w, h = struct.unpack("<HH", head[18:22])
    elif dib >= 40:
        w, h = struct.unpack("<ii", head[18:26])
    else:
        raise HeaderError("is a BMP of an unknown kind")
    return ImageHeader("BMP", w, abs(h))


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block; 1 when absent/odd."""
    if len(tiff) < 8:
        return 1
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd:ifd + 2])
    for i in range(min(count, 512)):
        entry = tiff[ifd + 2 + 12 * i: ifd + 14 + 12 * i]
        if len(entry) < 12:
            break
        tag, typ = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112 and typ == 3:
            (value,) = struct.unpack(order + "H", entry[8:10])
            return value if 1 <= value <= 8 else 1
    return 1
