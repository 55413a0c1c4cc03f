"""Running a training attempt off the GUI thread.

``RunService.start(launch)`` runs ``services.runs.runner.Runner`` on a QThread; the runner's event
batches (a handful per second, however fast the engine prints) arrive on the GUI thread through a
queued signal. ``stop()`` returns at once: the runner ends the process tree on its own thread
within 5 seconds and then reports ``finished``. Only one attempt runs at a time.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QObject, QThread, Signal

from services.errors import UserInputError
from services.runs import events as ev
from services.runs.diagnosis import RunContext
from services.runs.launch import Launch
from services.runs.runner import Outcome, Runner

log = logging.getLogger(__name__)


class _RunThread(QThread):
    batch = Signal(list)
    done = Signal(object)

    def __init__(self, runner_factory, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("training-run")
        self.runner: Runner = runner_factory(self.batch.emit)

    def run(self) -> None:
        try:
            outcome = self.runner.run()
        except Exception as exc:  # a bug here must still end the run cleanly in the GUI
            log.exception("the training runner failed")
            outcome = Outcome("failed", None, None)
            self.batch.emit([ev.Error(f"LoRA Studio's runner failed: {exc}"),
                             ev.Ended("failed", None, None)])
        self.done.emit(outcome)


class RunService(QObject):
    events = Signal(list)          # a batch of services.runs.events, on the GUI thread
    started = Signal(object)       # the RunFolder
    finished = Signal(object)      # the Outcome
    running_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, flush_interval_s: float = 0.1,
                 stall_after_s: float = 1200.0) -> None:
        super().__init__(parent)
        self._thread: _RunThread | None = None
        self._flush_interval = flush_interval_s
        self._stall_after = stall_after_s
        self.current: Launch | None = None
        self._switch_interval = sys.getswitchinterval()
        self.last_outcome: Outcome | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    @property
    def pid(self) -> int:
        runner = self._thread.runner if self._thread else None
        return runner.tree.pid if runner is not None and runner.tree is not None else 0

    def start(self, launch: Launch, context: RunContext | None = None) -> None:
        if self._thread is not None:
            raise UserInputError("A training run is already running.", "Stop it first, or add this one to the queue.")

        def factory(emit):
            return Runner(launch, emit, flush_interval_s=self._flush_interval, stall_after_s=self._stall_after,
                          context=context)

        thread = _RunThread(factory, self)
        # The runner's thread parses Python-side while the GUI thread draws: a short GIL switch
        # interval keeps the GUI from waiting up to 5 ms for each hand-over.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, 0.001))
        thread.batch.connect(self.events)
        thread.done.connect(self._done)
        self._thread = thread
        self.current = launch
        thread.start()
        self.running_changed.emit(True)
        self.started.emit(launch.run)

    def stop(self, reason: str = "user") -> None:
        if self._thread is not None:
            self._thread.runner.stop(reason)

    def _done(self, outcome: Outcome) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        self.last_outcome = outcome
        sys.setswitchinterval(self._switch_interval)
        self.running_changed.emit(False)
        self.finished.emit(outcome)

    def shutdown(self, timeout_ms: int = 8000) -> None:
        """On quit: stop the run (its whole tree) and wait for it; nothing is left running."""
        thread = self._thread
        if thread is None:
            return
        thread.runner.stop("quit")
        if not thread.wait(timeout_ms):
            log.error("the training run did not stop within %d ms", timeout_ms)
