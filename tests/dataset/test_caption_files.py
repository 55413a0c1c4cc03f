"""Caption files: every supported encoding round-trips byte for byte; the rest is never overwritten."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.dataset.caption_files import (
    CaptionFormat,
    caption_path_for,
    changed_on_disk,
    normalise_extension,
    read_caption,
    write_caption,
)
from services.errors import ConflictError, FileFormatError, UserInputError

ENCODED = {
    "utf-8": (b"red apple, table\n", "red apple, table", CaptionFormat("utf-8", False, "\n", True)),
    "utf-8 no newline": (b"cat, dog", "cat, dog", CaptionFormat("utf-8", False, "\n", False)),
    "utf-8 bom crlf": (b"\xef\xbb\xbfcaf\xc3\xa9, na\xc3\xafve\r\nsecond line\r\n", "café, naïve\nsecond line",
                       CaptionFormat("utf-8", True, "\r\n", True)),
    "utf-16-le bom": ("\ufeff1girl, 日本語".encode("utf-16-le"), "1girl, 日本語",
                      CaptionFormat("utf-16-le", True, "\n", False)),
    "utf-16-be bom crlf": ("\ufeffa\r\nb\r\n".encode("utf-16-be"), "a\nb",
                           CaptionFormat("utf-16-be", True, "\r\n", True)),
    "old mac cr": (b"a\rb\r", "a\nb", CaptionFormat("utf-8", False, "\r", True)),
    "empty": (b"", "", CaptionFormat("utf-8", False, "\n", False)),
}


@pytest.mark.parametrize("name", list(ENCODED))
def test_reads_and_rewrites_in_the_same_encoding(tmp_path, name):
    raw, text, fmt = ENCODED[name]
    path = tmp_path / "img.txt"
    path.write_bytes(raw)
    cap = read_caption(path)
    assert not cap.undecodable and cap.exists
    assert cap.text == text
    assert cap.format == fmt
    written = write_caption(cap, cap.text)
    assert path.read_bytes() == raw  # an unchanged text gives back the very same bytes
    assert written.snapshot.size == len(raw)
    # an edit keeps encoding, BOM and line endings
    write_caption(written, text + "\nextra")
    again = read_caption(path)
    assert again.text == text + "\nextra"
    assert again.format == fmt if text else again.format.codec == fmt.codec


@pytest.mark.parametrize("raw, why", [
    (b"caf\xe9, cr\xe8me", "UTF-8"),  # Latin-1
    (b"\x83n\x83\x8d\x81[", "UTF-8"),  # Shift-JIS
    ("no bom".encode("utf-16-le"), "NUL"),  # UTF-16 without BOM
    (b"\xff\xfe\x00\x00a\x00\x00\x00", "UTF-32"),
    (b"\xff\xfe\x00\xd8", "UTF-16"),  # a lone surrogate
])
def test_undecodable_files_are_flagged_and_never_written(tmp_path, raw, why):
    path = tmp_path / "img.txt"
    path.write_bytes(raw)
    cap = read_caption(path)
    assert cap.undecodable and why in cap.error
    with pytest.raises(FileFormatError):
        write_caption(cap, "replacement")
    assert path.read_bytes() == raw


def test_missing_file_reads_empty_and_is_created_in_the_requested_format(tmp_path):
    path = tmp_path / "new.caption"
    cap = read_caption(path)
    assert not cap.exists and cap.text == "" and not cap.undecodable
    write_caption(cap, "tag one, tag two", fmt=CaptionFormat("utf-8", True, "\r\n", True))
    assert path.read_bytes() == b"\xef\xbb\xbftag one, tag two\r\n"


def test_external_change_is_a_conflict_and_nothing_is_lost(tmp_path):
    path = tmp_path / "img.txt"
    path.write_text("original", encoding="utf-8")
    cap = read_caption(path)
    path.write_text("changed by another program", encoding="utf-8")
    assert changed_on_disk(cap)
    with pytest.raises(ConflictError):
        write_caption(cap, "my edit")
    assert path.read_text(encoding="utf-8") == "changed by another program"
    # forced on purpose (the user chose "keep mine"):
    write_caption(cap, "my edit", check_conflict=False)
    assert path.read_text(encoding="utf-8") == "my edit"


def test_file_created_or_deleted_behind_our_back_is_a_conflict(tmp_path):
    path = tmp_path / "img.txt"
    missing = read_caption(path)
    path.write_text("someone else's", encoding="utf-8")
    with pytest.raises(ConflictError):
        write_caption(missing, "mine")
    present = read_caption(path)
    path.unlink()
    with pytest.raises(ConflictError):
        write_caption(present, "mine")
    assert not path.exists()


def test_touch_without_change_is_not_a_conflict(tmp_path):
    path = tmp_path / "img.txt"
    path.write_text("same", encoding="utf-8")
    cap = read_caption(path)
    os.utime(path, ns=(1, 1))
    assert not changed_on_disk(cap)
    write_caption(cap, "edited")
    assert path.read_text(encoding="utf-8") == "edited"


def test_write_is_atomic_and_keeps_permissions(tmp_path):
    path = tmp_path / "img.txt"
    path.write_text("a", encoding="utf-8")
    os.chmod(path, 0o640)
    write_caption(read_caption(path), "b")
    assert (os.stat(path).st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["img.txt"]  # no temp file left behind


def test_unencodable_text_is_a_clear_error(tmp_path):
    path = tmp_path / "img.txt"
    path.write_text("a", encoding="utf-8")
    with pytest.raises(UserInputError):
        write_caption(read_caption(path), "bad \ud800 surrogate")
    assert path.read_text(encoding="utf-8") == "a"


def test_huge_or_folder_captions_are_flagged(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (5 * 1024 * 1024))
    assert read_caption(big).undecodable
    folder = tmp_path / "dir.txt"
    folder.mkdir()
    assert read_caption(folder).undecodable


def test_caption_paths_and_extensions():
    assert caption_path_for("/d/cat.v2.png", ".txt").name == "cat.v2.txt"
    assert normalise_extension("caption") == ".caption"
    for bad in ("", ".", "a/b", ".png", "t x t", ".tar.gz"):
        with pytest.raises(UserInputError):
            normalise_extension(bad)


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=80),
       fmt=st.sampled_from([CaptionFormat(), CaptionFormat("utf-8", True, "\r\n", True),
                            CaptionFormat("utf-16-le", True, "\n", False),
                            CaptionFormat("utf-16-be", True, "\r", True)]))
def test_any_text_round_trips(tmp_path_factory, text, fmt):
    path = tmp_path_factory.mktemp("rt") / "c.txt"
    write_caption(read_caption(path), text, fmt=fmt, fsync=False)
    back = read_caption(path)
    # a final line ending belongs to the format: a text ending in one, saved to a file without, reads back
    # as that file with a final newline (nothing else is lost)
    expected = text[:-1] if text.endswith("\n") and not fmt.final_newline else text
    assert back.text == expected
    if text:
        assert back.format.codec == fmt.codec and back.format.bom == fmt.bom
