"""An honest empty state: what this panel is for, why it is empty, and what to do next."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    def __init__(self, title: str, body: str, parent: QWidget | None = None,
                 actions: list[tuple[str, object]] | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title_label = QLabel(title)
        self.title_label.setProperty("role", "empty-title")
        self.body_label = QLabel(body)
        self.body_label.setProperty("role", "empty-body")
        self.body_label.setWordWrap(True)
        for label in (self.title_label, self.body_label):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        self.buttons: list[QPushButton] = []
        for text, callback in actions or []:
            button = QPushButton(text)
            button.clicked.connect(callback)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
            self.buttons.append(button)
        layout.addStretch(2)

    def set_text(self, title: str, body: str) -> None:
        self.title_label.setText(title)
        self.body_label.setText(body)
