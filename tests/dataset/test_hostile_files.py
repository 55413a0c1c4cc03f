"""Bad input never crashes or hangs: every hostile file becomes a flagged item or a clear message.

Real files, made by the tests: zero bytes, non-images named as images, truncated JPEG/PNG,
decompression bombs, unreadable files and folders, symlink loops, broken links, odd names,
very long paths. (Tests run as root here, so permission errors are also produced by patching.)
"""

from __future__ import annotations

import errno
import os
import sys

import pytest

from services.dataset.buckets import BucketSettings
from services.dataset.health import run_health_report, snapshot
from services.dataset.scanner import scan_folders
from services.dataset.thumbnails import ThumbnailError, decode_full, decode_reduced
from services.dataset.workspace import Problem
from tests.dataset.files import (
    write_jpeg,
    write_png,
    write_png_bomb,
    write_png_claiming,
    write_truncated_jpeg,
    write_truncated_png,
)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="symlinks and chmod need POSIX here")


def item_named(ws, name):
    return next(it for it in ws if it.name == name)


@pytest.fixture
def hostile(tmp_path):
    root = tmp_path / "data"
    write_jpeg(root / "good.jpg", (512, 512))
    (root / "good.txt").write_text("ok", encoding="utf-8")
    (root / "zero.jpg").write_bytes(b"")
    (root / "text.png").write_text("I am not a picture", encoding="utf-8")
    write_truncated_jpeg(root / "cut.jpg")
    write_truncated_png(root / "cut.png")
    write_png_bomb(root / "bomb.png")
    write_png_claiming(root / "liar.png", 40_000, 40_000)
    (root / "folder.jpg").mkdir()
    return root


def test_scan_flags_each_hostile_file_and_keeps_the_good_one(hostile):
    ws = scan_folders([hostile])
    assert len(ws) == 7  # folder.jpg is a folder: walked into, not an image
    good = item_named(ws, "good.jpg")
    assert good.problems == Problem.NONE and (good.width, good.height) == (512, 512)
    expected = {"zero.jpg": "empty", "text.png": "not an image", "bomb.png": "decompression bomb",
                "liar.png": "decompression bomb"}
    for name, reason in expected.items():
        item = item_named(ws, name)
        assert item.problems & Problem.UNREADABLE, name
        assert reason in item.error, (name, item.error)
    # Truncated image data is not visible in the header: readable at scan time, caught when decoded.
    for name in ("cut.jpg", "cut.png"):
        assert item_named(ws, name).readable


@pytest.mark.parametrize("name", ["cut.jpg", "cut.png"])
def test_truncated_images_fail_to_decode_with_a_reason(hostile, name):
    with pytest.raises(ThumbnailError, match=r"truncated|broken|damaged|error"):
        decode_reduced(hostile / name, 64)
    with pytest.raises(ThumbnailError):
        decode_full(hostile / name)


def test_bombs_are_never_decoded(hostile, monkeypatch):
    with pytest.raises(ThumbnailError, match="decompression bomb"):
        decode_reduced(hostile / "bomb.png", 64)
    with pytest.raises(ThumbnailError, match="decompression bomb"):
        decode_full(hostile / "bomb.png")
    # Pillow's own guard (DecompressionBombError) becomes the same clear error.
    from PIL import Image

    import services.dataset.thumbnails as thumbs

    monkeypatch.setattr(thumbs, "MAX_PIXELS", 10**12)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ThumbnailError, match="decompression bomb"):
        decode_reduced(hostile / "good.jpg", 64)


def test_health_report_lists_unreadable_and_corrupt(hostile):
    ws = scan_folders([hostile])
    report = run_health_report(snapshot(ws), BucketSettings((512, 512)), threads=2)
    kinds = {f.kind: f for f in report.findings}
    assert {os.path.basename(k) for k in kinds["unreadable"].keys} == {"zero.jpg", "text.png", "bomb.png",
                                                                      "liar.png"}
    assert {os.path.basename(k) for k in kinds["corrupt"].keys} == {"cut.jpg", "cut.png"}
    assert all("truncated" in reason or "broken" in reason for reason in report.corrupt.values())


def test_unreadable_file_by_patched_permission(tmp_path, monkeypatch):
    write_jpeg(tmp_path / "secret.jpg")
    target = str(tmp_path / "secret.jpg")
    real_open = os.open

    def deny(path, *args, **kwargs):
        if os.fspath(path) == target:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    ws = scan_folders([tmp_path])
    item = item_named(ws, "secret.jpg")
    assert item.problems & Problem.UNREADABLE and "permission denied" in item.error


