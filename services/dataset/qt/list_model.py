"""The grid's item model: one row per image key of the workspace, in filter and sort order.

The rows are a list of keys (the filter and the sort are computed by services.dataset.filter_query,
far faster than a proxy model calling back into Python for every comparison). ``data`` never
does I/O: thumbnails come from the ThumbnailLoader's memory cache, or are absent until loaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, QUrl

from services.dataset.workspace import ImageItem, Problem, Workspace

SNIPPET_CHARS = 90


_USER_ROLE = 256
_DISPLAY, _TOOLTIP, _ACCESSIBLE = 0, 3, 11  # Qt::DisplayRole, ToolTipRole, AccessibleTextRole
_FLAGS = None


def _item_flags():
    global _FLAGS
    if _FLAGS is None:
        _FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
    return _FLAGS


class DatasetListModel(QAbstractListModel):
    # Roles as plain ints (Qt::UserRole is 256): touching Qt's enums at import costs start-up time,
    # and comparing ints is what data() does thousands of times.
    KeyRole = _USER_ROLE + 1
    ItemRole = _USER_ROLE + 2  # the ImageItem
    SnippetRole = _USER_ROLE + 3  # a one-line caption excerpt
    ProblemsRole = _USER_ROLE + 4  # int(Problem flags)
    ThumbnailRole = _USER_ROLE + 5  # QImage or None (not loaded yet)
    SizeRole = _USER_ROLE + 6  # "1024×768"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._ws: Workspace | None = None
        self._keys: list[str] = []
        self._row_of: dict[str, int] = {}
        self.loader = None  # a ThumbnailLoader, set by the owner

    # --- content ----------------------------------------------------------------------------
    @property
    def workspace(self) -> Workspace | None:
        return self._ws

    def set_workspace(self, workspace: Workspace | None, keys: list[str] | None = None) -> None:
        self.beginResetModel()
        self._ws = workspace
        self._keys = list(keys if keys is not None else (workspace.keys() if workspace is not None else []))
        self._row_of = {k: i for i, k in enumerate(self._keys)}
        self.endResetModel()

    def swap_workspace(self, workspace: Workspace) -> None:
        """Point at ``workspace`` without a reset: it holds the very same items under the same keys
        (the finished scan replacing the partial one shown while it ran)."""
        self._ws = workspace

    def set_keys(self, keys: list[str]) -> None:
        """Show these keys in this order (after a filter or sort change)."""
        if keys == self._keys:
            return
        self.beginResetModel()
        self._keys = list(keys)
        self._row_of = {k: i for i, k in enumerate(self._keys)}
        self.endResetModel()

    def keys(self) -> list[str]:
        """The keys in row order (the model's own list: do not modify)."""
        return self._keys

    def key_at(self, row: int) -> str:
        return self._keys[row]

    def row_of(self, key: str) -> int:
        return self._row_of.get(key, -1)

    def index_of(self, key: str) -> QModelIndex:
        row = self._row_of.get(key, -1)
        return self.index(row, 0) if row >= 0 else QModelIndex()

    def cell(self, row: int) -> tuple | None:
        """(thumbnail or None, Problem flags, display name, caption snippet) for painting one cell."""
        item = self.item_at(row)
        if item is None:
            return None
        image = self.loader.image(item.key) if self.loader is not None else None
        return image, int(item.problems), display_name(item.name), snippet(item)

    def item_at(self, row: int) -> ImageItem | None:
        if self._ws is None or not 0 <= row < len(self._keys):
            return None
        return self._ws.get(self._keys[row])

    def refresh_keys(self, keys: Iterable[str], roles: list[int] | None = None) -> None:
        """Repaint the rows of ``keys`` (captions or thumbnails changed); contiguous runs are merged."""
        rows = sorted({self._row_of[k] for k in keys if k in self._row_of})
        if not rows:
            return
        start = prev = rows[0]
        for row in [*rows[1:], None]:
            if row is not None and row == prev + 1:
                prev = row
                continue
            self.dataChanged.emit(self.index(start, 0), self.index(prev, 0), roles or [])
            if row is not None:
                start = prev = row

    def append_keys(self, keys: list[str]) -> None:
        keys = [k for k in keys if k not in self._row_of]
        if not keys:
            return
        first = len(self._keys)
        self.beginInsertRows(QModelIndex(), first, first + len(keys) - 1)
        self._keys.extend(keys)
        for i, k in enumerate(keys, first):
            self._row_of[k] = i
        self.endInsertRows()

    def remove_keys(self, keys: Iterable[str]) -> None:
        rows = sorted((self._row_of[k] for k in set(keys) if k in self._row_of), reverse=True)
        if not rows:
            return
        # Remove contiguous runs from the end, so earlier row numbers stay valid.
        end = start = rows[0]
        for row in [*rows[1:], None]:
            if row is not None and row == start - 1:
                start = row
                continue
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._keys[start:end + 1]
            self.endRemoveRows()
            if row is not None:
                end = start = row
        self._row_of = {k: i for i, k in enumerate(self._keys)}

    # --- Qt model API -----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._keys)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _item_flags()

    def data(self, index, role=_DISPLAY):
        if not index.isValid() or self._ws is None or not 0 <= index.row() < len(self._keys):
            return None
        key = self._keys[index.row()]
        item = self._ws.get(key)
        if item is None:
            return None
        role = int(role)
        if role == _DISPLAY:
            return display_name(item.name)
        if role == self.KeyRole:
            return key
        if role == self.ThumbnailRole:
            return self.loader.image(key) if self.loader is not None else None
        if role == self.SnippetRole:
            return snippet(item)
        if role == self.ProblemsRole:
            return int(item.problems)
        if role == self.ItemRole:
            return item
        if role == self.SizeRole:
            return f"{item.width}×{item.height}" if item.width else ""
        if role == _TOOLTIP:
            return tooltip(self._ws, item)
        if role == _ACCESSIBLE:
            problems = ", ".join(item.problems.labels)
            return f"{item.name}{', ' + problems if problems else ''}"
        return None

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(self._keys[i.row()]) for i in indexes if i.isValid()])
        return mime


def display_name(name: str) -> str:
    """A file name for the screen: bytes that are not UTF-8 (kept by Python as surrogates, which Qt
    would silently drop) are shown as U+FFFD instead."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def snippet(item: ImageItem) -> str:
    cap = item.caption
    if cap.undecodable:
        return "(caption in an unknown encoding)"
    if not cap.exists:
        return "(no caption)"
    text = " ".join(cap.text.split())
    if not text:
        return "(empty caption)"
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS - 1] + "…"


def tooltip(ws: Workspace, item: ImageItem) -> str:
    from html import escape

    lines = [f"<b>{escape(display_name(item.name))}</b>", escape(display_name(str(item.path.parent)))]
    if item.width:
        lines.append(f"{item.width}×{item.height} {item.format}, {item.file_size / 1024:.0f} KB")
    subset = ws.subsets.get(item.subset)
    if subset is not None:
        lines.append(f"Folder {escape(subset.name)} · repeats {subset.repeats}"
                     + (" · regularisation" if subset.is_reg else ""))
    if item.problems != Problem.NONE:
        lines.append("<span>Problems: " + escape(", ".join(item.problems.labels)) + "</span>")
    if item.error:
        lines.append(escape(f"The image {item.error}."))
    if item.caption.error:
        lines.append(escape(f"The caption {item.caption.error}."))
    text = item.caption.text
    if text:
        lines.append("<i>" + escape(text[:400] + ("…" if len(text) > 400 else "")) + "</i>")
    return "<br>".join(lines)
