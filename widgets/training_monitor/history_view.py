"""Run history: every run folder, newest first, listed off the GUI thread; any run can be shown in
the monitor again, its folder opened, resumed from its last state, or run again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.runs.history import list_runs
from services.runs.qt.models import HistoryModel


class _ListSignals(QObject):
    listed = Signal(int, list)


class _ListRuns(QRunnable):
    def __init__(self, folder: Path, token: int, signals: _ListSignals) -> None:
        super().__init__()
        self.folder, self.token, self.signals = folder, token, signals

    def run(self) -> None:
        runs = list_runs(self.folder)
        try:
            self.signals.listed.emit(self.token, runs)
        except RuntimeError:  # the view was closed meanwhile
            pass


class HistoryView(QWidget):
    reopen_requested = Signal(object)    # RunFolder
    resume_requested = Signal(object)
    rerun_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("run-history")
        self.folder: Path | None = None
        self._token = 0
        self._signals = _ListSignals(self)
        self._signals.listed.connect(self._listed)
        self.model = HistoryModel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.show_button = QPushButton("Show in monitor")
        self.show_button.setToolTip("Show the run's progress, loss, samples, checkpoints and log again")
        self.show_button.clicked.connect(lambda: self._selected_then(self.reopen_requested.emit))
        self.folder_button = QPushButton("Open folder")
        self.folder_button.clicked.connect(lambda: self._selected_then(
            lambda run: QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.path)))))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue from the run's last saved training state")
        self.resume_button.clicked.connect(lambda: self._selected_then(self.resume_requested.emit))
        self.rerun_button = QPushButton("Run again")
        self.rerun_button.setToolTip("Start the same run folder again from the beginning")
        self.rerun_button.clicked.connect(lambda: self._selected_then(self.rerun_requested.emit))
        for widget in (self.refresh_button, self.show_button, self.folder_button, self.resume_button,
                       self.rerun_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        self.where = QLabel("")
        self.where.setProperty("role", "muted")
        bar.addWidget(self.where)
        layout.addLayout(bar)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _index: self._selected_then(self.reopen_requested.emit))
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    def set_folder(self, folder: Path) -> None:
        self.folder = folder
        self.where.setText(str(folder))

    def refresh(self) -> None:
        if self.folder is None:
            return
        self._token += 1
        QThreadPool.globalInstance().start(_ListRuns(self.folder, self._token, self._signals))

    def _listed(self, token: int, runs: list) -> None:
        if token != self._token:
            return  # an older listing finished after a newer one was asked for
        selected = self.selected_run()
        self.model.set_runs(runs)
        for row, summary in enumerate(runs):
            if selected is not None and summary.run == selected:
                self.table.selectRow(row)
        self._update_buttons()

    def selected_run(self):
        rows = self.table.selectionModel().selectedRows()
        summary = self.model.summary(rows[0].row()) if rows else None
        return summary.run if summary is not None else None

    def _selected_then(self, action) -> None:
        run = self.selected_run()
        if run is not None:
            action(run)

    def _update_buttons(self, *_args) -> None:
        has = self.selected_run() is not None
        for button in (self.show_button, self.folder_button, self.resume_button, self.rerun_button):
            button.setEnabled(has)
