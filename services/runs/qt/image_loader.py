"""Decoding sample images off the GUI thread: QImage (never QPixmap) made in a pool task,
delivered through a queued signal; the widget turns it into a pixmap."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader


class _Signals(QObject):
    loaded = Signal(str, QImage)
    failed = Signal(str, str)


class _Load(QRunnable):
    def __init__(self, path: str, size: int, signals: _Signals) -> None:
        super().__init__()
        self.path, self.size, self.signals = path, size, signals

    def run(self) -> None:
        reader = QImageReader(self.path)
        reader.setAutoTransform(True)
        original = reader.size()
        if original.isValid() and max(original.width(), original.height()) > self.size:
            reader.setScaledSize(original.scaled(QSize(self.size, self.size), Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if image.isNull():
            self.signals.failed.emit(self.path, reader.errorString())
        else:
            self.signals.loaded.emit(self.path, image)


class ImageLoader(QObject):
    loaded = Signal(str, QImage)
    failed = Signal(str, str)

    def __init__(self, size: int = 256, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size
        self._signals = _Signals(self)
        self._signals.loaded.connect(self.loaded)
        self._signals.failed.connect(self.failed)
        self._pool = QThreadPool.globalInstance()

    def load(self, path: str) -> None:
        self._pool.start(_Load(path, self.size, self._signals))
