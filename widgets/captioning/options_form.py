"""A form generated from option declarations (services.captioning.options): one editor per option.

The kind of an option decides its editor (spin box, check box, combo box, line or text edit), its
group a titled box, its help the tooltip, and ``enabled_when`` whether it is enabled while the
user edits the others. Nothing here knows a captioner's options by name.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from services.captioning.options import (
    BOOL,
    CHOICE,
    FLOAT,
    INT,
    REPLACEMENTS,
    TAG_LIST,
    TEXT,
    Option,
    coerce,
    format_replacements,
    groups,
)
from services.errors import UserInputError


def _decimals(option: Option) -> int:
    step = option.step or 0.01
    return max(option.decimals, len(f"{step:g}".partition(".")[2]))


class OptionsForm(QWidget):
    changed = Signal()

    def __init__(self, options: tuple[Option, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self._rows: dict[str, QFormLayout] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, members in groups(options):
            box = QGroupBox(title)
            box.setObjectName(f"options-group-{title.lower()}")
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for option in members:
                editor = self._editor(option)
                editor.setObjectName(f"option-{option.key}")
                editor.setToolTip(option.help)
                self.editors[option.key] = editor
                self._rows[option.key] = form
                if option.kind == BOOL:
                    form.addRow(editor)
                else:
                    label = QLabel(option.label)
                    label.setToolTip(option.help)
                    label.setBuddy(editor)
                    self.labels[option.key] = label
                    form.addRow(label, editor)
            layout.addWidget(box)
        self.set_values({})
        self._update_enabled()

    # --- editors -----------------------------------------------------------------------
    def _editor(self, option: Option) -> QWidget:
        kind = option.kind
        if kind == BOOL:
            editor = QCheckBox(option.label)
            editor.toggled.connect(self._on_change)
        elif kind == INT:
            editor = QSpinBox()
            editor.setRange(int(option.minimum), int(option.maximum))
            editor.setSingleStep(int(option.step or 1))
            if option.special_value_text:
                editor.setSpecialValueText(option.special_value_text)
            editor.valueChanged.connect(self._on_change)
        elif kind == FLOAT:
            editor = QDoubleSpinBox()
            editor.setDecimals(_decimals(option))
            editor.setRange(float(option.minimum), float(option.maximum))
            editor.setSingleStep(float(option.step or 0.01))
            editor.valueChanged.connect(self._on_change)
        elif kind == CHOICE:
            editor = QComboBox()
            for value, label in option.choices:
                editor.addItem(label, value)
            editor.currentIndexChanged.connect(self._on_change)
        elif kind == REPLACEMENTS:
            editor = QPlainTextEdit()
            editor.setPlaceholderText(option.placeholder or "old -> new, one per line")
            editor.setFixedHeight(editor.fontMetrics().lineSpacing() * 3 + 12)
            editor.textChanged.connect(self._on_change)
        else:  # TEXT, TAG_LIST
            editor = QLineEdit()
            editor.setPlaceholderText(option.placeholder)
            editor.setClearButtonEnabled(True)
            editor.textChanged.connect(self._on_change)
        return editor

    def _on_change(self, *_args) -> None:
        self._update_enabled()
        self.changed.emit()

    def _update_enabled(self) -> None:
        """Options that do not apply to the current choices (top-p with beam search) are hidden."""
        current = self.raw_values()
        for option in self.options:
            if option.enabled_when is not None:
                self._rows[option.key].setRowVisible(self.editors[option.key], option.is_enabled(current))

    def is_shown(self, key: str) -> bool:
        return not self.editors[key].isHidden()

    # --- values ------------------------------------------------------------------------
    def raw_values(self) -> dict[str, Any]:
        """What the editors hold, unchecked (text for lists and replacements)."""
        out: dict[str, Any] = {}
        for option in self.options:
            editor = self.editors[option.key]
            if option.kind == BOOL:
                out[option.key] = editor.isChecked()
            elif option.kind in (INT, FLOAT):
                out[option.key] = editor.value()
            elif option.kind == CHOICE:
                out[option.key] = editor.currentData()
            elif option.kind == REPLACEMENTS:
                out[option.key] = editor.toPlainText()
            else:
                out[option.key] = editor.text()
        return out

    def values(self) -> dict[str, Any]:
        """Every option's value, checked; UserInputError naming the first bad one."""
        return {option.key: coerce(option, value) for option, value in zip(self.options, self.raw_values().values())}

    def set_values(self, values: dict[str, Any]) -> list[str]:
        """Show ``values`` (defaults for the others). Returns the keys whose stored value was unusable."""
        rejected = []
        blockers = [editor.blockSignals(True) for editor in self.editors.values()]
        try:
            for option in self.options:
                try:
                    value = coerce(option, values.get(option.key, option.default))
                except UserInputError:
                    rejected.append(option.key)
                    value = coerce(option, option.default)
                self._show(option, value)
        finally:
            for editor, was in zip(self.editors.values(), blockers):
                editor.blockSignals(was)
        self._update_enabled()
        return rejected

    def _show(self, option: Option, value: Any) -> None:
        editor = self.editors[option.key]
        if option.kind == BOOL:
            editor.setChecked(bool(value))
        elif option.kind in (INT, FLOAT):
            editor.setValue(value)
        elif option.kind == CHOICE:
            editor.setCurrentIndex(max(0, editor.findData(value)))
        elif option.kind == REPLACEMENTS:
            editor.setPlainText(format_replacements(value))
        elif option.kind == TAG_LIST:
            editor.setText(", ".join(value))
        elif option.kind == TEXT:
            editor.setText(value)
