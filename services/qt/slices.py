"""Spreading GUI-thread work over event-loop turns.

``SliceRunner`` runs generator jobs on the GUI thread in slices of a few milliseconds. Work that
touches many workspace objects belongs here rather than in a Python worker thread: a thread that
computes in Python keeps taking the GIL back, and the GUI thread, which releases and re-takes it on
every call into Qt while painting, then waits up to the switch interval each time (a few hundred
times per screen). Jobs run strictly one after another, so the order of edits, undos and saves is kept.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Generator

from PySide6.QtCore import QObject, QTimer, Signal

SLICE_BUDGET_S = 0.012
# Jobs yield after this many items: small enough that one step stays within the budget even when the
# GUI thread gets a fraction of a core (a loaded machine), large enough that yielding costs nothing.
YIELD_EVERY = 32


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

    def clear(self) -> None:
        """Drop every queued job (each is closed: its ``finally`` and ``except GeneratorExit`` run)."""
        jobs, self._jobs = list(self._jobs), deque()
        self._timer.stop()
        for job in jobs:
            job.close()

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
