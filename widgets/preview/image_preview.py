"""The central image preview. Until an image is selected it explains how to get one."""

from __future__ import annotations

from PySide6.QtWidgets import QStackedLayout, QWidget

from widgets.empty_state import EmptyState


class ImagePreview(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._stack = QStackedLayout(self)
        self.empty = EmptyState(
            "No image selected",
            "Open a dataset folder (File > Open folder, or drop a folder on the window), "
            "or try the demo dataset from the Help menu.")
        self._stack.addWidget(self.empty)
