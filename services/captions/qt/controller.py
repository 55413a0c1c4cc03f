"""The caption controller: one per Session, shared by the editor, the All tags dock and the menus.

It owns what caption editing needs beyond the workspace: the tag statistics (``TagIndex``), the
set of captions with unsaved edits, the conflicts, the save worker and the batch workers.

The workspace stays the one truth for caption *text*: an edit puts the new text into the item's
``CaptionFile`` (keeping its snapshot, the state of the file on disk), marks the key unsaved in
the Session and schedules a save. The save worker writes and hands back fresh snapshots. So the
grid, the filter and every panel see an edit at once, and the dataset's file watcher reports an
external change to an unsaved caption as a conflict instead of overwriting it.

Every change of state runs through ``SliceRunner`` jobs on the GUI thread, in order, in slices of a
few milliseconds; everything slow (planning a batch, saving, renaming) runs in a ``TaskThread``.
Saving and conflicts live in ``saving_mixin``, the extension rename in ``renaming_mixin``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer, Signal

from services.captions.changes import ChangeSet, Entry, from_texts, plan, plan_steps
from services.captions.durable import remove_stale_temps
from services.captions.operations import OpContext, Operation
from services.captions.qt.commands import CaptionEditCommand
from services.captions.qt.gc_policy import settle_long_lived_objects
from services.captions.qt.renaming_mixin import RenamingMixin
from services.captions.qt.saving_mixin import SavingMixin
from services.captions.qt.tasks_mixin import TasksMixin
from services.captions.qt.worker import YIELD_EVERY, SliceRunner, TaskThread
from services.captions.saving import SaveItem, SaveResult, new_caption_format, save_captions
from services.captions.stats import TagIndex
from services.captions.tags import TagFormat
from services.dataset.caption_files import CaptionFile
from services.errors import LoraStudioError

log = logging.getLogger(__name__)

OBJECT_NAME = "caption-controller"
AUTOSAVE_DELAY_MS = 400
SYNC_PLAN_LIMIT = 400  # edits of up to this many captions are planned on the GUI thread
NOTIFY_CHUNK = 1024  # captions_changed is sent in portions of this many keys during a large apply


def caption_controller(session) -> CaptionController:
    """The Session's caption controller, created on first use."""
    controller = getattr(session, "_caption_controller", None)
    if controller is None:
        controller = CaptionController(session)
        session._caption_controller = controller
    return controller


