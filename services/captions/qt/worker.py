"""Running caption work off the GUI thread, and spreading GUI-thread work over event-loop turns.

``TaskThread`` runs one function in a QThread with progress and cancel and hands its result back
through queued signals. ``SliceRunner`` runs generator jobs on the GUI thread in slices of a few
milliseconds (updating 10,000 workspace items at once would freeze the window for ~100 ms); jobs
run strictly one after another, so the order of edits, undos and saves is kept.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Generator

from PySide6.QtCore import QObject, QThread, QTimer, Signal

log = logging.getLogger(__name__)

SLICE_BUDGET_S = 0.012
# Jobs yield after this many items: small enough that one step stays within the budget even when the
# GUI thread gets a fraction of a core (a loaded machine), large enough that yielding costs nothing.
YIELD_EVERY = 32


class TaskThread(QThread):
    """Runs ``fn(progress, cancelled)``; emits ``succeeded(result)`` or ``failed(exception)``."""

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._fn = fn
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True

    def is_cancelled(self) -> bool:
        return self._cancel

    def run(self) -> None:
        try:
            result = self._fn(self.progressed.emit, self.is_cancelled)
        except BaseException as exc:  # reported to the GUI, never lost in a thread
            self.failed.emit(exc)
            return
        self.succeeded.emit(result)


Job = Generator[None, None, None]


class SliceRunner(QObject):
    """A queue of GUI-thread jobs (generators that yield between small units of work)."""

    idle = Signal()

    def __init__(self, parent: QObject | None = None, budget_s: float = SLICE_BUDGET_S) -> None:
        super().__init__(parent)
        self._jobs: deque[Job] = deque()
        self._budget = budget_s
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_slice)

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def submit(self, job: Job) -> None:
        """Queue ``job``; when nothing else is queued its first slice runs now, so a small edit is
        complete when this returns."""
        self._jobs.append(job)
        if len(self._jobs) == 1:
            self._run_slice()

    def drain(self) -> None:
        """Run every queued job to the end now (closing the window, tests)."""
        while self._jobs:
            self._step(float("inf"))
        self._timer.stop()

    def _run_slice(self) -> None:
        self._step(self._budget)
        if self._jobs:
            self._timer.start()
        else:
            self.idle.emit()

    def _step(self, budget: float) -> None:
        deadline = time.perf_counter() + budget
        while self._jobs:
            job = self._jobs[0]
            try:
                next(job)
            except StopIteration:
                self._jobs.popleft()
            except BaseException:  # a failing job must not block the ones after it; the error is a bug
                self._jobs.popleft()
                if self._jobs:
                    self._timer.start()
                raise
            if time.perf_counter() >= deadline:
                return
