from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDockWidget

from app.actions import ACTIONS, MENUS
from app.docks import DOCKS

EXPECTED_DOCKS = {"dataset", "captions", "parameters", "autocaption", "training", "gpu", "alltags"}


def test_window_has_every_dock_and_menu(app_parts):
    window = app_parts.window
    assert set(window.docks) == EXPECTED_DOCKS
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == list(MENUS)
    for spec in ACTIONS:
        assert spec.id in window.actions_by_id, spec.id
    assert window.centralWidget() is not None


def test_menus_are_built_from_the_declaration(app_parts):
    window = app_parts.window
    file_texts = [a.text() for a in window.menus["File"].actions() if not a.isSeparator()]
    declared = [s.text for s in ACTIONS if s.menu == "File"]
    for text in declared:
        assert text in file_texts
    assert window.actions_by_id["file.quit"].shortcut().toString() != ""


def test_docks_can_be_closed_and_reopened_from_the_view_menu(app_parts, qtbot):
    window = app_parts.window
    window.show()
    qtbot.waitExposed(window)
    for spec in DOCKS:
        toggle = window.actions_by_id[f"view.dock.{spec.id}"]
        assert toggle in window.menus["View"].actions()
        dock = window.docks[spec.id]
        dock.close()
        assert not dock.isVisible()
        toggle.trigger()
        assert dock.isVisible()


def test_layout_is_restored_on_next_start_and_can_be_reset(qapp, lora_home, qtbot):
    from app.application import build

    parts = build(console_log=False, show_crash_dialog=False, open_initial=False, process_hooks=False)
    parts.window.show()
    qtbot.waitExposed(parts.window)
    parts.window.docks["gpu"].close()
    parts.window.docks["dataset"].setFloating(True)
    parts.window.close()
    parts.window.deleteLater()
    parts.session.deleteLater()
    qapp.processEvents()

    again = build(console_log=False, show_crash_dialog=False, open_initial=False, process_hooks=False)
    again.window.show()
    qtbot.waitExposed(again.window)
    assert not again.window.docks["gpu"].isVisible()
    assert again.window.docks["dataset"].isFloating()
    again.window.actions_by_id["view.reset_layout"].trigger()
    assert again.window.docks["gpu"].isVisible()
    assert not again.window.docks["dataset"].isFloating()
    again.window.close()
    again.window.deleteLater()
    again.session.deleteLater()
    qapp.processEvents()


def test_theme_menu_switches_at_once_and_persists(app_parts):
    window, themes, session = app_parts.window, app_parts.themes, app_parts.session
    for theme_id in ("light", "minimal", "cyberpunk", "dark"):
        window.actions_by_id[f"theme.{theme_id}"].trigger()
        assert themes.current.id == theme_id
        assert QApplication.instance().styleSheet() == themes.current.stylesheet
        assert QApplication.instance().palette().window().color().name() == themes.current.colors["window"]
        assert session.store.load().appearance.theme == theme_id


def test_follow_system_resolves_to_a_concrete_theme(app_parts):
    app_parts.window.actions_by_id["theme.system"].trigger()
    assert app_parts.themes.choice == "system"
    assert app_parts.themes.current.id in ("dark", "light")


def test_dropping_a_folder_anywhere_opens_it(app_parts, tmp_path, qtbot):
    window, session = app_parts.window, app_parts.session
    folder = tmp_path / "5_cat"
    folder.mkdir()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(session.folders_open_requested) as blocker:
        window.dropEvent(drop)
    assert blocker.args == [[str(folder)]]
    assert session.settings.workspace.recent_folders[0] == str(folder)


def test_undo_redo_actions_follow_the_application_stack(app_parts):
    from PySide6.QtGui import QUndoCommand

    stack = app_parts.session.undo_stack
    undo, redo = app_parts.window.actions_by_id["edit.undo"], app_parts.window.actions_by_id["edit.redo"]
    assert not undo.isEnabled()
    values = []

    class Append(QUndoCommand):
        def redo(self):
            values.append(1)

        def undo(self):
            values.pop()

    stack.push(Append("append"))
    assert values == [1] and undo.isEnabled()
    undo.trigger()
    assert values == [] and redo.isEnabled()
    redo.trigger()
    assert values == [1]


def test_every_dock_shows_an_honest_state_not_fake_data(app_parts):
    for dock in app_parts.window.findChildren(QDockWidget):
        assert dock.widget() is not None
        assert dock.windowTitle()


def test_help_demo_creates_and_opens_the_demo(app_parts, qtbot, lora_home):
    session = app_parts.session
    with qtbot.waitSignal(session.folders_open_requested) as blocker:
        app_parts.window.actions_by_id["help.demo"].trigger()
    root = Path(blocker.args[0][0])
    assert root.is_dir() and root.is_relative_to(lora_home)
    assert len(list(root.rglob("*.txt"))) >= 10


@pytest.mark.parametrize("handler", ["window.no_such_method", "bogus.x"])
def test_a_broken_handler_declaration_is_an_error_not_a_crash(app_parts, handler):
    with pytest.raises((AttributeError, ValueError)):
        app_parts.window.run_handler(handler)
