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
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from services.errors import LoraStudioError, UserInputError
from services.runs import events as ev
from services.runs.monitor_state import MonitorState, format_duration, format_rate
from services.runs.qt.controller import TrainingController
from services.runs.qt.tasks import run_in_pool
from services.runs.run_folder import RunFolder

log = logging.getLogger(__name__)

REFRESH_MS = 100
CHART_EVERY_S = 0.25
STATE_TEXT = {"idle": "Idle", "running": "Running", "stopping": "Stopping…", "succeeded": "Finished",
              "failed": "Failed", "stopped": "Stopped"}
STATE_ROLE = {"succeeded": "ok", "failed": "error", "stopped": "warning", "stopping": "warning"}
TABS = ("Loss", "Samples", "Checkpoints", "Log", "Queue", "History")


class TrainingMonitor(QWidget):
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
        header = QHBoxLayout()
        header.setSpacing(6)
        self.state_label = QLabel("Idle")
        self.state_label.setObjectName("run-state")
        font = self.state_label.font()
        font.setBold(True)
        self.state_label.setFont(font)
        self.run_label = QLabel("No run yet")
        self.run_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.backend_label = QLabel("")
        self.backend_label.setProperty("role", "muted")
        self.backend_label.setObjectName("backend-state")
        header.addWidget(self.state_label)
        header.addWidget(self.run_label, 1)
        header.addWidget(self.backend_label)
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip, slot in (
                ("preflight", "Preflight", "Check the run before it costs anything", self.preflight),
                ("start", "Start", "Check, then start training", self.start),
                ("stop", "Stop", "End the engine and every process it started (within 5 s)", self.stop),
                ("resume", "Resume", "Continue the shown run from its last saved state", self.resume),
                ("queue", "Add to queue", "Freeze the current project into a run that waits its turn",
                 self.add_to_queue)):
            button = QPushButton(text)
            button.setObjectName(f"run-{key}")
            button.setToolTip(tip)
            button.clicked.connect(lambda _c=False, s=slot: self._guarded(s))
            header.addWidget(button)
            self.buttons[key] = button
        layout.addLayout(header)

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.steps_bar = QProgressBar()
        self.steps_bar.setObjectName("steps-progress")
        self.steps_bar.setFormat("step %v / %m")
        self.steps_bar.setRange(0, 1)
        self.steps_bar.setValue(0)
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("run-stats")
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setObjectName("epoch-progress")
        self.epoch_bar.setFormat("epoch %v / %m")
        self.epoch_bar.setRange(0, 1)
        self.epoch_bar.setMaximumHeight(14)
        self.phase_label = QLabel("")
        self.phase_label.setObjectName("run-phase")
        grid.addWidget(self.steps_bar, 0, 0)
        grid.addWidget(self.stats_label, 0, 1)
        grid.addWidget(self.epoch_bar, 1, 0)
        grid.addWidget(self.phase_label, 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        layout.addLayout(grid)

        self.banner = QFrame()
        self.banner.setObjectName("run-banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(8, 4, 8, 4)
        self.banner_label = QLabel("")
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextFormat(Qt.TextFormat.RichText)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        banner_layout.addWidget(self.banner_label, 1)
        self.banner.setVisible(False)
        layout.addWidget(self.banner)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("monitor-tabs")
        self.pages: dict[str, QWidget] = {}
        for name in TABS:
            page = QWidget()
            QVBoxLayout(page).setContentsMargins(0, 4, 0, 0)
            self.tabs.addTab(page, name)
            self.pages[name] = page
        self.tabs.currentChanged.connect(self._tab_changed)
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
        self.history.rerun_requested.connect(lambda run: self._guarded(lambda: self.start_run(run)))
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
            self._ensure_chart()
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
        self.state_label.setText(STATE_TEXT.get(s.state, s.state))
        self.state_label.setProperty("role", STATE_ROLE.get(s.state, ""))
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)
        if self.run is not None:
            self.run_label.setText(self.run.path.name + (f"  (attempt {s.attempt})" if s.attempt > 1 else ""))
            self.run_label.setToolTip(str(self.run.path))
        total = s.total_steps or 0
        self.steps_bar.setRange(0, max(1, total))
        self.steps_bar.setValue(min(s.step, max(1, total)))
        self.steps_bar.setFormat(f"step {s.step} / {total}" if total else "step –")
        self.epoch_bar.setRange(0, max(1, s.total_epochs or 1))
        self.epoch_bar.setValue(s.epoch)
        self.epoch_bar.setFormat(f"epoch {s.epoch} / {s.total_epochs}" if s.total_epochs else "epoch –")
        parts = []
        if s.it_per_s:
            parts.append(format_rate(s.it_per_s))
        if s.running and s.remaining_s is not None:
            finish = time.strftime("%H:%M", time.localtime(time.time() + s.remaining_s))
            parts.append(f"ETA {format_duration(s.remaining_s)} (≈{finish})")
        elif s.elapsed_s:
            parts.append(f"took {format_duration(s.elapsed_s)}")
        if s.last_loss is not None:
            parts.append(f"loss {s.last_loss:.4g}")
        if s.lr is not None:
            parts.append(f"lr {s.lr:.2e}")
        self.stats_label.setText("  ·  ".join(parts))
        self.phase_label.setText(self._phase_text())
        self._update_banner()
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
        if self.chart is None:
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

    def _phase_text(self) -> str:
        s = self.state
        if s.stalled_s:
            return f"No output for {format_duration(s.stalled_s)} — the engine may be stuck"
        label = ev.PHASE_LABELS.get(s.phase, s.phase) if s.phase else ""
        if s.phase == ev.CACHING and s.progress_total:
            return f"{s.progress_label or 'Caching'} {s.progress_n}/{s.progress_total}"
        if s.phase == ev.CACHING and s.phase_detail:
            return s.phase_detail.capitalize()
        if s.running and s.progress_label and s.phase in (ev.LOADING, ev.STARTING) and s.progress_total:
            return f"{label}: {s.progress_label} {s.progress_n}/{s.progress_total}"
        return label

    def _update_banner(self) -> None:
        s = self.state
        diagnosis = s.diagnosis
        if diagnosis is not None:
            role = "warning" if getattr(diagnosis, "severity", "error") == "warning" else "error"
            lines = "<br>".join(_escape(line) for line in getattr(diagnosis, "lines", [])[-4:])
            text = (f"<b>{_escape(diagnosis.title)}</b><br>{_escape(diagnosis.message)}"
                    + (f"<br><b>What to do:</b> {_escape(diagnosis.hint)}" if diagnosis.hint else "")
                    + (f"<br><span style='font-family:monospace'>{lines}</span>" if lines else ""))
        elif s.stalled_s:
            role, text = "warning", ("<b>The engine has printed nothing for "
                                     f"{format_duration(s.stalled_s)}.</b> It may be stuck; Stop ends it.")
        elif s.running and s.loss_values and s.loss_values[-1] != s.loss_values[-1]:
            role, text = "warning", "<b>The loss is NaN.</b> Further steps are wasted; consider stopping."
        else:
            self.banner.setVisible(False)
            return
        if self.banner_label.text() != text:
            self.banner_label.setText(text)
        self.banner_label.setProperty("role", role)
        self.banner_label.style().unpolish(self.banner_label)
        self.banner_label.style().polish(self.banner_label)
        self.banner.setVisible(True)

    def _update_buttons(self, *_args) -> None:
        running = self.controller.is_running()
        self.buttons["stop"].setEnabled(running)
        self.buttons["start"].setEnabled(not running and not self._busy)
        self.buttons["preflight"].setEnabled(not self._busy)
        self.buttons["resume"].setEnabled(not running and self.run is not None and not self._busy)

    def update_backend_state(self) -> None:
        try:
            from services.backend.runtime import locate

            runtime = locate(self.session.settings)
            text, tip = runtime.summary(), "\n".join(runtime.problems)
            role = {"found": "ok", "version": "warning"}.get(runtime.state, "error")
        except Exception as exc:  # the label must never take the dock down
            text, tip, role = f"Training backend: unknown ({exc})", "", "warning"
        self.backend_label.setText(text)
        self.backend_label.setToolTip(tip or text)
        self.backend_label.setProperty("role", role)
        self.backend_label.style().unpolish(self.backend_label)
        self.backend_label.style().polish(self.backend_label)

    # --- actions (buttons, Train menu) ------------------------------------------------------------
    def _guarded(self, action) -> None:
        try:
            action()
        except LoraStudioError as exc:
            self.session.report_error(exc)

    def _target_run(self) -> RunFolder:
        """The run that Preflight and Start act on: the current project emitted afresh when there is
        one, else the run shown in the monitor."""
        project = getattr(self.session, "project", None)
        if project is not None:
            return self._emit_project(project)
        if self.run is not None:
            return self.run
        raise UserInputError("There is no run to start.",
                             "Open a training project (File ▸ Open project), or pick a run in the History tab "
                             "and choose Run again.")

    def _emit_project(self, project) -> RunFolder:
        raise UserInputError("Turning a project into a run is not part of this build yet.",
                             "Pick a run in the History tab and choose Run again.")

    def preflight(self, then_start: bool = False) -> None:
        self.ensure_built()
        run = self._target_run()
        self._run_preflight(run, then_start)

    def _run_preflight(self, run: RunFolder, then_start: bool) -> None:
        from services.runs.preflight import run_preflight

        settings = self.session.settings
        self._busy = "preflight"
        self._update_buttons()
        self.session.show_status(f"Checking {run.path.name}…", 0)

        def done(report) -> None:
            self._busy = ""
            self._update_buttons()
            self.session.show_status("Preflight done", 3000)
            if then_start and report.ok and not report.warnings:
                self._guarded(lambda: self.start_run(run, checked=True))
                return
            self._show_report(report, run, can_start=True)

        def failed(exc) -> None:
            self._busy = ""
            self._update_buttons()
            self.session.report_error(exc)

        run_in_pool(self, lambda: run_preflight(run, settings), done, failed)

    def _show_report(self, report, run: RunFolder, *, can_start: bool) -> None:
        from widgets.training_monitor.preflight_dialog import PreflightDialog

        dialog = PreflightDialog(report, run.path.name, can_start=can_start and not self.controller.is_running(),
                                 parent=self)
        dialog.start_requested.connect(lambda: self._guarded(lambda: self.start_run(run, checked=True)))
        dialog.accept_commit_requested.connect(lambda: self._accept_commit(dialog, run))
        self.preflight_dialog = dialog
        dialog.show()

    def _accept_commit(self, dialog, run: RunFolder) -> None:
        from services.backend.runtime import locate
        from services.runs.preflight import accept_commit

        accept_commit(self.session.settings, locate(self.session.settings))
        self.session.save_settings()
        dialog.close()
        self._run_preflight(run, then_start=False)

    def start(self) -> None:
        """Preflight, then start when nothing blocks (the report is shown when something does)."""
        self.preflight(then_start=True)

    def start_run(self, run: RunFolder, *, checked: bool = False, resume_from=None) -> None:
        self.ensure_built()
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

    def add_to_queue(self) -> None:
        project = getattr(self.session, "project", None)
        if project is None:
            raise UserInputError("Open a training project to add it to the queue.",
                                 "The queue holds frozen snapshots of projects.")
        run = self._emit_project(project)
        self.controller.enqueue(run)
        self.tabs.setCurrentIndex(TABS.index("Queue"))

    def show_history(self) -> None:
        self.ensure_built()
        self.tabs.setCurrentIndex(TABS.index("History"))
        self.history.refresh()

    def _edit_queue(self, edit) -> None:
        self._guarded(lambda: self.controller.queue_edit(edit))

    def _move_queued(self, entry_id: str, delta: int) -> None:
        def move(queue) -> None:
            pending = queue.pending()
            index = next(i for i, e in enumerate(pending) if e.id == entry_id)
            queue.move(entry_id, max(0, index + delta))

        self._guarded(lambda: self.controller.queue_edit(move))

    def _replace_queued(self, entry_id: str) -> None:
        project = getattr(self.session, "project", None)
        if project is None:
            raise UserInputError("Open the project whose settings should replace this queued run.")
        run = self._emit_project(project)
        self.controller.queue_edit(lambda q: q.replace(entry_id, run))

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

    def shutdown(self) -> None:
        self.timer.stop()
        self.controller.shutdown()


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))
