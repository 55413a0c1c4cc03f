"""The GPU monitor dock: each GPU's live values and two minutes of history, plus CPU and RAM.

Construction is cheap (a few labels): the sampling thread starts, and pyqtgraph is imported, only
when the dock is first shown. Sampling pauses while the dock is hidden (closed, or a tab behind
another) and resumes when it is shown again. With no GPU the dock says so plainly and still shows
the CPU and RAM. The training run's own memory (Session.training_process_changed) is drawn in
its own colour on the VRAM and RAM charts.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

log = logging.getLogger(__name__)


def _stop_sampler(sampler, *_args) -> None:
    # Connected to the dock's destroyed signal with the sampler bound, not the dock: a running
    # QThread must be stopped before Python lets go of it, even if shutdown() was never called.
    sampler.stop()


class GpuMonitorDock(QWidget):
    def __init__(self, session, parent: QWidget | None = None, *,
                 monitor_factory: Callable[[], object] | None = None, interval_s: float | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gpu-monitor")
        self.session = session
        self._factory = monitor_factory
        settings = getattr(getattr(session, "settings", None), "hardware", None)
        self._interval = float(interval_s or getattr(settings, "monitor_interval_s", 1.0) or 1.0)
        self.sampler = None
        self.snapshot = None
        self.system_card = None
        self.gpu_cards: dict[str, QWidget] = {}
        self.samples_shown = 0
        self.headline = ""
        self._watched_pid = int(getattr(session, "training_pid", 0) or 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        # One compact paragraph: the bottom dock area is short. "What was checked" unfolds the
        # answer of every provider (driver missing, library missing, ...).
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.message.linkActivated.connect(self._on_link)
        self._set_message("", "The hardware monitor starts when this panel is shown.")
        self.details = QLabel("")
        self.details.setProperty("role", "muted")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setVisible(False)
        self.run_label = QLabel("")
        self.run_label.setWordWrap(True)
        self.run_label.setVisible(False)
        self.errors = QLabel("")
        self.errors.setProperty("role", "warning")
        self.errors.setWordWrap(True)
        self.errors.setVisible(False)
        for widget in (self.message, self.details, self.run_label, self.errors):
            layout.addWidget(widget)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.content = QWidget()
        self.content_layout = QVBoxLayout(self.content)
        self.content_layout.setContentsMargins(0, 0, 0, 0)
        self.content_layout.setSpacing(8)
        self.content_layout.addStretch(0)  # the cards take the height first (stretch 1), up to their maximum
        self.scroll.setWidget(self.content)
        layout.addWidget(self.scroll, 1)
        # Cards out of sight skip their redraws; scrolling one into view draws it at once.
        self.scroll.verticalScrollBar().valueChanged.connect(self._redraw_visible)
        self.scroll.verticalScrollBar().rangeChanged.connect(self._redraw_visible)

        if hasattr(session, "training_process_changed"):
            session.training_process_changed.connect(self.set_training_process)

    # --- lifecycle ----------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.sampler is None:
            self._start()
        else:
            self.sampler.resume()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        if self.sampler is not None:
            self.sampler.pause()

    def _start(self) -> None:
        from services.hardware.qt.sampler import HardwareSampler

        if self._factory is None:
            from services.hardware.monitor import HardwareMonitor

            self._factory = HardwareMonitor
        self._set_message("", "Looking for GPUs…")
        self.sampler = HardwareSampler(self._factory, self._interval)
        self.sampler.set_watched_pid(self._watched_pid)
        self.sampler.opened.connect(self._on_opened)
        self.sampler.sampled.connect(self._on_sampled)
        self.sampler.failed.connect(self._on_failed)
        self.destroyed.connect(functools.partial(_stop_sampler, self.sampler))
        self.sampler.start()

    def shutdown(self) -> None:
        """Stop the sampling thread (the main window calls this when it closes)."""
        if self.sampler is not None:
            self.sampler.stop()

    @property
    def polling(self) -> bool:
        return self.sampler is not None and self.sampler.isRunning() and not self.sampler.paused

    # --- the training run -------------------------------------------------------------------
    def set_training_process(self, pid: int) -> None:
        self._watched_pid = max(0, int(pid or 0))
        if self.sampler is not None:
            self.sampler.set_watched_pid(self._watched_pid)
        if self._watched_pid:
            self.run_label.setText(f"Training run (process {self._watched_pid}): its own memory and CPU "
                                   "in orange.")
        self.run_label.setVisible(bool(self._watched_pid))

    # --- results from the sampling thread ---------------------------------------------------
    def _on_opened(self, snapshot) -> None:
        from widgets.gpu_monitor.panels import GpuCard, SystemCard  # imports pyqtgraph

        self.snapshot = snapshot
        self.details.setText("\n".join(f"• {p.vendor} ({p.name}): {p.message}" for p in snapshot.providers))
        self._show_summary()
        insert_at = 0
        for gpu in snapshot.gpus:
            card = GpuCard(gpu, self._interval)
            self.gpu_cards[gpu.key] = card
            self.content_layout.insertWidget(insert_at, card, 1)
            insert_at += 1
        self.system_card = SystemCard(snapshot.cpu, self._interval)
        self.content_layout.insertWidget(insert_at, self.system_card, 1)
        QTimer.singleShot(0, self._redraw_visible)  # readings that came before the layout settled

    def _on_sampled(self, sample) -> None:
        if self.system_card is None or not self.isVisible():
            return
        watched = set(sample.watched_pids)
        for reading in sample.gpus:
            card = self.gpu_cards.get(reading.key)
            if card is not None:
                card.update_reading(sample.time, reading, watched)
        if sample.system is not None:
            self.system_card.update_reading(sample.time, sample.system, bool(watched))
        errors = "\n".join(f"Reading failed: {e}" for e in sample.errors)
        if errors != self.errors.text():  # an unchanged label must not relayout the dock every second
            self.errors.setText(errors)
            self.errors.setVisible(bool(errors))
        self.samples_shown += 1

    def _redraw_visible(self, *_args) -> None:
        for card in [*self.gpu_cards.values(), self.system_card]:
            if card is not None:
                card.redraw_if_due()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._redraw_visible()

    def _on_failed(self, message: str) -> None:
        self._set_message("The hardware monitor could not start.", message)

    def _show_summary(self) -> None:
        snapshot = self.snapshot
        vram = self._vram()
        links = [("details", "What was checked")]
        if vram.source != "detected":  # nothing detected to plan with: the user may say it
            links.append(("vram", "Change the stated VRAM" if vram.source == "stated" else "State your GPU's VRAM"))
        if snapshot.gpus:
            found = [p.message for p in snapshot.providers if p.available and p.gpu_count]
            text = "; ".join(found) or snapshot.summary()
            self._set_message("", text if vram.source == "detected" else f"{text}. {vram.message}", links=links)
        else:
            rest = snapshot.summary().removeprefix("No GPU detected. ")
            stated = f" {vram.message}" if vram.source == "stated" else ""
            self._set_message("No GPU detected.", f"{rest} CPU and RAM are shown below.{stated}", links=links)

    def _vram(self):
        from services.hardware.vram import vram_available

        return vram_available(self.snapshot, float(self.session.settings.hardware.stated_vram_gb or 0))

    def _set_message(self, headline: str, text: str, *, links: list[tuple[str, str]] = ()) -> None:
        """A bold headline (may be empty), a sentence, and links ("What was checked", ...)."""
        self.headline = headline
        self.message_text = f"{headline} {text}".strip()
        bold = f"<b>{html.escape(headline)}</b> " if headline else ""
        anchors = "".join(f' <a href="{href}">{html.escape(label)}</a>' for href, label in links)
        self.message.setText(bold + html.escape(text) + anchors)

    def _on_link(self, link: str) -> None:
        if link == "details":
            self.details.setVisible(not self.details.isVisible())
        elif link == "vram":
            self.ask_stated_vram()

    def ask_stated_vram(self) -> None:
        """Ask for the VRAM to plan with when none is detected (0 clears it)."""
        from PySide6.QtWidgets import QInputDialog

        current = float(self.session.settings.hardware.stated_vram_gb or 0)
        value, ok = QInputDialog.getDouble(
            self, "GPU memory", "VRAM of the GPU you will train on, in GB (0: not stated):",
            current or 8.0, 0.0, 1024.0, 1)
        if ok:
            self.set_stated_vram(value)

    def set_stated_vram(self, gb: float) -> None:
        self.session.set_stated_vram_gb(gb)
        if self.snapshot is not None:
            self._show_summary()
