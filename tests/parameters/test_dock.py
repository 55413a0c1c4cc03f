"""The Parameters dock in the real window: lazy build, model picker, profiles with a diff, search,
problems that select their row, keyboard editing, and per-type editors."""

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from services.training.families import Family
from services.training.profiles import ProfileKind
from services.training.qt.parameter_model import VALUE, Role
from tests.parameters.conftest import choose_model, validated
from widgets.parameters.dock import ParametersDock
from widgets.parameters.editors import NOT_SET_TEXT, PathEditor, parse_text
from widgets.parameters.profile_diff_dialog import ProfileDiffDialog


@pytest.fixture
def dock(app_parts, qtbot):
    window = app_parts.window
    window.show()
    qtbot.waitExposed(window)
    dock_widget = window.docks["parameters"]
    dock_widget.show()
    dock_widget.raise_()
    dock = window.dock_widget("parameters")
    qtbot.waitUntil(lambda: dock.controller is not None, timeout=10000)
    return dock


def proxy_index(dock, key, column=0):
    return dock.proxy.mapFromSource(dock.model.index_of(key, column))


def test_construction_is_cheap_and_the_registry_loads_when_shown(app_parts):
    dock = ParametersDock(app_parts.session)
    assert dock.controller is None  # nothing loaded until the dock is first shown
    dock.deleteLater()


def test_dropping_a_model_on_the_picker_detects_it(dock, qtbot, models):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(models["sdxl"]))])
    drop = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(dock.controller.detection_ready, timeout=10000):
        dock.picker.dropEvent(drop)
    qtbot.waitUntil(lambda: dock.controller.family is Family.SDXL)
    assert "SDXL" in dock.picker.detected.text()
    assert dock.training_profile.isEnabled()


