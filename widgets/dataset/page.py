"""The Dataset dock's main page: filter bar, notices, subsets, the grid, counts and size slider.

Built only when the first folder is opened (the dock starts with its empty state), so that
creating the window stays cheap: these widgets touch many Qt enums whose first use costs time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from services.dataset.workspace import Workspace
from widgets.dataset.filter_bar import FilterBar
from widgets.dataset.grid_view import GridView
from widgets.dataset.sizes import BOX_STEP, MAX_BOX, MIN_BOX
from widgets.dataset.subset_panel import SubsetPanel


class DatasetPage(QWidget):
    def __init__(self, model, loader, box: int, sort: str, descending: bool, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.filter_bar = FilterBar(self, sort, descending)
        layout.addWidget(self.filter_bar)
        self.notice = QLabel(self)
        self.notice.setObjectName("dataset-notice")
        self.notice.setProperty("role", "warning")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        layout.addWidget(self.notice)
        self.subsets = SubsetPanel(self)
        layout.addWidget(self.subsets)
        self.grid = GridView(self, box)
        self.grid.setModel(model)
        self.grid.set_loader(loader)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.trash_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.grid)
        self.trash_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        layout.addWidget(self.grid, 1)
        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        self.counts = QLabel(self)
        self.counts.setObjectName("dataset-counts")
        self.counts.setProperty("role", "muted")
        bottom.addWidget(self.counts, 1)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("dataset-thumb-size")
        self.slider.setRange(MIN_BOX // BOX_STEP, MAX_BOX // BOX_STEP)
        self.slider.setValue(box // BOX_STEP)
        self.slider.setFixedWidth(110)
        self.slider.setToolTip("Thumbnail size (Ctrl+wheel over the grid)")
        self.slider.valueChanged.connect(lambda v: self.grid.set_box(v * BOX_STEP))
        self.grid.box_changed.connect(self._sync_slider)
        bottom.addWidget(self.slider)
        layout.addLayout(bottom)

    def _sync_slider(self, box: int) -> None:
        if self.slider.value() != box // BOX_STEP:
            self.slider.blockSignals(True)
            self.slider.setValue(box // BOX_STEP)
            self.slider.blockSignals(False)

    def show_counts(self, ws: Workspace | None, shown: int) -> None:
        if ws is None:
            self.counts.setText("")
            return
        totals = ws.totals()
        text = f"{shown:,} of {totals.images:,} shown" if shown != totals.images else f"{totals.images:,} images"
        text += f" · {totals.subsets} folders · images × repeats {totals.weighted:,}"
        if totals.reg_images:
            text += f" · reg {totals.reg_images:,}"
        problems = sum(1 for it in ws if int(it.problems))
        if problems:
            text += f" · {problems:,} with problems"
        self.counts.setText(text)

    def show_messages(self, ws: Workspace | None) -> None:
        if ws is None or not ws.messages:
            self.notice.hide()
            return
        messages = ws.messages
        head = f"{len(messages)} folder{'s' if len(messages) != 1 else ''} could not be read fully:"
        detail = "\n".join(f"{m.path}: {m.message}" for m in messages[:50])
        self.notice.setText(f"{head} {messages[0].path} — {messages[0].message}"
                            + (f" (and {len(messages) - 1} more; hover for all)" if len(messages) > 1 else ""))
        self.notice.setToolTip(detail)
        self.notice.show()
