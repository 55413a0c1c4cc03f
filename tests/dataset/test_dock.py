"""The Dataset dock with a real Session: open, grid, filter, selection, live changes, conflicts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from services.dataset.workspace import Problem
from services.errors import ConflictError
from tests.dataset.files import write_jpeg, write_truncated_jpeg


@pytest.fixture
def session(qapp, lora_home):
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import Settings, SettingsStore

    dirs = app_dirs().ensure()
    s = Session(Settings(), SettingsStore(dirs.config), dirs)
    yield s
    s.deleteLater()


@pytest.fixture
def dock(qtbot, session):
    from widgets.dataset.dock import DatasetDock

    widget = DatasetDock(session)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "set"
    for i in range(8):
        write_jpeg(root / "10_ohwx cat" / f"cat{i}.jpg", (512, 512), seed=i)
        (root / "10_ohwx cat" / f"cat{i}.txt").write_text(f"cat, pose{i % 2}", encoding="utf-8")
    for i in range(3):
        write_jpeg(root / "plain" / f"dog{i}.jpg", (300, 200), seed=10 + i)
    write_truncated_jpeg(root / "plain" / "broken.jpg")
    return root


def open_folder(qtbot, session, folder):
    with qtbot.waitSignal(session.workspace_changed, timeout=20_000):
        session.open_folders([str(folder)])
    return session.workspace


def test_open_fills_grid_subsets_and_session(qtbot, dock, session, folder):
    ws = open_folder(qtbot, session, folder)
    assert len(ws) == 12 and ws.ready
    assert dock.model.rowCount() == 12
    assert session.filtered_keys == dock.model.keys()
    assert dock.subsets.topLevelItemCount() == 3  # two folders and the total
    assert "12 images" in dock.counts.text() and "images × repeats 84" in dock.counts.text()
    # the first screen gets thumbnails without anyone asking
    qtbot.waitUntil(lambda: dock.loader.has(dock.model.key_at(0)), timeout=20_000)
    # the truncated JPEG is flagged once its decode fails (if it is on screen) -- ask for it explicitly
    broken = next(k for k in list(ws.keys()) if k.endswith("broken.jpg"))
    dock.grid.scrollTo(dock.model.index_of(broken))
    qtbot.waitUntil(lambda: bool(ws.item(broken).problems & Problem.CORRUPT), timeout=20_000)


def test_filter_sort_and_selection(qtbot, dock, session, folder):
    ws = open_folder(qtbot, session, folder)
    with qtbot.waitSignal(session.filtered_keys_changed) as blocker:
        dock.filter_bar.set_text("tag:pose1")
    assert len(blocker.args[0]) == 4 and dock.model.rowCount() == 4
    dock.filter_bar.set_text("subset:plain width<400")
    assert dock.model.rowCount() == 4  # three dogs of 300 px and the broken one of 256 px
    dock.filter_bar.set_text("problem:no_caption")
    assert dock.model.rowCount() == 4
    dock.filter_bar.set_text("tag:(")  # does not parse: the view stays as it was, the bar says why
    assert dock.filter_bar.error and dock.model.rowCount() == 4
    dock.filter_bar.set_text("")
    assert dock.model.rowCount() == 12
    dock.filter_bar.sort.setCurrentIndex(dock.filter_bar.sort.findData("pixels"))
    assert ws.item(dock.model.key_at(0)).width * ws.item(dock.model.key_at(0)).height <= 300 * 200
    keys = dock.model.keys()[:3]
    with qtbot.waitSignal(session.selection_changed) as blocker:
        dock.grid.select_keys(keys)
    assert sorted(blocker.args[0]) == sorted(keys)
    with qtbot.waitSignal(session.current_image_changed) as blocker:
        dock.grid.setCurrentIndex(dock.model.index(5, 0))
    assert blocker.args[0] == dock.model.key_at(5)
    # other panels can ask for a selection; a filter hiding the keys is cleared first
    dock.filter_bar.set_text("tag:pose0")
    dog = next(k for k in list(ws.keys()) if k.endswith("dog1.jpg"))
    with qtbot.waitSignal(session.selection_changed, check_params_cb=lambda keys: keys == [dog]):
        session.select_keys_requested.emit([dog])
    assert dock.filter_bar.text() == ""
    session.filter_requested.emit("tag:cat")
    assert dock.model.rowCount() == 8


def test_caption_written_by_another_panel_repaints_its_row(qtbot, dock, session, folder):
    ws = open_folder(qtbot, session, folder)
    key = ws.keys()[0]
    ws.save_caption(key, "edited, elsewhere", fsync=False)
    with qtbot.waitSignal(dock.model.dataChanged):
        session.notify_captions_changed([key])
    assert dock.model.data(dock.model.index_of(key), dock.model.SnippetRole) == "edited, elsewhere"


def test_files_added_and_removed_on_disk_appear(qtbot, dock, session, folder):
    ws = open_folder(qtbot, session, folder)
    new = write_jpeg(folder / "plain" / "dog9.jpg", (300, 200), seed=99)
    with qtbot.waitSignal(session.items_added, timeout=10_000) as blocker:
        pass  # the folder watcher notices within its debounce
    assert blocker.args[0] == [str(new)]
    assert dock.model.row_of(str(new)) >= 0
    os.unlink(folder / "plain" / "dog0.jpg")
    with qtbot.waitSignal(session.items_removed, timeout=10_000):
        pass
    assert str(folder / "plain" / "dog0.jpg") not in ws
    (folder / "new_5").mkdir()
    write_jpeg(folder / "new_5" / "x.jpg", (512, 512))
    qtbot.waitUntil(lambda: str(folder / "new_5" / "x.jpg") in ws, timeout=10_000)


def test_caption_edited_in_place_is_picked_up_by_the_poll(qtbot, dock, session, folder):
    ws = open_folder(qtbot, session, folder)
    key = str(folder / "10_ohwx cat" / "cat0.jpg")
    with open(folder / "10_ohwx cat" / "cat0.txt", "r+", encoding="utf-8") as fh:  # in place: no rename
        fh.seek(0)
        fh.write("DOG!")
    with qtbot.waitSignal(session.captions_changed_on_disk, timeout=10_000) as blocker:
        dock.live.poll()
    assert blocker.args[0] == [key]
    assert ws.item(key).caption_text.startswith("DOG!")


def test_external_change_to_an_unsaved_caption_is_a_conflict(qtbot, dock, session, folder):
    ws = open_folder(qtbot, session, folder)
    key = str(folder / "10_ohwx cat" / "cat1.jpg")
    base = ws.item(key).caption
    session.set_caption_unsaved(key, True)
    (folder / "10_ohwx cat" / "cat1.txt").write_text("changed by another program", encoding="utf-8")
    errors = []
    session.error_reported.connect(errors.append)
    with qtbot.waitSignal(session.caption_conflict, timeout=10_000) as blocker:
        dock.live.poll()
    assert blocker.args[0] == key
    assert isinstance(errors[0], ConflictError)
    assert ws.item(key).caption is base  # not taken silently...
    with pytest.raises(ConflictError):  # ...and not overwritten silently either
        ws.save_caption(key, "my edit", base=base)
    assert (folder / "10_ohwx cat" / "cat1.txt").read_text(encoding="utf-8") == "changed by another program"


def test_dropping_folders_and_images_on_the_dock(qtbot, dock, session, folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "plain"))])
    drop = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(session.workspace_changed, timeout=20_000):
        dock.dropEvent(drop)
    assert len(session.workspace) == 4
    # an image dropped on an open workspace offers to add it to a folder (copy by default)
    outside = write_jpeg(Path(folder).parent / "elsewhere" / "extra.jpg", (512, 512))
    dock.open_files([str(outside)])
    from widgets.dataset.folder_tools_dialog import AddImagesDialog

    dialog = dock.findChild(AddImagesDialog)
    qtbot.waitUntil(lambda: dialog.runner.plan is not None, timeout=10_000)
    assert any(op.kind == "copy" for op in dialog.runner.plan.ops)
    with qtbot.waitSignal(dialog.applied, timeout=10_000):
        dialog.runner.apply()
    assert (folder / "plain" / "extra.jpg").exists() and outside.exists()
    dialog.done(0)


def test_opening_another_folder_while_scanning_replaces_the_scan(qtbot, dock, session, folder, tmp_path):
    other = tmp_path / "other"
    write_jpeg(other / "o.jpg")
    session.open_folders([str(folder)])
    with qtbot.waitSignal(session.workspace_changed, timeout=20_000,
                          check_params_cb=lambda ws: ws is not None and len(ws) == 1):
        session.open_folders([str(other)])
    assert [it.name for it in session.workspace] == ["o.jpg"]


def test_missing_folder_is_reported(qtbot, dock, session, tmp_path):
    with qtbot.waitSignal(session.error_reported, timeout=10_000) as blocker:
        session.open_folders([str(tmp_path / "gone")])
    assert "does not exist" in blocker.args[0].message


def test_thumbnail_size_slider_and_ctrl_wheel(qtbot, dock, session, folder):
    open_folder(qtbot, session, folder)
    before = dock.grid.box
    dock.slider.setValue(dock.slider.value() + 2)
    assert dock.grid.box == before + 32
    assert session.settings.appearance.thumbnail_size == before + 32
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    wheel = QWheelEvent(QPointF(10, 10), QPointF(10, 10), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    dock.grid.wheelEvent(wheel)
    assert dock.grid.box == before + 16 and dock.slider.value() * 16 == before + 16


def test_caption_extension_per_workspace(qtbot, dock, session, folder):
    ws = open_folder(qtbot, session, folder)
    key = str(folder / "plain" / "dog1.jpg")
    (folder / "plain" / "dog1.caption").write_text("from .caption", encoding="utf-8")
    assert ws.caption_extension == ".txt"
    with qtbot.waitSignal(session.workspace_changed, timeout=20_000):
        dock.set_caption_extension(".caption")
    assert session.workspace.caption_extension == ".caption"
    assert session.workspace.item(key).caption_text == "from .caption"
    assert session.settings.dataset.caption_extensions[0] == f".caption\t{folder}"


def test_visible_rows_match_what_is_on_screen(qtbot, dock, session, tmp_path):
    from PySide6.QtCore import QPoint

    for i in range(60):
        write_jpeg(tmp_path / "many" / f"m{i:02d}.jpg", (64, 64), seed=i)
    open_folder(qtbot, session, tmp_path / "many")
    grid = dock.grid
    bar = grid.verticalScrollBar()
    for value in (0, 1, 7, bar.maximum() // 3, bar.maximum() // 2 + 3, bar.maximum()):
        bar.setValue(value)
        seen = set()
        rect = grid.viewport().rect()
        for x in range(0, rect.width(), 6):
            for y in range(0, rect.height(), 6):
                index = grid.indexAt(QPoint(x, y))
                if index.isValid():
                    seen.add(index.row())
        first, last = grid.visible_rows()
        assert seen and first <= min(seen) and max(seen) <= last, (value, first, last, min(seen), max(seen))
        assert last - first + 1 <= len(seen) + 2 * grid.columns()  # never far more than the screen


def test_add_folder_makes_one_workspace_of_several(qtbot, dock, session, folder, tmp_path):
    open_folder(qtbot, session, folder / "plain")
    other = tmp_path / "more" / "3_extra"
    write_jpeg(other / "e.jpg", (512, 512))
    with qtbot.waitSignal(session.workspace_changed, timeout=20_000):
        session.open_folders([str(other)], add=True)
    ws = session.workspace
    assert [str(r) for r in ws.roots] == [str(folder / "plain"), str(other)]
    assert len(ws) == 5 and ws.subsets[str(other)].repeats == 3


def test_regularisation_flag_toggled_in_the_subset_panel(qtbot, dock, session, folder):
    from PySide6.QtCore import Qt as _Qt

    ws = open_folder(qtbot, session, folder)
    row = next(dock.subsets.topLevelItem(i) for i in range(dock.subsets.topLevelItemCount())
               if dock.subsets.topLevelItem(i).text(0) == "plain")
    with qtbot.waitSignal(session.subsets_changed):
        row.setCheckState(4, _Qt.CheckState.Checked)
    assert ws.subsets[str(folder / "plain")].is_reg
    assert str(folder / "plain") in session.settings.dataset.reg_folders
    assert ws.totals().reg_images == 4


def test_delete_sends_the_selection_to_the_trash_after_asking(qtbot, dock, session, folder, private_trash,
                                                              monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    ws = open_folder(qtbot, session, folder)
    key = str(folder / "10_ohwx cat" / "cat3.jpg")
    with qtbot.waitSignal(session.selection_changed):
        dock.grid.select_keys([key])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    dock.trash_selected()
    assert os.path.exists(key)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(session.items_removed, timeout=10_000) as blocker:
        dock.trash_selected()
    assert blocker.args[0] == [key] and key not in ws
    assert not os.path.exists(key) and not (folder / "10_ohwx cat" / "cat3.txt").exists()
    assert (private_trash / "files" / "cat3.jpg").exists() and (private_trash / "files" / "cat3.txt").exists()


def test_grid_shows_images_while_the_scan_still_reads(qtbot, dock, session, tmp_path):
    for i in range(150):
        write_jpeg(tmp_path / "big" / f"b{i:03d}.jpg", (32, 32), seed=i)
    rows_before_ready = []
    dock.model.rowsInserted.connect(lambda *_: rows_before_ready.append(
        (session.workspace is None, dock.model.rowCount())))
    with qtbot.waitSignal(session.workspace_changed, timeout=20_000):
        session.open_folders([str(tmp_path / "big")])
    early = [n for not_ready, n in rows_before_ready if not_ready]
    assert early and early[0] <= 64  # the first screenful came before the rest was read
    assert dock.model.rowCount() == 150 and len(set(dock.model.keys())) == 150
    assert session.current_key == dock.model.key_at(0)


def test_folder_tools_apply_and_undo_through_the_undo_stack(qtbot, dock, session, folder, private_trash):
    ws = open_folder(qtbot, session, folder)
    dock.folder_tools()
    tools = dock._tools_dialog
    tools.make_source.setText(str(folder / "plain"))
    tools.make_target.setText(str(folder))
    tools.make_name.setText("dogs")
    tools.make_repeats.setValue(4)
    runner = tools.current_runner()
    qtbot.waitUntil(lambda: runner.plan is not None and "4_dogs" in runner.plan.title, timeout=10_000)
    assert "copy plain/dog0.jpg → 4_dogs/dog0.jpg" in runner.preview.toPlainText()
    with qtbot.waitSignal(session.workspace_changed, timeout=20_000):  # applied, then the dataset is re-read
        tools.apply_button.click()
    assert (folder / "4_dogs" / "dog0.jpg").exists() and (folder / "plain" / "dog0.jpg").exists()
    assert session.undo_stack.count() == 1 and "4_dogs" in session.undo_stack.undoText()
    assert str(folder / "4_dogs") in session.workspace.subsets and ws is not session.workspace
    session.undo_stack.undo()
    assert not (folder / "4_dogs").exists()  # the copies went to the trash, the folder we made is gone
    assert (private_trash / "files" / "dog0.jpg").exists()
    tools.close()


def test_health_dialog_links_findings_to_images(qtbot, dock, session, folder):
    open_folder(qtbot, session, folder)
    dock.health_report()
    dialog = dock._health_dialog
    dialog.run()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=60_000)
    corrupt = next(dialog.findings.topLevelItem(i) for i in range(dialog.findings.topLevelItemCount())
                   if "corrupt" in dialog.findings.topLevelItem(i).text(0))
    with qtbot.waitSignal(session.selection_changed) as blocker:
        dialog._clicked(corrupt)
    assert [os.path.basename(k) for k in blocker.args[0]] == ["broken.jpg"]
    assert session.workspace.item(blocker.args[0][0]).problems & Problem.CORRUPT
    dialog.close()
