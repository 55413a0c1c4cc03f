"""Renaming the extension of every caption file of the workspace, with a preview.

The preview (planned in a worker: it checks each target name on disk) lists the renames and what
blocks some of them (a file with the new name already there is never replaced). Unsaved edits are
saved first. Apply is one undoable command: undo renames the files back.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QVBoxLayout,
)

from services.captions.extension import plan_extension_rename
from services.errors import LoraStudioError

COMMON = (".txt", ".caption", ".cap")
PREVIEW_ITEMS = 200


class ExtensionDialog(QDialog):
    def __init__(self, session, controller, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-extension-dialog")
        self.setWindowTitle("Rename caption files")
        self.session = session
        self.controller = controller
        self.plan = None
        self._sequence = 0
        self.resize(620, 440)
        ws = session.workspace
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.current = QLabel(ws.caption_extension if ws is not None else "")
        form.addRow("Caption files now end in", self.current)
        self.new_ext = QComboBox()
        self.new_ext.setObjectName("extension-new")
        self.new_ext.setEditable(True)
        for ext in COMMON:
            if ws is None or ext != ws.caption_extension:
                self.new_ext.addItem(ext)
        self.new_ext.setToolTip("Choose .txt, .caption or .cap, or type another extension")
        form.addRow("Rename them to end in", self.new_ext)
        layout.addLayout(form)
        self.summary = QLabel()
        self.summary.setObjectName("extension-summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.list = QListWidget()
        self.list.setObjectName("extension-preview")
        layout.addWidget(self.list, 1)
        note = QLabel("sd-scripts reads the caption extension from the dataset configuration "
                      "(caption_extension); the training settings use the workspace's extension.")
        note.setWordWrap(True)
        note.setProperty("role", "muted")
        layout.addWidget(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.apply_button = self.buttons.addButton("Rename", QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.setObjectName("extension-apply")
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.update_preview)
        self.new_ext.currentTextChanged.connect(self._changed)
        self._changed()

    def _changed(self, *_args) -> None:
        self._sequence += 1
        self.plan = None
        self.apply_button.setEnabled(False)
        self._timer.start()

    def update_preview(self) -> None:
        ws = self.session.workspace
        if ws is None:
            return
        sequence = self._sequence
        captions = [(item.key, item.caption.path, item.caption.exists) for item in ws]
        old, new = ws.caption_extension, self.new_ext.currentText()
        self.summary.setText("Checking…")

        def work(_progress, _cancelled):
            return plan_extension_rename(captions, old, new)

        self.controller.start_task(work, "caption-extension-plan", "",
                                      lambda plan: self._planned(sequence, plan),
                                      lambda exc: self._failed(sequence, exc))

    def _planned(self, sequence: int, plan) -> None:
        if sequence != self._sequence:
            return
        self.plan = plan
        self.list.clear()
        for rename in plan.renames[:PREVIEW_ITEMS]:
            self.list.addItem(f"{rename.source.name}  →  {rename.target.name}")
        for key, reason in list(plan.blocked.items())[:PREVIEW_ITEMS]:
            self.list.addItem(f"not renamed: {key} ({reason})")
        text = f"{len(plan.renames)} caption file(s) will be renamed."
        if plan.blocked:
            text += f" {len(plan.blocked)} cannot be: a file with the new name exists (it is never replaced)."
        if plan.without_caption:
            text += f" {plan.without_caption} image(s) have no caption file."
        if plan.old_extension == plan.new_extension:
            text = "That is the extension the captions already have."
        self.summary.setText(text)
        self.apply_button.setEnabled(bool(plan.renames))

    def _failed(self, sequence: int, exc: BaseException) -> None:
        if sequence != self._sequence:
            return
        if isinstance(exc, LoraStudioError):
            self.summary.setText(f"{exc.message} {exc.hint}")
            self.list.clear()
        else:
            self.session.report_error(exc)

    def apply(self) -> None:
        if self.plan is None or not self.plan.renames:
            return
        if not self.controller.flush():
            self.summary.setText("Some captions could not be saved (see the conflicts in the editor); "
                                 "resolve them before renaming.")
            return
        plan = self.plan
        self.controller.rename_extension(plan, on_done=lambda report: self.session.show_status(
            f"Renamed {len(report.done)} caption file(s) to {plan.new_extension}", 5000))
        self.accept()
