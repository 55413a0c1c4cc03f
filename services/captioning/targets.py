"""Which images of a workspace a job captions, and what each caption becomes when a result comes.

Shared by the GUI and the CLI. Images whose caption file cannot be decoded are left out (their file
is never written over), as are unreadable images; with the "skip" policy, so are images that
already have a caption. ``caption_for`` applies the existing-caption policy to one result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.captioning.policy import SKIP, merge, needs_caption


@dataclass
class Plan:
    keys: list[str] = field(default_factory=list)
    skipped_existing: int = 0
    skipped_undecodable: list[str] = field(default_factory=list)
    skipped_unreadable: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.skipped_existing + len(self.skipped_undecodable) + len(self.skipped_unreadable)

    def describe(self) -> str:
        parts = [f"{len(self.keys)} image(s) to caption"]
        if self.skipped_existing:
            parts.append(f"{self.skipped_existing} already captioned (skipped)")
        if self.skipped_undecodable:
            parts.append(f"{len(self.skipped_undecodable)} with a caption file in an unknown encoding (left alone)")
        if self.skipped_unreadable:
            parts.append(f"{len(self.skipped_unreadable)} unreadable image(s)")
        return ", ".join(parts)


def plan(workspace, keys: Iterable[str], policy: str) -> Plan:
    out = Plan()
    for key in keys:
        item = workspace.get(key)
        if item is None:
            continue
        if item.caption.undecodable:
            out.skipped_undecodable.append(key)
        elif not item.readable:
            out.skipped_unreadable.append(key)
        elif not needs_caption(item.caption.text, policy):
            out.skipped_existing += 1
        else:
            out.keys.append(key)
    return out


def caption_for(existing: str | None, new: str, policy: str, separator: str, *, tags: bool) -> str | None:
    """The text to write, or None when nothing should change (skip policy and a caption appeared)."""
    if policy == SKIP and existing and existing.strip():
        return None
    text = merge(existing, new, policy, separator, tags=tags)
    return None if text == (existing or "") else text
