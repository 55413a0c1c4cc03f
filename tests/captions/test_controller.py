"""The caption controller with a real workspace on disk: edits, batches, undo/redo, saving."""

from __future__ import annotations

from collections import Counter

import pytest

from services.captions.operations import (
    AddTags,
    FindReplace,
    MoveToFront,
    PrefixSuffix,
    RemoveDuplicates,
    RemoveTags,
    RenameTag,
    SortTags,
)
from tests.captions.helpers import key_of, make_dataset, open_workspace, wait_idle

ORIGINAL = {
    "a": "cat, long hair, smile, cat",
    "b": "dog, smile, outdoors",
    "c": "long hair, , sky, cat",
    "d": None,
}


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path / "data", ORIGINAL)


@pytest.fixture
def ws(session, controller, dataset, qtbot):
    workspace = open_workspace(session, dataset.parent)
    wait_idle(qtbot, controller)
    return workspace


def disk(dataset, name):
    path = dataset / f"{name}.txt"
    return path.read_text(encoding="utf-8") if path.exists() else None


def recount(controller, ws):
    fmt = controller.tag_format()
    expected = Counter()
    for item in ws:
        expected.update(fmt.tag_set(controller.text_of(item.key)))
    return {t: c for t, c in controller.index.stats.counts.items() if c} == dict(expected)


def run_batch(qtbot, controller, op, keys):
    controller.run_operation(op, keys)
    wait_idle(qtbot, controller)
    assert controller.flush()


OPERATIONS = [
    (AddTags(("sks",), "front"), {"a": "sks, cat, long hair, smile, cat", "b": "sks, dog, smile, outdoors",
                                  "c": "sks, long hair, , sky, cat", "d": "sks"}),
    (RemoveTags(("smile",)), {"a": "cat, long hair, cat", "b": "dog, outdoors"}),
    (RenameTag(("cat",), "feline"), {"a": "feline, long hair, smile", "c": "long hair, , sky, feline"}),
    (FindReplace("long hair", "short hair"), {"a": "cat, short hair, smile, cat", "c": "short hair, , sky, cat"}),
    (FindReplace(r"\bs(\w+)", r"S\1", mode="regex"), {"a": "cat, long hair, Smile, cat", "b": "dog, Smile, outdoors",
                                                      "c": "long hair, , Sky, cat"}),
    (FindReplace("cat", "kitten", mode="whole_tag"), {"a": "kitten, long hair, smile",
                                                      "c": "long hair, , sky, kitten"}),
    (RemoveDuplicates(), {"a": "cat, long hair, smile", "c": "long hair, sky, cat"}),
    (SortTags("alphabetical"), {"a": "cat, cat, long hair, smile", "b": "dog, outdoors, smile",
                                "c": ", cat, long hair, sky"}),
    (SortTags("frequency"), {"a": "cat, cat, long hair, smile", "b": "smile, dog, outdoors",
                             "c": "cat, long hair, sky, "}),
    (MoveToFront(("smile",)), {"a": "smile, cat, long hair, cat", "b": "smile, dog, outdoors"}),
    (PrefixSuffix("photo of ", "."), {"a": "photo of cat, long hair, smile, cat.",
                                      "b": "photo of dog, smile, outdoors.",
                                      "c": "photo of long hair, , sky, cat.", "d": "photo of ."}),
]


@pytest.mark.parametrize("op, expected", OPERATIONS, ids=lambda v: type(v).__name__ if not isinstance(v, dict) else "")
def test_every_operation_saves_undoes_and_redoes(session, controller, ws, dataset, qtbot, trash, op, expected):
    keys = ws.keys()
    run_batch(qtbot, controller, op, keys)
    after = {name: expected.get(name, ORIGINAL[name]) for name in ORIGINAL}
    assert {n: disk(dataset, n) for n in ORIGINAL} == after
    assert session.undo_stack.count() == 1
    command = session.undo_stack.command(0)
    assert len(command.changes) == len(expected)  # memory: only the captions that changed
    assert recount(controller, ws)

    session.undo_stack.undo()
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert {n: disk(dataset, n) for n in ORIGINAL} == ORIGINAL  # a caption the op created is gone again
    assert recount(controller, ws)

    session.undo_stack.redo()
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert {n: disk(dataset, n) for n in ORIGINAL} == after
    assert recount(controller, ws)
    assert not session.unsaved_caption_keys


def test_an_undone_creation_goes_to_the_trash(session, controller, ws, dataset, qtbot, trash):
    run_batch(qtbot, controller, AddTags(("sks",), "front"), [key_of(ws, "d")])
    assert disk(dataset, "d") == "sks"
    session.undo_stack.undo()
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert disk(dataset, "d") is None
    assert (trash / "d.txt").read_text() == "sks"


def test_single_edits_are_applied_at_once_and_saved_after(session, controller, ws, dataset, qtbot):
    key = key_of(ws, "b")
    controller.edit([key], AddTags(("new tag",), "end"))
    assert ws.item(key).caption_text == "dog, smile, outdoors, new tag"  # the grid sees it at once
    assert key in session.unsaved_caption_keys
    assert controller.index.stats.count("new tag") == 1
    qtbot.waitUntil(lambda: disk(dataset, "b") == "dog, smile, outdoors, new tag", timeout=5000)
    wait_idle(qtbot, controller)
    assert key not in session.unsaved_caption_keys and not controller.dirty


