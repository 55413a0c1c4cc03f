"""The live loss chart: the engine's average loss per step (raw) and a smoothed curve over it.

Imported only when the Loss tab is first shown (pyqtgraph takes a while to import). Long runs stay
cheap: pyqtgraph draws only the visible range and downsamples it; the data are set at most a few
times a second by the dock. Colours follow the palette (dark and light themes).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QVBoxLayout, QWidget

RAW = "#7f8ea3"
SMOOTH_DARK = "#5aa2ff"
SMOOTH_LIGHT = "#1f5fcf"


class LossChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loss-chart")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        # No grid: pyqtgraph draws it blended over the whole plot at every update (measured: the
        # largest part of the chart's cost on the GUI thread).
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        self.legend = item.addLegend(offset=(-10, 10))
        self.raw = pg.PlotDataItem(name="loss (engine average)", connect="finite")
        self.smooth = pg.PlotDataItem(name="smoothed", connect="finite")
        self.plot.addItem(self.raw)
        self.plot.addItem(self.smooth)
        layout.addWidget(self.plot)
        self.points = 0
        self._apply_palette()

    def set_data(self, steps: list[int], raw: list[float], smooth: list[float]) -> None:
        x = np.asarray(steps, dtype=float)
        self.raw.setData(x, np.asarray(raw, dtype=float))
        self.smooth.setData(x, np.asarray(smooth, dtype=float))
        self.points = len(steps)

    def clear(self) -> None:
        self.set_data([], [], [])

    def _apply_palette(self) -> None:
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        dark = base.lightness() < 128
        self.plot.setBackground(base)
        raw = QColor(RAW)
        raw.setAlpha(170)
        self.raw.setPen(pg.mkPen(raw, width=1))
        self.smooth.setPen(pg.mkPen(SMOOTH_DARK if dark else SMOOTH_LIGHT, width=2.2))
        for axis in ("left", "bottom"):
            ax = self.plot.getPlotItem().getAxis(axis)
            ax.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Mid)))
            ax.setTextPen(pg.mkPen(text))
        self.legend.setLabelTextColor(text)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)
