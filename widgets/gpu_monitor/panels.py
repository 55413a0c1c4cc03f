"""The GPU monitor's cards: one for the CPU and RAM, one per GPU, each with its values and charts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from services.hardware import units
from services.hardware.history import History
from services.hardware.model import GIB, CpuInfo, GpuInfo, GpuReading, SystemReading
from widgets.gpu_monitor.chart import COLOURS, MiniChart

HISTORY_S = 120.0


class ChartGrid(QWidget):
    """Lays its charts out in as many columns as fit (1 to 4), again on every resize."""

    def __init__(self, charts: list[QWidget], min_width: int = 170, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.charts = charts
        self.min_width = min_width
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(6)
        self._columns = 0
        self._relayout(len(charts))

    def _relayout(self, columns: int) -> None:
        columns = max(1, min(len(self.charts), columns))
        if columns == self._columns:
            return
        self._columns = columns
        for chart in self.charts:
            self._grid.removeWidget(chart)
        for i, chart in enumerate(self.charts):
            self._grid.addWidget(chart, i // columns, i % columns)
        for c in range(4):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event) -> None:
        self._relayout(max(1, event.size().width() // self.min_width))
        super().resizeEvent(event)


class Card(QGroupBox):
    """A titled box (styled by the theme) with a muted line of facts under the title."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName("hardware-card")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(8, 2, 8, 6)
        self.layout_.setSpacing(2)
        self.details = QLabel("")
        self.details.setProperty("role", "muted")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.details)
        self._pending: float | None = None  # the time of histories not drawn yet

    def _draw_curves(self, time: float) -> None:
        raise NotImplementedError

    def redraw_if_due(self) -> None:
        """Draw the curves when new readings arrived while the card was scrolled out of sight:
        a chart nobody can see is not redrawn every second (that is most of the monitor's cost)."""
        if self._pending is not None and not self.visibleRegion().isEmpty():
            time, self._pending = self._pending, None
            self._draw_curves(time)

    def _readings_changed(self, time: float) -> None:
        self._pending = time
        self.redraw_if_due()


class SystemCard(Card):
    """CPU and RAM, with the training run's own RAM and CPU when one is running."""

    def __init__(self, cpu: CpuInfo | None, interval_s: float, parent: QWidget | None = None) -> None:
        super().__init__("CPU and RAM", parent)
        if cpu is not None:
            cores = f"{cpu.physical_cores or '?'} cores / {cpu.logical_cores or '?'} threads"
            self.setTitle(f"CPU and RAM · {cpu.name}")
            self.details.setText(f"{cores} · {units.size(cpu.memory_total)} RAM"
                                 + (f" · {units.size(cpu.swap_total)} swap" if cpu.swap_total else ""))
        self.cpu_chart = MiniChart("CPU", [("cpu", COLOURS["cpu"]), ("run", COLOURS["run"])], seconds=HISTORY_S)
        ram_total = cpu.memory_total / GIB if cpu else 1.0
        self.ram_chart = MiniChart("RAM", [("ram", COLOURS["ram"]), ("run", COLOURS["run"])], seconds=HISTORY_S,
                                   y_max=ram_total, filled=True)
        self.layout_.addWidget(ChartGrid([self.cpu_chart, self.ram_chart], min_width=170), 1)
        self.history = {name: History(HISTORY_S, interval_s) for name in ("cpu", "ram", "run_cpu", "run_ram")}

    def update_reading(self, time: float, reading: SystemReading, run_active: bool) -> None:
        h = self.history
        h["cpu"].append(time, reading.cpu_percent)
        h["ram"].append(time, reading.memory_used / GIB)
        h["run_cpu"].append(time, _cpu_share(reading) if run_active else None)
        h["run_ram"].append(time, reading.process_memory / GIB if run_active and reading.process_memory else None)
        self.ram_chart.set_y_max(reading.memory_total / GIB)
        self._readings_changed(time)
        cpu_text = units.percent(reading.cpu_percent)
        ram_text = units.used_of(reading.memory_used, reading.memory_total)
        if run_active and reading.process_memory is not None:
            cpu_text += f" · run {units.percent(_cpu_share(reading))}"
            ram_text += f" · run {units.size(reading.process_memory)}"
        self.cpu_chart.set_value(cpu_text, "All cores together; the training run's share in orange.")
        self.ram_chart.set_value(ram_text, f"Available: {units.size(reading.memory_available)}; "
                                           f"swap used: {units.size(reading.swap_used)}")


    def _draw_curves(self, time: float) -> None:
        h = self.history
        for chart, main, run in ((self.cpu_chart, "cpu", "run_cpu"), (self.ram_chart, "ram", "run_ram")):
            chart.set_data(main, *h[main].series(time))
            chart.set_data("run", *h[run].series(time))


