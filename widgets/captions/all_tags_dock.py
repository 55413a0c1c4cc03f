"""The All tags dock: every tag of the dataset with the number of captions carrying it.

Sortable by count, name or length; a filter box; a click shows the images carrying the tag in the
Dataset panel (Ctrl+click hides them instead); the context menu renames, merges or deletes a tag
across the whole dataset (with the number of captions that will change, and one undo step).
Counts are updated incrementally by the caption controller.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from services.captions.operations import AddTags, RemoveTags, RenameTag
from services.captions.qt.controller import caption_controller
from services.captions.qt.tag_models import AllTagsModel, AllTagsProxy
from widgets.captions.editor_dock import tag_query

SORTS = (("count", "Most used"), ("name", "Name"), ("length", "Length"))


class AllTagsDock(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("all-tags")
        self.session = session
        self.controller = caption_controller(session)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        top = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("all-tags-filter")
        self.filter_edit.setPlaceholderText("Filter tags…")
        self.filter_edit.setClearButtonEnabled(True)
        self.sort_combo = QComboBox()
        self.sort_combo.setObjectName("all-tags-sort")
        for mode, label in SORTS:
            self.sort_combo.addItem(label, mode)
        self.sort_combo.setToolTip("Sort by the number of captions carrying a tag, by name, or by length")
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.sort_combo)
        layout.addLayout(top)

        self.model = AllTagsModel(self.controller, self)
        self.proxy = AllTagsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setObjectName("all-tags-table")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self._header_sorted)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.clicked.connect(self._clicked)
        self.view.setToolTip("Click a tag to show its images in the Dataset panel; Ctrl+click to hide them. "
                             "Right-click to rename or delete it everywhere.")
        layout.addWidget(self.view, 1)

        self.summary = QLabel()
        self.summary.setProperty("role", "muted")
        layout.addWidget(self.summary)

        self.filter_edit.textChanged.connect(self._filter_changed)
        self.sort_combo.currentIndexChanged.connect(self._sort_changed)
        self.controller.stats_reset.connect(self._update_summary)
        self.controller.tags_changed.connect(lambda *_a: self._update_summary())
        self.controller.busy_changed.connect(lambda _t: self._update_summary())
        self._update_summary()

    # --- view state -----------------------------------------------------------------------
    def _filter_changed(self, text: str) -> None:
        self.proxy.set_needle(text)
        self._update_summary()

    def _sort_changed(self) -> None:
        mode = self.sort_combo.currentData()
        self.proxy.set_mode(mode)
        column, order = (0, Qt.SortOrder.AscendingOrder) if mode == "name" else (1, Qt.SortOrder.DescendingOrder)
        if mode == "length":
            column, order = 0, Qt.SortOrder.AscendingOrder
        header = self.view.horizontalHeader()
        header.blockSignals(True)
        self.view.sortByColumn(column, order)
        header.blockSignals(False)

    def _header_sorted(self, column: int, _order) -> None:
        mode = "count" if column == 1 else ("length" if self.proxy.mode == "length" else "name")
        if mode != self.proxy.mode:
            self.sort_combo.blockSignals(True)
            self.sort_combo.setCurrentIndex([m for m, _l in SORTS].index(mode))
            self.sort_combo.blockSignals(False)
            self.proxy.set_mode(mode)

    def _update_summary(self) -> None:
        if self.session.workspace is None:
            self.summary.setText("Open a dataset to see its tags.")
        elif self.controller.index is None:
            self.summary.setText("Counting tags…")
        else:
            live = self.proxy.rowCount()
            total = sum(1 for c in self.controller.index.stats.counts.values() if c > 0)
            shown = f"{live} of {total} tags" if self.proxy.rowCount() != total else f"{total} tags"
            self.summary.setText(shown)

    # --- actions ----------------------------------------------------------------------------
    def selected_tags(self) -> list[str]:
        rows = {self.proxy.mapToSource(i).row() for i in self.view.selectionModel().selectedRows()}
        return [self.model.name(r) for r in sorted(rows)]

    def _clicked(self, index) -> None:
        tag = self.model.name(self.proxy.mapToSource(index).row())
        modifiers = QGuiApplication.keyboardModifiers()
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            return  # extending the selection, not filtering
        query = ("-" + tag_query(tag)) if modifiers & Qt.KeyboardModifier.ControlModifier else tag_query(tag)
        self.session.filter_requested.emit(query)
        self.session.show_status(f"Dataset filtered: {query}", 3000)

    def _menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        tags = self.selected_tags()
        tag = self.model.name(self.proxy.mapToSource(index).row())
        if tag not in tags:
            tags = [tag]
        label = f"“{tags[0]}”" if len(tags) == 1 else f"{len(tags)} tags"
        menu = QMenu(self)
        menu.addAction(f"Show images with {label}", lambda: self.session.filter_requested.emit(
            " OR ".join(tag_query(t) for t in tags)))
        menu.addAction(f"Hide images with {label}", lambda: self.session.filter_requested.emit(
            " ".join("-" + tag_query(t) for t in tags)))
        menu.addSeparator()
        menu.addAction("Rename everywhere…" if len(tags) == 1 else f"Merge {label} into one…",
                       lambda: self.rename_tags(tags))
        menu.addAction(f"Delete {label} everywhere…", lambda: self.delete_tags(tags))
        selected = list(self.session.selected_keys)
        if selected:
            menu.addSeparator()
            menu.addAction(f"Add {label} to the {len(selected)} selected image(s)",
                           lambda: self.controller.run_operation(AddTags(tuple(tags), "end"), selected))
            menu.addAction(f"Remove {label} from the {len(selected)} selected image(s)",
                           lambda: self.controller.run_operation(RemoveTags(tuple(tags)), selected))
        menu.addSeparator()
        menu.addAction("Copy", lambda: QGuiApplication.clipboard().setText(", ".join(tags)))
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def rename_tags(self, tags: list[str]) -> None:
        ws = self.session.workspace
        if ws is None or not tags:
            return
        title = "Rename tag" if len(tags) == 1 else "Merge tags"
        count = sum(self.controller.counts().get(t, 0) for t in tags)
        new, ok = QInputDialog.getText(self, title, f"New name for {', '.join(tags)} (in about {count} captions):",
                                       QLineEdit.EchoMode.Normal, tags[0])
        if ok and new.strip() and (len(tags) > 1 or new.strip() != tags[0]):
            self.controller.run_operation(RenameTag(tuple(tags), new.strip()), ws.keys())

    def delete_tags(self, tags: list[str]) -> None:
        ws = self.session.workspace
        if ws is None or not tags:
            return

        op = RemoveTags(tuple(tags))

        def confirm(changes) -> None:
            if not changes:
                self.session.show_status("No caption carries those tags any more", 3000)
                return
            revision = self.controller.revision
            answer = QMessageBox.question(
                self, "Delete tags", f"Remove {', '.join(tags)} from {len(changes)} caption(s)? "
                "You can undo this with Edit > Undo.")
            if answer != QMessageBox.StandardButton.Yes or self.session.workspace is not ws:
                return
            if self.controller.revision == revision:
                self.controller.push(changes)
            else:  # captions changed while the question was open: plan again on what they are now
                self.controller.run_operation(op, ws.keys())

        self.controller.plan_async(op, ws.keys(), confirm)
