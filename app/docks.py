"""The window's panels, declared as data: each dock's id, title, area and widget class.

The widget class is named as ``"module:Class"`` and imported only when the window is built, so a
panel's imports cost nothing to the command line. Every class takes ``(session, parent=None)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DockSpec:
    id: str
    title: str
    area: str  # left, right, bottom
    factory: str
    shortcut: str = ""
    tabify_with: str = ""


CENTRAL = "widgets.preview.image_preview:ImagePreview"

DOCKS: tuple[DockSpec, ...] = (
    DockSpec("dataset", "Dataset", "left", "widgets.dataset.dock:DatasetDock", "Ctrl+1"),
    DockSpec("captions", "Caption editor", "right", "widgets.captions.editor_dock:CaptionEditorDock", "Ctrl+2"),
    DockSpec("parameters", "Parameters", "right", "widgets.parameters.dock:ParametersDock", "Ctrl+3",
             tabify_with="captions"),
    # --- Auto-caption (issue 5)
    DockSpec("autocaption", "Auto-caption", "right", "widgets.captioning.dock:AutoCaptionDock", "Ctrl+7",
             tabify_with="captions"),
    DockSpec("training", "Training monitor", "bottom", "widgets.training_monitor.dock:TrainingMonitor", "Ctrl+4"),
    DockSpec("gpu", "GPU monitor", "bottom", "widgets.gpu_monitor.dock:GpuMonitorDock", "Ctrl+5"),
    # Caption (issue 4): every tag of the dataset, below the caption editor.
    DockSpec("alltags", "All tags", "right", "widgets.captions.all_tags_dock:AllTagsDock", "Ctrl+6"),
)
