"""Existing-caption policies and the choice of images a job covers."""

import pytest

from services.captioning.policy import APPEND, OVERWRITE, POLICY_IDS, PREPEND, SKIP, merge, needs_caption
from services.captioning.targets import caption_for, plan


@pytest.mark.parametrize("policy,expected", [
    (OVERWRITE, "b, c"),
    (APPEND, "a, b, c"),
    (PREPEND, "c, a, b"),
    (SKIP, "a, b"),
])
def test_tag_policies_do_not_repeat_tags(policy, expected):
    assert merge("a, b", "b, c", policy, ", ", tags=True) == expected


def test_sentence_policies_join_with_the_separator():
    assert merge("sks person", "a man on a bench", APPEND, ", ", tags=False) == "sks person, a man on a bench"
    assert merge("sks person", "a man on a bench", PREPEND, ", ", tags=False) == "a man on a bench, sks person"
    assert merge("", "a man", APPEND, ", ", tags=False) == "a man"
    assert merge(None, "a man", SKIP, ", ", tags=False) == "a man"


def test_newline_separated_tags():
    assert merge("a\nb", "b\nc", APPEND, "\n", tags=True) == "a\nb\nc"


def test_needs_caption_and_unknown_policy():
    assert needs_caption("", SKIP) and needs_caption("  ", SKIP) and not needs_caption("x", SKIP)
    assert all(needs_caption("x", p) for p in POLICY_IDS if p != SKIP)
    with pytest.raises(ValueError):
        merge("a", "b", "replace", ", ", tags=True)


def test_caption_for_reports_no_change_as_none():
    assert caption_for("a, b", "a, b", OVERWRITE, ", ", tags=True) is None
    assert caption_for("a", "b", SKIP, ", ", tags=True) is None  # a caption appeared meanwhile
    assert caption_for(None, "b", SKIP, ", ", tags=True) == "b"


def test_plan_leaves_out_undecodable_captions_unreadable_images_and_skipped(tmp_path):
    from services.dataset.scanner import scan_folders
    from tests.captioning.builders import solid_image

    for name in ("a", "b", "c", "d"):
        solid_image(tmp_path / f"{name}.png", (10, 20, 30))
    (tmp_path / "a.txt").write_text("tagged", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"caf\xe9 latin-1")  # undecodable: never written over
    (tmp_path / "c.txt").write_text("  ", encoding="utf-8")  # empty counts as uncaptioned
    (tmp_path / "e.png").write_bytes(b"not a png")
    ws = scan_folders([tmp_path])
    keys = ws.keys()
    skip = plan(ws, keys, SKIP)
    assert sorted(k.rsplit("/", 1)[1] for k in skip.keys) == ["c.png", "d.png"]
    assert skip.skipped_existing == 1 and len(skip.skipped_undecodable) == 1 and len(skip.skipped_unreadable) == 1
    assert "already captioned" in skip.describe() and "unknown encoding" in skip.describe()
    overwrite = plan(ws, keys, OVERWRITE)
    assert sorted(k.rsplit("/", 1)[1] for k in overwrite.keys) == ["a.png", "c.png", "d.png"]
    assert overwrite.skipped == 2
