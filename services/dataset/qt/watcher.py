"""Noticing changes other programs make to the open folders.

A QFileSystemWatcher on every scanned folder reports files created, deleted or renamed there (an
editor that saves through a temporary file is a rename) within a fraction of a second. Edits in
place do not touch the folder, so a slow poll (every few seconds) catches those too; the rescan it
triggers compares sizes and times before reading anything, so it costs little.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

MAX_WATCHED = 4096  # inotify has a per-user limit; the poll covers any folder beyond this


class WorkspaceWatcher(QObject):
    folders_changed = Signal(list)  # folders (str) whose content changed
    poll_due = Signal()  # time to compare every folder with the workspace

    def __init__(self, parent: QObject | None = None, *, interval_s: float = 8.0, debounce_ms: int = 300) -> None:
        super().__init__(parent)
        self._fs = QFileSystemWatcher(self)
        self._fs.directoryChanged.connect(self._changed)
        self._pending: set[str] = set()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self._flush)
        self._poll = QTimer(self)
        self._poll.setInterval(max(1000, int(interval_s * 1000)))
        self._poll.timeout.connect(self.poll_due)
        self.paused = False

    def watch(self, folders: list[str]) -> None:
        self.stop()
        existing = [f for f in folders[:MAX_WATCHED] if os.path.isdir(f)]
        if existing:
            self._fs.addPaths(existing)
        if folders:
            self._poll.start()

    def add(self, folders: list[str]) -> None:
        have = set(self._fs.directories())
        new = [f for f in folders if f not in have and os.path.isdir(f)][: max(0, MAX_WATCHED - len(have))]
        if new:
            self._fs.addPaths(new)

    def watched(self) -> list[str]:
        return self._fs.directories()

    def stop(self) -> None:
        self._poll.stop()
        self._debounce.stop()
        self._pending.clear()
        dirs = self._fs.directories()
        if dirs:
            self._fs.removePaths(dirs)

    def _changed(self, folder: str) -> None:
        self._pending.add(folder)
        self._debounce.start()  # a burst of changes (a copy of 500 files) becomes one rescan

    def _flush(self) -> None:
        if self.paused:
            self._debounce.start()
            return
        folders, self._pending = sorted(self._pending), set()
        if folders:
            self.folders_changed.emit(folders)
