"""Opening dataset images for a captioner: any mode, orientation honoured, transparency on white.

Runs on the loader threads. A JPEG is decoded at a reduced scale when the model needs far fewer
pixels than the file has (``draft``), which makes the decode several times cheaper.
"""

from __future__ import annotations

from PIL import Image, ImageOps


class ImageReadError(Exception):
    """An image that cannot be used; the message says why, for the job's report."""


def open_rgb(path: str, *, min_side: int = 0) -> Image.Image:
    """The image at ``path`` as RGB, EXIF-rotated, transparency composited on white.

    ``min_side``: the decode may be reduced as long as both sides stay at least this large.
    """
    try:
        with Image.open(path) as image:
            if min_side and image.format == "JPEG":
                image.draft("RGB", (min_side, min_side))
            image.seek(0)  # first frame of an animation
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"refused, too many pixels ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageReadError(f"cannot be decoded ({exc})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode in ("RGB", "L") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image
