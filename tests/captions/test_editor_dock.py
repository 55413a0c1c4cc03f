"""The caption editor dock in the real window: chips, F2, Del, drag, add, text mode, multi-selection,
the token counter, banners, and undo through the Edit menu."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QMessageBox

from services.captions.qt.tag_models import (
    CHUNK_ROLE,
    COUNT_ROLE,
    MIME_TAG_ROWS,
    NEW_CHUNK_ROLE,
    SelectionTagsModel,
)
from tests.captions.helpers import key_of, make_dataset, open_workspace, wait_idle

CAPTIONS = {
    "a": "cat, long hair, smile",
    "b": "cat, dog, smile",
    "c": "cat, sky",
    "bad": "caf\u00e9".encode("latin-1"),
}


@pytest.fixture
def env(app_parts, tmp_path, qtbot):
    dataset = make_dataset(tmp_path / "data", CAPTIONS)
    session, window = app_parts.session, app_parts.window
    ws = open_workspace(session, dataset.parent)
    editor = window.dock_widget("captions")
    wait_idle(qtbot, editor.controller)
    yield session, window, editor, ws, dataset
    editor.controller.shutdown()


def select(session, ws, *names):
    keys = [key_of(ws, n) for n in names]
    session.set_selection(keys)
    session.set_current_image(keys[0])
    return keys


def text(editor, ws, name):
    return editor.controller.text_of(key_of(ws, name))


def undo(window):
    window.actions_by_id["edit.undo"].trigger()


def test_single_caption_as_chips_with_f2_del_drag_and_add(env, qtbot):
    session, window, editor, ws, dataset = env
    select(session, ws, "a")
    assert editor.model.names() == ["cat", "long hair", "smile"]

    editor.model.setData(editor.model.index(1), "short hair")            # F2
    assert text(editor, ws, "a") == "cat, short hair, smile"

    editor.chips.setCurrentIndex(editor.model.index(0))
    qtbot.keyClick(editor.chips, Qt.Key.Key_Delete)                       # Del
    assert text(editor, ws, "a") == "short hair, smile"

    mime = QMimeData()
    mime.setData(MIME_TAG_ROWS, json.dumps([1]).encode())
    editor.model.dropMimeData(mime, Qt.DropAction.MoveAction, 0, 0, editor.model.index(0).parent())  # drag
    assert text(editor, ws, "a") == "smile, short hair"

    editor.tag_input.setText("new one, smile")
    qtbot.keyClick(editor.tag_input, Qt.Key.Key_Return)                   # add (smile is already there)
    assert text(editor, ws, "a") == "smile, short hair, new one"
    assert editor.model.names() == ["smile", "short hair", "new one"]

    for expected in ("smile, short hair", "short hair, smile", "cat, short hair, smile", "cat, long hair, smile"):
        undo(window)
        assert text(editor, ws, "a") == expected
    wait_idle(qtbot, editor.controller)
    assert editor.controller.flush()
    assert (dataset / "a.txt").read_text() == "cat, long hair, smile"


def test_rename_onto_an_existing_tag_merges(env):
    session, _window, editor, ws, _dataset = env
    select(session, ws, "a")
    editor.model.setData(editor.model.index(2), "cat")
    assert text(editor, ws, "a") == "cat, long hair"


def test_multi_selection_shows_the_union_and_edits_all(env, qtbot):
    session, window, editor, ws, _dataset = env
    select(session, ws, "a", "b", "c")
    rows = {r.name: r.count for r in editor.model.rows}
    assert rows == {"cat": 3, "smile": 2, "long hair": 1, "dog": 1, "sky": 1}
    assert editor.model.names()[0] == "cat"
    assert editor.model.data(editor.model.index(0), COUNT_ROLE) == 3
    assert not editor.model.flags(editor.model.index(0)) & Qt.ItemFlag.ItemIsDragEnabled

    smile = editor.model.names().index("smile")
    editor.model.setData(editor.model.index(smile), "grin")
    assert [text(editor, ws, n) for n in "abc"] == ["cat, long hair, grin", "cat, dog, grin", "cat, sky"]
    assert session.undo_stack.count() == 1

    editor._remove_rows([editor.model.names().index("cat")])
    assert [text(editor, ws, n) for n in "abc"] == ["long hair, grin", "dog, grin", "sky"]

    editor._add_tags(["sks"])
    assert all(text(editor, ws, n).endswith("sks") for n in "abc")
    undo(window)
    undo(window)
    undo(window)
    assert [text(editor, ws, n) for n in "abc"] == [CAPTIONS[n] for n in "abc"]


def test_text_mode_commits_once_and_undo_goes_to_the_app_stack(env, qtbot):
    session, window, editor, ws, _dataset = env
    window.show()
    qtbot.waitExposed(window)
    select(session, ws, "c")
    editor.show_text_mode()
    assert editor.text_edit.toPlainText() == "cat, sky"
    editor.text_edit.setFocus()
    editor.text_edit.moveCursor(editor.text_edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor.text_edit, " at night")
    editor.text_edit.flush()
    assert text(editor, ws, "c") == "cat, sky at night"
    assert session.undo_stack.count() == 1
    override = QKeyEvent(QKeyEvent.Type.ShortcutOverride, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert editor.text_edit.event(override) is False and not override.isAccepted()
    undo(window)
    assert text(editor, ws, "c") == "cat, sky"
    assert editor.text_edit.toPlainText() == "cat, sky"
    assert editor.line_note.isHidden()
    editor.text_edit.setPlainText("first line\nsecond line")
    assert not editor.line_note.isHidden()  # sd-scripts would not see the second line


def test_text_mode_with_several_images_explains_itself(env):
    session, _window, editor, ws, _dataset = env
    select(session, ws, "a", "b")
    editor.show_text_mode()
    assert editor.stack.currentWidget() is editor.note
    assert "2 captions selected" in editor.note.title_label.text()


def test_token_counter_and_chunk_markers(env, qtbot):
    session, _window, editor, ws, _dataset = env
    long_caption = ", ".join(f"tag number {i}" for i in range(40))
    key = select(session, ws, "a")[0]
    editor.controller.edit_texts({key: long_caption})
    qtbot.waitUntil(lambda: editor.controller.tokenizer is not None, timeout=10_000)
    editor.refresh()
    expected = editor.controller.tokenizer.count(long_caption)
    assert editor.tokens.total == expected > 75
    chunks = [editor.model.data(editor.model.index(r), CHUNK_ROLE) for r in range(editor.model.rowCount())]
    assert chunks[0] == 0 and max(chunks) >= 1
    assert sum(bool(editor.model.data(editor.model.index(r), NEW_CHUNK_ROLE))
               for r in range(editor.model.rowCount())) == max(chunks)
    assert "max_token_length" in editor.tokens.toolTip()
    editor.show_text_mode()
    editor._count_tokens()
    assert editor.text_edit.extraSelections()


def test_autocomplete_ranks_by_count_and_skips_present_tags(env, qtbot):
    session, _window, editor, ws, _dataset = env
    select(session, ws, "c")
    editor.tag_input.setText("s")
    editor.tag_input._update_suggestions()
    assert editor.tag_input.suggestions()[:1] == ["smile"]      # in 2 captions; "sky" is already there
    assert "sky" not in editor.tag_input.suggestions()
    editor.tag_input.setText("dog, lo")
    editor.tag_input._update_suggestions()
    editor.tag_input._insert("long hair")
    assert editor.tag_input.text() == "dog, long hair, "


def test_undecodable_caption_is_shown_read_only(env):
    session, _window, editor, ws, dataset = env
    select(session, ws, "bad")
    assert editor.stack.currentWidget() is editor.note
    assert "never overwritten" in editor.note.body_label.text()
    assert (dataset / "bad.txt").read_bytes() == CAPTIONS["bad"]


def test_conflict_banner_offers_theirs_and_mine(env, qtbot):
    session, _window, editor, ws, dataset = env
    session.settings.workspace.autosave_captions = False
    key = select(session, ws, "a")[0]
    editor.controller.edit_texts({key: "mine"})
    (dataset / "a.txt").write_text("theirs", encoding="utf-8")
    editor.save_all()
    qtbot.waitUntil(lambda: key in editor.controller.conflicts, timeout=5000)
    qtbot.waitUntil(lambda: not editor.banner.isHidden(), timeout=2000)
    assert "another program" in editor.banner_label.text()
    editor.mine_button.click()
    editor.save_all()
    qtbot.waitUntil(lambda: (dataset / "a.txt").read_text() == "mine", timeout=5000)
    wait_idle(qtbot, editor.controller)
    assert editor.banner.isHidden()


def test_autosave_toggle_and_close_prompt(env, qtbot, monkeypatch):
    session, window, editor, ws, dataset = env
    action = window.actions_by_id["caption.autosave"]
    editor._sync_autosave_action()
    assert action.isChecked()
    action.trigger()
    assert not editor.controller.autosave and not action.isChecked()
    key = select(session, ws, "b")[0]
    editor.controller.edit_texts({key: "edited, not saved"})
    assert editor.save_button.isVisible() or not window.isVisible()
    assert "unsaved" in editor.status.text()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Save)
    window.show()
    qtbot.waitExposed(window)
    window.close()
    assert asked and (dataset / "b.txt").read_text() == "edited, not saved"


def test_models_pass_the_model_tester(env, qtmodeltester):
    session, window, editor, ws, _dataset = env
    select(session, ws, "a", "b")
    qtmodeltester.check(editor.model)
    single = SelectionTagsModel()
    single.set_single(["a", "", "b"])
    qtmodeltester.check(single)
    tags_dock = window.dock_widget("alltags")
    qtmodeltester.check(tags_dock.model)
    qtmodeltester.check(tags_dock.proxy)


def test_a_large_selection_is_counted_in_a_worker(env, qtbot, monkeypatch):
    import widgets.captions.editor_dock as module

    session, _window, editor, ws, _dataset = env
    monkeypatch.setattr(module, "UNION_SYNC_LIMIT", 1)
    select(session, ws, "a", "b", "c")
    qtbot.waitUntil(lambda: editor.model.rowCount() == 5, timeout=5000)
    assert {r.name: r.count for r in editor.model.rows}["cat"] == 3
    assert editor.title.text() == "3 images selected"
    wait_idle(qtbot, editor.controller)
