"""The Training monitor dock: start, watch, stop, resume; loss, samples, checkpoints, log; the
queue and the history of runs.

Construction is cheap (a header, two progress bars, empty tabs); the tabs' contents are built when
the dock is first shown, and pyqtgraph is imported when the Loss tab is first shown. Events arrive
in batches from the controller and are folded into a ``MonitorState`` at once; the widgets are
refreshed from it by a timer at most ten times a second, so the GUI stays responsive however fast
the engine prints.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from services.errors import LoraStudioError, UserInputError
from services.runs import events as ev
from services.runs.monitor_state import MonitorState
from services.runs.qt.controller import TrainingController
from services.runs.qt.tasks import run_in_pool
from services.runs.run_folder import RunFolder
from widgets.training_monitor.actions import TABS, RunActions
from widgets.training_monitor.status_panel import StatusPanel, backend_text

log = logging.getLogger(__name__)

REFRESH_MS = 100
CHART_EVERY_S = 0.25


class TrainingMonitor(RunActions, QWidget):
    def __init__(self, session, parent: QWidget | None = None, *, controller: TrainingController | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training-monitor")
        self.session = session
        self.controller = controller or TrainingController(session, self)
        self.state = MonitorState()
        self.run: RunFolder | None = None          # the run shown (and acted on by Resume)
        self._built = False
        self._pending_lines: list[ev.LogLine] = []
        self._held: list | None = None             # live events held while a replay loads
        self._seen = (-1, -1, -1, -1)
        self._chart_at = 0.0
        self._chart_version = -1
        self.chart = None
        self.preflight_dialog = None
        self._busy = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        self.status = StatusPanel()
        self.buttons = self.status.buttons
        for key, slot in (("preflight", self.preflight), ("start", self.start), ("stop", self.stop),
                          ("resume", self.resume), ("queue", self.add_to_queue)):
            self.buttons[key].clicked.connect(lambda _c=False, s=slot: self._guarded(s))
        layout.addWidget(self.status)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("monitor-tabs")
        self.pages: dict[str, QWidget] = {}
        for name in TABS:
            page = QWidget()
            QVBoxLayout(page).setContentsMargins(0, 4, 0, 0)
            self.tabs.addTab(page, name)
            self.pages[name] = page
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tabs.setCornerWidget(self.status.backend_label, Qt.Corner.TopRightCorner)
        layout.addWidget(self.tabs, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.controller.events.connect(self._on_events)
        self.controller.running_changed.connect(self._update_buttons)
        self.controller.queue_changed.connect(self._queue_changed)
        self.controller.run_finished.connect(self._run_finished)
        if hasattr(session, "settings_changed"):
            session.settings_changed.connect(self.update_backend_state)
        self._update_buttons()

    # --- building -------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.ensure_built()

    def ensure_built(self) -> None:
        if self._built:
            return
        self._built = True
        from widgets.training_monitor.checkpoints import CheckpointList
        from widgets.training_monitor.history_view import HistoryView
        from widgets.training_monitor.log_view import LogView
        from widgets.training_monitor.queue_view import QueueView
        from widgets.training_monitor.samples import SampleGallery

        self.samples = SampleGallery()
        self.checkpoints = CheckpointList()
        self.log_view = LogView()
        self.log_view.open_file_requested.connect(self.open_log_file)
        self.queue_view = QueueView()
        self.history = HistoryView()
        for name, widget in (("Samples", self.samples), ("Checkpoints", self.checkpoints), ("Log", self.log_view),
                             ("Queue", self.queue_view), ("History", self.history)):
            self.pages[name].layout().addWidget(widget)
        self.loss_hint = QLabel("The loss appears here once training steps begin.")
        self.loss_hint.setProperty("role", "muted")
        self.pages["Loss"].layout().addWidget(self.loss_hint)
        qv = self.queue_view
        qv.run_requested.connect(lambda run: self._guarded(self.controller.start_queue if run
                                                           else self.controller.pause_queue))
        qv.move_requested.connect(self._move_queued)
        qv.remove_requested.connect(lambda i: self._edit_queue(lambda q: q.remove(i)))
        qv.rename_requested.connect(lambda i, n: self._edit_queue(lambda q: q.rename(i, n)))
        qv.replace_requested.connect(lambda i: self._guarded(lambda: self._replace_queued(i)))
        qv.clear_requested.connect(lambda: self._edit_queue(lambda q: q.clear_finished()))
        qv.stop_on_failure_changed.connect(lambda on: self._edit_queue(lambda q: q.set_stop_on_failure(on)))
        self.history.reopen_requested.connect(lambda run: self._guarded(lambda: self.show_run(run)))
        self.history.resume_requested.connect(lambda run: self._guarded(lambda: self._resume_run(run)))
        self.history.rerun_requested.connect(lambda run: self._guarded(lambda: self.check_then_start(run)))
        self.history.set_folder(self.controller.runs_dir)
        self._queue_changed()
        self.update_backend_state()
        self.timer.start()
        self._seen = (-1, -1, -1, -1)
        self.log_view.append(self._pending_lines)
        self._pending_lines = []
        self.refresh()
        self._tab_changed(self.tabs.currentIndex())

    def _ensure_chart(self) -> None:
        if self.chart is not None:
            return
        from widgets.training_monitor.loss_chart import LossChart

        self.chart = LossChart()
        self.pages["Loss"].layout().addWidget(self.chart, 1)
        self._chart_at = 0.0
        self._draw_chart(force=True)

    def _tab_changed(self, index: int) -> None:
        if not self._built:
            return
        name = TABS[index] if 0 <= index < len(TABS) else ""
        if name == "Loss":
            self._draw_chart(force=True)
        elif name == "History":
            self.history.set_folder(self.controller.runs_dir)
            self.history.refresh()

    # --- events -------------------------------------------------------------------------------
    def _on_events(self, batch: list) -> None:
        if self._held is not None:
            self._held.extend(batch)
            return
        self._apply(batch)

    def _apply(self, batch: list) -> None:
        for event in batch:
            if isinstance(event, ev.Started):
                self.run = RunFolder(event.run_dir)
                if self._built:
                    self._ensure_chart()  # a run started from the queue or the CLI
        self.state.apply(batch)
        lines = [e for e in batch if isinstance(e, ev.LogLine)]
        if lines:
            self._pending_lines.extend(lines)
            if len(self._pending_lines) > 20_000:
                del self._pending_lines[:-20_000]
        if self.isVisible() and not self.timer.isActive():
            self.timer.start()

    # --- refreshing --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the widgets up to the state (called by the timer; cheap when nothing changed)."""
        s = self.state
        if self._built and self._pending_lines:
            lines, self._pending_lines = self._pending_lines, []
            self.log_view.append(lines)
        self.status.show_state(s, self.run.path.name if self.run else "", str(self.run.path) if self.run else "")
        self._update_buttons()
        if not self._built:
            return
        seen = (s.loss_version, s.samples_version, s.checkpoints_version, s.version)
        if seen == self._seen:
            if not s.running:
                self.timer.stop()
            return
        if seen[1] != self._seen[1]:
            self.samples.update_from(s)
        if seen[2] != self._seen[2]:
            self.checkpoints.update_from(s)
        self._seen = seen
        self._draw_chart()

    def _draw_chart(self, force: bool = False) -> None:
        if TABS[self.tabs.currentIndex()] != "Loss":
            return  # drawn when the Loss tab is shown again
        if self.chart is None:
            if not self.state.loss_steps:
                self.loss_hint.setVisible(True)
                return  # the hint says why it is empty; pyqtgraph loads with the first loss
            self._ensure_chart()
            return
        now = time.monotonic()
        if not force and now - self._chart_at < CHART_EVERY_S:
            return
        if not force and self.chart.points == len(self.state.loss_steps) and self.state.loss_steps \
                and self._chart_version == self.state.loss_version:
            return
        self._chart_at = now
        self._chart_version = self.state.loss_version
        self.chart.set_data(self.state.loss_steps, self.state.loss_values, self.state.loss_smoothed)
        self.loss_hint.setVisible(not self.state.loss_steps)

    def _update_buttons(self, *_args) -> None:
        running = self.controller.is_running()
        self.buttons["stop"].setEnabled(running)
        self.buttons["start"].setEnabled(not running and not self._busy)
        self.buttons["preflight"].setEnabled(not self._busy)
        self.buttons["resume"].setEnabled(not running and self.run is not None and not self._busy)

    def update_backend_state(self) -> None:
        try:
            from services.backend.runtime import locate

            self.status.set_backend(*backend_text(locate(self.session.settings)))
        except Exception as exc:  # the label must never take the dock down
            self.status.set_backend("Backend: unknown", str(exc), "warning")

    # --- actions (buttons, Train menu) ------------------------------------------------------------
    def _guarded(self, action) -> None:
        try:
            action()
        except LoraStudioError as exc:
            self.session.report_error(exc)

    def start_run(self, run: RunFolder, *, resume_from=None) -> None:
        self.ensure_built()
        # The chart (pyqtgraph) is made now, as the run is launched, rather than when its first loss
        # arrives while lines stream in: importing pyqtgraph then stalled the window ~350 ms.
        self._ensure_chart()
        self._reset(run)
        self.controller.start(run, resume_from=resume_from)
        self.tabs.setCurrentIndex(TABS.index("Loss"))

    def stop(self) -> None:
        self.controller.stop()

    def resume(self) -> None:
        if self.run is None:
            raise UserInputError("There is no run to resume.", "Pick one in the History tab.")
        self._resume_run(self.run)

    def _resume_run(self, run: RunFolder) -> None:
        state = self.controller.resumable_state(run)
        if state is None:
            self.controller.resume(run)  # raises the explanation
            return
        self.ensure_built()
        # Show what the earlier attempts did, then continue with the new one live.
        self._held = []
        self.show_run(run, then=lambda: self.controller.start(run, resume_from=state), keep_held=True)

    def show_history(self) -> None:
        self.ensure_built()
        self.tabs.setCurrentIndex(TABS.index("History"))
        self.history.refresh()

    def _queue_changed(self) -> None:
        if not self._built:
            return
        queue = self.controller.queue
        self.queue_view.set_queue(queue.entries, active=self.controller.queue_active,
                                  stop_on_failure=queue.stop_on_failure)

    def _run_finished(self, run, outcome) -> None:
        self._update_buttons()
        if self._built and TABS[self.tabs.currentIndex()] == "History":
            self.history.refresh()
        if outcome is not None and outcome.state == "failed" and outcome.diagnosis is not None:
            self.tabs.setCurrentIndex(TABS.index("Log"))

    # --- showing a run ---------------------------------------------------------------------------------
    def _reset(self, run: RunFolder | None) -> None:
        self.state = MonitorState()
        self.run = run
        self._pending_lines = []
        self._seen = (-1, -1, -1, -1)
        self._chart_version = -1
        if self._built:
            self.log_view.clear()
            self.samples.clear()
            self.checkpoints.clear()
        if self.chart is not None:
            self.chart.clear()
        self.refresh()

    def show_run(self, run: RunFolder, then=None, keep_held: bool = False) -> None:
        """Show a run again from its folder (history, resume): replayed off the GUI thread."""
        from services.runs.history import replay

        self.ensure_built()
        self._reset(run)
        if not keep_held:
            self._held = []

        def done(result) -> None:
            held, self._held = self._held or [], None
            self.state = MonitorState(run_dir=str(run.path))
            self._apply(result.events)
            self.state.attempt = len(result.status.attempts) if result.status else 0
            self._apply(held)
            self._seen = (-1, -1, -1, -1)
            self._chart_version = -1
            self.refresh()
            self._draw_chart(force=True)
            if then is not None:
                self._guarded(then)

        def failed(exc) -> None:
            self._held = None
            self.session.report_error(exc)

        run_in_pool(self, lambda: replay(run), done, failed)

    def open_log_file(self) -> None:
        if self.run is not None and self.run.log_path.is_file():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.run.log_path)))

    def work_in_progress(self) -> str:
        """What quitting would stop (asked by the main window before it closes); empty when idle."""
        if not self.controller.is_running():
            return ""
        run = self.controller.current
        return f"The training run “{run.name}” is still running." if run is not None else \
            "A training run is still running."

    def shutdown(self) -> None:
        self.timer.stop()
        self.controller.shutdown()