class CaptionController(TasksMixin, SavingMixin, RenamingMixin, QObject):
    stats_reset = Signal()              # the tag table was rebuilt (new workspace, new separator)
    tags_changed = Signal(list, int)    # indices of tags whose count changed; number of tags appended
    state_changed = Signal()            # unsaved / saving / conflicts / busy changed
    busy_changed = Signal(str)          # what runs now ("" when idle)
    progress = Signal(int, int)         # (done, total) of what runs
    conflicts_changed = Signal()
    tokenizer_ready = Signal(object)
    saved = Signal(int)                 # a save pass finished: captions written

    def __init__(self, session) -> None:
        super().__init__(session)
        self.setObjectName(OBJECT_NAME)
        self.session = session
        self.runner = SliceRunner(self)
        self.index: TagIndex | None = None
        self.dirty: set[str] = set()
        self.conflicts: dict[str, CaptionFile] = {}
        self.save_errors: dict[str, LoraStudioError] = {}
        self.revision = 0
        self.tokenizer = None
        self._absent: set[str] = set()       # captions that should not exist (pending trash)
        self._pending_new: set[str] = set()  # captions that do not exist yet but have text
        self._inflight: dict[str, CaptionFile] = {}
        self._save_thread: TaskThread | None = None  # only to wait for it; cleared when it ends
        self._save_running = False  # from the start of a save until its result is applied
        self._closed = False
        self._renaming = False  # an extension rename runs: saves wait for it
        self._save_workspace = None
        self._threads: set[TaskThread] = set()
        # Planning is pure Python over every caption: run in a thread it would hold the GIL against
        # the GUI thread's painting (measured: 200+ ms stalls at 10,000 captions); in slices between
        # events it takes the same time (the GIL allows no parallelism for it anyway) and never stalls.
        self.planner = SliceRunner(self)
        self._sliced_labels: list[str] = []
        self._changed_during_build: set[str] = set()
        self._busy_text = ""
        self._notifying = False
        self._tokenizer_thread: TaskThread | None = None
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_now)
        self._workspace = session.workspace
        session.workspace_changed.connect(self._on_workspace)
        session.captions_changed.connect(self._on_captions_changed)
        session.caption_conflict.connect(self._on_conflict_reported)
        session.items_removed.connect(self._on_items_removed)
        if self._workspace is not None:
            self._build_index()

    # --- state ------------------------------------------------------------------------------
    @property
    def workspace(self):
        return self._workspace

    @property
    def autosave(self) -> bool:
        return bool(self.session.settings.workspace.autosave_captions)

    def set_autosave(self, on: bool) -> None:
        self.session.settings.workspace.autosave_captions = bool(on)
        self.session.save_settings()
        if on:
            self.save_now()
        self.state_changed.emit()

    @property
    def keep_tokens(self) -> int:
        return int(self.session.settings.workspace.caption_keep_tokens)

    def set_keep_tokens(self, n: int) -> None:
        if n != self.keep_tokens:
            self.session.settings.workspace.caption_keep_tokens = int(n)
            self.session.save_settings()

    @property
    def saving(self) -> bool:
        return self._save_running

    @property
    def busy(self) -> str:
        return self._busy_text

    def tag_format(self, workspace=None) -> TagFormat:
        ws = workspace if workspace is not None else self._workspace
        return TagFormat(ws.tag_separator if ws is not None else self.session.settings.workspace.tag_separator)

    def text_of(self, key: str, workspace=None) -> str | None:
        """The caption's current text (with unsaved edits), or None when it has no caption file."""
        ws = workspace if workspace is not None else self._workspace
        item = ws.get(key) if ws is not None else None
        if item is None or key in self._absent:
            return None
        cap = item.caption
        if cap.undecodable:
            return None
        return cap.text if (cap.exists or key in self._pending_new) else None

    def locked_reason(self, key: str) -> str:
        """Why this caption cannot be edited now ("" when it can)."""
        item = self._workspace.get(key) if self._workspace is not None else None
        if item is None:
            return "the image is no longer in the dataset"
        if item.caption.undecodable:
            return f"its caption file could not be decoded ({item.caption.error or 'unknown encoding'})"
        if key in self.conflicts:
            return "another program changed its caption file; resolve the conflict first"
        return ""

    def counts(self) -> dict[str, int]:
        return self.index.stats.counts if self.index is not None else {}

    # --- editing ----------------------------------------------------------------------------
    def entries(self, keys: Iterable[str]) -> list[Entry]:
        return [Entry(k, self.text_of(k), self.locked_reason(k)) for k in keys]

    def context(self) -> OpContext:
        return OpContext(self.tag_format(), dict(self.counts()))

    def edit(self, keys: list[str], op: Operation) -> ChangeSet | None:
        """Apply ``op`` to these captions as one undoable action (the editor's edits)."""
        if self._workspace is None or not keys:
            return None
        self.runner.drain()  # plan from the state every earlier edit has reached
        if len(keys) > SYNC_PLAN_LIMIT:
            self.run_operation(op, keys)
            return None
        changes = plan(op, self.entries(keys), self.context())
        self.push(changes)
        return changes

    def edit_texts(self, texts: dict[str, str], title: str = "Edit caption", *, typing: bool = False) -> None:
        ws = self._workspace
        if ws is None:
            return
        self.runner.drain()
        texts = {k: v for k, v in texts.items() if not self.locked_reason(k)}
        old = {k: self.text_of(k) for k in texts}
        self.push(from_texts(title, old, texts, self.tag_format()), typing=typing)

    def push(self, changes: ChangeSet, *, typing: bool = False, already_applied: bool = False) -> None:
        if not changes:
            if changes.skipped:
                self._report_skipped(changes)
            return
        self.session.undo_stack.push(CaptionEditCommand(self, self._workspace, changes, typing=typing,
                                                        already_applied=already_applied))
        if changes.skipped:
            self._report_skipped(changes)

    def _report_skipped(self, changes: ChangeSet) -> None:
        reasons = sorted(set(changes.skipped.values()))
        self.session.show_status(f"{len(changes.skipped)} caption(s) left unchanged: {'; '.join(reasons)[:200]}", 8000)

    def plan_async(self, op: Operation, keys: list[str], on_done: Callable[[ChangeSet], None],
                   on_error: Callable[[BaseException], None] | None = None, *, label: str = "") -> None:
        """Plan ``op`` over ``keys`` on the GUI thread in slices; ``on_done(changes)`` runs when done."""
        ws = self._workspace
        if ws is None:
            return None
        self.runner.drain()
        keys = list(keys)
        absent, pending, conflicts = set(self._absent), set(self._pending_new), set(self.conflicts)
        ctx = self.context()

        def entries():
            # The runner was drained, so every earlier edit is in the workspace; an edit made while
            # the plan runs is caught when it is applied (the apply job compares the old texts).
            for key in keys:
                item = ws.get(key)
                if item is None:
                    continue
                cap = item.caption
                if cap.undecodable:
                    yield Entry(key, None, f"its caption file could not be decoded ({cap.error or 'unknown'})")
                    continue
                text = None if key in absent else (cap.text if cap.exists or key in pending else None)
                yield Entry(key, text, "its caption is in conflict with a change on disk" if key in conflicts else "")

        self.start_sliced(plan_steps(op, entries(), ctx, every=YIELD_EVERY), label or op.describe(),
                          lambda changes: self._planned(changes, ws, on_done), on_error, total=len(keys))
        return None

    def _planned(self, changes: ChangeSet, ws, on_done) -> None:
        if ws is self._workspace:
            on_done(changes)

    def run_operation(self, op: Operation, keys: list[str]) -> None:
        """Plan and apply a batch operation as one undoable command."""
        self.plan_async(op, keys, self.push)

    # --- applying (GUI thread, in slices) -------------------------------------------------
    def apply(self, changes: ChangeSet, *, forward: bool, workspace) -> None:
        self.runner.submit(self._apply_job(changes, forward, workspace))

    def _apply_job(self, changes: ChangeSet, forward: bool, ws):
        if ws is not self._workspace:
            return
        irregular: list[tuple[str, str | None]] = []
        keys: list[str] = []
        pending: list[str] = []
        for n, (key, (old, new)) in enumerate(changes.changes.items(), 1):
            frm, to = (old, new) if forward else (new, old)
            item = ws.get(key)
            if item is None:
                continue
            if self.text_of(key) != frm:
                irregular.append((key, frm))
            self._set_text(ws, item, to)
            keys.append(key)
            pending.append(key)
            if n % YIELD_EVERY == 0:
                if len(pending) >= NOTIFY_CHUNK:
                    # Other panels (the grid) refresh in portions too, each within a slice.
                    self._notify(pending)
                    pending = []
                yield
        if self.index is not None:
            if irregular:
                self._emit_tags(self.index.sync(irregular))
            applied = {k: changes.changes[k] for k in keys} if len(keys) != len(changes.changes) else changes.changes
            self._emit_tags(self.index.apply(applied, changes.tag_delta, forward))
        else:
            self._changed_during_build.update(keys)
        self.revision += 1
        self._notify(pending)
        self.state_changed.emit()
        self._schedule_save(immediate=len(keys) > 1)

    def _set_text(self, ws, item, text: str | None) -> None:
        key, cap = item.key, item.caption
        if text is None:
            if cap.exists:
                self._absent.add(key)
            self._pending_new.discard(key)
            text = ""
        else:
            self._absent.discard(key)
            if not cap.exists:
                self._pending_new.add(key)
        item.caption = CaptionFile(cap.path, text, cap.format, cap.snapshot, cap.undecodable, cap.error)
        ws.update_problems(item)
        self.dirty.add(key)
        self.session.set_caption_unsaved(key, True)

    def _emit_tags(self, result: tuple[list[int], int]) -> None:
        changed, added = result
        if changed or added:
            self.tags_changed.emit(changed, added)

    def _notify(self, keys: list[str]) -> None:
        if not keys:
            return
        self._notifying = True
        try:
            self.session.notify_captions_changed(keys)
        finally:
            self._notifying = False

    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Finish saving and stop every worker (the window closes, the session ends)."""
        self._save_timer.stop()
        self.cancel_all()
        if self.autosave:
            self.flush(timeout_ms)
        for thread in list(self._threads):
            thread.wait(timeout_ms)
        self._closed = True

    # --- tokenizer ---------------------------------------------------------------------------
    def request_tokenizer(self) -> None:
        if self.tokenizer is not None or self._tokenizer_thread is not None:
            return

        def load(_progress, _cancelled):
            from services.tokenizers.clip_bpe import default_tokenizer

            return default_tokenizer()

        self._tokenizer_thread = self.start_task(load, "clip-tokenizer-load", "", self._tokenizer_loaded,
                                                    self._tokenizer_failed)

    def _tokenizer_failed(self, exc: BaseException) -> None:
        self._tokenizer_thread = None
        log.error("the CLIP tokenizer could not be loaded: %s", exc)

    def _tokenizer_loaded(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self._tokenizer_thread = None
        self.tokenizer_ready.emit(tokenizer)

    # --- workspace and foreign changes -----------------------------------------------------
    def _on_workspace(self, workspace) -> None:
        old = self._workspace
        if old is not None and old is not workspace and self.dirty:
            # Never lose an edit: what was not saved yet is saved now, whatever the autosave setting.
            pending = [SaveItem(k, old.item(k).caption, None if k in self._absent else old.item(k).caption.text,
                                new_caption_format(old, old.item(k)))
                       for k in self.dirty if k in old and k not in self.conflicts]
            if pending:
                self.start_task(lambda p, c: save_captions(pending), "caption-save-previous",
                                   f"Saving {len(pending)} caption(s) of the previous dataset…", self._previous_saved)
        self._workspace = workspace
        self.dirty.clear()
        self._absent.clear()
        self._pending_new.clear()
        self.conflicts.clear()
        self.save_errors.clear()
        self.index = None
        self.revision += 1
        self.stats_reset.emit()
        self.conflicts_changed.emit()
        self.state_changed.emit()
        if workspace is not None:
            self._build_index()

    def _previous_saved(self, result: SaveResult) -> None:
        problems = len(result.conflicts) + len(result.errors)
        note = f"; {problems} could not be saved (changed on disk or unwritable)" if problems else ""
        self.session.show_status(f"Saved {len(result.saved)} caption(s) of the previous dataset{note}", 8000)
        if problems:
            self.session.report_error(LoraStudioError(
                f"{problems} caption(s) of the previous dataset could not be saved.",
                "They were changed by another program or cannot be written; reopen that dataset to check them.",
                details="\n".join(list(result.conflicts)[:25] + list(result.errors)[:25])))

    def _build_index(self) -> None:
        ws = self._workspace
        fmt = self.tag_format(ws)
        captions = [(item.key, item.caption) for item in ws]
        self._changed_during_build = set()

        folders = [subset.path for subset in ws.subsets.values()]

        def build(_progress, _cancelled):
            for folder in folders:  # what a killed save left behind (ours only)
                remove_stale_temps(folder)
            return TagIndex.build(((k, None if c.undecodable or not c.exists else c.text) for k, c in captions), fmt)

        self.start_task(build, "caption-tag-index", "Counting tags…", lambda index: self._index_built(index, ws))

    def _index_built(self, index: TagIndex, ws) -> None:
        if ws is not self._workspace:
            return
        self.index = index
        settle_long_lived_objects()
        if self._changed_during_build:
            index.sync((k, self.text_of(k)) for k in self._changed_during_build)
            self._changed_during_build = set()
        self.stats_reset.emit()

    def _on_captions_changed(self, keys: list[str]) -> None:
        if self._notifying or self._workspace is None:
            return
        if self.index is None:
            self._changed_during_build.update(keys)
            return
        if self.index.fmt.separator != self._workspace.tag_separator:
            self._build_index()
            return
        self._emit_tags(self.index.sync((k, self.text_of(k)) for k in keys if k in self._workspace))
        self.revision += 1

    def _on_items_removed(self, keys: list[str]) -> None:
        for key in keys:
            self.dirty.discard(key)
            self.conflicts.pop(key, None)
        if self.index is not None:
            self._emit_tags(self.index.remove(keys))
        self.revision += 1
        self.state_changed.emit()
