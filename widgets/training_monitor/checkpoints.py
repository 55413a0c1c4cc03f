"""The checkpoints a run saved, with their step, size and time, and actions to open their folder or
copy their path."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from services.runs.monitor_state import MonitorState

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def human_size(size: int | None) -> str:
    if size is None:
        return "missing"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


class CheckpointList(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checkpoint-list")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(["Checkpoint", "Step", "Epoch", "Size", "Saved"])
        self.tree.setAlternatingRowColors(True)
        self.tree.itemSelectionChanged.connect(self._selection)
        self.tree.itemActivated.connect(lambda _item, _col: self.open_folder())
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the selected checkpoint (or the output folder) in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        self.copy_button = QPushButton("Copy path")
        self.copy_button.clicked.connect(self.copy_path)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.output_dir: str = ""
        self._shown: list[str] = []
        self._selection()

    def clear(self) -> None:
        self.tree.clear()
        self._shown = []
        self.output_dir = ""
        self._selection()

    def update_from(self, state: MonitorState) -> None:
        """Add the newly saved checkpoints at the top (a full rebuild only when one was removed)."""
        paths = [c.path for c in state.checkpoints]
        if paths[:len(self._shown)] != self._shown:
            self.tree.clear()
            self._shown = []
        for saved in state.checkpoints[len(self._shown):]:
            self.tree.insertTopLevelItem(0, self._item(saved))
            self._shown.append(saved.path)
        if len(self._shown) <= 3 or not state.running:
            for column in range(5):
                self.tree.resizeColumnToContents(column)
            self.tree.setColumnWidth(0, max(self.tree.columnWidth(0) + 12, 160))
        if not state.running:
            self.refresh_sizes()
        if state.checkpoints:
            self.output_dir = str(Path(state.checkpoints[-1].path).parent)
        self._selection()

    @staticmethod
    def _item(saved) -> QTreeWidgetItem:
        path = Path(saved.path)
        item = QTreeWidgetItem([path.name, str(saved.step or ""), str(saved.epoch or ""), "", ""])
        item.setData(0, PATH_ROLE, saved.path)
        item.setToolTip(0, saved.path)
        CheckpointList._stat(item)
        return item

    @staticmethod
    def _stat(item: QTreeWidgetItem) -> None:
        try:
            stat = Path(item.data(0, PATH_ROLE)).stat()
            size, when = stat.st_size, time.strftime("%H:%M:%S", time.localtime(stat.st_mtime))
        except OSError:
            size, when = None, ""
        item.setText(3, human_size(size))
        item.setText(4, when)

    def refresh_sizes(self) -> None:
        """Sizes as they are now (a checkpoint is still being written when its line is printed)."""
        for row in range(self.tree.topLevelItemCount()):
            self._stat(self.tree.topLevelItem(row))

    def selected_path(self) -> str:
        item = self.tree.currentItem()
        return item.data(0, PATH_ROLE) if item is not None else ""

    def _selection(self) -> None:
        self.open_button.setEnabled(bool(self.selected_path() or self.output_dir))
        self.copy_button.setEnabled(bool(self.selected_path()))

    def open_folder(self) -> None:
        path = self.selected_path()
        folder = os.path.dirname(path) if path else self.output_dir
        if folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def copy_path(self) -> None:
        path = self.selected_path()
        if path:
            QGuiApplication.clipboard().setText(path)
