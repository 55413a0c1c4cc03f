"""The All tags dock (counts, incremental updates, sort, filter, click to filter the grid, rename and
delete across the dataset) and the batch and extension dialogs (preview, scopes, apply, undo)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from services.captions.operations import AddTags, FindReplace, RemoveDuplicates, SortTags
from tests.captions.helpers import key_of, make_dataset, open_workspace, wait_idle
from widgets.captions.batch_dialog import OPERATIONS, BatchDialog
from widgets.captions.extension_dialog import ExtensionDialog

CAPTIONS = {"a": "cat, long hair, smile", "b": "cat, dog, smile", "c": "cat, sky", "d": None}


@pytest.fixture
def env(app_parts, tmp_path, qtbot):
    dataset = make_dataset(tmp_path / "data", CAPTIONS)
    session, window = app_parts.session, app_parts.window
    ws = open_workspace(session, dataset.parent)
    dock = window.dock_widget("alltags")
    controller = dock.controller
    wait_idle(qtbot, controller)
    yield session, window, dock, controller, ws, dataset
    controller.shutdown()


def table(dock):
    return [(dock.proxy.index(r, 0).data(), dock.proxy.index(r, 1).data()) for r in range(dock.proxy.rowCount())]


def test_counts_sorting_and_filter(env):
    _session, _window, dock, _c, _ws, _dataset = env
    assert table(dock)[0] == ("cat", 3)
    assert dict(table(dock)) == {"cat": 3, "smile": 2, "long hair": 1, "dog": 1, "sky": 1}
    dock.sort_combo.setCurrentIndex(1)  # name
    assert [n for n, _c in table(dock)] == ["cat", "dog", "long hair", "sky", "smile"]
    dock.sort_combo.setCurrentIndex(2)  # length
    assert [n for n, _c in table(dock)][-1] == "long hair"
    dock.filter_edit.setText("S")
    assert {n for n, _c in table(dock)} == {"smile", "sky"}
    assert "2 of 5" in dock.summary.text()


def test_counts_follow_edits_incrementally(env, qtbot):
    session, _window, dock, controller, ws, _dataset = env
    inserted = []
    dock.model.rowsInserted.connect(lambda *_a: inserted.append(1))
    resets = []
    dock.model.modelReset.connect(lambda: resets.append(1))
    controller.edit([key_of(ws, "c")], AddTags(("night",), "end"))
    assert dict(table(dock))["night"] == 1 and inserted and not resets
    controller.edit([key_of(ws, "b")], FindReplace("dog", "", mode="whole_tag"))
    assert "dog" not in dict(table(dock))
    session.undo_stack.undo()
    assert dict(table(dock))["dog"] == 1
    assert not resets


def test_click_filters_the_grid(env, qtbot):
    session, _window, dock, _c, _ws, _dataset = env
    seen = []
    session.filter_requested.connect(seen.append)
    row = [n for n, _c in table(dock)].index("long hair")
    dock._clicked(dock.proxy.index(row, 0))
    assert seen == ['tag:"long hair"']


def test_rename_and_delete_across_the_dataset(env, qtbot, monkeypatch):
    session, _window, dock, controller, _ws, dataset = env
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("feline", True))
    dock.rename_tags(["cat"])
    wait_idle(qtbot, controller)
    assert dict(table(dock))["feline"] == 3 and "cat" not in dict(table(dock))
    assert session.undo_stack.count() == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dock.delete_tags(["smile", "sky"])
    wait_idle(qtbot, controller)
    assert "smile" not in dict(table(dock)) and session.undo_stack.count() == 2
    assert controller.flush()
    assert (dataset / "a.txt").read_text() == "feline, long hair"
    assert (dataset / "c.txt").read_text() == "feline"
    session.undo_stack.undo()
    session.undo_stack.undo()
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert {n: (dataset / f"{n}.txt").read_text() for n in "abc"} == {n: CAPTIONS[n] for n in "abc"}


def _dialog(env, qtbot, operation="", **values) -> BatchDialog:
    session, window, _dock, controller, _ws, _dataset = env
    dialog = BatchDialog(session, controller, window.dock_widget("captions"), operation=operation)
    qtbot.addWidget(dialog)
    for key, value in values.items():
        dialog.set_value(key, value)
    dialog.update_preview()
    wait_idle(qtbot, controller)
    return dialog


def test_every_page_builds_its_operation(env, qtbot):
    dialog = _dialog(env, qtbot)
    seen = set()
    fill = {"add": {"add_tags": "x"}, "remove": {"remove_tags": "x"}, "rename": {"rename_from": "a", "rename_to": "b"},
            "replace": {"replace_find": "a"}, "front": {"front_tags": "x"}, "affix": {"affix_prefix": "p"}}
    for i, (op_id, _label) in enumerate(OPERATIONS):
        dialog.operation.setCurrentIndex(i)
        for key, value in fill.get(op_id, {}).items():
            dialog.set_value(key, value)
        seen.add(type(dialog.build_operation()).__name__)
    assert seen == {"AddTags", "RemoveTags", "RenameTag", "FindReplace", "RemoveDuplicates", "SortTags",
                    "MoveToFront", "PrefixSuffix"}
    dialog.operation.setCurrentIndex([o for o, _l in OPERATIONS].index("sort"))
    dialog.set_value("sort_by", "frequency")
    dialog.set_value("sort_keep", 1)
    assert dialog.build_operation() == SortTags("frequency", False, 1)
    dialog.operation.setCurrentIndex([o for o, _l in OPERATIONS].index("dedupe"))
    assert dialog.build_operation() == RemoveDuplicates(True, True)


def test_preview_counts_and_apply_is_one_undo_step(env, qtbot):
    session, _window, _dock, controller, _ws, dataset = env
    dialog = _dialog(env, qtbot, "add", add_tags="sks", add_where="front")
    assert dialog.scope() == "all"
    assert dialog.summary.text().startswith("4 of 4 caption(s) will change")
    assert dialog.table.rowCount() == 4 and dialog.apply_button.isEnabled()
    dialog.apply()
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert (dataset / "d.txt").read_text() == "sks"
    assert (dataset / "a.txt").read_text() == "sks, cat, long hair, smile"
    assert session.undo_stack.count() == 1
    session.undo_stack.undo()
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert (dataset / "a.txt").read_text() == CAPTIONS["a"]


def test_scopes_selection_and_filtered(env, qtbot):
    session, _window, _dock, controller, ws, _dataset = env
    session.set_selection([key_of(ws, "a"), key_of(ws, "b")])
    session.set_filtered_keys([key_of(ws, "c")])
    dialog = _dialog(env, qtbot, "remove", remove_tags="cat")
    assert dialog.scope() == "selection"
    assert dialog.summary.text().startswith("2 of 2")
    dialog.scopes["filtered"].setChecked(True)
    dialog.update_preview()
    wait_idle(qtbot, controller)
    assert dialog.summary.text().startswith("1 of 1")
    assert "(1)" in dialog.scopes["filtered"].text()


def test_bad_input_is_explained_and_blocks_apply(env, qtbot):
    dialog = _dialog(env, qtbot, "replace", replace_find="(", replace_mode="regex")
    assert "not valid" in dialog.summary.text()
    assert not dialog.apply_button.isEnabled()
    dialog.set_value("replace_mode", "plain")
    dialog.update_preview()
    wait_idle(qtbot, dialog.controller)
    assert dialog.summary.text().startswith("0 of 4")
    assert not dialog.apply_button.isEnabled()


def test_extension_rename_with_preview_and_undo(env, qtbot):
    session, window, _dock, controller, ws, dataset = env
    dialog = ExtensionDialog(session, controller, window)
    qtbot.addWidget(dialog)
    dialog.new_ext.setCurrentText(".caption")
    dialog.update_preview()
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.new_extension == ".caption", timeout=5000)
    assert "3 caption file(s) will be renamed" in dialog.summary.text()
    dialog.apply()
    wait_idle(qtbot, controller)
    assert (dataset / "a.caption").exists() and not (dataset / "a.txt").exists()
    assert ws.caption_extension == ".caption"
    assert session.settings.dataset.caption_extensions[0] == f".caption\t{ws.roots[0]}"
    assert ws.item(key_of(ws, "a")).caption.path.name == "a.caption"
    controller.edit([key_of(ws, "a")], AddTags(("after",), "end"))  # edits now go to the new files
    assert controller.flush()
    assert (dataset / "a.caption").read_text() == "cat, long hair, smile, after"
    session.undo_stack.undo()
    session.undo_stack.undo()
    wait_idle(qtbot, controller)
    assert controller.flush()
    assert (dataset / "a.txt").read_text() == CAPTIONS["a"] and not (dataset / "a.caption").exists()
    assert ws.caption_extension == ".txt"


def test_table_view_sorts_by_header(env):
    _session, _window, dock, _c, _ws, _dataset = env
    dock.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert dock.sort_combo.currentData() == "name"
    assert table(dock)[0][0] == "cat"
