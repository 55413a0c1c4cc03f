"""A cancellable background task on a QThread, reporting progress and its result through signals.

``fn(report, cancelled)`` is plain Python (a domain function): ``report(done, total, text)`` may be
called from the worker as often as it likes (signals are throttled to ~20 per second), and
``cancelled()`` turns true after ``cancel()``; the function then raises OperationCancelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

from services.errors import OperationCancelled

Report = Callable[[int, int, str], None]


class Task(QThread):
    progress = Signal(int, int, str)  # done, total (0 = unknown), what is being done
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()

    def __init__(self, fn: Callable[[Report, Callable[[], bool]], object], name: str = "task",
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._fn = fn
        self._cancel = False
        self._last_report = 0.0
        self.result = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self._cancel = True

    def is_cancelled(self) -> bool:
        return self._cancel

    def _report(self, done: int, total: int, text: str) -> None:
        now = time.monotonic()
        if now - self._last_report >= 0.05 or (total and done >= total):
            self._last_report = now
            self.progress.emit(done, total, text)

    def run(self) -> None:
        try:
            self.result = self._fn(self._report, self.is_cancelled)
        except OperationCancelled:
            self.cancelled.emit()
            return
        except BaseException as exc:  # reported to the GUI, never lost in a thread
            self.error = exc
            self.failed.emit(exc)
            return
        if self._cancel:
            self.cancelled.emit()
        else:
            self.succeeded.emit(self.result)

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Cancel and wait for the thread to end (on shutdown)."""
        self.cancel()
        return self.wait(timeout_ms)
