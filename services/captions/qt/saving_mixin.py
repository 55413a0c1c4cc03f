"""Saving and conflicts, for the caption controller (a mixin: the state lives in the controller).

Edits are saved automatically (after a short pause for single edits, at once for batches) or on
demand. One save runs at a time, in a worker: it takes the captions with unsaved edits as they are
(each item's CaptionFile: the text to write and the snapshot of the disk it replaces), writes them
with ``saving.save_captions``, and hands back fresh snapshots, which are applied in GUI slices. An
edit made while a save runs is kept and saved next. The replaced contents are deleted afterwards in
a low-priority thread.

A file another program changed is never overwritten: it becomes a conflict, which the user resolves
by keeping their version or taking the other (undoable).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QCoreApplication

from services.captions.changes import ChangeSet, tag_delta
from services.captions.durable import remove_files
from services.captions.qt.worker import YIELD_EVERY, TaskThread
from services.captions.saving import SaveItem, SaveResult, disk_state, new_caption_format, save_captions
from services.dataset.caption_files import CaptionFile
from services.errors import LoraStudioError


class SavingMixin:
    # --- saving ------------------------------------------------------------------------------
    def _schedule_save(self, immediate: bool = False) -> None:
        if not self.autosave:
            return
        if immediate:
            self.save_now()
        elif not self._save_timer.isActive():
            self._save_timer.start()

    def save_now(self) -> None:
        """Save every caption with unsaved edits (in the background)."""
        self._save_timer.stop()
        if not self._save_running and self.dirty and self._workspace is not None:
            self.runner.submit(self._save_job(self._workspace))

    def _save_job(self, ws):
        if self._save_running or self._renaming or ws is not self._workspace:
            return
        items: list[SaveItem] = []
        for n, key in enumerate(list(self.dirty), 1):
            if key in self.conflicts:
                continue
            item = ws.get(key)
            if item is None:
                self.dirty.discard(key)
                continue
            cap = item.caption
            text = None if key in self._absent else cap.text
            if text is None and not cap.exists:
                self._mark_clean(key)
                continue
            items.append(SaveItem(key, cap, text, new_caption_format(ws, item)))
            if n % YIELD_EVERY == 0:
                yield
        if not items:
            self.state_changed.emit()
            return
        self._inflight = {it.key: it.base for it in items}
        for key in self._inflight:
            # Being written now: the Dataset panel's watcher will see these files change and must
            # take that as our write, not as a conflict. An edit made meanwhile marks it again.
            self.session.set_caption_unsaved(key, False)
        self._save_workspace = ws
        self._save_running = True
        self.session.set_writing_captions(True)
        self._save_thread = self.start_task(
            lambda progress, cancelled: save_captions(items, progress=progress, keep_old_versions=True),
            "caption-save",
            f"Saving {len(items)} caption(s)…", lambda result: self.runner.submit(self._after_save_job(result, ws)),
            self._save_failed)
        self.state_changed.emit()

    def _after_save_job(self, result: SaveResult, ws):
        changed_existence: list[str] = []
        for n, (key, saved) in enumerate(result.saved.items(), 1):
            item = ws.get(key)
            if item is None:
                continue
            sent = self._inflight.get(key)
            current = item.caption
            if current.exists != saved.exists:
                changed_existence.append(key)
            if current is sent or (current.text == saved.text and saved.exists and key not in self._absent
                                   and current.snapshot == saved.snapshot):
                # (the second case: the watcher already took our write from disk into the workspace)
                item.caption = saved
                ws.update_problems(item)
                self._mark_clean(key)
            else:  # edited again while saving: keep the edit, with the snapshot of what is on disk now
                item.caption = CaptionFile(saved.path, current.text, saved.format if saved.exists else current.format,
                                           saved.snapshot, False, "")
                ws.update_problems(item)
                if saved.exists:
                    self._pending_new.discard(key)
                elif key in self._absent:
                    self._absent.discard(key)  # it had to go, and it is gone
                else:
                    self._pending_new.add(key)
            if n % YIELD_EVERY == 0:
                yield
        for key in (*result.conflicts, *result.errors):
            self.session.set_caption_unsaved(key, True)  # still not on disk: protect it from the watcher
        if result.conflicts:
            self.conflicts.update(result.conflicts)
            self.conflicts_changed.emit()
        self.save_errors = dict(result.errors)
        if result.old_versions:
            self._remove_old_versions(result.old_versions)
        self._inflight = {}
        self._save_running = False
        self.session.set_writing_captions(False)
        self._save_workspace = None
        if changed_existence and ws is self._workspace:
            self._notify(changed_existence)
        self.saved.emit(len(result.saved))
        self.state_changed.emit()
        if result.errors:
            first = next(iter(result.errors.values()))
            more = f" ({len(result.errors)} captions could not be saved)" if len(result.errors) > 1 else ""
            self.session.report_error(LoraStudioError(first.message + more, first.hint, details="\n".join(
                f"{k}: {e.message}" for k, e in list(result.errors.items())[:50])))
        if ws is self._workspace and any(k not in self.conflicts and k not in result.errors for k in self.dirty):
            self._schedule_save(immediate=True)

    def _remove_old_versions(self, paths: list[str]) -> None:
        """Delete the replaced contents in the background, after the save has been reported: on a
        busy disk freeing files costs more than writing them. A crash leaves them for
        remove_stale_temps when the folder is next opened."""
        self.start_task(lambda _p, cancelled: remove_files(paths, cancelled), "caption-cleanup", "",
                        lambda _n: None, priority=TaskThread.Priority.LowestPriority)

    def _save_failed(self, exc: BaseException) -> None:
        for key in self._inflight:
            self.session.set_caption_unsaved(key, True)
        self._inflight = {}
        self._save_running = False
        self.session.set_writing_captions(False)
        self._save_workspace = None
        self._report_failure(exc)
        self.state_changed.emit()

    def _mark_clean(self, key: str) -> None:
        self.dirty.discard(key)
        self._absent.discard(key)
        self._pending_new.discard(key)
        self.session.set_caption_unsaved(key, False)

    @property
    def unsaved_count(self) -> int:
        return len(self.dirty)

    def flush(self, timeout_ms: int = 60_000) -> bool:
        """Save everything now and wait (closing the window, tests, the benchmark). True if all saved."""
        self.runner.drain()
        for _ in range(5):
            thread = self._save_thread
            if thread is not None:
                thread.wait(timeout_ms)
            if self._save_running:
                QCoreApplication.sendPostedEvents()  # the save's result, queued from its thread
                self.runner.drain()
            if not self._save_running and self.dirty - self.conflicts.keys() - self.save_errors.keys():
                self.runner.submit(self._save_job(self._workspace))
                self.runner.drain()
            if not self._save_running:
                break
        return not (self.dirty - self.conflicts.keys())

    # --- conflicts ---------------------------------------------------------------------------
    def _on_conflict_reported(self, key: str) -> None:
        """The dataset's watcher saw a caption with unsaved edits change on disk."""
        if key in self._inflight or self._workspace is None or key not in self._workspace:
            return  # our own write, seen before its save finished
        base = self._workspace.item(key).caption

        def check(_progress, _cancelled):
            return disk_state(base)

        self.start_task(check, "caption-conflict-check", "",
                           lambda theirs, k=key: self._conflict_checked(k, base, theirs))

    def _conflict_checked(self, key: str, base: CaptionFile, theirs: CaptionFile | None) -> None:
        item = self._workspace.get(key) if self._workspace is not None else None
        if theirs is None or item is None or item.caption.snapshot != base.snapshot:
            return
        self.conflicts[key] = theirs
        self.conflicts_changed.emit()
        self.state_changed.emit()

    def keep_mine(self, keys: Iterable[str]) -> None:
        """Resolve conflicts by writing the app's version over the other program's."""
        ws = self._workspace
        for key in list(keys):
            theirs = self.conflicts.get(key)
            item = ws.get(key) if ws is not None else None
            if theirs is None or item is None:
                continue
            if theirs.undecodable:
                continue  # never written over: only "use theirs" is possible
            del self.conflicts[key]
            cap = item.caption
            item.caption = CaptionFile(cap.path, cap.text, cap.format if cap.exists else theirs.format,
                                       theirs.snapshot, False, "")
            if not theirs.exists and key not in self._absent:
                self._pending_new.add(key)
            self.dirty.add(key)
        self.conflicts_changed.emit()
        self.state_changed.emit()
        self._schedule_save(immediate=True)

    def use_theirs(self, keys: Iterable[str]) -> None:
        """Resolve conflicts by taking the file on disk; undoable (undo brings the app's text back)."""
        ws = self._workspace
        if ws is None:
            return
        old: dict[str, str | None] = {}
        new: dict[str, str | None] = {}
        taken: list[str] = []
        for key in list(keys):
            theirs = self.conflicts.pop(key, None)
            item = ws.get(key)
            if theirs is None or item is None:
                continue
            old[key] = self.text_of(key)
            new[key] = theirs.text if theirs.exists and not theirs.undecodable else None
            item.caption = theirs
            ws.update_problems(item)
            self._mark_clean(key)
            taken.append(key)
        if not taken:
            return
        fmt = self.tag_format()
        changes = ChangeSet("Use the caption on disk")
        delta: dict[str, int] = {}
        for key in taken:
            changes.changes[key] = (old[key], new[key])  # type: ignore[assignment]
            for t, d in tag_delta(old[key], new[key], fmt).items():
                delta[t] = delta.get(t, 0) + d
        changes.tag_delta = {t: d for t, d in delta.items() if d}
        if self.index is not None:
            self._emit_tags(self.index.apply(changes.changes, changes.tag_delta, True))
        self.revision += 1
        self._notify(taken)
        self.conflicts_changed.emit()
        self.state_changed.emit()
        if any(o != n for o, n in zip(old.values(), new.values())):
            self.push(changes, already_applied=True)
