"""The batch engine: run an operation over many captions and keep only what changes.

A ``ChangeSet`` maps each caption it changes to ``(old, new)`` and nothing else: its size (and the
memory of the undo step that holds it) is proportional to the files that change, not to the
dataset. It also carries the change of the tag statistics, so applying it, or undoing it, updates
the counts without looking at any other caption.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from services.captions.operations import OpContext, Operation
from services.captions.tags import TagFormat

Key = Hashable


@dataclass
class ChangeSet:
    title: str
    changes: dict[Key, tuple[str | None, str]] = field(default_factory=dict)
    # Captions the operation must not touch (undecodable, in conflict), with the reason.
    skipped: dict[Key, str] = field(default_factory=dict)
    # tag -> change of the number of captions carrying it.
    tag_delta: dict[str, int] = field(default_factory=dict)
    examined: int = 0

    def __len__(self) -> int:
        return len(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def new_texts(self) -> dict[Key, str]:
        return {k: new for k, (_old, new) in self.changes.items()}

    def old_texts(self) -> dict[Key, str | None]:
        return {k: old for k, (old, _new) in self.changes.items()}

    def inverse_delta(self) -> dict[str, int]:
        return {t: -d for t, d in self.tag_delta.items()}


def tag_delta(old: str | None, new: str | None, fmt: TagFormat, into: Counter | None = None) -> Counter:
    """Add to ``into`` the per-tag change in caption counts when ``old`` becomes ``new``."""
    delta = into if into is not None else Counter()
    before, after = fmt.tag_set(old), fmt.tag_set(new)
    for tag in after - before:
        delta[tag] += 1
    for tag in before - after:
        delta[tag] -= 1
    return delta


@dataclass(frozen=True)
class Entry:
    """One caption as the batch engine sees it."""

    key: Key
    text: str | None
    # Why this caption must not be written (undecodable, ...), or "" when it may be.
    locked: str = ""


def plan_steps(op: Operation, entries: Iterable[Entry], ctx: OpContext, *,
               every: int = 32) -> Generator[int, None, ChangeSet]:
    """``plan`` as a generator: yields how many entries it has examined every ``every`` entries and
    returns the ChangeSet, so the GUI can run it in slices between events."""
    result = ChangeSet(op.describe())
    delta: Counter = Counter()
    for n, entry in enumerate(entries, 1):
        if n % every == 0:
            yield n
        result.examined = n
        if entry.locked:  # its content is unknown (undecodable) or must not change now (conflict)
            result.skipped[entry.key] = entry.locked
            continue
        done = op.apply_counted(entry.text, ctx)
        if done is None:
            continue
        new, before, after = done
        result.changes[entry.key] = (entry.text, new)
        for tag in after - before:
            delta[tag] += 1
        for tag in before - after:
            delta[tag] -= 1
    result.tag_delta = {t: d for t, d in delta.items() if d}
    return result


def plan(op: Operation, entries: Iterable[Entry], ctx: OpContext, *,
         progress: Callable[[int], None] | None = None, cancelled: Callable[[], bool] | None = None,
         every: int = 500) -> ChangeSet:
    """Run ``op`` over ``entries`` (no file is touched) and return what would change."""
    steps = plan_steps(op, entries, ctx, every=every)
    while True:
        try:
            n = next(steps)
        except StopIteration as stop:
            return stop.value
        if cancelled is not None and cancelled():
            from services.errors import OperationCancelled

            raise OperationCancelled()
        if progress is not None:
            progress(n)


def from_texts(title: str, old: Mapping[Key, str | None], new: Mapping[Key, str], fmt: TagFormat) -> ChangeSet:
    """A change set from explicit new texts (the editor's edits)."""
    result = ChangeSet(title, examined=len(new))
    delta: Counter = Counter()
    for key, text in new.items():
        before = old.get(key)
        if before == text:
            continue
        result.changes[key] = (before, text)
        tag_delta(before, text, fmt, delta)
    result.tag_delta = {t: d for t, d in delta.items() if d}
    return result
