"""The thumbnail grid: a QListView in icon mode that asks for thumbnails of what is on screen.

After any scroll, resize, size change or model change it works out (once per event-loop turn)
which rows are visible, and hands the thumbnail loader those rows first, then a screen ahead and
half a screen behind. Everything else is dropped from the loader's queue.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView

from services.dataset.qt.list_model import DatasetListModel
from services.dataset.thumbnails import ThumbnailJob
from services.dataset.workspace import Problem
from widgets.dataset.grid_delegate import GridDelegate

MIN_BOX, MAX_BOX, BOX_STEP = 64, 384, 16


def clamp_box(box: int) -> int:
    box = max(MIN_BOX, min(MAX_BOX, int(box)))
    return box - box % BOX_STEP


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
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
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
        self.loader = None

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

    def visible_rows(self) -> tuple[int, int]:
        model = self.model()
        if model is None or model.rowCount() == 0:
            return -1, -1
        viewport = self.viewport().rect()
        first = self.indexAt(QPoint(2, 2))
        if not first.isValid():  # the top-left corner falls in the spacing between cells
            first = self.indexAt(QPoint(self.delegate.box // 2, self.delegate.box // 2))
        first_row = first.row() if first.isValid() else 0
        last_row = -1
        for point in (viewport.bottomRight() - QPoint(2, 2), QPoint(2, viewport.bottom() - 2),
                      QPoint(viewport.center().x(), viewport.bottom() - 2)):
            idx = self.indexAt(point)
            if idx.isValid():
                last_row = max(last_row, idx.row())
        if last_row < 0:
            # the bottom of the viewport is past the last row, or between rows: estimate from the layout
            per_row = max(1, viewport.width() // max(1, self._cell().width()))
            rows_visible = viewport.height() // max(1, self._cell().height()) + 2
            last_row = min(model.rowCount() - 1, first_row + per_row * rows_visible)
        return first_row, max(first_row, last_row)

    def _cell(self) -> QSize:
        size = self.delegate.sizeHint(self._option(), self.model().index(0, 0))
        return size + QSize(2 * self.spacing(), 2 * self.spacing())

    def _option(self):
        from PySide6.QtWidgets import QStyleOptionViewItem

        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        return option

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
        ahead = range(last + 1, min(n, last + 1 + count))
        behind = range(first - 1, max(-1, first - 1 - count // 2), -1)
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
