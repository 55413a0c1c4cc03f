"""The Dataset dock: open folders, see and filter the images, find problems, fix Kohya folders.

It scans in a background Task (showing what is read as it goes), shows the workspace in a
GridView over a DatasetListModel, keeps the Session informed (workspace, selection, current
image, filtered keys) and follows the Session's requests (open folders, select keys, apply a
filter, captions changed). The Dataset menu's commands live in widgets.dataset.dock_commands.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
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
from services.errors import UserInputError
from widgets.dataset.dock_commands import DatasetCommands
from widgets.dataset.sizes import clamp_box
from widgets.empty_state import EmptyState

log = logging.getLogger(__name__)

PRUNE_DELAY_MS = 60_000  # the thumbnail cache is pruned this long after the first folder opens


class DatasetDock(DatasetCommands, QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset-dock")
        self.session = session
        self._closing = False
        self.setAcceptDrops(True)
        self.ws = None
        self.scan_task: Task | None = None
        self._pending_roots: list[str] | None = None
        self._tasks: list[Task] = []
        self._query = ""
        self._select_after_scan: list[str] | None = None
        self._partial_ws = None  # the part of a running scan shown meanwhile
        self._pending_keep_view = False
        self._painted = False
        self._roots_after_paint: list[str] | None = None
        settings = session.settings
        box = clamp_box(settings.appearance.thumbnail_size)
        self.loader = ThumbnailLoader(ThumbnailCache(session.dirs.cache / "thumbnails"), box, parent=self)
        self.model = DatasetListModel(self)
        self.model.loader = self.loader
        self._sort = settings.dataset.sort if settings.dataset.sort else "folder"
        self._descending = settings.dataset.sort_descending
        self._box = box
        self.page = None  # built when a folder is first opened (see _ensure_page)
        self._build_shell()
        self.watcher = WorkspaceWatcher(self, interval_s=settings.dataset.watch_interval_s)
        self.live = LiveUpdates(session, self.watcher, self._scan_options, self)
        self.live.applied.connect(self._live_applied)
        self.live.duplicates_changed.connect(self._duplicates_changed)
        self.grid.verticalScrollBar().valueChanged.connect(lambda _v: self.live.note_activity())
        self.loader.thumbnail_failed.connect(self._thumbnail_failed)
        self._session_links = [
            (session.folders_open_requested, self.open_folders),
            (session.folders_add_requested, self.add_folders),
            (session.files_dropped, self.open_files),
            (session.captions_changed, self._captions_changed),
            (session.select_keys_requested, self.select_keys),
            (session.filter_requested, self.set_filter_text),
            # The caption editor's own saves are not another program's changes: the watcher waits
            # until they are done (what it then rescans finds the editor's records up to date).
            (session.caption_writes_changed, self._caption_writes_changed),
        ]
        for signal, slot in self._session_links:
            signal.connect(slot)

    def _caption_writes_changed(self, writing: bool) -> None:
        self.watcher.paused = writing

    def sizeHint(self) -> QSize:
        # wide enough for three columns of default-size thumbnails beside the preview
        return QSize(560, 720)

    # --- construction ---------------------------------------------------------------------
    def _build_shell(self) -> None:
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

    def _ensure_page(self):
        """The grid page, built on first need (window start-up stays cheap)."""
        if self.page is None:
            from widgets.dataset.page import DatasetPage

            page = DatasetPage(self.model, self.loader, self._box, self._sort, self._descending, self)
            page.filter_bar.query_changed.connect(self._query_changed)
            page.filter_bar.sort_changed.connect(self._sort_changed)
            page.subsets.subset_activated.connect(self._show_subset)
            page.subsets.reg_toggled.connect(self._reg_toggled)
            page.grid.box_changed.connect(self._box_changed)
            page.grid.customContextMenuRequested.connect(self._context_menu)
            page.trash_shortcut.activated.connect(self.trash_selected)
            page.grid.selectionModel().selectionChanged.connect(lambda *_: self._selection_timer.start())
            page.grid.selectionModel().currentChanged.connect(self._current_changed)
            self.stack.addWidget(page)
            self.page = page
            self.loader.warm_up()  # and Pillow imported on a worker, before the first thumbnail needs it
        return self.page

    # The page's parts, for the rest of this class and for tests (building the page if needed).
    @property
    def grid(self):
        return self._ensure_page().grid

    @property
    def filter_bar(self):
        return self._ensure_page().filter_bar

    @property
    def subsets(self):
        return self._ensure_page().subsets

    @property
    def counts(self):
        return self._ensure_page().counts

    @property
    def slider(self):
        return self._ensure_page().slider

    @property
    def notice(self):
        return self._ensure_page().notice

    def set_filter_text(self, text: str) -> None:
        self.filter_bar.set_text(text)

    def _run_task(self, task: Task) -> None:
        self._tasks.append(task)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)
        task.start()

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
        # At start-up (the last folders reopened) the window is painted first: the scan's threads
        # would otherwise compete with building and showing it. Later, from the event loop.
        if not self._painted and not (self.window().isVisible() and not self.isVisible()):
            self._roots_after_paint = roots
            QTimer.singleShot(1000, self, self._start_after_paint)  # in case the dock is never painted
        else:
            QTimer.singleShot(0, self, lambda r=roots: self._start_scan(r))

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            # The window is on screen: build the grid page now, while nothing waits for it, so the
            # first folder opened does not pay for it (its first use of many Qt enums is slow).
            QTimer.singleShot(0, self, self._ensure_page)
            QTimer.singleShot(0, self, self._start_after_paint)

    def _start_after_paint(self) -> None:
        self._painted = True
        roots, self._roots_after_paint = self._roots_after_paint, None
        if roots is not None:
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

        progressive = not keep_view

        def scan(report, cancelled):
            publish = (lambda subsets, items: task.publish((subsets, items))) if progressive else None
            return scan_folders(roots, options, progress=report, cancelled=cancelled, guess_extension=not chosen,
                                on_items=publish)

        task = Task(scan, "dataset-scan", self)
        task.progress.connect(self._scan_progress)
        task.partial.connect(lambda payload, t=task, r=roots: self._scan_partial(t, r, payload))
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

    def _scan_partial(self, task: Task, roots: list[str], payload) -> None:
        """Show what the scan has read so far: the grid is usable (and makes thumbnails) at once."""
        if task is not self.scan_task or task.is_cancelled():
            return
        subsets, items = payload
        if self._partial_ws is None:
            from services.dataset.workspace import Workspace

            opts = self._scan_options()
            # (the extension may still be guessed by the scan; the partial view only shows captions)
            self._partial_ws = Workspace(roots, tag_separator=opts.tag_separator, small_side=opts.small_side)
            self.loader.clear()
            self._partial_pending: list[str] = []
            self._partial_shown_at = 0.0
            self.grid.prefetch = False  # while the scan reads, thumbnails only for what is on screen
            self.model.set_workspace(self._partial_ws, [])
            self.stack.setCurrentWidget(self._ensure_page())
            self.subsets.show_workspace(None)
        partial = self._partial_ws
        for subset in subsets:
            partial.add_subset(subset)
        predicate = self._predicate()
        for item in items:
            partial.adopt_item(item)
            if predicate is None or predicate(partial, item):
                self._partial_pending.append(item.key)
        # Rows are added at most about once a second: each addition makes the view lay out all its
        # rows again, and that work (on this thread, holding the GIL) would slow the scan itself.
        now = time.monotonic()
        if self._partial_pending and (self.model.rowCount() == 0 or now - self._partial_shown_at > 1.0):
            self.model.append_keys(self._partial_pending)
            self._partial_pending = []
            self._partial_shown_at = now
            if not self.grid.currentIndex().isValid() and self.model.rowCount():
                self.grid.setCurrentIndex(self.model.index(0, 0))
        self.counts.setText(f"Reading… {len(partial):,} images so far")

    def _predicate(self):
        if not self._query:
            return None
        try:
            return compile_query(self._query)
        except UserInputError:
            return None

    def _scan_done(self, ws, *, keep_view: bool = False) -> None:
        self.progress_row.hide()
        self.grid.prefetch = True
        self.grid.schedule_requests()
        previous_selection = self.session.selected_keys if keep_view else []
        previous_current = self.session.current_key if keep_view else None
        partial, self._partial_ws = self._partial_ws, None
        self.ws = ws
        keys = self._visible_keys(ws)
        shown = self.model.keys()
        if partial is not None and keys[:len(shown)] == shown:
            # the rows already on screen stay as they are (no reset, no jump): only the rest is added
            self.model.swap_workspace(ws)
            self.model.append_keys(keys[len(shown):])
        else:
            if not keep_view and partial is None:
                self.loader.clear()
            self.model.set_workspace(ws, keys)
        self.stack.setCurrentWidget(self._ensure_page())
        self.subsets.show_workspace(ws)
        self.session.set_workspace(ws)
        self.session.set_filtered_keys(keys)
        self.page.show_messages(ws)
        self._update_counts()
        self.watcher.watch(sorted(ws.folders))
        self.live.start_duplicate_pass()
        self._prune_thumbnail_cache_once()
        wanted = getattr(self, "_select_after_scan", None)
        self._select_after_scan = None
        if wanted:
            self.grid.select_keys(wanted)
        elif previous_selection or previous_current:
            self.grid.select_keys(previous_selection or [previous_current])
        elif keys and not self.grid.currentIndex().isValid():
            self.grid.setCurrentIndex(self.model.index(0, 0))
        # what was selected while the scan ran is told now that the workspace exists for everyone
        self._publish_selection()
        self._current_changed(self.grid.currentIndex(), None)
        self.session.show_status(
            f"{len(ws):,} images in {len(ws.subsets)} folders read in {ws.scan_seconds:.2f} s"
            + (f"; captions: {ws.caption_extension}" if len(ws) else ""))

    def _prune_thumbnail_cache_once(self) -> None:
        """Keep the disk cache within its budget (settings: dataset.thumbnail_cache_mb): at most once
        a day, and a while after a folder opens, not while its first thumbnails are being made."""
        if getattr(self, "_pruned", False) or self.loader.cache is None:
            return
        self._pruned = True
        QTimer.singleShot(PRUNE_DELAY_MS, self, self._prune_thumbnail_cache)

    def _prune_thumbnail_cache(self) -> None:
        if self._closing:
            return
        cache, budget = self.loader.cache, self.session.settings.dataset.thumbnail_cache_mb * 1024 * 1024
        self._run_task(Task(lambda _r, _c: cache.prune_if_due(budget), "thumbnail-prune", self))

    def _drop_partial(self) -> None:
        """A scan that showed part of its result did not finish: show the previous workspace again."""
        if self.page is not None:
            self.grid.prefetch = True
        if self._partial_ws is None:
            return
        self._partial_ws = None
        if self.ws is not None:
            self.model.set_workspace(self.ws, self._visible_keys(self.ws))
            self.subsets.show_workspace(self.ws)
            self._update_counts()
        else:
            self.model.set_workspace(None)
            self.stack.setCurrentWidget(self.empty)

    def _scan_failed(self, error) -> None:
        self.progress_row.hide()
        self._drop_partial()
        self.session.report_error(error)

    def _scan_cancelled(self) -> None:
        self.progress_row.hide()
        self._drop_partial()
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
        predicate = self._predicate()
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
        if not shown and current is not None and self.model.row_of(current) >= 0:
            shown = [current]  # the image in the preview is selected again when it is shown again
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
        if self.page is not None:
            self.page.show_counts(self.ws, self.model.rowCount())

    # --- selection ----------------------------------------------------------------------------
    def _grid_selection(self) -> list[str]:
        if self.page is None:
            return []
        # From the selection's ranges, not one QModelIndex per row: Ctrl+A on 10,000 rows stays cheap.
        rows: list[int] = []
        for rng in self.grid.selectionModel().selection():
            rows.extend(range(rng.top(), rng.bottom() + 1))
        rows.sort()
        keys = self.model.keys()
        return [keys[r] for r in rows if r < len(keys)]

    def _publish_selection(self) -> None:
        if self._partial_ws is not None:
            return  # told when the scan is complete
        self.session.set_selection(self._grid_selection())

    def _current_changed(self, current, _previous) -> None:
        if self._partial_ws is not None:
            return  # told when the scan is complete (the workspace does not exist for others yet)
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
            predicate = self._predicate()
            ws = self.ws
            self.model.append_keys([k for k in added if predicate is None or predicate(ws, ws.item(k))])
        if changed:
            self.loader.forget(changed)
            self.model.refresh_keys(changed)
            self.grid.schedule_requests()
        if added or removed:
            self.session.set_filtered_keys(self.model.keys())
            self.subsets.show_workspace(self.ws)
            self.session.subsets_changed.emit()
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
        self._box = box
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
        # rebuilt after this signal returns: the row that emitted it must not be deleted under it
        QTimer.singleShot(0, lambda: self.ws is not None and self.subsets.show_workspace(self.ws))
        self._update_counts()
        self.session.subsets_changed.emit()

    def _save_settings_later(self) -> None:
        if not hasattr(self, "_settings_timer"):
            self._settings_timer = QTimer(self)
            self._settings_timer.setSingleShot(True)
            self._settings_timer.setInterval(800)
            self._settings_timer.timeout.connect(self.session.save_settings)
        self._settings_timer.start()

    # --- lifetime -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every background job (the window is closing)."""
        self._closing = True
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
