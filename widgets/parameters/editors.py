"""In-place editors for the parameter tree, one per parameter type.

Numbers get spin boxes with the declared range (learning rates a text field that accepts and shows
scientific notation), choices a combo box, paths a field with a browse button that also accepts a
dropped file, lists and key=value arguments a field split like a command line. Text is converted
to the declared type with the registry's own converter; a value that does not convert is not
committed and the reason is shown.
"""

from __future__ import annotations

import shlex
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QDoubleValidator, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QStyledItemDelegate,
    QToolButton,
    QToolTip,
    QWidget,
)

from services.training.qt.parameter_model import Role, format_value
from services.training.registry import LIST_TYPES, Parameter, ParamType
from services.training.value_types import ConversionError, from_text, range_problem, type_problem

INT32_MAX = 2**31 - 1
NOT_SET_TEXT = "(not set)"


class PathEditor(QWidget):
    """A path field with a browse button; drop a file or folder on it to fill it."""

    editing_done = Signal()

    def __init__(self, param: Parameter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.setAcceptDrops(True)
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText("type, browse or drop a path")
        self.button = QToolButton(self)
        self.button.setText("…")
        self.button.setToolTip("Browse")
        self.button.clicked.connect(self.browse)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.button)
        self.setFocusProxy(self.line)
        # Enter in the field commits, as in any other editor of the tree.
        self.line.returnPressed.connect(self.editing_done)

    def text(self) -> str:
        return self.line.text()

    def setText(self, text: str) -> None:
        self.line.setText(text)

    def browse(self) -> None:
        start = self.line.text()
        if self.param.type is ParamType.DIR:
            path = QFileDialog.getExistingDirectory(self, self.param.display_label, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, self.param.display_label, start,
                                                  self.param.file_filter or "All files (*)")
        if path:
            self.line.setText(path)
            self.editing_done.emit()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and event.mimeData().urls()[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.line.setText(event.mimeData().urls()[0].toLocalFile())
        event.acceptProposedAction()
        self.editing_done.emit()


def text_for_editing(param: Parameter, value: Any) -> str:
    if value is None:
        return ""
    if param.type is ParamType.RESOLUTION and isinstance(value, list):
        return ",".join(str(v) for v in value)
    if param.type in LIST_TYPES or param.type is ParamType.FLOAT_PAIR:
        if param.type in (ParamType.FLOAT_LIST, ParamType.FLOAT_PAIR):
            return ", ".join(str(v) for v in value)
        return " ".join(shlex.quote(str(v)) for v in value)
    return format_value(param, value)


def parse_text(param: Parameter, text: str) -> Any:
    """Text from an editor to a typed value; raises ConversionError with a readable reason."""
    text = text.strip()
    if text == "":
        return None
    if param.type is ParamType.RESOLUTION:
        parts = [p for p in text.replace("×", ",").replace("x", ",").split(",") if p.strip()]
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            raise ConversionError(f"{text!r} is not a size: write 1024 or 832,1216") from None
        value: Any = numbers[0] if len(numbers) == 1 else numbers
    elif param.type in (ParamType.FLOAT_LIST, ParamType.FLOAT_PAIR):
        try:
            value = [float(p) for p in text.replace(";", ",").split(",") if p.strip()]
        except ValueError:
            raise ConversionError(f"{text!r} is not a list of numbers separated by commas") from None
    elif param.type in LIST_TYPES:
        try:
            value = shlex.split(text)
        except ValueError as exc:
            raise ConversionError(f"unbalanced quotes in {text!r}") from exc
    else:
        value = from_text(param, text)
    problem = type_problem(param, value) or range_problem(param, value)
    if problem:
        raise ConversionError(problem)
    return value


class ParameterDelegate(QStyledItemDelegate):
    """Creates the editor that fits each parameter's type."""

    rejected = Signal(str, str)  # key, reason: an edit that could not be used

    def createEditor(self, parent: QWidget, option, index: QModelIndex) -> QWidget | None:
        param: Parameter | None = index.data(Role.PARAMETER)
        if param is None:
            return None
        t = param.type
        if t is ParamType.INT and (param.maximum is None or param.maximum <= INT32_MAX):
            editor = QSpinBox(parent)
            low = int(param.minimum) if param.minimum is not None else -INT32_MAX + 1
            # One below the range stands for "not set" (shown as such), so None survives an edit.
            editor.setRange(low - 1, int(param.maximum) if param.maximum is not None else INT32_MAX)
            editor.setSpecialValueText(NOT_SET_TEXT)
            editor.setAccelerated(True)
            return editor
        if t is ParamType.FLOAT and not param.scientific:
            editor = QDoubleSpinBox(parent)
            editor.setDecimals(6)
            editor.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
            low = param.minimum if param.minimum is not None else -1e12
            editor.setRange(low - 1, param.maximum if param.maximum is not None else 1e12)
            editor.setSpecialValueText(NOT_SET_TEXT)
            return editor
        if t is ParamType.CHOICE:
            editor = QComboBox(parent)
            editor.setEditable(param.open_choices)
            editor.addItem("(not set)", None)
            family, mode = _selection_of(index)
            for choice in param.choices_for(family, mode):
                editor.addItem(str(choice), choice)
            return editor
        if t in (ParamType.FILE, ParamType.DIR, ParamType.PATH):
            editor = PathEditor(param, parent)
            editor.editing_done.connect(lambda e=editor: self._commit(e))
            return editor
        editor = QLineEdit(parent)
        if t is ParamType.FLOAT:
            validator = QDoubleValidator(editor)
            validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
            editor.setValidator(validator)
            editor.setPlaceholderText("e.g. 1e-4")
        elif t is ParamType.INT:
            editor.setValidator(QRegularExpressionValidator(r"\d{0,20}", editor))
        elif t in LIST_TYPES:
            hint = "name=value name=value" if t is ParamType.KV_LIST else "items separated by spaces"
            editor.setPlaceholderText(hint)
        return editor

    def _commit(self, editor: QWidget) -> None:
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.SubmitModelCache)

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        param: Parameter = index.data(Role.PARAMETER)
        value = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(editor, QSpinBox):
            editor.setValue(int(value) if value is not None else editor.minimum())
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(float(value) if value is not None else editor.minimum())
        elif isinstance(editor, QComboBox):
            at = editor.findData(value)
            if at < 0 and value is not None and editor.isEditable():
                editor.setEditText(str(value))
            else:
                editor.setCurrentIndex(max(at, 0))
        elif isinstance(editor, (QLineEdit, PathEditor)):
            editor.setText(text_for_editing(param, value))

    def setModelData(self, editor: QWidget, model, index: QModelIndex) -> None:
        param: Parameter = index.data(Role.PARAMETER)
        try:
            if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                value: Any = None if editor.value() == editor.minimum() else editor.value()
            elif isinstance(editor, QComboBox):
                value = editor.currentData()
                if editor.isEditable() and editor.currentText() != editor.itemText(editor.currentIndex()):
                    value = parse_text(param, editor.currentText())
            else:
                value = parse_text(param, editor.text())
        except ConversionError as exc:
            self.rejected.emit(param.key, str(exc))
            QToolTip.showText(editor.mapToGlobal(editor.rect().bottomLeft()), f"Not changed: {exc}", editor)
            return
        if value != index.data(Qt.ItemDataRole.EditRole):
            model.setData(index, value, Qt.ItemDataRole.EditRole)


def _selection_of(index: QModelIndex):
    model = index.model()
    while hasattr(model, "sourceModel"):
        model = model.sourceModel()
    controller = getattr(model, "controller", None)
    if controller is None:
        return None, None
    return controller.family, controller.mode
