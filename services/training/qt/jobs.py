"""Running a plain function off the GUI thread and getting its result back through a signal.

Each job carries a generation number so the receiver can drop results that a newer request has
made stale (the user kept typing, chose another model...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    finished = Signal(int, object, object)  # generation, result, error (exactly one is not None)


class CallJob(QRunnable):
    def __init__(self, generation: int, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self.generation = generation
        self.fn = fn
        self.args = args
        self.relay = _Relay()

    def run(self) -> None:
        try:
            result = self.fn(*self.args)
        except Exception as exc:  # reported to the receiver, never raised into the pool
            log.debug("background job %s failed: %r", getattr(self.fn, "__name__", self.fn), exc)
            self.relay.finished.emit(self.generation, None, exc)
            return
        self.relay.finished.emit(self.generation, result, None)


def start(pool: QThreadPool, generation: int, receiver: Callable[[int, Any, Any], None],
          fn: Callable[..., Any], *args: Any) -> CallJob:
    job = CallJob(generation, fn, *args)
    job.relay.finished.connect(receiver)
    pool.start(job)
    return job
