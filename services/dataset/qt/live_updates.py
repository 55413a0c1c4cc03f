"""Keeping the open workspace in step with the disk, and the background duplicate pass.

Rescans run in a Task (one at a time; changes that arrive meanwhile are merged into the next),
and their differences are applied here on the GUI thread: new images are added, vanished ones
removed, changed images re-read, changed captions re-read — except a caption with unsaved edits
in the app, which is reported as a conflict and left for the editor to resolve (never silently
taken, never silently overwritten).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from services.dataset.qt.task import Task
from services.dataset.scanner import FolderDiff, KnownImage, make_subset, rescan_folder, scan_folders
from services.dataset.workspace import Problem, Workspace
from services.errors import ConflictError
from services.qt.slices import SliceRunner

log = logging.getLogger(__name__)

WARM_CHUNK = 64  # items per step of the tag-set warming (~1 ms)
POLL_QUIET_S = 1.5  # a poll waits until the user has been still this long...
MAX_POLL_DEFER_S = 30.0  # ...but never longer than this


def _root_of(ws: Workspace, folder: str) -> str:
    """The opened folder that ``folder`` lies in (the deepest, if roots nest)."""
    inside = [str(r) for r in ws.roots if Path(folder) == r or Path(folder).is_relative_to(r)]
    return max(inside, key=len) if inside else folder


class LiveUpdates(QObject):
    # added keys, removed keys, keys whose image changed, keys whose caption changed (all applied)
    applied = Signal(list, list, list, list)
    duplicates_changed = Signal(list)  # keys whose duplicate flag changed

    def __init__(self, session, watcher, options_provider, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.watcher = watcher
        self._options = options_provider  # () -> ScanOptions
        self._task: Task | None = None
        self._dup_task: Task | None = None
        self._queued: set[str] = set()
        self._poll_queued = False
        self._closing = False
        self._slices = SliceRunner(self, budget_s=0.004)
        self._last_activity = float("-inf")
        self._poll_wanted_since: float | None = None
        self._poll_retry = QTimer(self)
        self._poll_retry.setSingleShot(True)
        self._poll_retry.setInterval(500)
        self._poll_retry.timeout.connect(self.poll)
        watcher.folders_changed.connect(self.rescan)
        watcher.poll_due.connect(self.poll)

    @property
    def ws(self) -> Workspace | None:
        return self.session.workspace

    def busy(self) -> bool:
        return self._task is not None and self._task.isRunning()

    # --- rescans -------------------------------------------------------------------------------
    def note_activity(self) -> None:
        """The user is scrolling or selecting: a poll waits until they pause (see poll)."""
        self._last_activity = time.monotonic()

    def poll(self) -> None:
        """Compare every folder with the workspace (catches edits in place, which the folder watcher
        does not report). The comparison is Python over every file, in a worker thread, and would
        make the grid stutter while it is scrolled (the GIL, as in start_duplicate_pass), so it
        waits for a pause in the user's activity, at most MAX_POLL_DEFER_S."""
        if self.ws is None or self._closing:
            return
        now = time.monotonic()
        if self._poll_wanted_since is None:
            self._poll_wanted_since = now
        if now - self._last_activity < POLL_QUIET_S and now - self._poll_wanted_since < MAX_POLL_DEFER_S:
            self._poll_retry.start()
            return
        self._poll_wanted_since = None
        self.rescan(sorted(self.ws.folders))

    def rescan(self, folders: list[str]) -> None:
        ws = self.ws
        if ws is None or self._closing:
            return
        if self.busy():
            self._queued.update(folders)
            return
        folders = sorted(set(folders))
        wanted = set(folders)
        # Only a list of the item objects is taken here (one C-level copy, ~0.1 ms for 10,000); the
        # worker reads their fields. The GUI thread replaces a field as a whole, never mutates one.
        items = ws.items()
        known_dirs = set(ws.folders)
        extension = ws.caption_extension
        subset_ids = {f: (f if f in ws.subsets else "") for f in folders}
        options = self._options()
        options.caption_extension = extension
        generation = ws

        def work(report, cancelled):
            by_folder: dict[str, dict[str, KnownImage]] = {f: {} for f in folders}
            for item in items:
                folder = os.path.dirname(item.key)
                if folder in wanted:
                    by_folder[folder][item.key] = KnownImage(item.key, item.file_size, item.mtime_ns, item.caption)
            diffs = []
            for folder in folders:
                if cancelled():
                    break
                diffs.append(rescan_folder(folder, by_folder[folder], subset_ids[folder] or folder, extension,
                                           known_dirs))
            new_dirs = sorted({d for diff in diffs for d in diff.new_subdirs})
            fresh = None
            if new_dirs:
                try:
                    fresh = scan_folders(new_dirs, options, cancelled=cancelled)
                except Exception as exc:  # a folder that vanished again; the next poll sees it
                    log.info("new folders could not be scanned: %s", exc)
            return generation, diffs, fresh

        task = Task(work, "dataset-rescan", self)
        task.succeeded.connect(self._rescanned)
        task.failed.connect(lambda exc: log.warning("rescan failed: %s", exc))
        task.finished.connect(self._rescan_finished)
        self._task = task
        task.start()

    def _rescan_finished(self) -> None:
        if self._closing:
            return
        if self._queued:
            folders, self._queued = sorted(self._queued), set()
            self.rescan(folders)

    def _rescanned(self, result) -> None:
        generation, diffs, fresh = result
        ws = self.ws
        if ws is None or ws is not generation:
            return  # another workspace was opened meanwhile
        added, removed, changed, captions = self.apply_diffs(ws, diffs, fresh)
        if added or removed or changed or captions:
            self.applied.emit(added, removed, changed, captions)

    def apply_diffs(self, ws: Workspace, diffs: list[FolderDiff], fresh: Workspace | None
                    ) -> tuple[list[str], list[str], list[str], list[str]]:
        added: list[str] = []
        removed: list[str] = []
        changed: list[str] = []
        captions: list[str] = []
        options = self._options()
        for diff in diffs:
            for key in diff.removed:
                if ws.remove_item(key) is not None:
                    removed.append(key)
            if diff.added and diff.folder not in ws.subsets:
                ws.add_subset(make_subset(diff.folder, _root_of(ws, diff.folder), options))
            for item in diff.added:
                item.subset = diff.folder
                ws.add_item(item)
                added.append(item.key)
            for item in diff.changed_images:
                old = ws.get(item.key)
                if old is None:
                    continue
                # a changed image is compared again by the next duplicate pass or health report
                old.width, old.height, old.format = item.width, item.height, item.format
                old.file_size, old.mtime_ns, old.orientation = item.file_size, item.mtime_ns, item.orientation
                old.problems, old.error, old.content_hash = item.problems, item.error, ""
                self._take_caption(ws, old.key, item.caption, captions)
                ws.update_problems(old)
                changed.append(old.key)
            for key, caption in diff.changed_captions.items():
                if key in ws:
                    self._take_caption(ws, key, caption, captions)
        if fresh is not None:
            for subset in fresh.subsets.values():
                if subset.id in ws.subsets:
                    continue
                ws.add_subset(make_subset(subset.id, _root_of(ws, subset.id), options))
                for key in subset.keys:
                    item = fresh.item(key)
                    if key not in ws:
                        ws.add_item(item)
                        added.append(key)
            ws.folders.update(fresh.folders)
            self.watcher.add(sorted(fresh.folders))
        if removed:
            self.session.items_removed.emit(removed)
        if added:
            self.session.items_added.emit(added)
        if captions:
            self.session.captions_changed_on_disk.emit(captions)
            self.session.notify_captions_changed(captions)
        return added, removed, changed, captions

    def _take_caption(self, ws: Workspace, key: str, caption, changed: list[str]) -> None:
        item = ws.item(key)
        if (caption.snapshot == item.caption.snapshot and caption.exists == item.caption.exists
                and caption.undecodable == item.caption.undecodable):
            return
        if key in self.session.unsaved_caption_keys:
            # The app holds edits of this caption that are not on disk: neither side wins silently.
            self.session.caption_conflict.emit(key)
            self.session.report_error(ConflictError(
                f"The caption of {os.path.basename(key)} was changed by another program while you were editing it.",
                "Your edit is kept in the editor and the file is left as the other program wrote it; "
                "choose which to keep in the caption editor."))
            return
        ws.set_caption(key, caption)
        changed.append(key)

    # --- duplicates -----------------------------------------------------------------------------
    def start_duplicate_pass(self) -> None:
        """After a scan: make the tag sets and sort keys (GUI thread, in slices), and find exact
        duplicates (files of equal size, then content hash; a background task).

        The tag sets are pure Python over every item: in a worker thread that would keep taking the
        GIL back from the GUI thread while it paints (measured: 150-250 ms stalls at 10,000 images).
        In slices of a few ms between events it costs the same and the grid stays fluid."""
        ws = self.ws
        if ws is None or self._closing:
            return
        if self._dup_task is not None and self._dup_task.isRunning():
            self._dup_task.cancel()
        all_items = ws.items()  # one C-level copy
        generation = ws
        self._slices.submit(self._warm_caches(generation, all_items))
        unreadable = int(Problem.UNREADABLE)
        items = [(it.key, it.key, it.file_size) for it in all_items if not int(it.problems) & unreadable]

        def work(report, cancelled):
            from services.dataset.health import exact_duplicate_groups

            groups, digests = exact_duplicate_groups(items, report=report, cancelled=cancelled)
            return generation, groups, digests

        task = Task(work, "dataset-duplicates", self)
        task.succeeded.connect(self._duplicates_done)
        task.failed.connect(lambda exc: log.warning("duplicate pass failed: %s", exc))
        self._dup_task = task
        task.start()

    def _warm_caches(self, generation: Workspace, items: list):
        """So that the first filter or sort finds the tag sets and sort keys made."""
        for start in range(0, len(items), WARM_CHUNK):
            if self._closing or self.ws is not generation:
                return
            generation.warm_caches(items[start:start + WARM_CHUNK])
            yield

    def _duplicates_done(self, result) -> None:
        generation, groups, digests = result
        ws = self.ws
        if ws is None or ws is not generation:
            return
        for key, digest in digests.items():
            item = ws.get(key)
            if item is not None:
                item.content_hash = digest
        self.apply_duplicates(groups)

    def apply_duplicates(self, groups: list[list[str]], flag: Problem = Problem.DUPLICATE) -> None:
        ws = self.ws
        if ws is None:
            return
        changed = ws.mark_duplicates(groups, flag)
        if changed:
            self.duplicates_changed.emit(sorted(changed))

    # --- lifetime --------------------------------------------------------------------------------
    def cancel(self) -> None:
        for task in (self._task, self._dup_task):
            if task is not None:
                task.cancel()

    def shutdown(self) -> None:
        self._closing = True
        self._poll_retry.stop()
        self._queued.clear()
        for task in (self._task, self._dup_task):
            if task is not None:
                task.stop()
