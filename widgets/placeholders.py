"""Panels whose capability has not landed in this build say so plainly; they never show fake data."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from widgets.empty_state import EmptyState


def _not_yet(title: str, body: str):
    class Placeholder(EmptyState):
        def __init__(self, session, parent: QWidget | None = None) -> None:
            super().__init__(title, body, parent)
            self.session = session

    Placeholder.__name__ = title.replace(" ", "") + "Placeholder"
    return Placeholder


DatasetPlaceholder = _not_yet(
    "Dataset", "The dataset browser is not part of this build yet. Folders you open are remembered.")
CaptionPlaceholder = _not_yet(
    "Caption editor", "Caption editing is not part of this build yet.")
TrainingPlaceholder = _not_yet(
    "Training monitor", "Training runs are not part of this build yet; nothing is running.")
GpuPlaceholder = _not_yet(
    "GPU monitor", "Hardware monitoring is not part of this build yet.")
