"""Item models of the Queue and History views."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from services.runs import queue as q
from services.runs.history import RunSummary
from services.runs.monitor_state import format_duration

ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_LABELS = {
    q.PENDING: "Waiting", q.RUNNING: "Running", q.SUCCEEDED: "Succeeded", q.FAILED: "Failed",
    q.STOPPED: "Stopped", q.SKIPPED: "Skipped", "created": "Not started",
}


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class _RowsModel(QAbstractTableModel):
    """A flat table of ``_rows()`` under the headers ``COLUMNS``."""

    COLUMNS: tuple[str, ...] = ()

    def _rows(self) -> list:
        raise NotImplementedError

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None


class QueueModel(_RowsModel):
    COLUMNS = ("Name", "State", "Added", "Run folder")

    def __init__(self, rename: Callable[[str, str], None] | None = None, parent=None) -> None:
        super().__init__(parent)
        self._entries: list[q.QueueEntry] = []
        self._rename = rename

    def set_entries(self, entries: list[q.QueueEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def _rows(self) -> list:
        return self._entries

    def entry(self, row: int) -> q.QueueEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return (entry.name, STATE_LABELS.get(entry.state, entry.state), _when(entry.added_at),
                    entry.run_dir)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.run_dir
        if role == ID_ROLE:
            return entry.id
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        entry = self._entries[index.row()]
        if index.column() == 0 and entry.editable and self._rename is not None:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: QModelIndex | QPersistentModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or index.column() != 0 or self._rename is None:
            return False
        entry = self._entries[index.row()]
        if not entry.editable or not str(value).strip():
            return False
        self._rename(entry.id, str(value))
        entry.name = str(value).strip()
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True


class HistoryModel(_RowsModel):
    COLUMNS = ("Run", "State", "Started", "Duration", "Steps", "Last loss", "Note")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._runs: list[RunSummary] = []

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.beginResetModel()
        self._runs = list(runs)
        self.endResetModel()

    def _rows(self) -> list:
        return self._runs

    def summary(self, row: int) -> RunSummary | None:
        return self._runs[row] if 0 <= row < len(self._runs) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._runs):
            return None
        run = self._runs[index.row()]
        status = run.status
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == 0:
                return run.name
            if column == 1:
                label = STATE_LABELS.get(status.state, status.state)
                return f"{label} (×{len(status.attempts)})" if len(status.attempts) > 1 else label
            if column == 2:
                return _when(run.started_at)
            if column == 3:
                if run.started_at and run.ended_at:
                    return format_duration(run.ended_at - run.started_at)
                return ""
            if column == 4:
                if status.total_steps:
                    return f"{status.step}/{status.total_steps}"
                return str(status.step) if status.step else ""
            if column == 5:
                return f"{status.last_loss:.4g}" if status.last_loss is not None else ""
            return run.diagnosis_title
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(run.run.path)
        if role == ID_ROLE:
            return str(run.run.path)
        return None
