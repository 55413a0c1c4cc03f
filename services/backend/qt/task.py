"""Running a backend job (plan, install, repair, update, verify) off the GUI thread.

``BackendTask`` owns a QThread that runs one plain-Python job ``fn(reporter, cancel) -> result``.
The job's Reporter calls become signals (emitted from the worker thread, delivered queued to the
receivers on the GUI thread). Cancel sets the job's CancelToken: the running subprocess tree is
ended and the interrupted step stays "started", to be redone on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from services.backend.proc import CancelToken
from services.backend.steps import Reporter

log = logging.getLogger(__name__)


class _SignalReporter(Reporter):
    def __init__(self, task: BackendTask) -> None:
        self.task = task

    def step_started(self, step, title):
        self.task.step_started.emit(step, title)

    def step_progress(self, step, fraction, text):
        self.task.step_progress.emit(step, fraction, text)

    def log(self, step, line):
        self.task.log_line.emit(step, line)

    def step_finished(self, step, outcome, seconds, message):
        self.task.step_finished.emit(step, outcome, float(seconds), message)


class _Thread(QThread):
    def __init__(self, task: BackendTask) -> None:
        super().__init__()
        self.task = task
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.task.fn(_SignalReporter(self.task), self.task.cancel_token)
        except BaseException as exc:  # a job's failure is a result for the GUI, never a crash
            log.info("backend job %s failed: %r", self.task.name, exc)
            self.error = exc


class BackendTask(QObject):
    step_started = Signal(str, str)               # step id, title
    step_progress = Signal(str, object, str)      # step id, fraction (float or None), text
    log_line = Signal(str, str)                   # step id, line
    step_finished = Signal(str, str, float, str)  # step id, outcome, seconds, message
    succeeded = Signal(object)                    # the job's result
    failed = Signal(object)                       # the exception
    done = Signal()                               # after succeeded or failed

    def __init__(self, name: str, fn: Callable[[Reporter, CancelToken], object], parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.fn = fn
        self.cancel_token = CancelToken()
        self._thread: _Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a BackendTask runs once")
        self._thread = _Thread(self)
        self._thread.setObjectName(f"backend-{self.name}")
        self._thread.finished.connect(self._finished)
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def wait(self, msecs: int = 30000) -> bool:
        return self._thread is None or self._thread.wait(msecs)

    def _finished(self) -> None:
        thread = self._thread
        if thread.error is not None:
            self.failed.emit(thread.error)
        else:
            self.succeeded.emit(thread.result)
        self.done.emit()
