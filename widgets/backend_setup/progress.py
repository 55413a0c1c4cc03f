"""The wizard's running and closing pages: each step with its progress and a live log, then the
verification's findings with the time every step took."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from widgets.backend_setup.parts import glyph, heading, label, seconds_text, separator, set_glyph, set_role

LOG_LINES = 5000      # the view keeps the last lines; the full log is in the runtime's logs folder
FLUSH_MS = 100        # log lines arrive in bursts from pip: appended at most ten times a second


class ProgressPage(QWidget):
    cancel_requested = Signal()
    resume_requested = Signal()
    next_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.title = heading("Installing")
        layout.addWidget(self.title)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(1, 1)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(3)
        layout.addWidget(self.grid_host)
        self.current = label("", wrap=False)
        self.current.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.current)
        self.step_bar = QProgressBar()
        self.step_bar.setTextVisible(False)
        self.step_bar.setMaximumHeight(8)
        layout.addWidget(self.step_bar)
        overall_row = QHBoxLayout()
        overall_row.addWidget(label("Overall:", "muted"))
        self.overall = QProgressBar()
        self.overall.setRange(0, 1000)
        self.overall.setFormat("%p%")
        overall_row.addWidget(self.overall, 1)
        self.elapsed = label("", "muted")
        overall_row.addWidget(self.elapsed)
        layout.addLayout(overall_row)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setPlaceholderText("The log of every step appears here as it runs.")
        layout.addWidget(self.log, 1)
        self.message = label("", wrap=True, selectable=True)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume")
        self.next_button = QPushButton("Show the verification")
        for button, sig in ((self.cancel_button, self.cancel_requested), (self.resume_button, self.resume_requested),
                            (self.next_button, self.next_requested)):
            button.clicked.connect(sig.emit)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.rows: dict[str, tuple] = {}
        self.weights: dict[str, float] = {}
        self.finished_weight = 0.0
        self._pending: list[str] = []
        self._flush = QTimer(self)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._flush_log)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._tick)
        self._started = 0.0
        self._running_step = ""
        self._step_began = 0.0

    # --- set-up ---------------------------------------------------------------------------
    def begin(self, title: str, steps: list[tuple[str, str, float]]) -> None:
        """steps: (id, title, weight) in order; the overall bar advances by weight."""
        self.title.setText(title)
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.rows.clear()
        self.weights = {sid: weight for sid, _, weight in steps}
        for row, (sid, text, _weight) in enumerate(steps):
            mark, name, status = glyph("pending"), label(text), label("waiting", "muted")
            status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(mark, row, 0)
            self.grid.addWidget(name, row, 1)
            self.grid.addWidget(status, row, 2)
            self.rows[sid] = (mark, name, status)
        self.finished_weight = 0.0
        self.overall.setValue(0)
        self.log.clear()
        self.message.setText("")
        self.current.setText("Starting…")
        self.step_bar.setRange(0, 1)
        self.step_bar.setValue(0)
        self._started = time.monotonic()
        self._clock.start()
        self._flush.start()
        self.set_running(True)

    def set_running(self, running: bool, *, resumable: bool = False, verified: bool = False) -> None:
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setVisible(not running and resumable)
        self.next_button.setVisible(not running and verified)
        if not running:
            self._clock.stop()
            self._flush_log()
            self._flush.stop()
            self.step_bar.setRange(0, 1)
            self.step_bar.setValue(1 if verified else 0)

    # --- events from the job ----------------------------------------------------------------
    def on_step_started(self, step: str, title: str) -> None:
        self._running_step = step
        self._step_began = time.monotonic()
        row = self.rows.get(step)
        if row:
            set_glyph(row[0], "running")
            row[2].setText("running…")
            set_role(row[2], "warning")
        self.current.setText(title)
        self.step_bar.setRange(0, 0)   # busy until a fraction is known

    def on_progress(self, step: str, fraction, text: str) -> None:
        if text:
            self.current.setText(self.current.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                                         max(200, self.current.width())))
        if fraction is None:
            if self.step_bar.maximum() != 0:
                self.step_bar.setRange(0, 0)
        else:
            self.step_bar.setRange(0, 1000)
            self.step_bar.setValue(int(max(0.0, min(1.0, float(fraction))) * 1000))
            self._set_overall(self.weights.get(step, 0) * float(fraction))

    def on_log(self, step: str, line: str) -> None:
        self._pending.append(line)

    def on_step_finished(self, step: str, outcome: str, seconds: float, message: str) -> None:
        row = self.rows.get(step)
        if row:
            set_glyph(row[0], outcome)
            text = {"skipped": "already done", "done": seconds_text(seconds), "failed": "failed",
                    "cancelled": "cancelled"}.get(outcome, outcome)
            if outcome in ("failed", "cancelled"):
                text += f" after {seconds_text(seconds)}"
            row[2].setText(text)
            set_role(row[2], {"done": "ok", "skipped": "muted", "failed": "error", "cancelled": "warning"}
                     .get(outcome, "muted"))
            if message and outcome == "failed":
                row[2].setToolTip(message)
        self.finished_weight += self.weights.get(step, 0)
        self._set_overall(0)
        self.step_bar.setRange(0, 1)
        self.step_bar.setValue(1)

    def show_outcome(self, text: str, role: str) -> None:
        self.message.setText(text)
        set_role(self.message, role)

    # --- internals ----------------------------------------------------------------------------
    def _set_overall(self, partial: float) -> None:
        total = sum(self.weights.values()) or 1.0
        self.overall.setValue(int(1000 * min(1.0, (self.finished_weight + partial) / total)))

    def _flush_log(self) -> None:
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        at_end = self.log.verticalScrollBar().value() >= self.log.verticalScrollBar().maximum() - 2
        self.log.appendPlainText("\n".join(lines[-LOG_LINES:]))
        if at_end:
            self.log.moveCursor(QTextCursor.MoveOperation.End)
            self.log.ensureCursorVisible()
            self.log.horizontalScrollBar().setValue(0)   # long pip lines must not scroll the view sideways

    def _tick(self) -> None:
        total = time.monotonic() - self._started
        self.elapsed.setText(seconds_text(total))
        row = self.rows.get(self._running_step)
        if row and row[2].text().startswith("running"):
            row[2].setText(f"running… {seconds_text(time.monotonic() - self._step_began)}")


class SummaryPage(QWidget):
    repair_requested = Signal()
    verify_requested = Signal()
    close_requested = Signal()
    log_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.title = heading("Verification")
        layout.addWidget(self.title)
        self.verdict = label("", wrap=True)
        layout.addWidget(self.verdict)
        self.runtime_line = label("", "muted", wrap=True, selectable=True)
        layout.addWidget(self.runtime_line)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.checks_host = QWidget()
        self.checks = QGridLayout(self.checks_host)
        self.checks.setColumnStretch(2, 1)
        self.checks.setHorizontalSpacing(8)
        self.checks.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.checks_host)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        splitter.addWidget(scroll)
        self.timings_host = QWidget()
        timings_layout = QVBoxLayout(self.timings_host)
        timings_layout.setContentsMargins(0, 0, 0, 0)
        timings_layout.addWidget(separator())
        self.timings = label("", "muted", wrap=True, selectable=True)
        self.timings.setTextFormat(Qt.TextFormat.RichText)
        timings_layout.addWidget(self.timings)
        splitter.addWidget(self.timings_host)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)
        buttons = QHBoxLayout()
        self.log_button = QPushButton("Open the log folder")
        self.log_button.clicked.connect(self.log_requested.emit)
        buttons.addWidget(self.log_button)
        buttons.addStretch(1)
        self.repair_button = QPushButton("Repair")
        self.verify_button = QPushButton("Verify again")
        self.close_button = QPushButton("Close")
        for button, sig in ((self.repair_button, self.repair_requested), (self.verify_button, self.verify_requested),
                            (self.close_button, self.close_requested)):
            button.clicked.connect(sig.emit)
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def show_report(self, report, result=None) -> None:
        while self.checks.count():
            item = self.checks.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        if report.ok:
            warnings = len(report.warnings)
            text = "The training backend is ready." + (f" {warnings} thing{'s' if warnings != 1 else ''} to "
                                                       "know below." if warnings else "")
            role = "ok"
        else:
            count = len(report.errors)
            text = f"{count} problem{'s' if count != 1 else ''} found. " + (
                "Repair re-runs only the steps that fix them." if report.runtime.managed and report.repair_steps()
                else "The hints below say what to do.")
            role = "error"
        self.verdict.setText(text)
        set_role(self.verdict, role)
        self.runtime_line.setText(report.runtime.summary())
        order = {"error": 0, "warning": 1, "ok": 2, "info": 3}
        for row, check in enumerate(sorted(report.checks, key=lambda c: order.get(c.status, 4))):
            title = label(check.title, wrap=False)
            title.setAlignment(Qt.AlignmentFlag.AlignTop)
            body = check.message + (f"\n→ {check.hint}" if check.hint and check.status in ("error", "warning") else "")
            message = label(body, "" if check.status in ("ok", "info") else check.status, wrap=True, selectable=True)
            mark = glyph(check.status)
            mark.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            self.checks.addWidget(mark, row, 0)
            self.checks.addWidget(title, row, 1)
            self.checks.addWidget(message, row, 2)
        self.repair_button.setVisible(report.runtime.managed and bool(report.repair_steps()))
        self.repair_button.setDefault(not report.ok)
        self.close_button.setDefault(report.ok)
        lines = []
        if result is not None:
            steps = " · ".join(f"{s.title} <b>{seconds_text(s.seconds)}</b>" if s.outcome == "done"
                               else f"{s.title} ({s.outcome})" for s in result.steps)
            lines.append(f"Steps, {seconds_text(result.seconds)} in all: {steps}")
            if result.log_file:
                lines.append(f"Log: {result.log_file}")
        else:
            lines.append(f"Verification took {seconds_text(report.seconds)}.")
        self.timings.setText("<br>".join(lines))
