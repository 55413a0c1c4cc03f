"""The GPU monitor's sampling thread: opens the providers, then reads everything once per interval.

Everything slow (NVML's start, sysfs reads, psutil) happens on this thread; the GUI receives
``opened(HardwareSnapshot)`` once and ``sampled(Sample)`` per tick through queued signals. While
paused (the dock is hidden) the thread sleeps on a condition and costs nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

from services.hardware.monitor import HardwareMonitor
from services.hardware.qt.lifetime import stop_at_exit

log = logging.getLogger(__name__)


class HardwareSampler(QThread):
    opened = Signal(object)  # HardwareSnapshot
    sampled = Signal(object)  # Sample
    failed = Signal(str)  # the monitor itself could not start (a bug: providers never raise)

    def __init__(self, monitor_factory: Callable[[], HardwareMonitor] = HardwareMonitor,
                 interval_s: float = 1.0, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("hardware-sampler")
        self._factory = monitor_factory
        self._interval = max(0.05, float(interval_s))
        self._condition = threading.Condition()
        self._paused = False
        self._stopping = False
        self._watched_pid = 0
        self.samples_taken = 0
        stop_at_exit(self)

    # --- control (GUI thread) ----------------------------------------------------------------
    @property
    def interval_s(self) -> float:
        return self._interval

    def set_interval(self, seconds: float) -> None:
        with self._condition:
            self._interval = max(0.05, float(seconds))
            self._condition.notify_all()

    def set_watched_pid(self, pid: int) -> None:
        """The training run's process (0: none); read at the next tick."""
        self._watched_pid = max(0, int(pid or 0))

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._condition:
            self._paused = True

    def resume(self) -> None:
        with self._condition:
            if self._paused:
                self._paused = False
                self._condition.notify_all()  # sample at once, not after a full interval

    def stop(self, timeout_ms: int = 5000) -> None:
        """Ask the thread to end and wait for it (at most one reading, a few milliseconds)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        try:
            running = self.isRunning()
        except RuntimeError:  # the C++ thread object is already gone (interpreter shutdown)
            return
        if running and not self.wait(timeout_ms):
            log.warning("the hardware sampling thread did not stop within %d ms", timeout_ms)

    # --- the thread ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            monitor = self._factory()
            snapshot = monitor.open()
        except Exception as exc:
            log.exception("hardware monitor failed to start")
            self.failed.emit(f"The hardware monitor could not start: {exc}")
            return
        self.opened.emit(snapshot)
        try:
            while True:
                with self._condition:
                    while self._paused and not self._stopping:
                        self._condition.wait()
                    if self._stopping:
                        break
                started = time.monotonic()
                sample = monitor.sample(self._watched_pid)
                self.samples_taken += 1
                self.sampled.emit(sample)
                with self._condition:
                    if self._stopping:
                        break
                    remaining = self._interval - (time.monotonic() - started)
                    if remaining > 0 and not self._paused:
                        self._condition.wait(remaining)
        finally:
            monitor.close()