def test_problems_list_and_clicking_selects_the_row(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    dock.controller.set_value("learning_rate", -1.0)
    validated(qtbot, dock.controller)
    items = [dock.problems.item(i) for i in range(dock.problems.count())]
    target = next(i for i in items if i.data(Qt.ItemDataRole.UserRole) == "learning_rate")
    assert dock.controller.registry.get("learning_rate").display_label in target.text()
    dock.search.setText("network")  # the row is filtered out: selecting it must bring it back
    dock.problems.itemClicked.emit(target)
    assert dock.tree.currentIndex().data(Role.KEY) == "learning_rate"
    assert dock.search.text() == ""
    assert "error" in dock.problems_title.text()


def test_step_arithmetic_is_visible(dock, qtbot, models, dataset):
    from services.training.project import Subset

    choose_model(qtbot, dock.controller, models["sd1"])
    dock.controller.project.add_subset(Subset(str(dataset), num_repeats=10))
    dock.controller.set_value("max_train_epochs", 1)
    validated(qtbot, dock.controller)
    assert "60" in dock.steps.text()


def test_delete_key_resets_the_current_value(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    dock.controller.set_value("network_dim", 64)
    dock.tree.setCurrentIndex(proxy_index(dock, "network_dim"))
    dock.tree.setFocus()
    qtbot.keyClick(dock.tree, Qt.Key.Key_Delete)
    assert "network_dim" not in dock.controller.project.user_values


def test_keyboard_editing_without_the_mouse(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    dock.tree.setFocus()
    dock.tree.setCurrentIndex(proxy_index(dock, "network_dim", VALUE))
    qtbot.keyClick(dock.tree, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QSpinBox)
    editor.selectAll()
    qtbot.keyClicks(editor, "48")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # Qt commits through a queued call
    qtbot.waitUntil(lambda: dock.controller.value("network_dim") == 48, timeout=3000)


def test_ctrl_f_focuses_search_and_filters(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    dock.tree.setFocus()
    qtbot.keyClick(dock.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is dock.search
    qtbot.keyClicks(dock.search, "optimizer")
    assert dock.proxy.rowCount() >= 1


def test_choosing_a_profile_shows_the_diff_then_applies_in_one_step(dock, qtbot, models, app_parts):
    choose_model(qtbot, dock.controller, models["sd1"])
    profile = dock.controller.library.save_user(ProfileKind.TRAINING, "Quick test", {"learning_rate": 7e-5},
                                                families=[Family.SD1])
    dock._fill_profiles()
    at = dock.training_profile.findData(profile.id)
    assert at > 0
    seen = {}

    def accept_dialog():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ProfileDiffDialog):
            seen["rows"] = dialog.table.rowCount()
            seen["first"] = dialog.table.item(0, 0).text()
            dialog.accept()
        else:
            QTimer.singleShot(20, accept_dialog)

    QTimer.singleShot(20, accept_dialog)
    count = app_parts.session.undo_stack.count()
    dock.training_profile.setCurrentIndex(at)
    dock.training_profile.activated.emit(at)
    assert seen["rows"] >= 1
    assert dock.controller.project.training_profile == profile.id
    assert dock.controller.value("learning_rate") == 7e-5
    assert app_parts.session.undo_stack.count() == count + 1


def test_cancelled_profile_dialog_changes_nothing(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    profile = dock.controller.library.save_user(ProfileKind.TRAINING, "Other", {"learning_rate": 9e-5},
                                                families=[Family.SD1])
    dock._fill_profiles()
    at = dock.training_profile.findData(profile.id)

    def reject_dialog():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ProfileDiffDialog):
            dialog.reject()
        else:
            QTimer.singleShot(20, reject_dialog)

    QTimer.singleShot(20, reject_dialog)
    dock.training_profile.setCurrentIndex(at)
    dock.training_profile.activated.emit(at)
    assert dock.controller.project.training_profile is None
    assert dock.training_profile.currentData() is None


def test_editor_types(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    expect = {"network_dim": QSpinBox, "learning_rate": QLineEdit, "lr_scheduler": QComboBox,
              "output_dir": PathEditor, "network_args_extra": QLineEdit, "seed": QLineEdit}
    for key, kind in expect.items():
        index = proxy_index(dock, key, VALUE)
        assert index.isValid(), key
        editor = dock.delegate.createEditor(dock.tree.viewport(), None, index)
        assert isinstance(editor, kind), (key, type(editor))
        dock.delegate.setEditorData(editor, index)
        editor.deleteLater()
    float_keys = [p.key for p in dock.controller.registry.parameters()
                  if p.type.value == "float" and not p.scientific and p.applies(dock.controller.selection())]
    index = proxy_index(dock, float_keys[0], VALUE)
    assert isinstance(dock.delegate.createEditor(dock.tree.viewport(), None, index), QDoubleSpinBox)


def test_spin_box_keeps_not_set_values(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    assert dock.controller.value("max_train_steps") is None
    index = proxy_index(dock, "max_train_steps", VALUE)
    editor = dock.delegate.createEditor(dock.tree.viewport(), None, index)
    dock.delegate.setEditorData(editor, index)
    assert editor.text() == NOT_SET_TEXT
    dock.delegate.setModelData(editor, dock.proxy, index)
    assert "max_train_steps" not in dock.controller.project.user_values


def test_rejected_text_is_not_committed(dock, qtbot, models):
    choose_model(qtbot, dock.controller, models["sd1"])
    index = proxy_index(dock, "learning_rate", VALUE)
    editor = dock.delegate.createEditor(dock.tree.viewport(), None, index)
    editor.setValidator(None)
    editor.setText("fast")
    with qtbot.waitSignal(dock.delegate.rejected):
        dock.delegate.setModelData(editor, dock.proxy, index)
    assert "learning_rate" not in dock.controller.project.user_values


def test_parse_text_per_type(controller):
    reg = controller.registry
    assert parse_text(reg.get("learning_rate"), "1e-4") == 1e-4
    assert parse_text(reg.get("resolution"), "832,1216") == [832, 1216]
    assert parse_text(reg.get("resolution"), "1024") == 1024
    assert parse_text(reg.get("network_args_extra"), 'a=1 "b=two words"') == ["a=1", "b=two words"]
    assert parse_text(reg.get("seed"), "4000000000") == 4_000_000_000
    assert parse_text(reg.get("learning_rate"), "") is None
    with pytest.raises(ValueError):
        parse_text(reg.get("network_dim"), "-5")


def test_suggested_memory_profile_is_marked_in_the_combo(dock, qtbot, models, app_parts):
    app_parts.session.set_stated_vram_gb(8)
    qtbot.waitUntil(lambda: dock.controller.vram_gb == 8, timeout=15000)
    choose_model(qtbot, dock.controller, models["sdxl"])
    labels = [dock.memory_profile.itemText(i) for i in range(dock.memory_profile.count())]
    assert any("suggested for 8 GB" in label for label in labels)
    assert dock.memory_profile.currentData() == dock.controller.project.memory_profile is not None
