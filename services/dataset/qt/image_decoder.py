"""Full-resolution decoding for the preview, on a private one-thread pool.

Only the newest request matters: each ``load`` bumps a generation and a result of an older one is
dropped on arrival (the decode itself cannot be interrupted, but a second one never queues
behind it: at most one waits).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from services.dataset.thumbnails import ThumbnailError, decode_full


def pil_to_qimage(image) -> QImage:
    if image.mode == "RGBA":
        data = image.tobytes("raw", "RGBA")
        return QImage(data, image.width, image.height, image.width * 4, QImage.Format.Format_RGBA8888).copy()
    data = image.tobytes("raw", "BGRX")
    return QImage(data, image.width, image.height, image.width * 4, QImage.Format.Format_RGB32).copy()


class ImageDecoder(QObject):
    # key, QImage (null on failure), error text
    decoded = Signal(str, QImage, str)
    _done = Signal(int, str, QImage, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setObjectName("preview-decoder")
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._generation = 0
        self._next: tuple[int, str, str, int] | None = None
        self._running = False
        self._closing = False
        self._done.connect(self._finished)

    def load(self, key: str, path: str, orientation: int = 1) -> None:
        if self._closing:
            return
        with self._lock:
            self._generation += 1
            self._next = (self._generation, key, path, orientation)
            start = not self._running
            self._running = True
        if start:
            self._pool.start(self._work)

    def cancel(self) -> None:
        with self._lock:
            self._generation += 1
            self._next = None

    def _work(self) -> None:
        while True:
            with self._lock:
                job, self._next = self._next, None
                if job is None or self._closing:
                    self._running = False
                    return
            generation, key, path, orientation = job
            try:
                image, error = pil_to_qimage(decode_full(path, orientation)), ""
            except ThumbnailError as exc:
                image, error = QImage(), str(exc)
            except Exception as exc:  # nothing may escape a worker thread
                image, error = QImage(), f"{type(exc).__name__}: {exc}"
            self._done.emit(generation, key, image, error)

    def _finished(self, generation: int, key: str, image: QImage, error: str) -> None:
        if generation == self._generation:
            self.decoded.emit(key, image, error)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        self._closing = True
        self.cancel()
        return self._pool.waitForDone(timeout_ms)
