"""Help > System report: the machine, its GPUs and both environments, ready to paste in a bug report.

The quick part (OS, Python, GPUs, GUI dependencies, disk) shows at once; the backend runtime's
part follows when its probe ends (it imports torch in that interpreter: seconds). Closing the
dialog cancels the probe.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from services.hardware.report_render import render_markdown


class SystemReportDialog(QDialog):
    def __init__(self, session, parent: QWidget | None = None, *, worker_factory=None) -> None:
        super().__init__(parent)
        self.setObjectName("system-report-dialog")
        self.setWindowTitle("System report")
        self.resize(860, 680)
        self.session = session
        self._worker_factory = worker_factory
        self.worker = None
        self.report: dict | None = None
        self.complete = False

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setProperty("role", "muted")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # busy indicator: the probe reports no progress
        self.busy.setMaximumWidth(140)
        self.busy.setTextVisible(False)
        top.addWidget(self.status, 1)
        top.addWidget(self.busy)
        layout.addLayout(top)
        self.view = QTextBrowser()
        self.view.setOpenExternalLinks(False)
        self.view.setPlaceholderText("Collecting…")
        layout.addWidget(self.view, 1)

        buttons = QDialogButtonBox()
        self.copy_markdown_button = QPushButton("Copy as Markdown")
        self.copy_markdown_button.setToolTip("Copy the report for a bug report (GitHub, forums)")
        self.copy_json_button = QPushButton("Copy as JSON")
        self.refresh_button = QPushButton("Refresh")
        buttons.addButton(self.copy_markdown_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.copy_json_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ResetRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setIcon(QIcon())
        close.clicked.connect(self.close)
        for button in (self.copy_json_button, self.refresh_button, close):
            button.setAutoDefault(False)
        self.copy_markdown_button.setDefault(True)
        self.copy_markdown_button.clicked.connect(self.copy_markdown)
        self.copy_json_button.clicked.connect(self.copy_json)
        self.refresh_button.clicked.connect(self.refresh)
        layout.addWidget(buttons)
        self.refresh()

    # --- collecting -------------------------------------------------------------------------
    def _make_worker(self):
        if self._worker_factory is not None:
            return self._worker_factory()
        from services.hardware.qt.report_worker import ReportWorker

        return ReportWorker(self.session.settings, self.session.dirs)

    def refresh(self) -> None:
        self._stop_worker()
        self.report, self.complete = None, False
        self._set_busy(True, "Collecting the system report…")
        for button in (self.copy_markdown_button, self.copy_json_button, self.refresh_button):
            button.setEnabled(False)
        worker = self.worker = self._make_worker()
        # A result still queued from a worker replaced by Refresh is dropped.
        worker.local_ready.connect(lambda report: self._on_local(report) if worker is self.worker else None)
        worker.report_ready.connect(lambda report: self._on_report(report) if worker is self.worker else None)
        worker.failed.connect(lambda message: self._on_failed(message) if worker is self.worker else None)
        worker.start()

    def _on_local(self, report: dict) -> None:
        self.report = report
        self._show(report)
        self._set_busy(True, "Asking the backend runtime what it can do (it imports torch: a few seconds)…")
        self.copy_markdown_button.setEnabled(True)
        self.copy_json_button.setEnabled(True)

    def _on_report(self, report: dict) -> None:
        self.report, self.complete = report, True
        self._show(report)
        self._set_busy(False, "Complete. Copy it as Markdown to paste into a bug report.")
        for button in (self.copy_markdown_button, self.copy_json_button, self.refresh_button):
            button.setEnabled(True)

    def _on_failed(self, message: str) -> None:
        self._set_busy(False, message)
        self.status.setProperty("role", "error")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.refresh_button.setEnabled(True)

    def _show(self, report: dict) -> None:
        scroll = self.view.verticalScrollBar().value()
        self.view.setMarkdown(render_markdown(report))
        self.view.verticalScrollBar().setValue(scroll)

    def _set_busy(self, busy: bool, text: str) -> None:
        self.busy.setVisible(busy)
        self.status.setText(text)

    # --- copying ------------------------------------------------------------------------------
    def markdown(self) -> str:
        return render_markdown(self.report) if self.report else ""

    def copy_markdown(self) -> None:
        if self.report:
            QGuiApplication.clipboard().setText(self.markdown())
            self.status.setText("Copied as Markdown." + ("" if self.complete else
                                                         " (The backend part was still being probed.)"))

    def copy_json(self) -> None:
        if self.report:
            QGuiApplication.clipboard().setText(json.dumps(self.report, indent=2, default=str))
            self.status.setText("Copied as JSON.")

    # --- closing ------------------------------------------------------------------------------
    def _stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def done(self, result: int) -> None:
        self._stop_worker()
        super().done(result)

    def closeEvent(self, event) -> None:
        self._stop_worker()
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)
