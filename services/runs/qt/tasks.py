"""Running a blocking call (preflight, replaying a run's log) on the thread pool and getting its
result -- or its exception -- back on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], object], signals: _Signals) -> None:
        super().__init__()
        self.fn, self.signals = fn, signals

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # delivered to the caller, never lost in the pool
            try:
                self.signals.failed.emit(exc)
            except RuntimeError:
                log.warning("a background task failed after its receiver was gone: %s", exc)
            return
        try:
            self.signals.done.emit(result)
        except RuntimeError:  # the receiver was deleted meanwhile
            pass


def run_in_pool(parent: QObject, fn: Callable[[], object], on_done: Callable[[object], None],
                on_error: Callable[[BaseException], None]) -> None:
    """``fn()`` on the global pool; ``on_done(result)`` or ``on_error(exc)`` on ``parent``'s thread."""
    signals = _Signals(parent)

    def finish_done(result) -> None:
        signals.deleteLater()
        on_done(result)

    def finish_failed(exc) -> None:
        signals.deleteLater()
        on_error(exc)

    signals.done.connect(finish_done)
    signals.failed.connect(finish_failed)
    QThreadPool.globalInstance().start(_Task(fn, signals))
