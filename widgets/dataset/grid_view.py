"""The thumbnail grid: a QListView in icon mode that asks for thumbnails of what is on screen.

After any scroll, resize, size change or model change it works out (once per event-loop turn)
which rows are visible, and hands the thumbnail loader those rows first, then a screen ahead and
half a screen behind. Everything else is dropped from the loader's queue.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView

from services.dataset.qt.list_model import DatasetListModel
from services.dataset.thumbnails import ThumbnailJob
from services.dataset.workspace import Problem
from widgets.dataset.grid_delegate import GridDelegate
from widgets.dataset.sizes import BOX_STEP, clamp_box

PREFETCH_SCREENS = 2


class GridView(QListView):
    box_changed = Signal(int)
    visible_rows_changed = Signal(int, int)  # first, last (inclusive), -1 when empty

    def __init__(self, parent=None, box: int = 160) -> None:
        super().__init__(parent)
        self.setObjectName("dataset-grid")
        self._box = clamp_box(box)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        # Layout in batches between event-loop turns: 10,000 or 100,000 rows never stall the GUI.
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(1000)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setSpacing(2)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.delegate = GridDelegate(self, self._box)
        self.setItemDelegate(self.delegate)
        self._request_timer = QTimer(self)
        self._request_timer.setSingleShot(True)
        self._request_timer.setInterval(0)
        self._request_timer.timeout.connect(self.update_requests)
        self.verticalScrollBar().valueChanged.connect(self.schedule_requests)
        self.verticalScrollBar().setSingleStep(max(16, self._box // 4))
        self._geometry_key: tuple | None = None
        self._geometry_value = (0, 1, 0, 0)
        self.loader = None
        self.prefetch = True  # off while a scan still reads: its thread needs the CPU more

    # --- thumbnails -------------------------------------------------------------------------
    def set_loader(self, loader) -> None:
        self.loader = loader
        loader.thumbnails_ready.connect(self._thumbnails_ready)

    def setModel(self, model) -> None:
        super().setModel(model)
        model.modelReset.connect(self.schedule_requests)
        model.rowsInserted.connect(self.schedule_requests)
        model.rowsRemoved.connect(self.schedule_requests)
        model.layoutChanged.connect(self.schedule_requests)

    def schedule_requests(self, *_args) -> None:
        if not self._request_timer.isActive():
            self._request_timer.start()

    def columns(self) -> int:
        """Cells per grid row (uniform sizes: every row but the last is full)."""
        return self._geometry()[1]

    def _geometry(self) -> tuple[int, int, int, int]:
        """(top of the first cell, columns, row step, cell height), from Qt's own layout. Cached: it
        only changes with the width, the cell size, the number of rows or the font, and asking the
        view for cell rectangles after every batch of thumbnails was a tenth of the GUI thread's time
        while scrolling."""
        model = self.model()
        n = model.rowCount() if model is not None else 0
        key = (self.viewport().width(), self._box, n, self.spacing(), self.font().key())
        if self._geometry_key == key:
            return self._geometry_value
        if n == 0:
            value = (0, 1, 0, 0)
        else:
            first_rect = self.rectForIndex(model.index(0, 0))
            top, cols = first_rect.top(), 1
            while cols < min(n, 512) and self.rectForIndex(model.index(cols, 0)).top() == top:
                cols += 1
            step = self.rectForIndex(model.index(cols, 0)).top() - top if n > cols else 0
            value = (top, cols, step, first_rect.height())
        if value[3] > 0 or n == 0:  # not laid out yet: ask again next time
            self._geometry_key, self._geometry_value = key, value
        return value

    def visible_rows(self) -> tuple[int, int]:
        """First and last model rows (inclusive) with any part on screen; (-1, -1) when empty.

        Worked out from the uniform grid geometry, so the gaps between cells (where indexAt finds
        nothing) never make it guess."""
        model = self.model()
        n = model.rowCount() if model is not None else 0
        if n == 0:
            return -1, -1
        top, cols, step, cell_h = self._geometry()
        if step <= 0:
            return 0, n - 1
        offset = self.verticalOffset()
        height = self.viewport().height()
        first_line = max(0, (offset - top) // step)
        if (first_line * step + top + cell_h) <= offset:
            first_line += 1  # only the spacing of that line is on screen
        last_line = max(first_line, (offset + height - 1 - top) // step)
        first = min(n - 1, first_line * cols)
        last = min(n - 1, (last_line + 1) * cols - 1)
        return first, last

    def update_requests(self) -> None:
        model: DatasetListModel = self.model()
        if self.loader is None or model is None:
            return
        first, last = self.visible_rows()
        self.visible_rows_changed.emit(first, last)
        if first < 0:
            self.loader.request([])
            return
        count = last - first + 1
        n = model.rowCount()
        # "About to be visible": two screens ahead (scrolling on keeps the workers busy) and half a
        # screen behind. Everything else is dropped from the queue.
        screens = PREFETCH_SCREENS if self.prefetch else 0
        ahead = range(last + 1, min(n, last + 1 + screens * count))
        behind = range(first - 1, max(-1, first - 1 - (count // 2 if self.prefetch else 0)), -1)
        jobs = []
        for row in (*range(first, last + 1), *ahead, *behind):
            item = model.item_at(row)
            if item is None or item.problems & Problem.UNREADABLE:
                continue
            jobs.append(ThumbnailJob(item.key, item.key, item.file_size, item.mtime_ns, item.orientation))
        self.loader.request(jobs)

    def _thumbnails_ready(self, keys: list[str]) -> None:
        model: DatasetListModel = self.model()
        if model is None:
            return
        # Repaint only what is on screen; the rest paints from the cache when scrolled to.
        first, last = self.visible_rows()
        rows = [r for r in (model.row_of(k) for k in keys) if first <= r <= last]
        for row in rows:
            self.update(model.index(row, 0))

    # --- size ---------------------------------------------------------------------------------
    @property
    def box(self) -> int:
        return self._box

    def set_box(self, box: int) -> None:
        box = clamp_box(box)
        if box == self._box:
            return
        current = self.currentIndex()
        self._box = box
        self.delegate.set_box(box)
        if self.loader is not None:
            self.loader.set_box(box)
        self.verticalScrollBar().setSingleStep(max(16, box // 4))
        # Uniform sizes are cached by the view: a relayout picks up the new cell size.
        self.scheduleDelayedItemsLayout()
        self.doItemsLayout()
        if current.isValid():
            self.scrollTo(current, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.schedule_requests()
        self.box_changed.emit(box)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_box(self._box + round(steps) * BOX_STEP)
            event.accept()
            return
        super().wheelEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.schedule_requests()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.schedule_requests()

    # --- selection helpers --------------------------------------------------------------------
    def select_keys(self, keys: list[str], *, scroll: bool = True) -> None:
        """Select exactly these keys (those shown), make the first current and show it."""
        model: DatasetListModel = self.model()
        rows = sorted(r for r in (model.row_of(k) for k in keys) if r >= 0)
        selection = QItemSelection()
        start = prev = None
        for row in [*rows, None]:
            if row is not None and prev is not None and row == prev + 1:
                prev = row
                continue
            if start is not None:
                selection.select(model.index(start, 0), model.index(prev, 0))
            start = prev = row
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
        self.selectionModel().select(selection, flags)
        if rows:
            first = model.index(rows[0], 0)
            self.selectionModel().setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
            if scroll:
                self.scrollTo(first, QAbstractItemView.ScrollHint.PositionAtCenter)
