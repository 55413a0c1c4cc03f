"""A small history chart (pyqtgraph) with its title and current value above it.

Imported only when the GPU monitor is first shown (pyqtgraph takes a while to import). Drawing
is kept cheap: no antialiasing, no mouse interaction, no auto-ranging, fixed axes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

# Mid-tone colours that read on dark and light backgrounds alike.
COLOURS = {"utilisation": "#3b8eea", "vram": "#9a6bff", "run": "#f08c2e", "temperature": "#e5534b",
           "power": "#3fa35b", "cpu": "#3b8eea", "ram": "#2aa198"}


class MiniChart(QWidget):
    """``series``: (name, colour) pairs drawn as filled lines, in order (later ones on top)."""

    def __init__(self, title: str, series: list[tuple[str, str]], *, seconds: float = 120.0,
                 y_max: float = 100.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"chart-{title.lower().replace(' ', '-')}")
        self.seconds = seconds
        self.y_max = y_max
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        header = QHBoxLayout()
        header.setSpacing(6)
        self.title_label = QLabel(title)
        self.title_label.setProperty("role", "chart-title")
        self.value_label = QLabel("–")
        self.value_label.setProperty("role", "chart-value")
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self.title_label)
        header.addStretch(1)
        header.addWidget(self.value_label)
        layout.addLayout(header)

        self.plot = pg.PlotWidget()
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
        self.plot.setYRange(0, y_max, padding=0)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, colour in series:
            fill = QColor(colour)
            fill.setAlpha(70)
            curve = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.5), brush=pg.mkBrush(fill), fillLevel=0.0,
                                    connect="finite", antialias=False)
            self.plot.addItem(curve)
            self.curves[name] = curve
        layout.addWidget(self.plot, 1)
        self._apply_palette()

    def set_data(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        self.curves[name].setData(x, y)

    def clear(self, name: str) -> None:
        self.curves[name].setData([], [])

    def set_value(self, text: str, tip: str = "") -> None:
        self.value_label.setText(text)
        self.value_label.setToolTip(tip)

    def set_y_max(self, y_max: float) -> None:
        if y_max > 0 and abs(y_max - self.y_max) > 1e-9:
            self.y_max = y_max
            self.plot.setYRange(0, y_max, padding=0)

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        border = palette.color(QPalette.ColorRole.Mid)
        self.plot.setStyleSheet(f"border: 1px solid {border.name()}; border-radius: 3px;")

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)
