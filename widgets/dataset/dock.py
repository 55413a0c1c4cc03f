"""The Dataset dock: open folders, see and filter the images, find problems, fix Kohya folders.

It scans in a background Task, shows the workspace in a GridView over a DatasetListModel, keeps
the Session informed (workspace, selection, current image, filtered keys) and follows the
Session's requests (open folders, select keys, apply a filter, captions changed).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from services.dataset.filter_query import compile_query, sort_keys
from services.dataset.qt.list_model import DatasetListModel
from services.dataset.qt.live_updates import LiveUpdates
from services.dataset.qt.task import Task
from services.dataset.qt.thumbnail_loader import ThumbnailLoader
from services.dataset.qt.watcher import WorkspaceWatcher
from services.dataset.scanner import ScanOptions, scan_folders
from services.dataset.thumbnails import ThumbnailCache
from services.dataset.workspace import Problem
from services.errors import LoraStudioError, UserInputError
from widgets.dataset.filter_bar import FilterBar
from widgets.dataset.grid_view import BOX_STEP, MAX_BOX, MIN_BOX, GridView, clamp_box
from widgets.dataset.subset_panel import SubsetPanel
from widgets.empty_state import EmptyState

log = logging.getLogger(__name__)


class DatasetDock(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset-dock")
        self.session = session
        self.setAcceptDrops(True)
        self.ws = None
        self.scan_task: Task | None = None
        self._pending_roots: list[str] | None = None
        self._tasks: list[Task] = []
        self._query = ""
        self._select_after_scan: list[str] | None = None
        self._pending_keep_view = False
        settings = session.settings
        box = clamp_box(settings.appearance.thumbnail_size)
        self.loader = ThumbnailLoader(ThumbnailCache(session.dirs.cache / "thumbnails"), box, parent=self)
        self.model = DatasetListModel(self)
        self.model.loader = self.loader
        self._sort = settings.dataset.sort if settings.dataset.sort else "folder"
        self._descending = settings.dataset.sort_descending
        self._build(box)
        self.watcher = WorkspaceWatcher(self, interval_s=settings.dataset.watch_interval_s)
        self.live = LiveUpdates(session, self.watcher, self._scan_options, self)
        self.live.applied.connect(self._live_applied)
        self.live.duplicates_changed.connect(self._duplicates_changed)
        self.loader.thumbnail_failed.connect(self._thumbnail_failed)
        self._session_links = [
            (session.folders_open_requested, self.open_folders),
            (session.folders_add_requested, self.add_folders),
            (session.files_dropped, self.open_files),
            (session.captions_changed, self._captions_changed),
            (session.select_keys_requested, self.select_keys),
            (session.filter_requested, self.filter_bar.set_text),
        ]
        for signal, slot in self._session_links:
            signal.connect(slot)

    def sizeHint(self) -> QSize:
        # wide enough for three columns of default-size thumbnails beside the preview
        return QSize(560, 720)

    # --- construction ---------------------------------------------------------------------
    def _build(self, box: int) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(4)
        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack)
        self.empty = EmptyState(
            "No dataset open",
            "Open a folder of images (File > Open folder, or drop folders here). Kohya folders named "
            "like 10_name become subsets with their repeats. Help > Open demo dataset shows a sample.",
            actions=[("Open folder…", self.open_folder_dialog)])
        self.stack.addWidget(self.empty)

        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.filter_bar = FilterBar(page, self._sort, self._descending)
        self.filter_bar.query_changed.connect(self._query_changed)
        self.filter_bar.sort_changed.connect(self._sort_changed)
        layout.addWidget(self.filter_bar)
        self.notice = QLabel(page)
        self.notice.setObjectName("dataset-notice")
        self.notice.setProperty("role", "warning")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        layout.addWidget(self.notice)
        self.subsets = SubsetPanel(page)
        self.subsets.subset_activated.connect(self._show_subset)
        self.subsets.reg_toggled.connect(self._reg_toggled)
        layout.addWidget(self.subsets)
        self.grid = GridView(page, box)
        self.grid.setModel(self.model)
        self.grid.set_loader(self.loader)
        self.grid.box_changed.connect(self._box_changed)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._selection_timer.start())
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        layout.addWidget(self.grid, 1)
        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        self.counts = QLabel(page)
        self.counts.setObjectName("dataset-counts")
        self.counts.setProperty("role", "muted")
        bottom.addWidget(self.counts, 1)
        self.slider = QSlider(Qt.Orientation.Horizontal, page)
        self.slider.setObjectName("dataset-thumb-size")
        self.slider.setRange(MIN_BOX // BOX_STEP, MAX_BOX // BOX_STEP)
        self.slider.setValue(box // BOX_STEP)
        self.slider.setFixedWidth(110)
        self.slider.setToolTip("Thumbnail size (Ctrl+wheel over the grid)")
        self.slider.valueChanged.connect(lambda v: self.grid.set_box(v * BOX_STEP))
        bottom.addWidget(self.slider)
        layout.addLayout(bottom)
        self.stack.addWidget(page)
        self.page = page

        self.progress_row = QWidget(self)
        row = QHBoxLayout(self.progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.progress_label = QLabel(self.progress_row)
        self.progress_label.setProperty("role", "muted")
        self.progress = QProgressBar(self.progress_row)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.cancel_button = QPushButton("Cancel", self.progress_row)
        self.cancel_button.clicked.connect(self.cancel_scan)
        row.addWidget(self.progress_label, 1)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.progress_row.hide()
        outer.addWidget(self.progress_row)

        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._publish_selection)

    # --- opening ----------------------------------------------------------------------------
    def open_folder_dialog(self) -> None:
        start = (self.session.settings.workspace.recent_folders or [str(Path.home())])[0]
        folder = QFileDialog.getExistingDirectory(self, "Open dataset folder", start)
        if folder:
            self.session.open_folders([folder])

    def open_folders(self, folders: list[str], *, add: bool = False) -> None:
        folders = [os.path.abspath(f) for f in folders]
        roots = folders
        if add and self.ws is not None:
            roots = list(dict.fromkeys([*(str(r) for r in self.ws.roots), *folders]))
        self._start_scan(roots)

    def add_folders(self, folders: list[str]) -> None:
        self.open_folders(folders, add=True)

    def open_files(self, files: list[str]) -> None:
        """Image files dropped: add them to the open workspace, or open the folders they are in."""
        from services.dataset.image_header import is_image_name

        images = [os.path.abspath(f) for f in files if is_image_name(os.path.basename(f))]
        if not images:
            self.session.show_status("Only images (.png .jpg .jpeg .webp .bmp .gif) and folders can be dropped here.")
            return
        if self.ws is not None and self.ws.subsets:
            from widgets.dataset.folder_tools_dialog import AddImagesDialog

            dialog = AddImagesDialog(self.session, self.ws, images, self)
            dialog.applied.connect(self.refresh)
            dialog.open()
            return
        folders = list(dict.fromkeys(os.path.dirname(p) for p in images))
        self._select_after_scan = images
        self.session.open_folders(folders)

    def _scan_options(self) -> ScanOptions:
        s = self.session.settings
        return ScanOptions(caption_extension=s.workspace.caption_extension, tag_separator=s.workspace.tag_separator,
                           small_side=s.dataset.small_image_side, reg_folders=frozenset(s.dataset.reg_folders),
                           not_reg_folders=frozenset(s.dataset.not_reg_folders))

    def _start_scan(self, roots: list[str], *, keep_view: bool = False) -> None:
        if self.scan_task is not None and self.scan_task.isRunning():
            self._pending_roots = roots  # start once the running scan has stopped
            self._pending_keep_view = keep_view
            self.scan_task.cancel()
            return
        options = self._scan_options()
        chosen = self._stored_extension(roots)
        if chosen:
            options.caption_extension = chosen

        def scan(report, cancelled):
            return scan_folders(roots, options, progress=report, cancelled=cancelled, guess_extension=not chosen)

        task = Task(scan, "dataset-scan", self)
        task.progress.connect(self._scan_progress)
        task.succeeded.connect(lambda ws, kv=keep_view: self._scan_done(ws, keep_view=kv))
        task.failed.connect(self._scan_failed)
        task.cancelled.connect(self._scan_cancelled)
        task.finished.connect(self._task_finished)
        self.scan_task = task
        self._pending_roots = None
        self.progress_label.setText("Reading folders…")
        self.progress.setRange(0, 0)
        self.progress_row.show()
        self.cancel_button.setEnabled(True)
        task.start()

    def _scan_progress(self, done: int, total: int, folder: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.progress_label.setText(f"Reading {done:,} of {total:,} images…" if total else "Reading folders…")

    def _scan_done(self, ws, *, keep_view: bool = False) -> None:
        self.progress_row.hide()
        previous_selection = self.session.selected_keys if keep_view else []
        previous_current = self.session.current_key if keep_view else None
        self.ws = ws
        self.loader.clear() if not keep_view else None
        keys = self._visible_keys(ws)
        self.model.set_workspace(ws, keys)
        self.stack.setCurrentWidget(self.page)
        self.subsets.show_workspace(ws)
        self.session.set_workspace(ws)
        self.session.set_filtered_keys(keys)
        self._show_messages()
        self._update_counts()
        self.watcher.watch(sorted(ws.folders))
        self.live.start_duplicate_pass()
        wanted = getattr(self, "_select_after_scan", None)
        self._select_after_scan = None
        if wanted:
            self.grid.select_keys(wanted)
        elif previous_selection or previous_current:
            self.grid.select_keys(previous_selection or [previous_current])
        elif keys:
            self.grid.setCurrentIndex(self.model.index(0, 0))
        self.session.show_status(
            f"{len(ws):,} images in {len(ws.subsets)} folders read in {ws.scan_seconds:.2f} s"
            + (f"; captions: {ws.caption_extension}" if len(ws) else ""))

    def _scan_failed(self, error) -> None:
        self.progress_row.hide()
        self.session.report_error(error)

    def _scan_cancelled(self) -> None:
        self.progress_row.hide()
        if self._pending_roots is None:
            self.session.show_status("Scan cancelled")

    def _task_finished(self) -> None:
        task = self.sender()
        if task is self.scan_task and self._pending_roots is not None:
            roots, self._pending_roots = self._pending_roots, None
            self.scan_task = None
            self._start_scan(roots, keep_view=getattr(self, "_pending_keep_view", False))

    def cancel_scan(self) -> None:
        if self.scan_task is not None:
            self._pending_roots = None
            self.scan_task.cancel()
        self.live.cancel()

    def refresh(self) -> None:
        """Dataset > Refresh: read the open folders again, keeping filter, selection and thumbnails."""
        if self.ws is None:
            self.session.show_status("No dataset is open.")
            return
        self._start_scan([str(r) for r in self.ws.roots], keep_view=True)

    # --- filter and sort --------------------------------------------------------------------
    def _visible_keys(self, ws) -> list[str]:
        keys = ws.keys()
        predicate = None
        if self._query:
            try:
                predicate = compile_query(self._query)
            except UserInputError:
                predicate = None
        if predicate is not None:
            keys = [k for k in keys if predicate(ws, ws.item(k))]
        if self._sort != "folder":
            keys = sort_keys(ws, keys, self._sort, self._descending)
        elif self._descending:
            keys.reverse()
        return keys

    def apply_filter(self) -> None:
        if self.ws is None:
            return
        selected = self._grid_selection()
        current = self.session.current_key
        keys = self._visible_keys(self.ws)
        self.model.set_keys(keys)
        self.session.set_filtered_keys(keys)
        shown = [k for k in selected if self.model.row_of(k) >= 0]
        if shown:
            self.grid.select_keys(shown)
            if current in shown:
                self.grid.selectionModel().setCurrentIndex(self.model.index_of(current),
                                                           self.grid.selectionModel().SelectionFlag.NoUpdate)
                self.grid.scrollTo(self.model.index_of(current))
        self._update_counts()

    def _query_changed(self, text: str) -> None:
        self._query = text
        self.apply_filter()

    def _sort_changed(self, by: str, descending: bool) -> None:
        self._sort, self._descending = by, descending
        self.session.settings.dataset.sort = by
        self.session.settings.dataset.sort_descending = descending
        self.session.save_settings()
        self.apply_filter()

    def _show_subset(self, subset_id: str) -> None:
        if self.ws is None or subset_id not in self.ws.subsets:
            return
        name = self.ws.subsets[subset_id].path.name
        self.filter_bar.set_text(f'subset:"{name}"' if " " in name else f"subset:{name}")

    def select_keys(self, keys: list[str]) -> None:
        """Select and show ``keys``; clears the filter first if it hides any of them."""
        if self.ws is None:
            return
        keys = [k for k in keys if k in self.ws]
        if any(self.model.row_of(k) < 0 for k in keys) and self.filter_bar.text():
            self.filter_bar.set_text("")
        self.grid.select_keys(keys)
        self.grid.setFocus()

    def _update_counts(self) -> None:
        if self.ws is None:
            self.counts.setText("")
            return
        totals = self.ws.totals()
        shown = self.model.rowCount()
        text = f"{shown:,} of {totals.images:,} shown" if shown != totals.images else f"{totals.images:,} images"
        text += f" · {totals.subsets} folders · images × repeats {totals.weighted:,}"
        if totals.reg_images:
            text += f" · reg {totals.reg_images:,}"
        problems = sum(1 for it in self.ws if it.problems != Problem.NONE)
        if problems:
            text += f" · {problems:,} with problems"
        self.counts.setText(text)

    def _show_messages(self) -> None:
        if self.ws is None or not self.ws.messages:
            self.notice.hide()
            return
        messages = self.ws.messages
        head = f"{len(messages)} folder{'s' if len(messages) != 1 else ''} could not be read fully:"
        detail = "\n".join(f"{m.path}: {m.message}" for m in messages[:50])
        self.notice.setText(f"{head} {messages[0].path} — {messages[0].message}"
                            + (f" (and {len(messages) - 1} more; hover for all)" if len(messages) > 1 else ""))
        self.notice.setToolTip(detail)
        self.notice.show()

    # --- selection ----------------------------------------------------------------------------
    def _grid_selection(self) -> list[str]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.model.key_at(r) for r in rows]

    def _publish_selection(self) -> None:
        self.session.set_selection(self._grid_selection())

    def _current_changed(self, current, _previous) -> None:
        key = self.model.key_at(current.row()) if current.isValid() else None
        self.session.set_current_image(key)

    def selected_keys(self) -> list[str]:
        return list(self.session.selected_keys)

    # --- reactions ----------------------------------------------------------------------------
    def _captions_changed(self, keys: list[str]) -> None:
        self.model.refresh_keys(keys)
        self._update_counts()

    def _live_applied(self, added: list[str], removed: list[str], changed: list[str], _captions: list[str]) -> None:
        if removed:
            self.model.remove_keys(removed)
            self.loader.forget(removed)
        if added:
            predicate = None
            if self._query:
                try:
                    predicate = compile_query(self._query)
                except UserInputError:
                    predicate = None
            ws = self.ws
            self.model.append_keys([k for k in added if predicate is None or predicate(ws, ws.item(k))])
        if changed:
            self.loader.forget(changed)
            self.model.refresh_keys(changed)
            self.grid.schedule_requests()
        if added or removed:
            self.session.set_filtered_keys(self.model.keys())
            self.subsets.show_workspace(self.ws)
            self.session.workspace_changed.emit(self.ws)
        self._update_counts()
        n = len(added) + len(removed) + len(changed)
        if n:
            self.session.show_status(f"Dataset updated from disk: {len(added)} new, {len(removed)} gone, "
                                     f"{len(changed)} changed")

    def _duplicates_changed(self, keys: list[str]) -> None:
        self.model.refresh_keys(keys)
        self._update_counts()

    def _thumbnail_failed(self, key: str, reason: str) -> None:
        if self.ws is None or key not in self.ws:
            return
        item = self.ws.item(key)
        item.problems |= Problem.CORRUPT
        item.error = reason
        self.model.refresh_keys([key])

    def _box_changed(self, box: int) -> None:
        if self.slider.value() != box // BOX_STEP:
            self.slider.blockSignals(True)
            self.slider.setValue(box // BOX_STEP)
            self.slider.blockSignals(False)
        self.session.settings.appearance.thumbnail_size = box
        self._save_settings_later()

    def _reg_toggled(self, subset_id: str, is_reg: bool) -> None:
        if self.ws is None or subset_id not in self.ws.subsets:
            return
        self.ws.subsets[subset_id].is_reg = is_reg
        ds = self.session.settings.dataset
        for name in (ds.reg_folders, ds.not_reg_folders):
            if subset_id in name:
                name.remove(subset_id)
        (ds.reg_folders if is_reg else ds.not_reg_folders).append(subset_id)
        self.session.save_settings()
        self.subsets.show_workspace(self.ws)
        self._update_counts()
        self.session.workspace_changed.emit(self.ws)

    def _save_settings_later(self) -> None:
        if not hasattr(self, "_settings_timer"):
            self._settings_timer = QTimer(self)
            self._settings_timer.setSingleShot(True)
            self._settings_timer.setInterval(800)
            self._settings_timer.timeout.connect(self.session.save_settings)
        self._settings_timer.start()

    # --- per-workspace caption extension ----------------------------------------------------
    def _stored_extension(self, roots: list[str]) -> str:
        for entry in self.session.settings.dataset.caption_extensions:
            ext, _, root = entry.partition("\t")
            if roots and root == roots[0]:
                return ext
        return ""

    def set_caption_extension(self, extension: str | None = None) -> None:
        """Dataset > Caption extension: choose .txt/.caption/.cap or type one; re-reads the captions."""
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        if extension is None:
            from widgets.dataset.caption_settings_dialog import ask_caption_extension

            extension = ask_caption_extension(self, self.ws.caption_extension)
            if not extension:
                return
        from services.dataset.caption_files import normalise_extension

        try:
            extension = normalise_extension(extension)
        except LoraStudioError as exc:
            self.session.report_error(exc)
            return
        root = str(self.ws.roots[0]) if self.ws.roots else ""
        ds = self.session.settings.dataset
        ds.caption_extensions = [e for e in ds.caption_extensions if e.partition("\t")[2] != root]
        ds.caption_extensions.insert(0, f"{extension}\t{root}")
        del ds.caption_extensions[50:]
        self.session.save_settings()
        self.refresh()

    def set_tag_separator(self, separator: str | None = None) -> None:
        if separator is None:
            from widgets.dataset.caption_settings_dialog import ask_tag_separator

            separator = ask_tag_separator(self, self.session.settings.workspace.tag_separator)
            if separator is None:
                return
        self.session.settings.workspace.tag_separator = separator
        self.session.save_settings()
        if self.ws is not None:
            self.ws.set_tag_separator(separator)
            self.session.notify_captions_changed(self.ws.keys())
            self.apply_filter()

    # --- dialogs (Dataset menu) ----------------------------------------------------------------
    def health_report(self) -> None:
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        from widgets.dataset.health_dialog import HealthDialog

        dialog = HealthDialog(self.session, self.ws, self)
        dialog.show_keys.connect(self.select_keys)
        dialog.report_ready.connect(self.apply_health)
        dialog.show()
        self._health_dialog = dialog

    def apply_health(self, report) -> None:
        """Show what the health report found as badges in the grid."""
        ws = self.ws
        if ws is None:
            return
        changed = ws.mark_duplicates(report.duplicate_groups, Problem.DUPLICATE)
        changed |= ws.mark_duplicates(report.near_duplicate_groups, Problem.NEAR_DUPLICATE)
        odd = [k for f in report.findings if f.kind == "odd_aspect" for k in f.keys]
        changed |= ws.set_flag(odd, Problem.ODD_ASPECT)
        changed |= ws.set_flag(report.corrupt, Problem.CORRUPT)
        for key, reason in report.corrupt.items():
            if key in ws:
                ws.item(key).error = reason
        for key, digest in report.content_hashes.items():
            if key in ws:
                ws.item(key).content_hash = digest
        self.model.refresh_keys(changed)
        self._update_counts()

    def folder_tools(self) -> None:
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        from widgets.dataset.folder_tools_dialog import FolderToolsDialog

        dialog = FolderToolsDialog(self.session, self.ws, self)
        dialog.applied.connect(self.refresh)
        dialog.show()
        self._tools_dialog = dialog

    def balance_repeats(self) -> None:
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        from widgets.dataset.folder_tools_dialog import FolderToolsDialog

        dialog = FolderToolsDialog(self.session, self.ws, self, page="balance")
        dialog.applied.connect(self.refresh)
        dialog.show()
        self._tools_dialog = dialog

    def select_all(self) -> None:
        self.grid.selectAll()

    def trash_selected(self) -> None:
        """Send the selected images and their caption files to the system trash (after asking)."""
        keys = self.session.selected_keys
        if self.ws is None or not keys:
            self.session.show_status("Select images first.")
            return
        from PySide6.QtWidgets import QMessageBox

        from services.dataset.kohya_tools import trash_images

        names = ", ".join(os.path.basename(k) for k in keys[:5]) + (" …" if len(keys) > 5 else "")
        answer = QMessageBox.question(
            self, "Move to trash",
            f"Move {len(keys)} image{'s' if len(keys) != 1 else ''} and {'their' if len(keys) != 1 else 'its'} "
            f"caption files to the system trash?\n\n{names}\n\nYou can restore them from the trash.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        extensions = tuple(dict.fromkeys([self.ws.caption_extension, ".txt", ".caption", ".cap"]))
        folders = sorted({os.path.dirname(k) for k in keys})
        task = Task(lambda _r, _c: trash_images(list(keys), extensions), "dataset-trash", self)

        def done(result) -> None:
            trashed, problems = result
            if problems:
                self.session.report_error(LoraStudioError(
                    f"{len(problems)} files could not be moved to the trash.", "\n".join(problems[:10])))
            self.session.show_status(f"{len(trashed)} files moved to the trash")
            self.live.rescan(folders)

        task.succeeded.connect(done)
        task.failed.connect(self.session.report_error)
        self._tasks.append(task)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)
        task.start()

    def _context_menu(self, pos) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices, QGuiApplication
        from PySide6.QtWidgets import QMenu

        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        key = self.model.key_at(index.row())
        menu = QMenu(self)
        menu.addAction("Open with the default application",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(key)))
        menu.addAction("Show the folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(key))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(
            "\n".join(self.session.selected_keys or [key])))
        menu.addSeparator()
        menu.addAction("Move to trash…", self.trash_selected)
        menu.exec(self.grid.viewport().mapToGlobal(pos))

    def show_problems(self) -> None:
        self.filter_bar.set_text("problem:any")

    # --- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if event.source() is self.grid:  # our own thumbnails dragged back in
            return
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if os.path.isfile(p)]
        if folders:
            add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier) and self.ws is not None
            self.session.open_folders(folders, add=add)
        if files:
            self.open_files(files)
        event.acceptProposedAction()

    # --- lifetime -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every background job (the window is closing)."""
        for signal, slot in self._session_links:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self._session_links = []
        self.watcher.stop()
        self.live.shutdown()
        if self.scan_task is not None:
            self._pending_roots = None
            self.scan_task.stop()
        for task in list(self._tasks):
            task.wait(10_000)
        self.loader.shutdown()
        dialog = getattr(self, "_health_dialog", None)
        if dialog is not None:
            dialog.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
