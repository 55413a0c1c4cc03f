"""Painting one grid cell: the thumbnail, problem badges, the file name and a caption snippet.

Every cell has the same size (the view uses uniform item sizes, so layout of 10,000 rows costs
nothing); painting reads only what the model already holds.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from services.dataset.qt.list_model import DatasetListModel
from services.dataset.workspace import Problem

PAD = 6
TEXT_LINES = 2  # file name + caption snippet
# Badge colours are semantic, drawn over the picture, so they are the same in every theme.
BADGES = (
    (Problem.UNREADABLE, "unreadable", "#c62828", "#ffffff"),
    (Problem.CORRUPT, "corrupt", "#c62828", "#ffffff"),
    (Problem.CAPTION_UNDECODABLE, "encoding?", "#c62828", "#ffffff"),
    (Problem.NO_CAPTION, "no caption", "#e0a030", "#1e1e1e"),
    (Problem.EMPTY_CAPTION, "empty", "#e0a030", "#1e1e1e"),
    (Problem.TOO_SMALL, "small", "#5c6bc0", "#ffffff"),
    (Problem.DUPLICATE, "duplicate", "#8e24aa", "#ffffff"),
    (Problem.NEAR_DUPLICATE, "similar", "#8e24aa", "#ffffff"),
    (Problem.ODD_ASPECT, "aspect", "#5c6bc0", "#ffffff"),
)


class GridDelegate(QStyledItemDelegate):
    def __init__(self, parent=None, box: int = 160) -> None:
        super().__init__(parent)
        self.box = box

    def set_box(self, box: int) -> None:
        self.box = box

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        small = QFont(option.font)
        small.setPointSizeF(max(6.5, option.font.pointSizeF() * 0.85))
        return option.font, small

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        name_font, small = self._fonts(option)
        text_h = QFontMetrics(name_font).height() + QFontMetrics(small).height()
        return QSize(self.box + 2 * PAD, self.box + 2 * PAD + text_h + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        rect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), palette.color(QPalette.ColorRole.Highlight))
        elif hovered:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), palette.color(QPalette.ColorRole.AlternateBase))

        image_rect = QRect(rect.x() + PAD, rect.y() + PAD, self.box, self.box)
        image = index.data(DatasetListModel.ThumbnailRole)
        problems = Problem(index.data(DatasetListModel.ProblemsRole) or 0)
        if image is not None and not image.isNull():
            size = image.size().scaled(image_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(image_rect.center())
            if size != image.size():
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(target, image)
        else:
            shade = QColor(palette.color(QPalette.ColorRole.Base)).darker(115) \
                if palette.color(QPalette.ColorRole.Base).lightness() > 128 \
                else QColor(palette.color(QPalette.ColorRole.Base)).lighter(125)
            painter.fillRect(image_rect.adjusted(8, 8, -8, -8), shade)
            if problems & (Problem.UNREADABLE | Problem.CORRUPT):
                painter.setPen(QPen(QColor("#c62828"), 3))
                inner = image_rect.adjusted(self.box // 3, self.box // 3, -self.box // 3, -self.box // 3)
                painter.drawLine(inner.topLeft(), inner.bottomRight())
                painter.drawLine(inner.topRight(), inner.bottomLeft())
        self._paint_badges(painter, image_rect, problems, option)

        name_font, small = self._fonts(option)
        text_colour = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = QColor(text_colour)
        muted.setAlphaF(0.65)
        y = image_rect.bottom() + 3
        width = rect.width() - 2 * PAD
        fm = QFontMetrics(name_font)
        painter.setFont(name_font)
        painter.setPen(text_colour)
        name = index.data(Qt.ItemDataRole.DisplayRole) or ""
        painter.drawText(QRect(rect.x() + PAD, y, width, fm.height()), Qt.AlignmentFlag.AlignHCenter,
                         fm.elidedText(name, Qt.TextElideMode.ElideMiddle, width))
        y += fm.height()
        fs = QFontMetrics(small)
        painter.setFont(small)
        painter.setPen(muted)
        text = index.data(DatasetListModel.SnippetRole) or ""
        painter.drawText(QRect(rect.x() + PAD, y, width, fs.height()), Qt.AlignmentFlag.AlignHCenter,
                         fs.elidedText(text, Qt.TextElideMode.ElideRight, width))
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight).lighter(140), 1, Qt.PenStyle.DotLine))
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
        painter.restore()

    def _paint_badges(self, painter: QPainter, image_rect: QRect, problems: Problem, option) -> None:
        if problems == Problem.NONE:
            return
        font = QFont(option.font)
        font.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.75))
        font.setBold(True)
        fm = QFontMetrics(font)
        painter.setFont(font)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        x, y = image_rect.x() + 3, image_rect.y() + 3
        h = fm.height() + 2
        for flag, label, fill, ink in BADGES:
            if not problems & flag:
                continue
            w = fm.horizontalAdvance(label) + 8
            if x + w > image_rect.right() - 2 and x > image_rect.x() + 3:  # wrap to the next line
                x, y = image_rect.x() + 3, y + h + 2
            badge = QRectF(x, y, w, h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(fill))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor(ink))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
            x += w + 3
