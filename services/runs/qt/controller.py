"""What the Train menu, the monitor dock and the queue view drive: one run at a time, resume, and
the queue that runs waiting snapshots one after another.

The controller owns the streaming service and the queue; it resolves each launch through the
backend runtime in the settings, tells the Session which process trains (the GPU monitor marks
it), and moves the queue on when a run ends (unless it failed and the user asked to stop then).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from services.errors import UserInputError
from services.runs import events as ev
from services.runs import queue as q
from services.runs.history import runs_dir
from services.runs.launch import Launch, launch_from_settings
from services.runs.qt.run_service import RunService
from services.runs.run_folder import RunFolder
from services.runs.runner import Outcome

log = logging.getLogger(__name__)

LaunchFactory = Callable[[RunFolder, Path | None], Launch]


class TrainingController(QObject):
    events = Signal(list)             # batches of run events (GUI thread)
    run_started = Signal(object)      # RunFolder
    run_finished = Signal(object, object)  # RunFolder, Outcome
    running_changed = Signal(bool)
    queue_changed = Signal()

    def __init__(self, session, parent: QObject | None = None, *, launch_factory: LaunchFactory | None = None,
                 service: RunService | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.service = service or RunService(self)
        self._launch_factory = launch_factory or self._launch_from_settings
        self.current: RunFolder | None = None
        self._queue: q.RunQueue | None = None
        self._queue_entry: str | None = None
        self.queue_active = False
        self.service.events.connect(self._on_events)
        self.service.finished.connect(self._on_finished)
        self.service.running_changed.connect(self.running_changed)

    # --- places ---------------------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        return runs_dir(self.session.settings)

    @property
    def queue(self) -> q.RunQueue:
        folder = self.runs_dir
        if self._queue is None or self._queue.path.parent != folder:
            self._queue = q.RunQueue.in_runs_dir(folder)
        return self._queue

    def is_running(self) -> bool:
        return self.service.is_running()

    # --- one run --------------------------------------------------------------------------------
    def _launch_from_settings(self, run: RunFolder, resume_from: Path | None) -> Launch:
        return launch_from_settings(run, self.session.settings, resume_from=resume_from)

    def start(self, run: RunFolder, resume_from: Path | None = None) -> None:
        """Start ``run`` (or resume it from a saved state). Raises a LoraStudioError when it cannot."""
        if self.service.is_running():
            raise UserInputError("A training run is already running.", "Stop it, or add this run to the queue.")
        launch = self._launch_factory(run, resume_from)
        self.current = run
        self.service.start(launch)  # the runner reads the run's context (family, memory profile) itself
        self.run_started.emit(run)

    def stop(self) -> None:
        self.service.stop("user")

    def resumable_state(self, run: RunFolder) -> Path | None:
        try:
            return run.latest_state()
        except Exception:
            return None

    def resume(self, run: RunFolder) -> None:
        state = self.resumable_state(run)
        if state is None:
            raise UserInputError(
                f"“{run.name}” has no saved training state to resume from.",
                "Turn on save_state (with save_every_n_steps or _epochs) so that runs can be resumed; "
                "this one can only be started again.")
        self.start(run, resume_from=state)

    # --- the queue ------------------------------------------------------------------------------
    def enqueue(self, run: RunFolder, name: str = "") -> q.QueueEntry:
        entry = self.queue.add(run, name)
        self.queue_changed.emit()
        return entry

    def queue_edit(self, action: Callable[[q.RunQueue], object]):
        result = action(self.queue)
        self.queue_changed.emit()
        return result

    def start_queue(self) -> None:
        self.queue_active = True
        self.queue_changed.emit()
        if not self.service.is_running():
            self._next_in_queue()

    def pause_queue(self) -> None:
        """Stop taking new runs from the queue; the one running goes on."""
        self.queue_active = False
        self.queue_changed.emit()

    def _next_in_queue(self) -> None:
        if not self.queue_active or self.service.is_running():
            return
        entry = self.queue.next_pending()
        if entry is None:
            self.queue_active = False
            self.queue_changed.emit()
            self.session.show_status("The queue is done.", 6000)
            return
        self.queue.mark_running(entry.id)
        self._queue_entry = entry.id
        self.queue_changed.emit()
        try:
            self.start(entry.run)
        except Exception as exc:  # a run that cannot start is a failed run; the queue goes on
            log.warning("queued run %s could not start: %s", entry.name, exc)
            self._queue_entry = None
            self.queue.mark_done(entry.id, q.FAILED)
            self.queue_changed.emit()
            self.session.report_error(exc)
            if self.queue.should_continue_after(q.FAILED):
                QTimer.singleShot(0, self._next_in_queue)
            else:
                self.queue_active = False

    # --- service signals --------------------------------------------------------------------------
    def _on_events(self, batch: list) -> None:
        for event in batch:
            if isinstance(event, ev.Started):
                set_pid = getattr(self.session, "set_training_process", None)
                if set_pid is not None:
                    set_pid(event.pid)
        self.events.emit(batch)

    def _on_finished(self, outcome: Outcome) -> None:
        set_pid = getattr(self.session, "set_training_process", None)
        if set_pid is not None:
            set_pid(0)
        run = self.current
        self.run_finished.emit(run, outcome)
        entry_id, self._queue_entry = self._queue_entry, None
        if entry_id is not None:
            try:
                self.queue.mark_done(entry_id, outcome.state)
            except UserInputError:
                pass  # removed from the queue file meanwhile
            if not self.queue.should_continue_after(outcome.state):
                self.queue_active = False
            self.queue_changed.emit()
            QTimer.singleShot(0, self._next_in_queue)

    def shutdown(self) -> None:
        self.queue_active = False
        self.service.shutdown()
