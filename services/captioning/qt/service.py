"""The GUI's captioning service: a worker process driven from a QThread, reported through signals.

The thread blocks on the worker's output (never the GUI thread) and forwards each message as a
queued signal. Results are forwarded in groups (one per batch the worker finishes, or every
``RESULT_FLUSH_S``), so a fast tagger does not flood the GUI's event queue.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal

from services.captioning import protocol as P
from services.captioning.driver import JobOutcome, WorkerDriver
from services.captioning.job import CaptionJob
from services.captioning.progress import JobProgress, estimate
from services.errors import LoraStudioError, WorkerError

log = logging.getLogger(__name__)

RESULT_FLUSH_S = 0.1


@dataclass(frozen=True)
class CaptionResult:
    index: int
    path: str
    caption: str
    tags: tuple[str, ...] | None = None


class _DriverThread(QThread):
    message = Signal(object)  # protocol Message (results excepted)
    results = Signal(list)  # list[CaptionResult]
    outcome = Signal(object)  # JobOutcome, last

    def __init__(self, driver: WorkerDriver, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-driver")
        self.driver = driver

    def run(self) -> None:
        driver = self.driver
        try:
            driver.start()
        except LoraStudioError as exc:
            driver.outcome.error = exc
            self.outcome.emit(driver.outcome)
            return
        try:
            self._relay(driver)
        except Exception as exc:  # a bug here must not leave the GUI waiting for a job that ended
            driver.kill()
            driver.outcome.error = WorkerError(f"Reading the captioning worker's reports failed: {exc!r}.",
                                               "The captions received so far are kept.")
        self.outcome.emit(driver.outcome)

    def _relay(self, driver: WorkerDriver) -> None:
        # A batch's results arrive together, followed by its progress line: forward them as one
        # group then; a group is cut earlier only when its first result has waited RESULT_FLUSH_S.
        pending: list[CaptionResult] = []
        oldest = 0.0
        for message in driver.messages():
            if message.type == P.RESULT:
                tags = message.get("tags")
                if not pending:
                    oldest = time.monotonic()
                pending.append(CaptionResult(int(message.get("index", -1)), str(message.get("path", "")),
                                             str(message.get("caption", "")), tuple(tags) if tags else None))
                if time.monotonic() - oldest < RESULT_FLUSH_S:
                    continue
            if pending:
                self.results.emit(pending)
                pending = []
            if message.type != P.RESULT:
                self.message.emit(message)
        if pending:
            self.results.emit(pending)


class CaptionService(QObject):
    """One job at a time. ``start`` returns at once; everything else arrives through signals."""

    running_changed = Signal(bool)
    status_changed = Signal(str)  # what the worker is doing, in words
    download_progress = Signal(str, int, int, int, int)  # file, bytes done, bytes total, file index, files
    ready = Signal(str)  # the device the model runs on
    results_arrived = Signal(list)  # list[CaptionResult]
    progress_changed = Signal(object)  # JobProgress
    image_failed = Signal(str, str)  # path, why
    warning_raised = Signal(str)
    job_finished = Signal(object)  # JobOutcome

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _DriverThread | None = None
        self._driver: WorkerDriver | None = None
        self._ready_at = 0.0
        self.last_progress = JobProgress()
        self.device = ""

    # --- control ------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._thread is not None

    @property
    def worker_pid(self) -> int | None:
        return self._driver.pid if self._driver else None

    def start(self, job: CaptionJob, *, backend_settings=None, command: list[str] | None = None) -> None:
        """Validate ``job`` and start its worker. Raises LoraStudioError for a bad job or runtime."""
        if self.is_running():
            raise LoraStudioError("A captioning job is already running.", "Wait for it to finish or cancel it.")
        job = job.validate()
        # Below normal priority: the window stays responsive while the worker keeps every core busy.
        driver = WorkerDriver(job, backend_settings=backend_settings, command=command, lower_priority=True)
        thread = _DriverThread(driver, self)
        thread.message.connect(self._on_message)
        thread.results.connect(self.results_arrived)
        thread.outcome.connect(self._on_outcome)
        self._driver, self._thread = driver, thread
        self._ready_at = 0.0
        self.device = ""
        self.last_progress = JobProgress(total=len(job.images))
        self.progress_changed.emit(self.last_progress)
        self.status_changed.emit("Starting the captioning worker…")
        thread.start()
        self.running_changed.emit(True)

    def cancel(self) -> None:
        if self._driver is not None:
            self.status_changed.emit("Cancelling after the current batch…")
            self._driver.cancel()

    def shutdown(self, timeout_ms: int = 15000) -> None:
        """Cancel and wait for the worker (application exit); kills it if it does not stop in time."""
        thread, driver = self._thread, self._driver
        if thread is None or driver is None:
            return
        driver.cancel()
        if not thread.wait(timeout_ms):
            driver.kill()
            thread.wait()

    # --- reports ------------------------------------------------------------------------
    def _on_message(self, message: P.Message) -> None:
        kind = message.type
        if kind == P.STATUS:
            self.status_changed.emit(str(message.get("message", "")))
        elif kind == P.DOWNLOAD:
            name = str(message.get("file", ""))
            done, total = int(message.get("done", 0)), int(message.get("total", 0))
            self.download_progress.emit(name, done, total, int(message.get("file_index", 0)),
                                        int(message.get("files", 1)))
            size = f"{done / 1e6:.0f} of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
            self.status_changed.emit(f"Downloading {name}: {size}")
        elif kind == P.READY:
            self._ready_at = time.monotonic()
            self.device = str(message.get("device", ""))
            self.ready.emit(self.device)
            self.status_changed.emit(f"Captioning on {self.device}")
        elif kind == P.PROGRESS:
            elapsed = time.monotonic() - self._ready_at if self._ready_at else 0.0
            self.last_progress = estimate(int(message.get("done", 0)), int(message.get("failed", 0)),
                                          int(message.get("total", 0)), elapsed)
            self.progress_changed.emit(self.last_progress)
        elif kind == P.IMAGE_FAILED:
            self.image_failed.emit(str(message.get("path", "")), str(message.get("message", "")))
        elif kind == P.WARNING:
            self.warning_raised.emit(str(message.get("message", "")))

    def _on_outcome(self, outcome: JobOutcome) -> None:
        thread = self._thread
        self._thread, self._driver = None, None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        self.running_changed.emit(False)
        self.job_finished.emit(outcome)
