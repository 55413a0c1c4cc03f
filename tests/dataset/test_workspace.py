"""The workspace model: Kohya names, subsets and totals, tags, captions written through it."""

from __future__ import annotations

import pytest

from services.dataset.caption_files import read_caption
from services.dataset.kohya_names import format_folder_name, parse_folder_name
from services.dataset.scanner import ScanOptions, scan_folders
from services.dataset.workspace import Problem, join_tags, split_tags
from services.errors import ConflictError, UserInputError
from tests.dataset.files import write_jpeg, write_png


@pytest.mark.parametrize("name, repeats, tokens, instance, cls", [
    ("10_ohwx dog", 10, "ohwx dog", "ohwx", "dog"),
    ("1_dog", 1, "dog", "", "dog"),
    ("5_my_cat", 5, "my_cat", "", "my_cat"),
    ("0_skipped", 0, "skipped", "", "skipped"),
    ("3_", 3, "", "", ""),
    ("20_sks woman in red", 20, "sks woman in red", "sks", "woman in red"),
])
def test_kohya_folder_names(name, repeats, tokens, instance, cls):
    parsed = parse_folder_name(name)
    assert parsed is not None
    assert (parsed.repeats, parsed.class_tokens, parsed.instance_token, parsed.class_word) == \
        (repeats, tokens, instance, cls)
    assert parsed.trained == (repeats >= 1)


@pytest.mark.parametrize("name", ["cat", "cat_10", "_10", "x10_cat", "20240101_photos", "10-cat", "१०_cat"])
def test_names_without_repeats_are_plain_folders(name):
    assert parse_folder_name(name) is None


def test_format_folder_name_round_trips():
    assert parse_folder_name(format_folder_name(7, "ohwx cat")).repeats == 7
    with pytest.raises(ValueError):
        format_folder_name(3, "a/b")


def test_subsets_totals_and_regularisation(tmp_path):
    img = tmp_path / "project" / "img"
    for i in range(3):
        write_jpeg(img / "10_ohwx dog" / f"a{i}.jpg", (640, 512))
    for i in range(2):
        write_png(img / "plain" / f"b{i}.png", (512, 512))
    for i in range(4):
        write_jpeg(tmp_path / "project" / "reg" / "1_dog" / f"r{i}.jpg", (512, 512))
    ws = scan_folders([tmp_path / "project"])
    by_name = {s.name: s for s in ws.subsets.values()}
    dog = by_name["project/img/10_ohwx dog"]
    assert (dog.repeats, dog.class_tokens, dog.kohya, dog.is_reg, dog.image_count, dog.weighted) == \
        (10, "ohwx dog", True, False, 3, 30)
    plain = by_name["project/img/plain"]
    assert (plain.repeats, plain.kohya) == (1, False)
    reg = by_name["project/reg/1_dog"]
    assert reg.is_reg
    totals = ws.totals()
    assert (totals.images, totals.train_images, totals.weighted, totals.reg_images, totals.reg_weighted) == \
        (9, 5, 32, 4, 4)
    # The user can mark or un-mark regularisation folders; the choice wins over the folder name.
    again = scan_folders([tmp_path / "project"], ScanOptions(reg_folders=frozenset({str(plain.path)}),
                                                            not_reg_folders=frozenset({str(reg.path)})))
    assert again.subsets[str(plain.path)].is_reg and not again.subsets[str(reg.path)].is_reg


def test_tags_split_by_the_workspace_separator():
    assert split_tags("a, b,c ,, d ", ", ") == ["a", "b", "c", "d"]
    assert split_tags("a, b\nc", "\n") == ["a, b", "c"]
    assert join_tags(["a", " b ", ""], ",") == "a,b"


def test_caption_problems_follow_the_caption(tmp_path):
    write_jpeg(tmp_path / "a.jpg", (512, 512))
    write_jpeg(tmp_path / "b.jpg", (100, 80))
    (tmp_path / "b.txt").write_text("  \n", encoding="utf-8")
    write_jpeg(tmp_path / "c.jpg", (512, 512))
    (tmp_path / "c.txt").write_bytes(b"caf\xe9")
    ws = scan_folders([tmp_path])
    a, b, c = (ws.item(str(tmp_path / n)) for n in ("a.jpg", "b.jpg", "c.jpg"))
    assert a.problems == Problem.NO_CAPTION
    assert b.problems == Problem.EMPTY_CAPTION | Problem.TOO_SMALL
    assert c.problems == Problem.CAPTION_UNDECODABLE
    ws.save_caption(a.key, "new, caption")
    assert a.problems == Problem.NONE and ws.tags(a) == ("new", "caption")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "new, caption"
    ws.set_small_side(64)
    assert not b.problems & Problem.TOO_SMALL


def test_save_caption_refuses_conflicts_and_keeps_both_sides(tmp_path):
    write_jpeg(tmp_path / "a.jpg", (512, 512))
    (tmp_path / "a.txt").write_text("start", encoding="utf-8")
    ws = scan_folders([tmp_path])
    key = str(tmp_path / "a.jpg")
    base = ws.item(key).caption
    (tmp_path / "a.txt").write_text("external", encoding="utf-8")
    with pytest.raises(ConflictError):
        ws.save_caption(key, "mine", base=base)
    assert read_caption(tmp_path / "a.txt").text == "external"
    assert ws.item(key).caption_text == "start"
    assert ws.reload_caption(key).text == "external"


def test_caption_extension_can_be_changed(tmp_path):
    write_jpeg(tmp_path / "a.jpg", (512, 512))
    (tmp_path / "a.txt").write_text("from txt", encoding="utf-8")
    (tmp_path / "a.caption").write_text("from caption", encoding="utf-8")
    ws = scan_folders([tmp_path])
    assert ws.item(str(tmp_path / "a.jpg")).caption_text == "from txt"
    ws.set_caption_extension("caption")
    assert ws.item(str(tmp_path / "a.jpg")).caption_text == "from caption"
    with pytest.raises(UserInputError):
        ws.set_caption_extension(".jpg")
    with pytest.raises(UserInputError):
        ws.set_tag_separator(";")


def test_mark_duplicates_sets_and_clears(tmp_path):
    for n in "abc":
        write_jpeg(tmp_path / f"{n}.jpg", (512, 512))
    ws = scan_folders([tmp_path])
    keys = ws.keys()
    assert ws.mark_duplicates([keys[:2]]) == set(keys[:2])
    assert ws.item(keys[0]).problems & Problem.DUPLICATE
    assert ws.mark_duplicates([]) == set(keys[:2])
    assert not ws.item(keys[0]).problems & Problem.DUPLICATE
