"""What to do with captions that already exist, and which images a job covers.

``merge`` combines an existing caption with a new one: overwrite, append, prepend (tags already
present are not repeated when the captioner writes tags), or skip (the image is not captioned at
all; ``needs_caption`` filters those out before the job starts, so no time is spent on them).
"""

from __future__ import annotations

from collections.abc import Iterable

OVERWRITE, APPEND, PREPEND, SKIP = "overwrite", "append", "prepend", "skip"
POLICIES: tuple[tuple[str, str], ...] = (
    (SKIP, "Skip images that have a caption"),
    (OVERWRITE, "Overwrite existing captions"),
    (APPEND, "Append to existing captions"),
    (PREPEND, "Prepend to existing captions"),
)
POLICY_IDS = tuple(p for p, _ in POLICIES)

SELECTION, FILTERED, ALL = "selection", "filtered", "all"
TARGETS: tuple[tuple[str, str], ...] = (
    (SELECTION, "Selected images"),
    (FILTERED, "Images shown by the filter"),
    (ALL, "Whole dataset"),
)
TARGET_IDS = tuple(t for t, _ in TARGETS)


def has_caption(text: str | None) -> bool:
    return bool(text and text.strip())


def needs_caption(existing: str | None, policy: str) -> bool:
    return policy != SKIP or not has_caption(existing)


def split_tags(text: str, separator: str) -> list[str]:
    sep = separator.strip() or separator
    if sep == "\n" or not sep:
        parts = text.splitlines()
    else:
        parts = text.replace("\n", sep).split(sep)
    return [p.strip() for p in parts if p.strip()]


def join_parts(parts: Iterable[str], separator: str) -> str:
    return separator.join(p for p in (q.strip() for q in parts) if p)


def merge(existing: str | None, new: str, policy: str, separator: str, *, tags: bool) -> str:
    """The caption to write, from what was there and what the captioner said."""
    if policy not in POLICY_IDS:
        raise ValueError(f"unknown caption policy {policy!r}")
    if policy == OVERWRITE or not has_caption(existing):
        return new.strip()
    existing = existing.strip()
    if policy == SKIP:
        return existing
    if tags:
        old = split_tags(existing, separator)
        fresh = [t for t in split_tags(new, separator) if t not in set(old)]
        parts = old + fresh if policy == APPEND else fresh + old
        return join_parts(parts, separator)
    parts = [existing, new] if policy == APPEND else [new, existing]
    return join_parts(parts, separator)
