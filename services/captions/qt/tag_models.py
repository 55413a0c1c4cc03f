"""Item models of caption editing: the tags of the selected images, and every tag of the dataset.

``SelectionTagsModel`` lists the tags of one caption in order (reorderable by drag and drop), or the
union of several captions with how many of them carry each tag. Edits through the view (rename,
move) are not applied here: they are emitted as requests, and the editor turns them into undoable
commands; the model is then refreshed from the workspace.

``AllTagsModel`` is a table over ``TagStats``: one row per tag ever seen, appended as new tags
appear, updated row by row from the controller's ``tags_changed`` (so an edit costs time in
proportion to the tags it touched). ``AllTagsProxy`` hides tags no caption carries any more,
filters by text and sorts by count, name or length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)

MIME_TAG_ROWS = "application/x-lora-studio-tag-rows"
COUNT_ROLE = Qt.ItemDataRole.UserRole + 1      # images of the selection carrying the tag
TOTAL_ROLE = Qt.ItemDataRole.UserRole + 2      # images selected
CHUNK_ROLE = Qt.ItemDataRole.UserRole + 3      # the 75-token chunk the tag starts in (-1 unknown)
DATASET_ROLE = Qt.ItemDataRole.UserRole + 4    # captions of the dataset carrying the tag
NEW_CHUNK_ROLE = Qt.ItemDataRole.UserRole + 5  # the first tag of a chunk after the first
CUT_ROLE = Qt.ItemDataRole.UserRole + 6        # beyond the max token length: sd-scripts cuts it


@dataclass
class TagRow:
    name: str
    count: int = 1
    chunk: int = -1
    cut: bool = False


class SelectionTagsModel(QAbstractListModel):
    rename_requested = Signal(int, str)        # row, new name
    move_requested = Signal(list, int)         # rows, destination row (before which to insert)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[TagRow] = []
        self.total = 0  # captions shown (1 in single mode)
        self.dataset_counts: dict[str, int] = {}

    @property
    def multi(self) -> bool:
        return self.total > 1

    def set_single(self, tags: list[str]) -> None:
        self.beginResetModel()
        self.rows = [TagRow(t) for t in tags]
        self.total = 1
        self.endResetModel()

    def set_union(self, counted: list[tuple[str, int]], total: int) -> None:
        """``counted``: (tag, captions carrying it) in display order (``stats.union_counts``)."""
        self.beginResetModel()
        self.rows = [TagRow(t, n) for t, n in counted]
        self.total = total
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows, self.total = [], 0
        self.endResetModel()

    def set_chunks(self, chunks: tuple[int, ...], max_token_length: int) -> None:
        if len(chunks) != len(self.rows) or not self.rows:
            return
        limit_chunk = max_token_length // 75
        for row, chunk in zip(self.rows, chunks):
            row.chunk = chunk
            row.cut = chunk >= limit_chunk
        self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1),
                              [CHUNK_ROLE, NEW_CHUNK_ROLE, CUT_ROLE, Qt.ItemDataRole.ToolTipRole])

    def set_dataset_counts(self, counts: dict[str, int]) -> None:
        self.dataset_counts = counts

    def names(self) -> list[str]:
        return [r.name for r in self.rows]

    # --- QAbstractItemModel -----------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return row.name
        if role == COUNT_ROLE:
            return row.count
        if role == TOTAL_ROLE:
            return self.total
        if role == CHUNK_ROLE:
            return row.chunk
        if role == CUT_ROLE:
            return row.cut
        if role == NEW_CHUNK_ROLE:
            i = index.row()
            return row.chunk > 0 and (i == 0 or self.rows[i - 1].chunk != row.chunk)
        if role == DATASET_ROLE:
            return self.dataset_counts.get(row.name, 0)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"tag {row.name}" + (f", in {row.count} of {self.total}" if self.multi else "")
        return None

    def _tooltip(self, row: TagRow) -> str:
        parts = [f"<b>{_escape(row.name) or '(empty tag)'}</b>"]
        if self.multi:
            parts.append(f"in {row.count} of the {self.total} selected images")
        in_dataset = self.dataset_counts.get(row.name)
        if in_dataset is not None:
            parts.append(f"{in_dataset} caption(s) in the dataset")
        if row.chunk >= 0 and not self.multi:
            parts.append(f"token chunk {row.chunk + 1}" + (" — cut by the max token length" if row.cut else ""))
        return "<br>".join(parts)

    def flags(self, index):
        if not index.isValid():  # dropping between chips (single caption only)
            return Qt.ItemFlag.NoItemFlags if self.multi else Qt.ItemFlag.ItemIsDropEnabled
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        flags = base | Qt.ItemFlag.ItemIsEditable
        if not self.multi:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        return flags

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        new = str(value).strip()
        if new and new != self.rows[index.row()].name:
            self.rename_requested.emit(index.row(), new)
        return False  # the editor applies it as a command and refreshes the model

    def supportedDropActions(self):
        return Qt.DropAction.MoveAction

    def supportedDragActions(self):
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME_TAG_ROWS]

    def mimeData(self, indexes) -> QMimeData:
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime.setData(MIME_TAG_ROWS, json.dumps(rows).encode())
        mime.setText(", ".join(self.rows[r].name for r in rows))
        return mime

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        return not self.multi and data.hasFormat(MIME_TAG_ROWS) and action == Qt.DropAction.MoveAction

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        rows = json.loads(bytes(data.data(MIME_TAG_ROWS)).decode())
        if row < 0:
            row = parent.row() if parent.isValid() else len(self.rows)
        self.move_requested.emit(rows, row)
        return False  # nothing for the view to remove: the editor rebuilds the list


def moved(items: list, rows: list[int], destination: int) -> list:
    """``items`` with the items at ``rows`` moved before index ``destination``."""
    picked = [items[r] for r in rows]
    keep = [x for i, x in enumerate(items) if i not in set(rows)]
    at = destination - sum(1 for r in rows if r < destination)
    return keep[:at] + picked + keep[at:]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class AllTagsModel(QAbstractTableModel):
    HEADERS = ("Tag", "Captions")

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._names: list[str] = []
        self._counts: dict[str, int] = {}
        controller.stats_reset.connect(self.reset)
        controller.tags_changed.connect(self.update_tags)
        self.reset()

    def reset(self) -> None:
        self.beginResetModel()
        index = self.controller.index
        self._names = index.stats.names if index is not None else []
        self._counts = index.stats.counts if index is not None else {}
        self.endResetModel()

    def update_tags(self, changed: list[int], added: int) -> None:
        stats = self.controller.index.stats if self.controller.index is not None else None
        if stats is None or stats.names is not self._names:
            self.reset()
            return
        if added:
            # The names list already grew (it is the statistics' own list): announce the new rows.
            first = len(self._names) - added
            self.beginInsertRows(QModelIndex(), first, len(self._names) - 1)
            self.endInsertRows()
        last_col = len(self.HEADERS) - 1
        for row in changed:
            self.dataChanged.emit(self.index(row, 0), self.index(row, last_col))

    def name(self, row: int) -> str:
        return self._names[row]

    def count(self, row: int) -> int:
        return self._counts.get(self._names[row], 0)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._names)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        name = self._names[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return name if index.column() == 0 else self._counts.get(name, 0)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{name}: in {self._counts.get(name, 0)} caption(s). Click to show those images."
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


SORT_MODES = ("count", "name", "length")


class AllTagsProxy(QSortFilterProxyModel):
    """Live tags only; filtered by a substring; sorted by count, name or length."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._needle = ""
        self.mode = "count"
        self.setDynamicSortFilter(True)

    def set_needle(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+
            self.beginFilterChange()
            self._needle = text.strip().casefold()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._needle = text.strip().casefold()
            self.invalidateRowsFilter()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.invalidate()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        if model.count(row) <= 0:
            return False
        return not self._needle or self._needle in model.name(row).casefold()

    def lessThan(self, left, right) -> bool:
        model = self.sourceModel()
        a, b = left.row(), right.row()
        mode = self.mode
        if mode == "count":
            # Ties in alphabetical order under the usual descending sort: the names swap sides.
            ka, kb = (model.count(a), model.name(b).casefold()), (model.count(b), model.name(a).casefold())
        elif mode == "length":
            ka, kb = (len(model.name(a)), model.name(a).casefold()), (len(model.name(b)), model.name(b).casefold())
        else:
            ka, kb = model.name(a).casefold(), model.name(b).casefold()
        return ka < kb