def test_autosave_off_saves_only_on_demand(session, controller, ws, dataset, qtbot):
    session.settings.workspace.autosave_captions = False
    key = key_of(ws, "a")
    controller.edit_texts({key: "one, two"})
    qtbot.wait(700)
    assert disk(dataset, "a") == ORIGINAL["a"] and controller.unsaved_count == 1
    controller.save_now()
    qtbot.waitUntil(lambda: disk(dataset, "a") == "one, two", timeout=5000)


def test_typing_merges_into_one_undo_step(session, controller, ws, qtbot):
    key = key_of(ws, "a")
    for text in ("c", "ca", "cat"):
        controller.edit_texts({key: text}, typing=True)
    assert session.undo_stack.count() == 1
    session.undo_stack.undo()
    assert controller.text_of(key) == ORIGINAL["a"]


def test_external_change_is_a_conflict_never_overwritten(session, controller, ws, dataset, qtbot):
    session.settings.workspace.autosave_captions = False
    key = key_of(ws, "b")
    controller.edit_texts({key: "mine"})
    (dataset / "b.txt").write_text("theirs, changed elsewhere", encoding="utf-8")
    controller.save_now()
    qtbot.waitUntil(lambda: key in controller.conflicts, timeout=5000)
    wait_idle(qtbot, controller)
    assert disk(dataset, "b") == "theirs, changed elsewhere"
    assert controller.locked_reason(key)

    controller.use_theirs([key])
    assert controller.text_of(key) == "theirs, changed elsewhere" and key not in controller.conflicts
    session.undo_stack.undo()  # back to my edit, unsaved, now based on their file
    assert controller.text_of(key) == "mine"
    controller.save_now()
    qtbot.waitUntil(lambda: disk(dataset, "b") == "mine", timeout=5000)


def test_keep_mine_overwrites_after_a_conflict(session, controller, ws, dataset, qtbot):
    session.settings.workspace.autosave_captions = False
    key = key_of(ws, "b")
    controller.edit_texts({key: "mine"})
    (dataset / "b.txt").write_text("theirs", encoding="utf-8")
    controller.save_now()
    qtbot.waitUntil(lambda: key in controller.conflicts, timeout=5000)
    wait_idle(qtbot, controller)
    controller.keep_mine([key])
    controller.save_now()
    qtbot.waitUntil(lambda: disk(dataset, "b") == "mine", timeout=5000)
    wait_idle(qtbot, controller)
    assert not controller.conflicts and not controller.dirty


def test_conflict_signal_from_the_watcher_is_verified(session, controller, ws, dataset, qtbot):
    session.settings.workspace.autosave_captions = False
    key = key_of(ws, "a")
    controller.edit_texts({key: "mine"})
    session.caption_conflict.emit(key)  # a false alarm: the file did not change
    wait_idle(qtbot, controller)
    assert key not in controller.conflicts
    (dataset / "a.txt").write_text("theirs", encoding="utf-8")
    session.caption_conflict.emit(key)
    qtbot.waitUntil(lambda: key in controller.conflicts, timeout=5000)
    wait_idle(qtbot, controller)


def test_foreign_caption_changes_update_the_counts(session, controller, ws, qtbot):
    from services.dataset.caption_files import read_caption

    key = key_of(ws, "b")
    path = ws.item(key).caption.path
    path.write_text("brand new tag", encoding="utf-8")
    ws.set_caption(key, read_caption(path))
    session.notify_captions_changed([key])
    assert controller.index.stats.count("brand new tag") == 1
    assert controller.index.stats.count("dog") == 0
    assert recount(controller, ws)


def test_edits_while_a_save_runs_are_kept(session, controller, ws, dataset, qtbot):
    key = key_of(ws, "a")
    controller.edit_texts({key: "first"})
    controller.save_now()
    controller.runner.drain()
    assert controller.saving
    controller.edit_texts({key: "second"})
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert disk(dataset, "a") == "second"
    assert not controller.conflicts


def test_workspace_change_saves_what_was_unsaved(session, controller, ws, dataset, qtbot, tmp_path):
    session.settings.workspace.autosave_captions = False
    controller.edit_texts({key_of(ws, "a"): "unsaved edit"})
    other = make_dataset(tmp_path / "other", {"x": "x"})
    open_workspace(session, other.parent)
    wait_idle(qtbot, controller)
    assert disk(dataset, "a") == "unsaved edit"
    session.undo_stack.undo()  # the command belongs to the closed workspace: it does nothing
    assert disk(dataset, "a") == "unsaved edit"


def test_large_edits_are_planned_in_a_worker(session, controller, ws, qtbot, monkeypatch):
    import services.captions.qt.controller as module

    monkeypatch.setattr(module, "SYNC_PLAN_LIMIT", 1)
    controller.edit(ws.keys(), AddTags(("zzz",), "end"))
    assert controller.busy  # the plan runs in a thread
    wait_idle(qtbot, controller)
    assert controller.index.stats.count("zzz") == 4
