"""Running caption work off the GUI thread.

``TaskThread`` runs one function in a QThread with progress and cancel and hands its result back
through queued signals. GUI-thread work spread over event-loop turns (``SliceRunner``) lives in
services.qt.slices, shared with the dataset; it is re-exported here for the caption modules.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from services.qt.slices import SLICE_BUDGET_S, YIELD_EVERY, Job, SliceRunner  # noqa: F401  (re-exported)


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


