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


_SELECTED = QStyle.StateFlag.State_Selected.value
_HOVER = QStyle.StateFlag.State_MouseOver.value
_FOCUS = QStyle.StateFlag.State_HasFocus.value
_BASE, _TEXT, _HTEXT = QPalette.ColorRole.Base, QPalette.ColorRole.Text, QPalette.ColorRole.HighlightedText
_HIGHLIGHT, _ALT_BASE = QPalette.ColorRole.Highlight, QPalette.ColorRole.AlternateBase
_SMOOTH = QPainter.RenderHint.SmoothPixmapTransform
_HCENTER = Qt.AlignmentFlag.AlignHCenter
_ELIDE_MIDDLE, _ELIDE_RIGHT = Qt.TextElideMode.ElideMiddle, Qt.TextElideMode.ElideRight
_BROKEN = int(Problem.UNREADABLE | Problem.CORRUPT)
_CROSS_PEN = QPen(QColor("#c62828"), 3)
_ANTIALIAS = QPainter.RenderHint.Antialiasing
_NO_PEN = Qt.PenStyle.NoPen
_CENTER = Qt.AlignmentFlag.AlignCenter
_BADGES = tuple((int(flag), label, QColor(fill), QColor(ink)) for flag, label, fill, ink in BADGES)


class GridDelegate(QStyledItemDelegate):
    def __init__(self, parent=None, box: int = 160) -> None:
        super().__init__(parent)
        self.box = box
        self._font_cache: dict[str, tuple] = {}
        self._colour_cache: dict[int, tuple] = {}
        self._elide_cache: dict[tuple, str] = {}

    def set_box(self, box: int) -> None:
        self.box = box

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFont, QFontMetrics, QFontMetrics,
                                                             QFontMetrics]:
        """(name, small, badge fonts and their metrics), made once per base font: painting runs often."""
        key = option.font.key()
        cached = self._font_cache.get(key)
        if cached is None:
            small = QFont(option.font)
            small.setPointSizeF(max(6.5, option.font.pointSizeF() * 0.85))
            badge = QFont(option.font)
            badge.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.75))
            badge.setBold(True)
            name = QFont(option.font)
            cached = (name, small, badge, QFontMetrics(name), QFontMetrics(small), QFontMetrics(badge))
            self._font_cache[key] = cached
        return cached

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        fm, fs = self._fonts(option)[3:5]
        text_h = fm.height() + fs.height()
        return QSize(self.box + 2 * PAD, self.box + 2 * PAD + text_h + 2)

    def _colours(self, palette: QPalette) -> tuple:
        key = palette.cacheKey()
        cached = self._colour_cache.get(key)
        if cached is None:
            base = palette.color(_BASE)
            shade = QColor(base).darker(115) if base.lightness() > 128 else QColor(base).lighter(125)
            text, htext = palette.color(_TEXT), palette.color(_HTEXT)
            muted, hmuted = QColor(text), QColor(htext)
            muted.setAlphaF(0.65)
            hmuted.setAlphaF(0.75)
            focus = QPen(palette.color(_HIGHLIGHT).lighter(140), 1, Qt.PenStyle.DotLine)
            cached = (palette.color(_HIGHLIGHT), palette.color(_ALT_BASE), shade, text, htext, muted, hmuted, focus)
            self._colour_cache = {key: cached}
        return cached

    def _elided(self, fm: QFontMetrics, text: str, mode, width: int) -> str:
        key = (text, width, id(fm), mode == _ELIDE_MIDDLE)
        value = self._elide_cache.get(key)
        if value is None:
            if len(self._elide_cache) > 4000:
                self._elide_cache.clear()
            value = self._elide_cache[key] = fm.elidedText(text, mode, width)
        return value

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        # Painting a screen runs this for every cell, so it is kept lean: colours, fonts and elided
        # texts are cached, enum values are module constants, one look-up fetches the cell's data.
        model = index.model()
        cell = model.cell(index.row()) if isinstance(model, DatasetListModel) else None
        if cell is None:
            return
        image, problems, name, text = cell
        rect = option.rect
        state = option.state.value  # a plain int: enum arithmetic is slow in a paint loop
        selected = bool(state & _SELECTED)
        highlight, alt_base, shade, text_c, htext_c, muted, hmuted, focus_pen = self._colours(option.palette)
        x, y0, w = rect.x(), rect.y(), rect.width()
        if selected:
            painter.fillRect(x + 1, y0 + 1, w - 2, rect.height() - 2, highlight)
        elif state & _HOVER:
            painter.fillRect(x + 1, y0 + 1, w - 2, rect.height() - 2, alt_base)
        box = self.box
        image_rect = QRect(x + PAD, y0 + PAD, box, box)
        if image is not None and not image.isNull():
            iw, ih = image.width(), image.height()
            if iw > box or ih > box:
                scale = min(box / iw, box / ih)
                iw, ih = max(1, int(iw * scale)), max(1, int(ih * scale))
                painter.setRenderHint(_SMOOTH, True)
            painter.drawImage(QRect(x + PAD + (box - iw) // 2, y0 + PAD + (box - ih) // 2, iw, ih), image)
        else:
            painter.fillRect(image_rect.adjusted(8, 8, -8, -8), shade)
            if problems & _BROKEN:
                painter.setPen(_CROSS_PEN)
                inner = image_rect.adjusted(box // 3, box // 3, -box // 3, -box // 3)
                painter.drawLine(inner.topLeft(), inner.bottomRight())
                painter.drawLine(inner.topRight(), inner.bottomLeft())
        if problems:
            self._paint_badges(painter, image_rect, problems, option)
        name_font, small, _badge, fm, fs, _fb = self._fonts(option)
        y = y0 + PAD + box + 2
        width = w - 2 * PAD
        painter.setFont(name_font)
        painter.setPen(htext_c if selected else text_c)
        painter.drawText(QRect(x + PAD, y, width, fm.height()), _HCENTER, self._elided(fm, name, _ELIDE_MIDDLE, width))
        y += fm.height()
        painter.setFont(small)
        painter.setPen(hmuted if selected else muted)
        painter.drawText(QRect(x + PAD, y, width, fs.height()), _HCENTER, self._elided(fs, text, _ELIDE_RIGHT, width))
        if state & _FOCUS:
            painter.setPen(focus_pen)
            painter.drawRect(rect.adjusted(1, 1, -2, -2))

    def _paint_badges(self, painter: QPainter, image_rect: QRect, problems: int, option) -> None:
        _n, _s, font, _fm, _fs, fm = self._fonts(option)
        painter.setFont(font)
        painter.setRenderHint(_ANTIALIAS, True)
        x, y = image_rect.x() + 3, image_rect.y() + 3
        h = fm.height() + 2
        for flag, label, fill, ink in _BADGES:
            if not problems & flag:
                continue
            w = fm.horizontalAdvance(label) + 8
            if x + w > image_rect.right() - 2 and x > image_rect.x() + 3:  # wrap to the next line
                x, y = image_rect.x() + 3, y + h + 2
            badge = QRectF(x, y, w, h)
            painter.setPen(_NO_PEN)
            painter.setBrush(fill)
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(ink)
            painter.drawText(badge, _CENTER, label)
            x += w + 3
        painter.setRenderHint(_ANTIALIAS, False)
