"""The model picker at the top of the Parameters dock: choose or drop a checkpoint, see at once what
it is (family, variant, precision, size), and choose the training mode."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QGridLayout, QLabel, QLineEdit, QToolButton, QWidget

from services.training.families import Mode

MODEL_FILTER = "Models (*.safetensors);;All files (*)"


def _size(num: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num < 1024 or unit == "TB":
            return f"{num:.1f} {unit}" if unit != "B" else f"{num} B"
        num /= 1024
    return f"{num} B"


class ModelPicker(QWidget):
    model_chosen = Signal(str)
    mode_chosen = Signal(object)  # Mode

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.path = QLineEdit(self)
        self.path.setPlaceholderText("Base model: a .safetensors checkpoint or a diffusers folder (drop it here)")
        self.path.setToolTip("The model you train on. Its family (SD1, SDXL, Flux…) is read from the file header.")
        self.path.editingFinished.connect(self._typed)
        self.browse = QToolButton(self)
        self.browse.setText("Browse…")
        self.browse.clicked.connect(self._browse)
        self.mode = QComboBox(self)
        for mode in Mode:
            self.mode.addItem(mode.label, mode)
        self.mode.setToolTip("What to train: a LoRA/LyCORIS network, DreamBooth, or a full finetune.")
        self.mode.activated.connect(lambda i: self.mode_chosen.emit(self.mode.itemData(i)))
        self.detected = QLabel("No model chosen", self)
        self.detected.setProperty("role", "muted")
        self.detected.setWordWrap(True)
        self.detected.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(QLabel("Model", self), 0, 0)
        grid.addWidget(self.path, 0, 1)
        grid.addWidget(self.browse, 0, 2)
        grid.addWidget(self.detected, 1, 1, 1, 2)
        grid.addWidget(QLabel("Mode", self), 2, 0)
        grid.addWidget(self.mode, 2, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        self._last = ""

    def set_model(self, path: str | None) -> None:
        self._last = path or ""
        self.path.setText(self._last)

    def set_mode(self, mode: Mode) -> None:
        self.mode.setCurrentIndex(max(0, self.mode.findData(mode)))

    def show_detection(self, result, error) -> None:
        if error is not None:
            self.detected.setProperty("role", "error")
            message = getattr(error, "message", str(error))
            hint = getattr(error, "hint", "")
            self.detected.setText(f"{message} {hint}".strip())
        elif result is None:
            self.detected.setProperty("role", "muted")
            self.detected.setText("No model chosen")
        else:
            facts = [result.summary]
            if result.precision:
                facts.append(result.precision)
            if result.size_bytes:
                facts.append(_size(result.size_bytes))
            text = " · ".join(facts)
            if not result.usable_as_base:
                text += " — not a base model: choose the checkpoint you want to train on"
            notes = [*result.notes, *(q.text for q in result.questions)]
            if notes:
                text += "\n" + "\n".join(notes)
            self.detected.setProperty("role", "ok" if result.usable_as_base else "warning")
            self.detected.setText(text)
        self.detected.style().unpolish(self.detected)
        self.detected.style().polish(self.detected)

    def show_dropped(self, labels: list[str]) -> None:
        self.detected.setText(self.detected.text() + "\nDropped, as they do not apply to this family: "
                              + ", ".join(labels))

    def _typed(self) -> None:
        text = self.path.text().strip()
        if text and text != self._last:
            self._last = text
            self.model_chosen.emit(text)

    def _browse(self) -> None:
        start = str(Path(self._last).parent) if self._last else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose the base model", start, MODEL_FILTER)
        if path:
            self.set_model(path)
            self.model_chosen.emit(path)

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = event.mimeData().urls()[0].toLocalFile()
        self.set_model(path)
        self.model_chosen.emit(path)
        event.acceptProposedAction()
