"""Collecting the system report off the GUI thread: the quick local part first, then the backend
probe (seconds: it imports torch in the runtime's interpreter). Cancel kills the probe.

Everything the thread needs is imported with this module, on the GUI thread (services.hardware.report
imports it all at module level): psutil, imported for the first time on a QThread, would register
that thread with Python's threading module as a phantom.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QThread, Signal

from services.hardware.backend_facts import run_probe
from services.hardware.qt.lifetime import stop_at_exit
from services.hardware.report import collect_backend, collect_local

log = logging.getLogger(__name__)


class ReportWorker(QThread):
    local_ready = Signal(object)  # the report dict, backend still "pending"
    report_ready = Signal(object)  # the whole report dict
    failed = Signal(str)

    def __init__(self, settings, dirs, *, backend_python: str | None = None, probe=run_probe, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("system-report-worker")
        self._settings = settings
        self._dirs = dirs
        self._backend_python = backend_python
        self._probe = probe
        self._cancel = threading.Event()
        stop_at_exit(self)

    def cancel(self) -> None:
        self._cancel.set()

    def stop(self, timeout_ms: int = 15000) -> None:
        self.cancel()
        try:
            if self.isRunning():
                self.wait(timeout_ms)
        except RuntimeError:  # already deleted with its parent
            pass

    def run(self) -> None:
        try:
            report = collect_local(self._settings, self._dirs)
            if self._cancel.is_set():
                return
            self.local_ready.emit(dict(report))
            report["backend"] = collect_backend(
                self._settings, python=self._backend_python,
                probe=lambda python, **kwargs: self._probe(python, cancel=self._cancel, **kwargs))
        except Exception as exc:  # a bug must reach the user as a message, not a silent thread death
            self.failed.emit(f"The system report could not be collected: {exc}")
            return
        if not self._cancel.is_set():
            self.report_ready.emit(report)
