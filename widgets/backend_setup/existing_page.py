"""The wizard's page for an sd-scripts installation the user already has (kohya_ss's, say)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets.backend_setup.parts import heading, label, set_role


class ExistingPage(QWidget):
    back_requested = Signal()
    check_requested = Signal(str, str)            # python, sd-scripts folder
    use_requested = Signal(object, bool)          # ExistingInstall, accept its commit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.found = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Use an existing sd-scripts installation"))
        layout.addWidget(label("For example kohya_ss's: its sd-scripts folder and the Python of its venv. "
                               "LoRA Studio uses it as it is and never changes it.", "muted", wrap=True))
        form = QFormLayout()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("…/kohya_ss/sd-scripts")
        self.python = QLineEdit()
        self.python.setPlaceholderText("…/kohya_ss/venv/bin/python")
        for edit, chooser in ((self.folder, self._browse_folder), (self.python, self._browse_python)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            browse = QPushButton("Browse…")
            browse.clicked.connect(chooser)
            row.addWidget(browse)
            form.addRow("sd-scripts folder:" if edit is self.folder else "Python:", row)
        layout.addLayout(form)
        self.result = label("", wrap=True, selectable=True)
        layout.addWidget(self.result)
        self.accept_commit = QCheckBox("Use it although its commit is not the pinned one")
        self.accept_commit.hide()
        layout.addWidget(self.accept_commit)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        back = QPushButton("Back")
        back.clicked.connect(self.back_requested.emit)
        self.check_button = QPushButton("Check")
        self.check_button.clicked.connect(lambda: self.check_requested.emit(self.python.text().strip(),
                                                                            self.folder.text().strip()))
        self.use_button = QPushButton("Use it")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(lambda: self.use_requested.emit(self.found, self.accept_commit.isChecked()))
        self.accept_commit.toggled.connect(lambda _on: self._update_use())
        for widget in (self.folder, self.python):
            widget.textChanged.connect(self._edited)
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.use_button)
        layout.addLayout(buttons)

    def _browse_folder(self) -> None:
        from services.backend.existing import suggest_python

        folder = QFileDialog.getExistingDirectory(self, "The sd-scripts folder", str(Path.home()))
        if folder:
            self.folder.setText(folder)
            if not self.python.text().strip():
                self.python.setText(suggest_python(folder))

    def _browse_python(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "That installation's Python", str(Path.home()))
        if path:
            self.python.setText(path)

    def _edited(self) -> None:
        self.found = None
        self.result.setText("")
        self.accept_commit.hide()
        self._update_use()

    def show_found(self, found) -> None:
        self.found = found
        lines = found.lines()
        if found.problem:
            lines.append(found.problem)
        self.result.setText("\n".join(lines))
        set_role(self.result, "error" if found.problem else ("ok" if found.is_pinned else "warning"))
        self.accept_commit.setVisible(found.usable and not found.is_pinned)
        self._update_use()

    def _update_use(self) -> None:
        found = self.found
        ok = found is not None and found.usable and (found.is_pinned or self.accept_commit.isChecked())
        self.use_button.setEnabled(ok)
