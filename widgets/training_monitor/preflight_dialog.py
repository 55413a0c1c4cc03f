"""The preflight report: each check with its verdict, details and what to do; Start is offered only
when nothing blocks."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from services.runs import preflight as pf

MARKS = {pf.OK: "✔", pf.WARNING: "⚠", pf.ERROR: "✖", pf.SKIPPED: "–"}


def _colours(palette: QPalette) -> dict[str, QColor]:
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return {pf.OK: QColor("#5fb865" if dark else "#2e7d32"), pf.WARNING: QColor("#e5b454" if dark else "#9a6700"),
            pf.ERROR: QColor("#ff6b6b" if dark else "#c62828"),
            pf.SKIPPED: palette.color(QPalette.ColorRole.PlaceholderText)}


class PreflightDialog(QDialog):
    start_requested = Signal()
    accept_commit_requested = Signal()

    def __init__(self, report: pf.PreflightReport, run_name: str, *, can_start: bool, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("preflight-dialog")
        self.setWindowTitle(f"Preflight – {run_name}")
        self.resize(760, 460)
        layout = QVBoxLayout(self)
        errors, warnings = len(report.errors), len(report.warnings)
        if errors:
            summary = f"{errors} problem(s) must be fixed before this run can start."
            role = "error"
        elif warnings:
            summary = f"The run can start; {warnings} warning(s) to read first."
            role = "warning"
        else:
            summary = "Everything checked out."
            role = "ok"
        self.summary = QLabel(f"<b>{summary}</b> <span>(checked in {report.seconds:.1f} s)</span>")
        self.summary.setProperty("role", role)
        layout.addWidget(self.summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["", "Check", "Result"])
        self.tree.setRootIsDecorated(True)
        self.tree.setWordWrap(True)
        colours = _colours(self.palette())
        for check in report.checks:
            item = QTreeWidgetItem([MARKS[check.status], check.title, check.message])
            item.setForeground(0, colours[check.status])
            item.setToolTip(2, check.message)
            for detail in check.details:
                child = QTreeWidgetItem(["", "", detail])
                child.setToolTip(2, detail)
                item.addChild(child)
            if check.hint and check.status in (pf.ERROR, pf.WARNING, pf.SKIPPED):
                hint = QTreeWidgetItem(["", "What to do", check.hint])
                hint.setToolTip(2, check.hint)
                item.addChild(hint)
            self.tree.addTopLevelItem(item)
            item.setExpanded(check.status in (pf.ERROR, pf.WARNING))
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(1, 220)
        # The full text of the chosen check (the rows show what fits).
        self.details = QTextBrowser()
        self.details.setObjectName("preflight-details")
        self.details.setOpenLinks(False)
        self._checks = report.checks
        self.tree.currentItemChanged.connect(self._show_details)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setSizes([260, 140])
        layout.addWidget(splitter, 1)
        first = next((i for i, c in enumerate(report.checks) if c.status == pf.ERROR),
                     next((i for i, c in enumerate(report.checks) if c.status == pf.WARNING), 0))
        if report.checks:
            self.tree.setCurrentItem(self.tree.topLevelItem(first))
        buttons = QDialogButtonBox()
        self.start_button = QPushButton("Start training")
        self.start_button.setEnabled(can_start and report.ok)
        self.start_button.setVisible(can_start)
        self.start_button.clicked.connect(self._start)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        backend = report.get("backend")
        self.accept_button = QPushButton("Accept this sd-scripts commit")
        self.accept_button.setVisible(backend is not None and backend.action == pf.ACCEPT_COMMIT)
        self.accept_button.clicked.connect(self.accept_commit_requested)
        buttons.addButton(self.accept_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def _show_details(self, item, _previous=None) -> None:
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is None:
            return
        check = self._checks[self.tree.indexOfTopLevelItem(item)]
        parts = [f"<p><b>{html.escape(check.title)}</b>: {html.escape(check.message)}</p>"]
        if check.details:
            parts.append("<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in check.details) + "</ul>")
        if check.hint:
            parts.append(f"<p><b>What to do:</b> {html.escape(check.hint)}</p>")
        self.details.setHtml("".join(parts))

    def _start(self) -> None:
        self.start_requested.emit()
        self.accept()
