"""Thumbnails: decoding an image at reduced size, and the on-disk thumbnail cache.

Decoding uses Pillow's ``draft`` mode, which lets libjpeg decode a JPEG directly at 1/2, 1/4 or
1/8 scale (DCT scaling): a 1024×1024 photo becomes a 128 px thumbnail for a fraction of a full
decode. Pillow releases the GIL while it decodes, so worker threads run in parallel, and it
reports a truncated or damaged file as an error instead of painting grey.

The disk cache keeps one small JPEG per (image path, file size, mtime, thumbnail size), named by
a hash of those, in two-level folders under the platform cache directory. A changed image gets a
new name, so the cache is never stale; ``prune`` trims it to a size budget, oldest first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from services.dataset.image_header import MAX_PIXELS, HeaderError, read_header

CACHE_VERSION = 1
CACHE_QUALITY = 85
DEFAULT_CACHE_BYTES = 2 * 1024**3
PRUNE_EVERY_S = 24 * 3600

# EXIF orientation -> Pillow transpose operations that show the image upright.
_TRANSPOSE = {2: ("FLIP_LEFT_RIGHT",), 3: ("ROTATE_180",), 4: ("FLIP_TOP_BOTTOM",),
              5: ("TRANSPOSE",), 6: ("ROTATE_270",), 7: ("TRANSVERSE",), 8: ("ROTATE_90",)}


class ThumbnailError(Exception):
    """The image could not be decoded; ``str(exc)`` says why (truncated, damaged, too large)."""


@dataclass(frozen=True, slots=True)
class ThumbnailJob:
    """What a worker needs to make one thumbnail (plain data: safe to hand to a thread)."""

    key: str
    path: str
    file_size: int
    mtime_ns: int
    orientation: int = 1


def upright(image, orientation: int):
    """Apply an EXIF orientation (1..8) to a Pillow image."""
    from PIL import Image

    for name in _TRANSPOSE.get(orientation, ()):
        image = image.transpose(getattr(Image.Transpose, name))
    return image


@contextlib.contextmanager
def _decode_errors():
    """Turn whatever Pillow raises for a bad file into a ThumbnailError with a plain reason."""
    from PIL import Image

    try:
        yield
    except ThumbnailError:
        raise
    except Image.DecompressionBombError as exc:
        raise ThumbnailError("too many pixels to decode safely (a possible decompression bomb)") from exc
    except FileNotFoundError as exc:
        raise ThumbnailError("the file has disappeared") from exc
    except PermissionError as exc:
        raise ThumbnailError("cannot be read: permission denied") from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason:
            reason = "the file is truncated (it ends before the image data does)"
        raise ThumbnailError(reason) from exc
    except Exception as exc:  # Pillow plugins raise many kinds; none may escape a worker
        raise ThumbnailError(f"{type(exc).__name__}: {exc}") from exc


def _check_header(path) -> None:
    """Refuse what the scan refuses (bombs, non-images) before Pillow even opens the file, so Pillow
    never warns or allocates for a hostile header."""
    try:
        read_header(path)
    except HeaderError as exc:
        raise ThumbnailError(str(exc)) from exc


def _refuse_bombs(im) -> None:
    if im.width * im.height > MAX_PIXELS:
        raise ThumbnailError(f"{im.width}×{im.height} pixels is too large to decode safely "
                             "(a possible decompression bomb)")


def decode_reduced(path: str | os.PathLike, box: int, orientation: int = 1):
    """The image at ``path`` (its first frame) scaled to fit ``box``×``box`` (never enlarged),
    upright, as an RGB Pillow image. Raises ThumbnailError for anything that does not decode
    completely."""
    from PIL import Image

    # Image.open itself refuses bombs beyond twice Pillow's limit (DecompressionBombError) and
    # warns beyond it; we refuse beyond MAX_PIXELS (== Pillow's limit) before decoding, without
    # touching the process-wide warning filters (not thread-safe).
    _check_header(path)
    with _decode_errors(), Image.open(path) as im:
        _refuse_bombs(im)
        if im.format == "JPEG" and max(im.size) > box:
            # draft picks the largest DCT scale (1/2, 1/4, 1/8) that still covers this size.
            scale = max(im.size) / box
            im.draft("RGB", (max(1, int(im.width / scale)), max(1, int(im.height / scale))))
        im.load()
        if _has_alpha(im):
            rgba = im.convert("RGBA")  # transparent areas shown on neutral grey, not black
            out = Image.new("RGB", rgba.size, (128, 128, 128))
            out.paste(rgba, mask=rgba.getchannel("A"))
        else:
            out = im.convert("RGB") if im.mode != "RGB" else im.copy()
    out = upright(out, orientation)
    if max(out.size) > box:
        out.thumbnail((box, box), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return out


class ThumbnailCache:
    """Thumbnail files on disk, keyed by path, size, mtime and thumbnail size."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)

    def path_for(self, job: ThumbnailJob, box: int) -> Path:
        ident = f"{CACHE_VERSION}\0{job.path}\0{job.file_size}\0{job.mtime_ns}\0{job.orientation}\0{box}"
        digest = hashlib.blake2b(ident.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()
        return self.folder / digest[:2] / f"{digest[2:]}.jpg"

    def store(self, job: ThumbnailJob, box: int, image) -> Path | None:
        """Save ``image`` (a Pillow RGB image) for ``job``; a failure only costs the cache entry."""
        target = self.path_for(job, box)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{id(image)}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            image.save(tmp, "JPEG", quality=CACHE_QUALITY)
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return None
        return target

    def size_bytes(self) -> int:
        total = 0
        for sub in _subdirs(self.folder):
            with contextlib.suppress(OSError), os.scandir(sub) as it:
                for entry in it:
                    with contextlib.suppress(OSError):
                        total += entry.stat().st_size
        return total

    def prune(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> int:
        """Delete the least recently written thumbnails until the cache fits ``max_bytes``.
        Returns how many files were removed. (A cache, not user data: plain deletes.)"""
        files: list[tuple[int, int, str]] = []
        for sub in _subdirs(self.folder):
            with contextlib.suppress(OSError), os.scandir(sub) as it:
                for entry in it:
                    with contextlib.suppress(OSError):
                        st = entry.stat()
                        files.append((st.st_mtime_ns, st.st_size, entry.path))
        total = sum(f[1] for f in files)
        removed = 0
        for _mtime, size, path in sorted(files):
            if total <= max_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size
                removed += 1
        return removed

    def clear(self) -> int:
        return self.prune(0)

    def prune_if_due(self, max_bytes: int = DEFAULT_CACHE_BYTES, every_s: float = PRUNE_EVERY_S) -> int | None:
        """``prune`` unless it ran less than ``every_s`` ago (a marker file says when). Walking a
        cache of 100,000 thumbnails costs seconds of disk and CPU; the budget is soft, so once a
        day is enough. Returns None when not due."""
        marker = self.folder / ".last-prune"
        with contextlib.suppress(OSError):
            if time.time() - marker.stat().st_mtime < every_s:
                return None
        removed = self.prune(max_bytes)
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            marker.touch()
        return removed


def _subdirs(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as it:
            return [e.path for e in it if e.is_dir(follow_symlinks=False) and len(e.name) == 2]
    except OSError:
        return []


def _has_alpha(im) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def decode_full(path: str | os.PathLike, orientation: int = 1):
    """The whole image (first frame), upright, as a Pillow image in RGB or RGBA, for the preview.
    Raises ThumbnailError like ``decode_reduced``."""
    from PIL import Image

    _check_header(path)
    with _decode_errors(), Image.open(path) as im:
        _refuse_bombs(im)
        im.load()
        out = im.convert("RGBA" if _has_alpha(im) else "RGB")
    return upright(out, orientation)
