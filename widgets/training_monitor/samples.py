"""The sample images the engine writes while training, grouped by step, with their prompts.

Left: the steps that have samples, newest first (the newest is followed until the user picks an
older one). Right: that step's images, one per prompt, decoded off the GUI thread. Double-click
opens an image in the system viewer.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QStackedLayout, QWidget

from services.runs.monitor_state import MonitorState
from services.runs.qt.image_loader import ImageLoader

THUMB = 192
CACHE = 240
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole + 2


def step_label(key: int, count: int) -> str:
    what = f"Step {key}" if key >= 0 else f"Epoch {-key}"
    return f"{what} · {count} image{'s' if count != 1 else ''}"


class SampleGallery(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sample-gallery")
        self._samples: dict[int, list] = {}
        self._follow = True
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._requested: set[str] = set()
        self.loader = ImageLoader(THUMB, self)
        self.loader.loaded.connect(self._loaded)
        self.loader.failed.connect(self._failed)

        outer = QStackedLayout(self)
        self.caption = QLabel("Sample images appear here, grouped by step, as the engine writes them.\n"
                              "Give the project sample prompts and sample_every_n_steps (or _epochs).")
        self.caption.setObjectName("samples-empty")
        self.caption.setProperty("role", "muted")
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.caption)
        gallery = QWidget()
        outer.addWidget(gallery)
        self._stack = outer
        layout = QHBoxLayout(gallery)
        layout.setContentsMargins(0, 0, 0, 0)
        self.steps = QListWidget()
        self.steps.setObjectName("sample-steps")
        self.steps.setMaximumWidth(170)
        self.steps.currentItemChanged.connect(self._step_chosen)
        self.images = QListWidget()
        self.images.setObjectName("sample-images")
        self.images.setViewMode(QListView.ViewMode.IconMode)
        self.images.setIconSize(QSize(THUMB, THUMB))
        self.images.setGridSize(QSize(THUMB + 24, THUMB + 48))
        self.images.setResizeMode(QListView.ResizeMode.Adjust)
        self.images.setMovement(QListView.Movement.Static)
        self.images.setWordWrap(True)
        self.images.setUniformItemSizes(True)
        self.images.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.images.itemActivated.connect(self._open)
        layout.addWidget(self.steps)
        layout.addWidget(self.images, 1)
        self._placeholder = QPixmap(THUMB, THUMB)
        self._placeholder.fill(QColor(128, 128, 128, 60))

    @property
    def image_count(self) -> int:
        return sum(len(v) for v in self._samples.values())

    def clear(self) -> None:
        self._samples = {}
        self._follow = True
        self.steps.clear()
        self.images.clear()
        self._stack.setCurrentIndex(0)

    def update_from(self, state: MonitorState) -> None:
        self._samples = {k: list(v) for k, v in state.samples.items()}
        keys = state.sample_steps()
        current = self.steps.currentItem()
        chosen = current.data(KEY_ROLE) if current is not None and not self._follow else None
        self.steps.blockSignals(True)
        self.steps.clear()
        for key in keys:
            item = QListWidgetItem(step_label(key, len(self._samples[key])))
            item.setData(KEY_ROLE, key)
            self.steps.addItem(item)
        self.steps.blockSignals(False)
        target = chosen if chosen in self._samples else (keys[0] if keys else None)
        if target is not None:
            self.steps.setCurrentRow(keys.index(target))
            self._show(target)
        self._stack.setCurrentIndex(1 if keys else 0)

    def _step_chosen(self, current: QListWidgetItem | None, _previous) -> None:
        if current is None:
            return
        key = current.data(KEY_ROLE)
        self._follow = self.steps.row(current) == 0
        self._show(key)

    def _show(self, key: int) -> None:
        self.images.clear()
        for sample in self._samples.get(key, []):
            prompt = sample.prompt or f"prompt {sample.index + 1}"
            item = QListWidgetItem(prompt)
            item.setData(PATH_ROLE, sample.path)
            item.setToolTip(f"{prompt}\n{sample.path}")
            pixmap = self._pixmaps.get(sample.path)
            item.setIcon(QIcon(pixmap if pixmap is not None else self._placeholder))
            self.images.addItem(item)
            if pixmap is None and sample.path not in self._requested:
                self._requested.add(sample.path)
                self.loader.load(sample.path)

    def _loaded(self, path: str, image: QImage) -> None:
        self._requested.discard(path)
        pixmap = QPixmap.fromImage(image)
        self._pixmaps[path] = pixmap
        while len(self._pixmaps) > CACHE:
            self._pixmaps.popitem(last=False)
        for row in range(self.images.count()):
            item = self.images.item(row)
            if item.data(PATH_ROLE) == path:
                item.setIcon(QIcon(pixmap))

    def _failed(self, path: str, message: str) -> None:
        self._requested.discard(path)
        for row in range(self.images.count()):
            item = self.images.item(row)
            if item.data(PATH_ROLE) == path:
                item.setToolTip(f"{item.toolTip()}\nCould not be read: {message}")

    def _open(self, item: QListWidgetItem) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(item.data(PATH_ROLE)))