def test_unreadable_folder_by_patched_permission(tmp_path, monkeypatch):
    write_jpeg(tmp_path / "ok" / "a.jpg")
    write_jpeg(tmp_path / "locked" / "b.jpg")
    locked = str(tmp_path / "locked")
    real_scandir = os.scandir

    def deny(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    ws = scan_folders([tmp_path])
    assert [it.name for it in ws] == ["a.jpg"]
    assert any(m.path == locked and "permission denied" in m.message for m in ws.messages)


@posix_only
@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode; covered by the patched tests above")
def test_unreadable_by_chmod(tmp_path):
    write_jpeg(tmp_path / "f" / "secret.jpg")
    write_jpeg(tmp_path / "d" / "inside.jpg")
    os.chmod(tmp_path / "f" / "secret.jpg", 0)
    os.chmod(tmp_path / "d", 0)
    try:
        ws = scan_folders([tmp_path])
        assert item_named(ws, "secret.jpg").problems & Problem.UNREADABLE
        assert any("permission denied" in m.message for m in ws.messages)
    finally:
        os.chmod(tmp_path / "d", 0o755)
        os.chmod(tmp_path / "f" / "secret.jpg", 0o644)


@posix_only
def test_symlink_loops_and_broken_links(tmp_path):
    root = tmp_path / "root"
    write_jpeg(root / "sub" / "a.jpg")
    os.symlink(root, root / "sub" / "loop")  # a folder link back up: a loop
    os.symlink(root / "sub" / "self.jpg", root / "sub" / "self.jpg")  # a link to itself (ELOOP)
    os.symlink(tmp_path / "nowhere.jpg", root / "sub" / "broken.jpg")
    ws = scan_folders([root])
    names = sorted(it.name for it in ws)
    assert names == ["a.jpg", "broken.jpg", "self.jpg"]
    assert item_named(ws, "broken.jpg").problems & Problem.UNREADABLE
    assert "broken link" in item_named(ws, "broken.jpg").error
    assert item_named(ws, "self.jpg").problems & Problem.UNREADABLE
    assert any("symlink loop" in m.message for m in ws.messages)


@posix_only
def test_odd_names_are_scanned_and_decoded(tmp_path):
    names = ["with space.jpg", "ünïcödé 日本.jpg", "emoji 🐱.png", "-dash.jpg", "#%&'();=.jpg", "new\nline.jpg"]
    for i, name in enumerate(names):
        (write_jpeg if name.endswith(".jpg") else write_png)(tmp_path / name, (64, 64), seed=i)
        (tmp_path / (name.rsplit(".", 1)[0] + ".txt")).write_text(f"tag {i}", encoding="utf-8")
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg"  # not UTF-8: kept by Python as a surrogate
    with open(raw, "wb") as fh:
        fh.write((tmp_path / names[0]).read_bytes())
    ws = scan_folders([tmp_path])
    assert len(ws) == len(names) + 1
    for item in ws:
        assert item.readable, item.name
        assert decode_reduced(item.key, 32).size[0] <= 32
    assert all(item_named(ws, n).caption_text.startswith("tag") for n in names)


def test_very_long_paths(tmp_path):
    deep = tmp_path
    for i in range(14):
        deep = deep / (f"{i:02d}_" + "d" * 200)  # ~2900 characters below tmp_path
    long_name = "x" * (250 - len(".jpg")) + ".jpg"
    write_jpeg(deep / long_name)
    ws = scan_folders([tmp_path])
    assert [it.name for it in ws] == [long_name]
    assert decode_reduced(ws.items()[0].key, 32)


def test_path_too_long_for_the_system_is_a_message(tmp_path, monkeypatch):
    write_jpeg(tmp_path / "deep" / "a.jpg")
    real_scandir = os.scandir

    def too_long(path="."):
        if os.fspath(path).endswith("deep"):
            raise OSError(errno.ENAMETOOLONG, "File name too long", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", too_long)
    ws = scan_folders([tmp_path])
    assert len(ws) == 0
    assert any("File name too long" in m.message for m in ws.messages)


def test_missing_root_is_a_clear_error(tmp_path):
    from services.errors import FileAccessError

    with pytest.raises(FileAccessError) as info:
        scan_folders([tmp_path / "nope"])
    assert info.value.hint
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileAccessError):
        scan_folders([tmp_path / "file"])


def test_gif_first_frame_and_alpha_png(tmp_path):
    from PIL import Image

    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "green", "blue")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    Image.new("RGBA", (40, 30), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    ws = scan_folders([tmp_path])
    assert all(it.readable for it in ws)
    first = decode_reduced(tmp_path / "anim.gif", 64)
    assert first.getpixel((5, 5))[0] > 200  # red: the first frame
    assert decode_reduced(tmp_path / "clear.png", 64).getpixel((5, 5)) == (128, 128, 128)
    assert decode_full(tmp_path / "clear.png").mode == "RGBA"


def test_exif_orientation_is_honoured_in_thumbnails(tmp_path):
    path = write_jpeg(tmp_path / "rot.jpg", (200, 100), exif_orientation=6)
    ws = scan_folders([tmp_path])
    item = ws.items()[0]
    assert (item.width, item.height, item.orientation) == (100, 200, 6)
    assert decode_reduced(path, 64, item.orientation).size == (32, 64)
