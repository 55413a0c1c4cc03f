"""The undo commands of caption editing: one per user action, holding only what changed.

``CaptionEditCommand`` holds a ``ChangeSet`` (old and new text of each caption it changed, and the
change of the tag counts), so a batch over 10,000 files costs memory for the files it changed and
its undo touches only them. Consecutive typing in one caption merges into one command.
``ExtensionRenameCommand`` holds the renames of an extension change.

A command made for a workspace that has since been closed does nothing and marks itself obsolete,
so the stack drops it.
"""

from __future__ import annotations

import time
from collections import Counter

from PySide6.QtGui import QUndoCommand

from services.captions.changes import ChangeSet, tag_delta

TYPING_ID = 0x4341  # "CA": text typed in one caption
TYPING_MERGE_S = 2.0


class CaptionEditCommand(QUndoCommand):
    def __init__(self, controller, workspace, changes: ChangeSet, *, already_applied: bool = False,
                 typing: bool = False) -> None:
        n = len(changes)
        title = changes.title if n == 1 else f"{changes.title} ({n} captions)"
        super().__init__(title)
        self.controller = controller
        self.workspace = workspace
        self.changes = ChangeSet(changes.title, changes.changes, {}, changes.tag_delta, changes.examined)
        self._skip_first_redo = already_applied
        self._typing = typing and n == 1
        self._stamp = time.monotonic()

    def _live(self) -> bool:
        if self.controller.workspace is self.workspace:
            return True
        self.setObsolete(True)
        return False

    def redo(self) -> None:
        if self._skip_first_redo:
            self._skip_first_redo = False
            return
        if self._live():
            self.controller.apply(self.changes, forward=True, workspace=self.workspace)

    def undo(self) -> None:
        if self._live():
            self.controller.apply(self.changes, forward=False, workspace=self.workspace)

    def id(self) -> int:
        return TYPING_ID if self._typing else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, CaptionEditCommand) and other._typing and self._typing):
            return False
        if other.workspace is not self.workspace or other.changes.changes.keys() != self.changes.changes.keys():
            return False
        if other._stamp - self._stamp > TYPING_MERGE_S:
            return False
        (key,) = self.changes.changes
        first_old = self.changes.changes[key][0]
        last_new = other.changes.changes[key][1]
        delta = tag_delta(first_old, last_new, self.controller.tag_format(self.workspace), Counter())
        self.changes = ChangeSet(self.changes.title, {key: (first_old, last_new)}, {},
                                 {t: d for t, d in delta.items() if d}, 1)
        self._stamp = other._stamp
        if first_old == last_new:
            self.setObsolete(True)
        return True


class ExtensionRenameCommand(QUndoCommand):
    def __init__(self, controller, workspace, renames: list, old_extension: str, new_extension: str) -> None:
        super().__init__(f"Rename caption files from {old_extension} to {new_extension} ({len(renames)} files)")
        self.controller = controller
        self.workspace = workspace
        self.renames = renames
        self.old_extension, self.new_extension = old_extension, new_extension
        self._skip_first_redo = True

    def redo(self) -> None:
        if self._skip_first_redo:
            self._skip_first_redo = False
            return
        if self.controller.workspace is not self.workspace:
            self.setObsolete(True)
            return
        self.controller.run_renames(self.renames, self.new_extension, workspace=self.workspace)

    def undo(self) -> None:
        if self.controller.workspace is not self.workspace:
            self.setObsolete(True)
            return
        self.controller.run_renames([r.reversed() for r in reversed(self.renames)], self.old_extension,
                                    workspace=self.workspace)
