"""Tag statistics: how many captions carry each tag, kept up to date incrementally.

Counting the whole dataset happens once, when a workspace opens (off the GUI thread). After that
every edit hands over its ``tag_delta`` and the cost is proportional to the tags it touched.
Tags are given stable indices in order of first appearance, so a table model over them only ever
appends rows; a tag whose count falls to zero keeps its index (and is hidden by the views).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.captions.tags import TagFormat


class TagStats:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.names: list[str] = []          # index -> tag
        self.index: dict[str, int] = {}     # tag -> index

    @classmethod
    def from_texts(cls, texts: Iterable[str | None], fmt: TagFormat) -> TagStats:
        stats = cls()
        counts = stats.counts
        for text in texts:
            if text is None:
                continue
            for tag in fmt.tag_set(text):
                counts[tag] = counts.get(tag, 0) + 1
        stats.names = list(counts)
        stats.index = {t: i for i, t in enumerate(stats.names)}
        return stats

    def __len__(self) -> int:
        return len(self.names)

    def count(self, tag: str) -> int:
        return self.counts.get(tag, 0)

    def apply(self, delta: Mapping[str, int]) -> tuple[list[int], int]:
        """Apply a per-tag change; returns (indices of existing tags that changed, number of new tags).

        New tags get the next indices, so a model appends ``new`` rows at the end.
        """
        changed: list[int] = []
        first_new = len(self.names)
        for tag, d in delta.items():
            if not d:
                continue
            at = self.index.get(tag)
            if at is None:
                at = len(self.names)
                self.index[tag] = at
                self.names.append(tag)
                self.counts[tag] = 0
            else:
                changed.append(at)
            self.counts[tag] = max(0, self.counts[tag] + d)
        return changed, len(self.names) - first_new

    def live(self) -> list[tuple[str, int]]:
        return [(t, c) for t, c in self.counts.items() if c > 0]

    def complete(self, prefix: str, limit: int = 20, exclude: Iterable[str] = ()) -> list[str]:
        """Tags for autocompletion: those starting with ``prefix`` (or a word of them starting with
        it) ranked by count, then those merely containing it."""
        needle = prefix.strip().casefold()
        if not needle:
            return []
        skip = set(exclude)
        starts, words, contains = [], [], []
        for tag, count in self.counts.items():
            if count <= 0 or tag in skip:
                continue
            folded = tag.casefold()
            if folded.startswith(needle):
                starts.append((-count, tag))
            elif needle in folded:
                if any(w.startswith(needle) for w in folded.replace("_", " ").split()):
                    words.append((-count, tag))
                else:
                    contains.append((-count, tag))
        out: list[str] = []
        for group in (starts, words, contains):
            group.sort()
            out.extend(t for _c, t in group)
            if len(out) >= limit:
                break
        return out[:limit]


class TagIndex:
    """The tag statistics of a workspace plus the caption text they were computed from, per key.

    Edits made by the app arrive as change sets that carry their own ``tag_delta`` (computed in the
    worker that planned them). Anything else (another panel writing captions, a file changed on
    disk, images added or removed) goes through ``sync``, which compares the text with the one
    remembered here and only parses what differs.
    """

    def __init__(self, fmt: TagFormat) -> None:
        self.fmt = fmt
        self.stats = TagStats()
        self.texts: dict = {}

    @classmethod
    def build(cls, entries: Iterable[tuple[object, str | None]], fmt: TagFormat) -> TagIndex:
        index = cls(fmt)
        index.texts = dict(entries)
        index.stats = TagStats.from_texts(index.texts.values(), fmt)
        return index

    def apply(self, changes: Mapping[object, tuple[str | None, str | None]], delta: Mapping[str, int],
              forward: bool = True) -> tuple[list[int], int]:
        texts = self.texts
        for key, (old, new) in changes.items():
            texts[key] = new if forward else old
        return self.stats.apply(delta if forward else {t: -d for t, d in delta.items()})

    def sync(self, entries: Iterable[tuple[object, str | None]]) -> tuple[list[int], int]:
        """Bring these keys up to date with their current text (None: the image has no caption)."""
        delta: dict[str, int] = {}
        texts, fmt = self.texts, self.fmt
        for key, text in entries:
            if key in texts and texts[key] == text:
                continue
            _diff(fmt.tag_set(texts.get(key)), fmt.tag_set(text), delta)
            texts[key] = text
        return self.stats.apply(delta)

    def remove(self, keys: Iterable[object]) -> tuple[list[int], int]:
        """Forget images that left the workspace."""
        delta: dict[str, int] = {}
        for key in keys:
            if key in self.texts:
                _diff(self.fmt.tag_set(self.texts.pop(key)), set(), delta)
        return self.stats.apply(delta)


def _diff(before: set[str], after: set[str], delta: dict[str, int]) -> None:
    for tag in after - before:
        delta[tag] = delta.get(tag, 0) + 1
    for tag in before - after:
        delta[tag] = delta.get(tag, 0) - 1


def union_counts(texts: Iterable[str | None], fmt: TagFormat) -> tuple[list[tuple[str, int]], int]:
    """The tags of several captions with how many carry each, most common first (ties in order of
    first appearance), and the number of captions: what the editor shows for a multi-selection."""
    counts: dict[str, int] = {}
    total = 0
    for text in texts:
        total += 1
        for tag in dict.fromkeys(fmt.split(text)):
            if tag:
                counts[tag] = counts.get(tag, 0) + 1  # dict order is the order of first appearance
    order = {t: i for i, t in enumerate(counts)}
    return sorted(counts.items(), key=lambda tc: (-tc[1], order[tc[0]])), total

