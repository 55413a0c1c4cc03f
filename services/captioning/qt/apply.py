"""Putting a job's captions into the open dataset as they arrive, undoable as one command.

Each group of results goes through the caption controller (services.captions) at once: the grid,
the editor and the tag counts see the new captions while the job runs, and the controller saves
them in the background. When the job ends, for whatever reason (finished, cancelled, crashed, out
of memory), ``finish`` pushes ONE undo command holding every caption the job changed, so a single
Ctrl+Z takes the whole job back.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.captioning.policy import SKIP
from services.captioning.qt.service import CaptionResult
from services.captioning.targets import caption_for
from services.captions.changes import ChangeSet, from_texts
from services.captions.qt.controller import caption_controller


class ResultApplier:
    def __init__(self, session, *, title: str, policy: str, tags: bool) -> None:
        self.session = session
        self.controller = caption_controller(session)
        self.workspace = session.workspace
        self.title = title
        self.policy = policy
        self.tags = tags
        self._first_old: dict[str, str | None] = {}
        self._last_new: dict[str, str] = {}
        self.locked: dict[str, str] = {}  # key -> why its caption was not changed
        self.unchanged = 0
        self.dropped = 0  # results for a workspace that was closed meanwhile
        self.finished = False

    @property
    def changed(self) -> int:
        return len(self._last_new)

    def _live(self) -> bool:
        return self.workspace is not None and self.controller.workspace is self.workspace

    def add(self, results: Iterable[CaptionResult]) -> list[str]:
        """Apply these results now; returns the keys whose caption changed."""
        results = list(results)
        if not self._live():
            self.dropped += len(results)
            return []
        separator = self.workspace.tag_separator
        old: dict[str, str | None] = {}
        new: dict[str, str] = {}
        for result in results:
            key = result.path
            if key not in self.workspace:
                self.dropped += 1
                continue
            reason = self.controller.locked_reason(key)
            if reason:
                self.locked[key] = reason
                continue
            existing = self.controller.text_of(key)
            text = caption_for(existing, result.caption, self.policy, separator, tags=self.tags)
            if text is None or text == existing:
                self.unchanged += 1
                continue
            old[key], new[key] = existing, text
        if not new:
            return []
        changes = from_texts(self.title, old, new, self.controller.tag_format(self.workspace))
        self.controller.apply(changes, forward=True, workspace=self.workspace)
        for key, text in new.items():
            self._first_old.setdefault(key, old[key])
            self._last_new[key] = text
        return list(new)

    def finish(self) -> ChangeSet | None:
        """Record everything applied as one undoable command (once; later calls do nothing)."""
        if self.finished:
            return None
        self.finished = True
        if not self._last_new or not self._live():
            return None
        changes = from_texts(self.title, self._first_old, self._last_new, self.controller.tag_format(self.workspace))
        self.controller.push(changes, already_applied=True)
        return changes

    def summary(self) -> str:
        parts = [f"{self.changed} caption(s) written"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.locked:
            parts.append(f"{len(self.locked)} left alone (locked)")
        if self.dropped:
            parts.append(f"{self.dropped} dropped (the dataset was closed)")
        if self.policy == SKIP:
            parts.append("existing captions kept")
        return ", ".join(parts)
