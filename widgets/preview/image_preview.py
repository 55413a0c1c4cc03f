"""The central image preview: the current image at full resolution, fit or 100%, zoom and pan.

The image is decoded off the GUI thread (services.dataset.qt.image_decoder); until it arrives the
previous picture is cleared so nothing stale is shown. Until an image is chosen it explains how to
get one.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPalette, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.dataset.qt.image_decoder import ImageDecoder
from widgets.empty_state import EmptyState

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("bytes", "KB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


class ImageCanvas(QGraphicsView):
    """Zoomable, pannable view of one image."""

    zoom_changed = Signal(float, bool)  # zoom factor, fit mode

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview-canvas")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform | QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.fit_mode = True

    def set_image(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            self._item.setPixmap(QPixmap())
            self._scene.setSceneRect(QRectF())
            return
        self._item.setPixmap(QPixmap.fromImage(image))  # QPixmap: GUI thread only, as here
        self._scene.setSceneRect(QRectF(self._item.pixmap().rect()))
        if self.fit_mode:
            self.fit()
        else:
            self.zoom_changed.emit(self.zoom(), False)

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self.fit_mode = True
        if self.has_image():
            rect = self._scene.sceneRect()
            view = self.viewport().rect().adjusted(4, 4, -4, -4)
            scale = min(view.width() / rect.width(), view.height() / rect.height()) if rect.width() else 1.0
            scale = min(scale, 1.0)  # fit never enlarges small images past 100%
            self.resetTransform()
            self.scale(scale, scale)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom(), True)

    def actual_size(self) -> None:
        self.fit_mode = False
        self.resetTransform()
        self.zoom_changed.emit(1.0, False)

    def zoom_by(self, factor: float) -> None:
        current = self.zoom()
        target = max(MIN_ZOOM, min(MAX_ZOOM, current * factor))
        self.fit_mode = False
        self.scale(target / current, target / current)
        self.zoom_changed.emit(self.zoom(), False)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps and self.has_image():
            self.zoom_by(1.25 ** steps)
            event.accept()
            return
        super().wheelEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.fit_mode:
            self.actual_size()
        else:
            self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()


class ImagePreview(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("image-preview")
        self.session = session
        self.key: str | None = None
        self.decoder = ImageDecoder(self)
        self.decoder.decoded.connect(self._decoded)
        # Browsing with the arrow keys: the previous picture stays until the next one is decoded
        # (usually a few ms); only a slow decode clears it and says "Loading…".
        self._loading_timer = QTimer(self)
        self._loading_timer.setSingleShot(True)
        self._loading_timer.setInterval(150)
        self._loading_timer.timeout.connect(self._show_loading)
        self._stack = QStackedLayout(self)
        self.empty = EmptyState(
            "No image selected",
            "Open a dataset folder (File > Open folder, or drop a folder on the window), "
            "or try the demo dataset from the Help menu.")
        self._stack.addWidget(self.empty)

        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        self.info = QLabel(page)
        self.info.setObjectName("preview-info")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.info, 1)
        self.zoom_label = QLabel(page)
        self.zoom_label.setProperty("role", "muted")
        bar.addWidget(self.zoom_label)
        self.canvas = ImageCanvas(page)
        self.canvas.zoom_changed.connect(self._zoom_changed)
        for text, tip, slot in (("Fit", "Fit the image in the window (F)", self.canvas.fit),
                                ("100%", "Actual pixels (1)", self.canvas.actual_size),
                                ("−", "Zoom out (-)", lambda: self.canvas.zoom_by(1 / 1.25)),
                                ("+", "Zoom in (+)", lambda: self.canvas.zoom_by(1.25))):
            button = QToolButton(page)
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            bar.addWidget(button)
        layout.addLayout(bar)
        self.message = QLabel(page)
        self.message.setObjectName("preview-message")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.hide()
        layout.addWidget(self.message)
        layout.addWidget(self.canvas, 1)
        self._stack.addWidget(page)
        self.page = page
        for keys, slot in (("F", self.canvas.fit), ("1", self.canvas.actual_size),
                           ("+", lambda: self.canvas.zoom_by(1.25)), ("=", lambda: self.canvas.zoom_by(1.25)),
                           ("-", lambda: self.canvas.zoom_by(1 / 1.25))):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._update_background()

        session.current_image_changed.connect(self.show_key)
        session.workspace_changed.connect(self._workspace_changed)
        app = QCoreApplication.instance()
        if app is not None:  # the window shuts docks down on close; the central widget needs this
            app.aboutToQuit.connect(self.shutdown)

    def _update_background(self) -> None:
        base = self.palette().color(QPalette.ColorRole.Window)
        self.canvas.setBackgroundBrush(QColor(base).darker(112) if base.lightness() > 128 else QColor(base).darker(130))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (event.Type.PaletteChange, event.Type.StyleChange):
            self._update_background()

    def _workspace_changed(self, workspace) -> None:
        if workspace is None or (self.key is not None and self.key not in workspace):
            self.show_key(None)

    def show_key(self, key: str | None) -> None:
        self.key = key
        ws = self.session.workspace
        item = ws.get(key) if (ws is not None and key is not None) else None
        if item is None:
            self.decoder.cancel()
            self._loading_timer.stop()
            self.canvas.set_image(None)
            self._stack.setCurrentWidget(self.empty)
            return
        self._stack.setCurrentWidget(self.page)
        parts = [f"<b>{_escape(item.name)}</b>"]
        if item.width:
            parts.append(f"{item.width}×{item.height}")
        if item.format:
            parts.append(item.format)
        parts.append(human_size(item.file_size))
        if item.orientation != 1:
            parts.append(f"EXIF orientation {item.orientation} (shown upright)")
        self.info.setText(" · ".join(parts))
        self.info.setToolTip(item.key)
        if not item.readable:
            self._loading_timer.stop()
            self.canvas.set_image(None)
            self._show_message(f"This file cannot be shown: it {item.error or 'is not a readable image'}.")
            self.decoder.cancel()
            return
        self._loading_timer.start()
        self.decoder.load(key, item.key, item.orientation)

    def _show_loading(self) -> None:
        self.canvas.set_image(None)
        self._show_message("Loading…", error=False)

    def _decoded(self, key: str, image: QImage, error: str) -> None:
        if key != self.key:
            return
        self._loading_timer.stop()
        if error or image.isNull():
            self.canvas.set_image(None)
            self._show_message(f"This image cannot be shown: {error or 'it did not decode'}.")
            return
        self.message.hide()
        self.canvas.set_image(image)

    def _show_message(self, text: str, *, error: bool = True) -> None:
        self.message.setText(text)
        self.message.setProperty("role", "error" if error else "muted")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.show()

    def _zoom_changed(self, zoom: float, fit: bool) -> None:
        self.zoom_label.setText(f"{'Fit · ' if fit else ''}{zoom * 100:.0f}%")

    def shutdown(self) -> None:
        self.decoder.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def _escape(text: str) -> str:
    from html import escape

    return escape(text)

