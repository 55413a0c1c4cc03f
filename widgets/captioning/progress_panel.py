"""The running job: progress bar, images/s and time left, the latest caption, warnings and the outcome."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QProgressBar, QVBoxLayout, QWidget

from services.captioning.progress import JobProgress, format_duration, format_rate

MAX_NOTES = 200


def _set_role(label: QLabel, role: str) -> None:
    label.setProperty("role", role)
    label.style().unpolish(label)
    label.style().polish(label)


class ProgressPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel()
        self.status.setObjectName("caption-status")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setObjectName("caption-progress")
        self.bar.setFormat("%v / %m")
        self.rate = QLabel()
        self.rate.setObjectName("caption-rate")
        self.latest = QLabel()
        self.latest.setObjectName("caption-latest")
        self.latest.setWordWrap(True)
        self.latest.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        _set_role(self.latest, "muted")
        self.message = QLabel()
        self.message.setObjectName("caption-message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QListWidget()
        self.notes.setObjectName("caption-notes")
        self.notes.setMaximumHeight(90)
        self.notes.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.status, self.bar, self.rate, self.latest, self.message, self.notes):
            layout.addWidget(widget)
        self.reset(0)
        self.bar.setVisible(False)

    def reset(self, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(0)
        self.bar.setVisible(True)
        self.rate.clear()
        self.latest.clear()
        self.message.clear()
        self.message.setVisible(False)
        self.notes.clear()
        self.notes.setVisible(False)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def show_download(self, name: str, done: int, total: int, index: int, files: int) -> None:
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
            self.bar.setFormat(f"{name}: {done / 1e6:.0f} / {total / 1e6:.0f} MB (file {index + 1} of {files})")
        else:
            self.bar.setRange(0, 0)

    def show_progress(self, progress: JobProgress) -> None:
        self.bar.setFormat("%v / %m")
        self.bar.setRange(0, max(progress.total, 1))
        self.bar.setValue(progress.finished)
        if progress.finished:
            parts = [f"{progress.finished} of {progress.total}", format_rate(progress.images_per_s),
                     f"{format_duration(progress.eta_s)} left"]
            if progress.failed:
                parts.append(f"{progress.failed} unreadable")
            self.rate.setText("  ·  ".join(parts))

    def show_final(self, progress: JobProgress, elapsed_s: float) -> None:
        """The last figures of a job that ended: no time left to show, the time it took instead."""
        self.bar.setFormat("%v / %m")
        self.bar.setRange(0, max(progress.total, 1))
        self.bar.setValue(progress.finished)
        parts = [f"{progress.finished} of {progress.total}"]
        if progress.finished:
            parts.append(format_rate(progress.images_per_s))
        parts.append(f"took {format_duration(elapsed_s)}")
        if progress.failed:
            parts.append(f"{progress.failed} unreadable")
        self.rate.setText("  ·  ".join(parts))

    def show_latest(self, path: str, caption: str) -> None:
        metrics = self.latest.fontMetrics()
        width = max(200, self.latest.width()) * 2
        text = metrics.elidedText(caption, Qt.TextElideMode.ElideRight, width)
        self.latest.setText(f"{Path(path).name}: {text}")

    def add_note(self, text: str) -> None:
        if self.notes.count() < MAX_NOTES:
            self.notes.addItem(text)
            self.notes.setVisible(True)

    def show_outcome(self, text: str, role: str) -> None:
        self.message.setText(text)
        _set_role(self.message, role)
        self.message.setVisible(True)
