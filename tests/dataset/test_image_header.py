"""Image sizes from headers: every format, EXIF orientation, and any bytes at all without a crash."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.dataset.image_header import HeaderError, is_image_name, parse_header, read_header
from tests.dataset.files import write_image, write_jpeg, write_png_claiming


@pytest.mark.parametrize("fmt, ext, size", [
    ("JPEG", "jpg", (640, 480)), ("PNG", "png", (123, 457)), ("WEBP", "webp", (300, 200)),
    ("BMP", "bmp", (31, 17)), ("GIF", "gif", (90, 60))])
def test_sizes_from_headers_match_pillow(tmp_path, fmt, ext, size):
    from PIL import Image

    path = write_image(tmp_path / f"x.{ext}", size, fmt)
    header = read_header(path)
    with Image.open(path) as im:
        assert (header.width, header.height) == im.size
    assert header.format == fmt


def test_lossless_and_extended_webp(tmp_path):
    from PIL import Image

    lossless = tmp_path / "l.webp"
    Image.new("RGB", (77, 33), "red").save(lossless, "WEBP", lossless=True)
    assert (read_header(lossless).width, read_header(lossless).height) == (77, 33)
    rgba = tmp_path / "a.webp"
    image = Image.new("RGBA", (50, 40), (0, 0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(rgba, "WEBP", exif=exif.tobytes())
    header = read_header(rgba)
    assert (header.width, header.height, header.orientation) == (50, 40, 6)
    assert header.display_size == (40, 50)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation(tmp_path, orientation):
    header = read_header(write_jpeg(tmp_path / "o.jpg", (200, 100), exif_orientation=orientation))
    assert header.orientation == orientation
    assert header.display_size == ((100, 200) if orientation >= 5 else (200, 100))


def test_file_type_is_recognised_by_content_not_name(tmp_path):
    png_named_jpg = write_image(tmp_path / "really_png.jpg", (20, 10), "PNG")
    assert read_header(png_named_jpg).format == "PNG"


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"hello, I am a text file\n", "not an image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "truncated"),
    (b"GIF89a\x01", "truncated"),
    (b"BM\x00\x00", "truncated"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "truncated"),
    (b"\xff\xd8\xff\xda\x00\x08abcdef", "damaged"),
])
def test_hostile_headers_give_reasons(data, reason):
    with pytest.raises(HeaderError) as info:
        parse_header(data, io.BytesIO(data))
    assert reason in str(info.value)


def test_giant_or_zero_sizes_are_refused(tmp_path):
    with pytest.raises(HeaderError, match="decompression bomb"):
        read_header(write_png_claiming(tmp_path / "bomb.png", 30_000, 30_000))
    with pytest.raises(HeaderError, match="invalid size"):
        read_header(write_png_claiming(tmp_path / "zero.png", 0, 10))


def test_a_folder_named_like_an_image(tmp_path):
    (tmp_path / "dir.jpg").mkdir()
    with pytest.raises(HeaderError):
        read_header(tmp_path / "dir.jpg")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([b"", b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"RIFF\x10\x00\x00\x00WEBP",
                                                  b"GIF89a", b"BM"]))
def test_any_bytes_either_parse_or_raise_header_error(data, prefix):
    blob = prefix + data
    try:
        header = parse_header(blob, io.BytesIO(blob))
    except HeaderError:
        return
    assert header.width > 0 and header.height > 0


def test_image_names():
    assert is_image_name("a.JPG") and is_image_name("b.webp") and not is_image_name("c.txt")
    assert not is_image_name(".jpg") and not is_image_name("noext")