def _cpu_share(reading: SystemReading) -> float | None:
    # psutil gives a process's CPU as a share of one core; the chart shows all cores together.
    import os

    if reading.process_cpu_percent is None:
        return None
    return reading.process_cpu_percent / max(1, os.cpu_count() or 1)


class GpuCard(Card):
    """One GPU: utilisation, VRAM (the training run's own part marked), temperature, power."""

    def __init__(self, gpu: GpuInfo, interval_s: float, parent: QWidget | None = None) -> None:
        super().__init__(f"GPU {gpu.index} · {gpu.name}", parent)
        self.gpu = gpu
        self.setObjectName(f"gpu-card-{gpu.key}")
        facts = [gpu.driver]
        if gpu.cuda_version:
            facts.append(f"CUDA {gpu.cuda_version}")
        if gpu.compute_capability:
            facts.append(f"compute {gpu.compute_capability}")
        facts.append(f"{units.size(gpu.memory_total)} VRAM" if gpu.memory_total else "VRAM size not reported")
        if gpu.pci_bus:
            facts.append(f"PCI {gpu.pci_bus}")
        self.facts = " · ".join(f for f in facts if f)
        self.details.setText(self.facts)
        self.unavailable = QLabel("")
        self.unavailable.setWordWrap(True)
        self.unavailable.setProperty("role", "muted")
        if gpu.unavailable:
            self.unavailable.setText("Not reported by this driver: " + "; ".join(gpu.unavailable) + ".")
        self.unavailable.setVisible(bool(gpu.unavailable))
        self.layout_.addWidget(self.unavailable)
        vram_total = (gpu.memory_total or GIB) / GIB
        self.util_chart = MiniChart("Utilisation", [("util", COLOURS["utilisation"])], seconds=HISTORY_S)
        self.vram_chart = MiniChart("VRAM", [("vram", COLOURS["vram"]), ("run", COLOURS["run"])],
                                    seconds=HISTORY_S, y_max=vram_total, filled=True)
        self.temp_chart = MiniChart("Temperature", [("temp", COLOURS["temperature"])], seconds=HISTORY_S)
        self.power_chart = MiniChart("Power", [("power", COLOURS["power"])], seconds=HISTORY_S,
                                     y_max=gpu.power_limit_w or 100.0)
        self.charts = [self.util_chart, self.vram_chart, self.temp_chart, self.power_chart]
        self.layout_.addWidget(ChartGrid(self.charts), 1)
        self.history = {name: History(HISTORY_S, interval_s) for name in ("util", "vram", "run", "temp", "power")}

    def update_reading(self, time: float, reading: GpuReading, watched: set[int]) -> None:
        h = self.history
        run_memory = reading.memory_of(watched) if watched else None
        h["util"].append(time, reading.utilisation)
        h["vram"].append(time, reading.memory_used / GIB if reading.memory_used is not None else None)
        h["run"].append(time, run_memory / GIB if run_memory is not None else None)
        h["temp"].append(time, reading.temperature_c)
        h["power"].append(time, reading.power_w)
        if reading.memory_total:
            self.vram_chart.set_y_max(reading.memory_total / GIB)
        self.temp_chart.set_y_max(max(100.0, (h["temp"].maximum() or 0) + 5))
        limit = reading.power_limit_w or self.gpu.power_limit_w
        self.power_chart.set_y_max(max(limit or 0, (h["power"].maximum() or 0) * 1.1, 10.0))
        self._readings_changed(time)
        self.util_chart.set_value(units.percent(reading.utilisation))
        vram_text = units.used_of(reading.memory_used, reading.memory_total or self.gpu.memory_total)
        if watched and reading.runs_on(watched):
            vram_text += f" · run {units.size(run_memory)}"
        self.vram_chart.set_value(vram_text, "VRAM used by every process; the training run's own part in orange.")
        self.temp_chart.set_value(units.celsius(reading.temperature_c))
        self.power_chart.set_value(units.watts(reading.power_w, limit))
        clocks = [f"graphics {units.mhz(reading.clock_graphics_mhz)}"] if reading.clock_graphics_mhz else []
        if reading.clock_memory_mhz:
            clocks.append(f"memory {units.mhz(reading.clock_memory_mhz)}")
        details = self.facts + (" · clocks: " + ", ".join(clocks) if clocks else "")
        if details != self.details.text():
            self.details.setText(details)

    def _draw_curves(self, time: float) -> None:
        for chart, name in ((self.util_chart, "util"), (self.vram_chart, "vram"), (self.vram_chart, "run"),
                            (self.temp_chart, "temp"), (self.power_chart, "power")):
            chart.set_data(name, *self.history[name].series(time))
