"""Tags as chips: a wrapping list view, drag to reorder, F2 to rename, Del to remove.

In multi-selection a chip shows how many of the selected images carry the tag; a tag only some of
them carry is drawn with a dashed outline. The first tag of each 75-token chunk after the first
carries a marker with the token position where sd-scripts starts the chunk; tags beyond the max
token length are struck through (sd-scripts cuts them).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from services.captions.qt.tag_models import CHUNK_ROLE, COUNT_ROLE, CUT_ROLE, NEW_CHUNK_ROLE, TOTAL_ROLE

PAD_X, PAD_Y, RADIUS, MARKER_W = 8, 3, 9, 30


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(int(a.red() + (b.red() - a.red()) * t), int(a.green() + (b.green() - a.green()) * t),
                  int(a.blue() + (b.blue() - a.blue()) * t))


class ChipDelegate(QStyledItemDelegate):
    def _badge(self, index) -> str:
        total = index.data(TOTAL_ROLE) or 0
        return f"{index.data(COUNT_ROLE)}/{total}" if total > 1 else ""

    def sizeHint(self, option, index) -> QSize:
        fm = QFontMetrics(option.font)
        text = index.data(Qt.ItemDataRole.DisplayRole) or "(empty)"
        # The outline takes a pixel on each side, and elision must never kick in for a fitting name.
        width = fm.horizontalAdvance(text) + 2 * PAD_X + 6
        badge = self._badge(index)
        if badge:
            small = QFontMetrics(self._small_font(option.font))
            width += small.horizontalAdvance(badge) + 10
        if index.data(NEW_CHUNK_ROLE):
            width += MARKER_W
        return QSize(min(width, 420), fm.height() + 2 * PAD_Y + 4)

    @staticmethod
    def _small_font(font):
        small = type(font)(font)
        small.setPointSizeF(max(6.5, font.pointSizeF() * 0.82))
        return small

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal: QPalette = option.palette
        rect = QRect(option.rect).adjusted(1, 1, -1, -1)
        if index.data(NEW_CHUNK_ROLE):
            marker = QRect(rect.left(), rect.top(), MARKER_W - 4, rect.height())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(QRectF(marker), 3, 3)
            painter.setPen(pal.color(QPalette.ColorRole.HighlightedText))
            painter.setFont(self._small_font(option.font))
            # The token position where sd-scripts starts this chunk.
            painter.drawText(marker, Qt.AlignmentFlag.AlignCenter, str(75 * max(1, index.data(CHUNK_ROLE) or 1)))
            rect.setLeft(rect.left() + MARKER_W)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        total = index.data(TOTAL_ROLE) or 0
        partial = total > 1 and (index.data(COUNT_ROLE) or 0) < total
        cut = bool(index.data(CUT_ROLE))
        base = pal.color(QPalette.ColorRole.Base)
        accent = pal.color(QPalette.ColorRole.Highlight)
        text_colour = pal.color(QPalette.ColorRole.Text)
        if selected:
            fill, border, text_colour = accent, accent, pal.color(QPalette.ColorRole.HighlightedText)
        else:
            fill = _mix(base, accent, 0.10 if partial else 0.22)
            border = _mix(base, accent, 0.55)
        pen = QPen(border, 1.2)
        if partial:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(rect), RADIUS, RADIUS)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(accent, 1.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(rect.adjusted(-1, -1, 1, 1)), RADIUS + 1, RADIUS + 1)
        inner = rect.adjusted(PAD_X, 0, -PAD_X, 0)
        badge = self._badge(index)
        if badge:
            small = self._small_font(option.font)
            painter.setFont(small)
            badge_w = QFontMetrics(small).horizontalAdvance(badge)
            painter.setPen(_mix(text_colour, fill, 0.35))
            painter.drawText(QRect(inner.right() - badge_w, inner.top(), badge_w, inner.height()),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, badge)
            inner.setRight(inner.right() - badge_w - 8)
        font = option.font
        name = index.data(Qt.ItemDataRole.DisplayRole)
        if not name:
            font = type(font)(font)
            font.setItalic(True)
        if cut:
            font = type(font)(font)
            font.setStrikeOut(True)
        painter.setFont(font)
        painter.setPen(_mix(text_colour, fill, 0.45) if (partial or cut or not name) else text_colour)
        shown = QFontMetrics(font).elidedText(name or "(empty)", Qt.TextElideMode.ElideRight, inner.width())
        painter.drawText(inner, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, shown)
        painter.restore()

    def updateEditorGeometry(self, editor, option, index) -> None:
        rect = QRect(option.rect)
        rect.setWidth(max(rect.width(), 160))
        editor.setGeometry(rect)


class TagChipView(QListView):
    """The chips. Emits requests; the editor turns them into undoable edits."""

    remove_requested = Signal(list)  # rows

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-tag-chips")
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSpacing(3)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.DoubleClicked)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(False)
        self.setDropIndicatorShown(True)
        self.setItemDelegate(ChipDelegate(self))
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setAccessibleName("Tags of the caption")

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.selectionModel().selectedIndexes()})

    def keyPressEvent(self, event) -> None:
        if self.state() != QAbstractItemView.State.EditingState and (
                event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace):
            rows = self.selected_rows() or ([self.currentIndex().row()] if self.currentIndex().isValid() else [])
            if rows:
                self.remove_requested.emit(rows)
                event.accept()
                return
        super().keyPressEvent(event)
