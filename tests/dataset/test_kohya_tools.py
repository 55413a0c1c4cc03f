"""Kohya folder tools: plans preview exactly what apply does; undo puts things back via the trash."""

from __future__ import annotations

import os

import pytest

from services.dataset import kohya_tools as tools
from services.errors import UserInputError
from tests.dataset.files import write_jpeg


@pytest.fixture(autouse=True)
def _trash_in_tmp(private_trash):
    return private_trash


@pytest.fixture
def flat(tmp_path):
    folder = tmp_path / "photos"
    for i in range(3):
        write_jpeg(folder / f"p{i}.jpg", seed=i)
        (folder / f"p{i}.txt").write_text(f"caption {i}", encoding="utf-8")
    (folder / "notes.md").write_text("not part of the dataset", encoding="utf-8")
    return folder


@pytest.mark.parametrize("mode", ["copy", "move", "link"])
def test_make_subset_plan_apply_and_undo(tmp_path, flat, mode, private_trash):
    plan = tools.plan_make_subset(flat, tmp_path / "img", 10, "ohwx person", mode)
    target = tmp_path / "img" / "10_ohwx person"
    assert plan.ops[0] == tools.FileOp("mkdir", None, target)
    assert sorted(op.target.name for op in plan.ops[1:]) == ["p0.jpg", "p0.txt", "p1.jpg", "p1.txt", "p2.jpg",
                                                             "p2.txt"]
    assert not plan.warnings and plan.rows == [("10_ohwx person", 3, 10, 30)]
    assert not target.exists()  # a plan changes nothing
    journal = tools.apply_plan(plan)
    assert not journal.error and len(journal.done) == len(plan.ops)
    assert sorted(p.name for p in target.iterdir()) == ["p0.jpg", "p0.txt", "p1.jpg", "p1.txt", "p2.jpg", "p2.txt"]
    assert (flat / "p0.jpg").exists() == (mode != "move")
    if mode == "link":
        assert os.stat(target / "p0.jpg").st_ino == os.stat(flat / "p0.jpg").st_ino
    assert tools.undo_journal(journal) == []
    assert sorted(p.name for p in flat.iterdir()) == ["notes.md", "p0.jpg", "p0.txt", "p1.jpg", "p1.txt", "p2.jpg",
                                                      "p2.txt"]
    assert not target.exists()
    trashed = list((private_trash / "files").iterdir()) if (private_trash / "files").exists() else []
    assert len(trashed) == (6 if mode in ("copy", "link") else 0)  # copies went to the trash, not deleted


def test_existing_targets_are_skipped_not_overwritten(tmp_path, flat):
    target = tmp_path / "img" / "5_x"
    target.mkdir(parents=True)
    (target / "p0.jpg").write_bytes(b"keep me")
    plan = tools.plan_make_subset(flat, tmp_path / "img", 5, "x", "copy")
    assert any("p0.jpg" in s for s in plan.skipped)
    tools.apply_plan(plan)
    assert (target / "p0.jpg").read_bytes() == b"keep me"


def test_bad_make_subset_input(tmp_path, flat):
    with pytest.raises(UserInputError):
        tools.plan_make_subset(flat, tmp_path, 0, "x", "copy")
    with pytest.raises(UserInputError):
        tools.plan_make_subset(flat, tmp_path, 3, "a/b", "copy")
    with pytest.raises(UserInputError):
        tools.plan_make_subset(flat, tmp_path, 3, "x", "teleport")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserInputError):
        tools.plan_make_subset(empty, tmp_path, 3, "x", "copy")


def test_hard_link_across_drives_is_a_warning(tmp_path, flat, monkeypatch):
    monkeypatch.setattr(tools, "_same_device", lambda a, b: False)
    plan = tools.plan_make_subset(flat, tmp_path / "img", 2, "x", "link")
    assert plan.warnings and "same drive" in plan.warnings[0]


def test_set_repeats_renames_and_undo_renames_back(tmp_path):
    folder = tmp_path / "3_ohwx cat"
    write_jpeg(folder / "a.jpg")
    plan = tools.plan_set_repeats(folder, 12)
    assert plan.ops == [tools.FileOp("rename", folder, tmp_path / "12_ohwx cat")]
    journal = tools.apply_plan(plan)
    assert (tmp_path / "12_ohwx cat" / "a.jpg").exists() and not folder.exists()
    assert tools.undo_journal(journal) == []
    assert (folder / "a.jpg").exists()
    plain = tmp_path / "cats"
    plain.mkdir()
    assert tools.plan_set_repeats(plain, 4).ops[0].target.name == "4_cats"
    assert tools.plan_set_repeats(folder, 3).empty  # already 3


@pytest.mark.parametrize("images, target, expected", [(10, 100, 10), (7, 100, 14), (300, 100, 1), (0, 50, 1),
                                                      (30, 100, 3), (40, 100, 2)])
def test_balanced_repeats(images, target, expected):
    assert tools.balanced_repeats(images, target) == expected


def test_balance_plan(tmp_path):
    a, b = tmp_path / "10_a", tmp_path / "1_b"
    counts = [tools.SubsetCount(a, 5, 10), tools.SubsetCount(b, 50, 1)]
    plan = tools.plan_balance(counts, 100)
    assert plan.rows == [("10_a", 5, 10, 20, 100), ("1_b", 50, 1, 2, 100)]
    a.mkdir()
    b.mkdir()
    plan = tools.plan_balance(counts, 100)
    assert [op.target.name for op in plan.ops] == ["20_a", "2_b"]


def test_add_images_and_trash_images(tmp_path, flat, private_trash):
    subset = tmp_path / "5_set"
    subset.mkdir()
    plan = tools.plan_add_images([flat / "p0.jpg", flat / "p1.jpg"], subset, "copy")
    assert [op.target.name for op in plan.ops] == ["p0.jpg", "p0.txt", "p1.jpg", "p1.txt"]
    tools.apply_plan(plan)
    trashed, problems = tools.trash_images([subset / "p0.jpg"], [".txt"])
    assert not problems and sorted(os.path.basename(t) for t in trashed) == ["p0.jpg", "p0.txt"]
    assert not (subset / "p0.jpg").exists() and (private_trash / "files" / "p0.jpg").exists()
