"""A cancellable background task, reporting progress and its result through Qt signals.

``fn(report, cancelled)`` is plain Python (a domain function): ``report(done, total, text)`` may be
called from the worker as often as it likes (signals are throttled to ~10 per second), and
``cancelled()`` turns true after ``cancel()``; the function then raises OperationCancelled.

The work runs on a Python thread, not a QThread: domain code may use Python threads itself (the
health report decodes with a ThreadPoolExecutor), and a Python thread started from a QThread
leaves a dummy thread object behind that can never be joined. Signals emitted from the worker
reach the GUI thread as queued calls, as they would from a QThread.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from services.errors import OperationCancelled

Report = Callable[[int, int, str], None]
GUI_SWITCH_INTERVAL = 0.001


class Task(QObject):
    progress = Signal(int, int, str)  # done, total (0 = unknown), what is being done
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    finished = Signal()  # after succeeded / failed / cancelled
    partial = Signal(object)  # part of the result, published by the work as it goes (see publish)

    def __init__(self, fn: Callable[[Report, Callable[[], bool]], object], name: str = "task",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._fn = fn
        self._cancel = False
        self._last_report = 0.0
        self._thread: threading.Thread | None = None
        self.result = None
        self.error: BaseException | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a Task runs once")
        # A Python thread that computes (a scan) holds the GIL for up to the switch interval each
        # time the GUI thread wants it back, and painting a grid calls into Python ~100 times: with
        # the default 5 ms that is a visible stall. 1 ms keeps the GUI fluid at a negligible cost.
        # (Process-wide; the composition root may set it once instead.)
        if sys.getswitchinterval() > GUI_SWITCH_INTERVAL:
            sys.setswitchinterval(GUI_SWITCH_INTERVAL)
        self._thread = threading.Thread(target=self._run, name=f"lora-{self.objectName()}", daemon=True)
        self._thread.start()

    def isRunning(self) -> bool:  # the QThread name, kept for callers
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout_ms / 1000)
        return not self._thread.is_alive()

    def cancel(self) -> None:
        self._cancel = True

    def is_cancelled(self) -> bool:
        return self._cancel

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Cancel and wait for the work to end (on shutdown)."""
        self.cancel()
        return self.wait(timeout_ms)

    def publish(self, value: object) -> None:
        """Called by the work (any thread): hand part of the result to the GUI now."""
        if not self._cancel:
            self._emit(self.partial, value)

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the receiver (and this object) were deleted while we worked
            pass

    def _report(self, done: int, total: int, text: str) -> None:
        now = time.monotonic()
        if now - self._last_report >= 0.1 or (total and done >= total):
            self._last_report = now
            self._emit(self.progress, done, total, text)

    def _run(self) -> None:
        try:
            self.result = self._fn(self._report, self.is_cancelled)
        except OperationCancelled:
            self._emit(self.cancelled)
        except BaseException as exc:  # reported to the GUI, never lost in a thread
            self.error = exc
            self._emit(self.failed, exc)
        else:
            self._emit(self.cancelled if self._cancel else self.succeeded,
                       *(() if self._cancel else (self.result,)))
        self._emit(self.finished)
