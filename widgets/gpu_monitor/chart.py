"""A small history chart (pyqtgraph) with its title and current value above it.

Imported only when the GPU monitor is first shown (pyqtgraph takes a while to import). Drawing
is kept cheap: no antialiasing, no mouse interaction, no auto-ranging, fixed axes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QSizePolicy, QVBoxLayout, QWidget

# A line at 100 % (or at a full VRAM) must not vanish into the frame.
HEADROOM = 1.04
# Mid-tone colours that read on dark and light backgrounds alike.
COLOURS = {"utilisation": "#3b8eea", "vram": "#9a6bff", "run": "#f08c2e", "temperature": "#e5534b",
           "power": "#3fa35b", "cpu": "#3b8eea", "ram": "#2aa198"}


class ChartHeader(QWidget):
    """The chart's title (left) and current value (right), painted directly: a value that changes
    every second must not make the whole dock lay itself out again, as a QLabel's would."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.value = "–"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 2)
        # It paints its own background, so a new value repaints these few pixels only, not the
        # (style-sheeted) box behind it.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_value(self, text: str) -> None:
        if text != self.value:
            self.value = text
            self.update()

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self.title) + 40, self.height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, self.palette().color(QPalette.ColorRole.Window))
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self.title)
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self.value)


class _Plot(pg.PlotWidget):
    """A plot that asks for little and takes what it is given: with QGraphicsView's large size
    hint, a short dock would scroll instead of fitting the charts."""

    def sizeHint(self) -> QSize:
        return QSize(160, 60)


class MiniChart(QWidget):
    """``series``: (name, colour) pairs drawn as lines, in order (later ones on top); with
    ``filled`` the area under each is filled too (memory charts: an amount, best seen as an area).
    Filling is the costly part of drawing, so the other charts are lines only."""

    def __init__(self, title: str, series: list[tuple[str, str]], *, seconds: float = 120.0,
                 y_max: float = 100.0, filled: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"chart-{title.lower().replace(' ', '-')}")
        self.seconds = seconds
        self.y_max = y_max
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        self.header = ChartHeader(title)
        layout.addWidget(self.header)

        self.plot = _Plot()
        self.plot.setMinimumHeight(40)
        self.plot.setMaximumHeight(150)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setContentsMargins(0, 0, 0, 0)
        item.getViewBox().setDefaultPadding(0.0)
        self.plot.setFrameShape(QFrame.Shape.NoFrame)
        self.plot.setXRange(-seconds, 0, padding=0)
        self.plot.setYRange(0, y_max * HEADROOM, padding=0)
        # PlotCurveItem rather than PlotDataItem (no dataset bookkeeping), and 1-pixel cosmetic
        # pens: a wider pen goes through the raster engine's stroker and costs a third more.
        self.curves: dict[str, pg.PlotCurveItem] = {}
        for name, colour in series:
            options = {}
            if filled:
                fill = QColor(colour)
                fill.setAlpha(90)
                options = {"brush": pg.mkBrush(fill), "fillLevel": 0.0}
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), connect="finite", antialias=False, **options)
            self.plot.addItem(curve)
            self.curves[name] = curve
        layout.addWidget(self.plot, 1)
        self._apply_palette()

    @property
    def value_text(self) -> str:
        return self.header.value

    def set_data(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        self.curves[name].setData(x, y)

    def clear(self, name: str) -> None:
        self.curves[name].clear()

    def set_value(self, text: str, tip: str = "") -> None:
        self.header.set_value(text)
        if tip != self.header.toolTip():
            self.header.setToolTip(tip)

    def set_y_max(self, y_max: float) -> None:
        if y_max > 0 and abs(y_max - self.y_max) > 1e-9:
            self.y_max = y_max
            self.plot.setYRange(0, y_max * HEADROOM, padding=0)

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        # The frame is the view box's own border: a style sheet on the plot would route every
        # repaint through the style sheet engine, which costs more than the chart itself.
        self.plot.getPlotItem().getViewBox().setBorder(pg.mkPen(palette.color(QPalette.ColorRole.Mid), width=1))

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)
