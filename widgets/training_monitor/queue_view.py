"""The queue: runs waiting their turn (frozen snapshots), the one running, and those done.

Waiting runs can be renamed (double-click the name), moved, removed, or replaced by a snapshot of
the current project; started ones stay as the record. The queue runs one after another; a failed
run does not stop it unless "Stop the queue when a run fails" is ticked.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.runs.qt.models import QueueModel


class QueueView(QWidget):
    run_requested = Signal(bool)          # True: run the queue, False: pause it
    move_requested = Signal(str, int)     # entry id, delta (-1 up, +1 down)
    remove_requested = Signal(str)
    replace_requested = Signal(str)       # edit: replace the snapshot with the current project
    rename_requested = Signal(str, str)
    clear_requested = Signal()
    stop_on_failure_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("run-queue")
        self.model = QueueModel(rename=lambda entry_id, name: self.rename_requested.emit(entry_id, name))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.run_button = QPushButton("Run queue")
        self.run_button.setCheckable(True)
        self.run_button.toggled.connect(self.run_requested)
        self.up_button = QPushButton("Up")
        self.up_button.clicked.connect(lambda: self._selected_then(lambda i: self.move_requested.emit(i, -1)))
        self.down_button = QPushButton("Down")
        self.down_button.clicked.connect(lambda: self._selected_then(lambda i: self.move_requested.emit(i, 1)))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: self._selected_then(self.remove_requested.emit))
        self.replace_button = QPushButton("Replace with current project")
        self.replace_button.setToolTip("Edit a waiting run: freeze the current project's settings into it")
        self.replace_button.clicked.connect(lambda: self._selected_then(self.replace_requested.emit))
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_requested)
        self.stop_on_failure = QCheckBox("Stop the queue when a run fails")
        self.stop_on_failure.toggled.connect(self.stop_on_failure_changed)
        for widget in (self.run_button, self.up_button, self.down_button, self.remove_button, self.replace_button,
                       self.clear_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.stop_on_failure)
        layout.addLayout(bar)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.empty = QLabel("The queue is empty. Train ▸ Add to queue freezes the current project into a run "
                            "that waits here; runs go one after another.")
        self.empty.setProperty("role", "muted")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    def selected_id(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return ""
        entry = self.model.entry(rows[0].row())
        return entry.id if entry is not None else ""

    def _selected_then(self, action) -> None:
        entry_id = self.selected_id()
        if entry_id:
            action(entry_id)

    def set_queue(self, entries, *, active: bool, stop_on_failure: bool) -> None:
        selected = self.selected_id()
        self.model.set_entries(entries)
        for row, entry in enumerate(entries):
            if entry.id == selected:
                self.table.selectRow(row)
        self.run_button.blockSignals(True)
        self.run_button.setChecked(active)
        self.run_button.setText("Pause queue" if active else "Run queue")
        self.run_button.blockSignals(False)
        self.stop_on_failure.blockSignals(True)
        self.stop_on_failure.setChecked(stop_on_failure)
        self.stop_on_failure.blockSignals(False)
        self.empty.setVisible(not entries)
        self.run_button.setEnabled(active or any(e.editable for e in entries))
        self._update_buttons()

    def _update_buttons(self, *_args) -> None:
        rows = self.table.selectionModel().selectedRows()
        entry = self.model.entry(rows[0].row()) if rows else None
        editable = entry is not None and entry.editable
        for button in (self.up_button, self.down_button, self.remove_button, self.replace_button):
            button.setEnabled(editable)
