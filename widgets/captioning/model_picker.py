"""Choosing a captioner's model: one of its Hub models, any repository id, or a local folder.

Under the choice, a line says where the model is and whether it is ready, will be downloaded on
first use, or is missing files (from services.captioning.models.check: a few file checks).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from services.captioning.families import Family
from services.captioning.models import check, required_names


def breakable_path(text) -> str:
    """A path a word-wrapping label may break after any separator (zero-width spaces)."""
    return str(text).replace("/", "/\u200b").replace("\\", "\\\u200b")


class ModelPicker(QWidget):
    changed = Signal()
    folder_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.family: Family | None = None
        self.models_dir = Path()
        self.combo = QComboBox()
        self.combo.setObjectName("caption-model")
        self.combo.setEditable(True)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(16)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setToolTip("A model of the list, a Hugging Face repository id (owner/name), or a local folder.")
        self.combo.currentTextChanged.connect(self._on_text)
        self.browse = QPushButton("Folder…")
        self.browse.setObjectName("caption-model-folder")
        self.browse.setToolTip("Use a model folder on this computer")
        self.browse.clicked.connect(self.choose_folder)
        self.status = QLabel()
        self.status.setObjectName("caption-model-status")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.browse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)

    def set_family(self, family: Family, models_dir: Path, current: str, recent_folders: list[str]) -> None:
        self.family, self.models_dir = family, models_dir
        self.combo.blockSignals(True)
        self.combo.clear()
        for model in family.models:
            self.combo.addItem(f"{model.label} — {model.id}", model.id)
            if model.note:
                self.combo.setItemData(self.combo.count() - 1, model.note, Qt.ItemDataRole.ToolTipRole)
        for folder in recent_folders:
            self._add_folder(folder)
        self.combo.blockSignals(False)
        self.set_model(current or family.default_model)

    def _add_folder(self, folder: str) -> int:
        """A local folder, shown by its name (the full path is in the tooltip and the status line)."""
        self.combo.addItem(f"Folder: {Path(folder).name or folder}", folder)
        index = self.combo.count() - 1
        self.combo.setItemData(index, folder, Qt.ItemDataRole.ToolTipRole)
        return index

    def set_model(self, model: str) -> None:
        index = self.combo.findData(model)
        if index < 0 and model:
            index = self._add_folder(model) if Path(model).is_absolute() else -1
            if index < 0:
                self.combo.addItem(model, model)
                index = self.combo.count() - 1
        self.combo.setCurrentIndex(max(0, index))
        self.combo.lineEdit().setCursorPosition(0)  # show the name's start, not its end
        self._on_text(self.combo.currentText())

    def model(self) -> str:
        """The chosen model as the job needs it: a repository id or a folder path."""
        text = self.combo.currentText().strip()
        index = self.combo.currentIndex()
        if index >= 0 and text == self.combo.itemText(index):
            return str(self.combo.itemData(index))
        return text

    def choose_folder(self) -> None:
        start = self.model() if Path(self.model()).is_dir() else str(self.models_dir)
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder", start)
        if folder:
            self.set_model(folder)
            self.folder_chosen.emit(folder)

    def _on_text(self, _text: str) -> None:
        self.refresh_status()
        self.changed.emit()

    def refresh_status(self) -> None:
        if self.family is None:
            return
        model = self.model()
        if not model:
            self.status.setText("Choose a model.")
            self.status.setProperty("role", "warning")
        else:
            status = check(self.family, model, self.models_dir)
            text = status.describe()
            if status.location.is_local and not status.ready:
                text += f". A {self.family.title} folder holds {', '.join(required_names(self.family))}."
            self.status.setText(breakable_path(text))
            self.status.setProperty("role", "muted" if status.ready or status.will_download else "warning")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
