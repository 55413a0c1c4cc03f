"""Which images the project trains on: its subsets, and the dataset open in the Dataset panel.

"Train on the open dataset" copies the workspace's folders (with their repeats, class tokens and
regularisation flags) into the project; "Open the project's folders" shows the project's folders
in the Dataset panel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from services.errors import LoraStudioError


class DatasetLink(QWidget):
    def __init__(self, session, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.controller = controller
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.use = QPushButton("Train on the open dataset", self)
        self.use.setToolTip("Use the folders open in the Dataset panel as this project's subsets")
        self.use.clicked.connect(self.use_workspace)
        self.open = QPushButton("Open its folders", self)
        self.open.setToolTip("Show the project's image folders in the Dataset panel")
        self.open.clicked.connect(self.open_folders)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.use)
        layout.addWidget(self.open)
        for signal in (session.workspace_changed, session.subsets_changed, session.items_added,
                       session.items_removed):
            signal.connect(self._workspace_changed)
        controller.selection_changed.connect(self.refresh)
        controller.project_replaced.connect(lambda _p: self.refresh())
        self._workspace_changed()

    def _workspace_changed(self, *_args) -> None:
        workspace = self.session.workspace
        if workspace is not None:
            from services.training.qt.controller import workspace_image_counts

            self.controller.set_image_counts(workspace_image_counts(workspace))
        self.refresh()

    def refresh(self) -> None:
        subsets = self.controller.project.subsets
        workspace = self.session.workspace
        open_dirs = {str(s.path) for s in workspace.subsets.values()} if workspace is not None else set()
        project_dirs = set(self.controller.subset_folders())
        if subsets:
            names = ", ".join(s.display_name() for s in subsets[:3]) + (" …" if len(subsets) > 3 else "")
            text = f"<b>Dataset:</b> {len(subsets)} subset{'s' * (len(subsets) != 1)} ({names})"
        else:
            text = "<b>Dataset:</b> none yet"
        if workspace is not None and open_dirs != project_dirs:
            totals = workspace.totals()
            text += f"; open in the Dataset panel: {totals.subsets} folders, {totals.images} images"
        self.summary.setText(text)
        self.use.setVisible(workspace is not None and open_dirs != project_dirs)
        self.open.setVisible(bool(project_dirs) and open_dirs != project_dirs)

    def use_workspace(self) -> None:
        try:
            self.controller.use_workspace(self.session.workspace)
        except LoraStudioError as exc:
            self.session.report_error(exc)
        self.refresh()

    def open_folders(self) -> None:
        folders = [f for f in self.controller.subset_folders() if f and Path(f).is_dir()]
        missing = len(self.controller.subset_folders()) - len(folders)
        if folders:
            self.session.open_folders(folders)
        if missing:
            self.session.show_status(f"{missing} of the project's folders do not exist any more.", 8000)
