"""Every caption operation, as a pure function from one caption's text to its new text.

An operation is a small frozen dataclass. ``apply(text, ctx)`` returns the new caption, or None
when this caption would not change (so a batch knows exactly which files it touches, and a caption
that an operation leaves alone is never reformatted). ``text`` is None for an image that has no
caption file yet; operations that add content create one, the others leave it alone.

Tag operations parse with the workspace's ``TagFormat`` and keep the caption's trailing newline.
Those that move tags honour ``keep_tokens``: the first N tags stay where they are, as sd-scripts'
``--keep_tokens`` keeps them fixed when it shuffles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from services.captions.tags import TagFormat
from services.errors import UserInputError

POSITIONS = ("front", "end", "index")
SORT_KEYS = ("alphabetical", "frequency")
FIND_MODES = ("plain", "regex", "whole_tag")


@dataclass(frozen=True)
class OpContext:
    fmt: TagFormat = field(default_factory=TagFormat)
    # Dataset-wide tag frequencies (for sorting by frequency).
    counts: Mapping[str, int] = field(default_factory=dict)


class Operation:
    """Base: subclasses implement ``apply`` (or ``transform`` for tag lists)."""

    title: ClassVar[str] = "Edit captions"
    creates_captions: ClassVar[bool] = False  # may write a caption for an image that has none

    def apply(self, text: str | None, ctx: OpContext) -> str | None:
        raise NotImplementedError

    def apply_counted(self, text: str | None, ctx: OpContext) -> tuple[str, set[str], set[str]] | None:
        """``apply`` plus the distinct non-empty tags before and after (for the tag statistics)."""
        new = self.apply(text, ctx)
        if new is None:
            return None
        return new, ctx.fmt.tag_set(text), ctx.fmt.tag_set(new)

    def describe(self) -> str:
        return self.title


class TagOperation(Operation):
    def transform(self, tags: list[str], ctx: OpContext) -> list[str] | None:
        raise NotImplementedError

    def apply(self, text: str | None, ctx: OpContext) -> str | None:
        done = self.apply_counted(text, ctx)
        return None if done is None else done[0]

    def apply_counted(self, text, ctx):
        # One parse serves the operation and the statistics (this is the hot loop of a batch).
        if text is None and not self.creates_captions:
            return None
        tags = ctx.fmt.split(text)
        new = self.transform(tags, ctx)
        if new is None or new == tags:
            return None
        result = ctx.fmt.rejoin(text, new)
        if result == text:
            return None
        before, after = set(tags), set(new)
        before.discard("")
        after.discard("")
        return result, before, after


def _clean(tags: Sequence[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(t.strip() for t in tags if t and t.strip()))
    if not out:
        raise UserInputError("No tags given.", "Type at least one tag.")
    return out


def _quoted(tags: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(f"“{t}”" for t in tags[:limit])
    return shown + (f" and {len(tags) - limit} more" if len(tags) > limit else "")


# --- tags ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AddTags(TagOperation):
    """Add tags that a caption lacks, at the front, the end, or an index (0 = first)."""

    tags: tuple[str, ...]
    where: str = "end"
    index: int = 0
    keep_tokens: int = 0
    creates_captions: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _clean(self.tags))
        if self.where not in POSITIONS:
            raise UserInputError(f"Unknown position {self.where!r}.", f"Use one of {', '.join(POSITIONS)}.")

    def transform(self, tags, ctx):
        present = set(tags)
        missing = [t for t in self.tags if t not in present]
        if not missing:
            return None
        if self.where == "end":
            at = len(tags)
        else:
            at = 0 if self.where == "front" else max(0, self.index)
            # Inserting before the kept tags would push one of them out of the fixed part.
            at = min(max(at, self.keep_tokens), len(tags))
        return tags[:at] + missing + tags[at:]

    def describe(self):
        where = {"front": "at the front", "end": "at the end"}.get(self.where, f"at position {self.index + 1}")
        return f"Add {_quoted(self.tags)} {where}"


@dataclass(frozen=True)
class RemoveTags(TagOperation):
    """Remove tags: exact names, or regular expressions matched against whole tags."""

    tags: tuple[str, ...]
    regex: bool = False
    _patterns: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _clean(self.tags))
        if self.regex:
            object.__setattr__(self, "_patterns", tuple(_compile(t) for t in self.tags))

    def transform(self, tags, ctx):
        if self.regex:
            kept = [t for t in tags if not any(p.fullmatch(t) for p in self._patterns)]
        else:
            drop = set(self.tags)
            kept = [t for t in tags if t not in drop]
        return kept if len(kept) != len(tags) else None

    def describe(self):
        return f"Remove {'tags matching ' if self.regex else ''}{_quoted(self.tags)}"


@dataclass(frozen=True)
class RenameTag(TagOperation):
    """Rename one tag, or merge several into one: the first of them takes the new name in place,
    later ones (and a copy the caption already had) are dropped."""

    sources: tuple[str, ...]
    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", _clean(self.sources))
        target = (self.target or "").strip()
        if not target:
            raise UserInputError("The new tag name is empty.", "Type the name the tag should have.")
        object.__setattr__(self, "target", target)

    def transform(self, tags, ctx):
        sources = set(self.sources)
        if sources.isdisjoint(tags) or sources == {self.target}:
            return None
        out: list[str] = []
        placed = False
        target_at = tags.index(self.target) if self.target in tags else None
        for i, tag in enumerate(tags):
            if tag in sources or (tag == self.target and i == target_at):
                if not placed:
                    out.append(self.target)
                    placed = True
                continue
            out.append(tag)
        return out

    def describe(self):
        verb = "Merge" if len(self.sources) > 1 else "Rename"
        return f"{verb} {_quoted(self.sources)} to “{self.target}”"


@dataclass(frozen=True)
class RemoveDuplicates(TagOperation):
    """Drop repeated tags (the first stays) and empty tags."""

    duplicates: bool = True
    empty: bool = True

    def transform(self, tags, ctx):
        out = [t for t in tags if t] if self.empty else list(tags)
        if self.duplicates:
            seen: set[str] = set()
            deduped = []
            for tag in out:
                if tag and tag in seen:
                    continue
                seen.add(tag)
                deduped.append(tag)
            out = deduped
        return out if out != tags else None

    def describe(self):
        parts = [p for p, on in (("duplicate", self.duplicates), ("empty", self.empty)) if on]
        return f"Remove {' and '.join(parts)} tags" if parts else "Remove nothing"


@dataclass(frozen=True)
class SortTags(TagOperation):
    """Sort tags alphabetically or by how many captions of the dataset carry them."""

    by: str = "alphabetical"
    descending: bool = False
    keep_tokens: int = 0

    def __post_init__(self) -> None:
        if self.by not in SORT_KEYS:
            raise UserInputError(f"Unknown sort order {self.by!r}.", f"Use one of {', '.join(SORT_KEYS)}.")

    def transform(self, tags, ctx):
        fixed, rest = tags[:self.keep_tokens], tags[self.keep_tokens:]
        if self.by == "alphabetical":
            ordered = sorted(rest, key=str.casefold, reverse=self.descending)
        else:
            counts = ctx.counts
            # Most frequent first unless asked otherwise; ties alphabetical, always ascending.
            sign = 1 if self.descending else -1
            ordered = sorted(rest, key=lambda t: (sign * counts.get(t, 0), t.casefold()))
        return fixed + ordered

    def describe(self):
        order = "alphabetically" if self.by == "alphabetical" else "by frequency"
        return f"Sort tags {order}" + (" (reversed)" if self.descending else "")


@dataclass(frozen=True)
class MoveToFront(TagOperation):
    """Move the given tags (those a caption has) to the front, after the kept tags, in the order given."""

    tags: tuple[str, ...]
    keep_tokens: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _clean(self.tags))

    def transform(self, tags, ctx):
        fixed, rest = tags[:self.keep_tokens], tags[self.keep_tokens:]
        wanted = set(self.tags)
        moving = [t for t in self.tags if t in rest]
        if not moving:
            return None
        return fixed + moving + [t for t in rest if t not in wanted]

    def describe(self):
        return f"Move {_quoted(self.tags)} to the front"


# --- text ----------------------------------------------------------------------------------

def _compile(pattern: str, flags: int = 0) -> re.Pattern:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise UserInputError(f"The regular expression {pattern!r} is not valid: {exc}.",
                             "Fix the expression, or switch to plain text.") from exc


@dataclass(frozen=True)
class FindReplace(Operation):
    """Find and replace in the caption text (plain or regular expression), or on whole tags."""

    find: str
    replace: str = ""
    mode: str = "plain"
    case_sensitive: bool = True
    _pattern: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in FIND_MODES:
            raise UserInputError(f"Unknown find mode {self.mode!r}.", f"Use one of {', '.join(FIND_MODES)}.")
        if not self.find or (self.mode == "whole_tag" and not self.find.strip()):
            raise UserInputError("Nothing to find.", "Type the text to look for.")
        flags = 0 if self.case_sensitive else re.IGNORECASE
        if self.mode == "regex":
            object.__setattr__(self, "_pattern", _compile(self.find, flags))
        elif self.mode == "plain" and not self.case_sensitive:
            object.__setattr__(self, "_pattern", re.compile(re.escape(self.find), flags))

    def apply(self, text, ctx):
        if not text:
            return None
        if self.mode == "whole_tag":
            return self._whole_tag(text, ctx)
        body, tail = ctx.fmt.split_tail(text)
        if self._pattern is None:
            if self.find not in body:
                return None
            new_body = body.replace(self.find, self.replace)
        else:
            try:
                new_body = self._pattern.sub(self.replace if self.mode == "regex" else _literal(self.replace), body)
            except (re.error, IndexError) as exc:  # a bad group reference in the replacement
                raise UserInputError(f"The replacement {self.replace!r} is not valid: {exc}.",
                                     "Refer only to groups the expression has, as \\1 or \\g<name>.") from exc
        return None if new_body == body else new_body + tail

    def _whole_tag(self, text, ctx):
        tags = ctx.fmt.split(text)
        find = self.find.strip()
        if self.case_sensitive:
            hit = [t == find for t in tags]
        else:
            folded = find.casefold()
            hit = [t.casefold() == folded for t in tags]
        if not any(hit):
            return None
        new = self.replace.strip()
        out: list[str] = []
        for tag, matched in zip(tags, hit):
            if not matched:
                out.append(tag)
            elif new and new not in out:
                out.append(new)
        # A replacement that already stood later in the caption is merged, not repeated.
        if new:
            first = out.index(new)
            out = out[:first + 1] + [t for t in out[first + 1:] if t != new]
        result = ctx.fmt.rejoin(text, out)
        return None if result == text else result

    def describe(self):
        how = {"plain": "", "regex": " (regex)", "whole_tag": " (whole tags)"}[self.mode]
        return f"Replace “{self.find}” with “{self.replace}”{how}"


def _literal(replacement: str):
    return lambda _m: replacement


@dataclass(frozen=True)
class PrefixSuffix(Operation):
    """Put text before and/or after a natural-language caption (not repeated if already there)."""

    prefix: str = ""
    suffix: str = ""
    creates_captions: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.prefix and not self.suffix:
            raise UserInputError("Both the prefix and the suffix are empty.", "Type the text to add.")

    def apply(self, text, ctx):
        body, tail = ctx.fmt.split_tail(text or "")
        new = body
        if self.prefix and not new.startswith(self.prefix):
            new = self.prefix + new
        if self.suffix and not new.endswith(self.suffix):
            new = new + self.suffix
        if new == body:
            return None
        return new + tail

    def describe(self):
        parts = [f"“{self.prefix}” before" if self.prefix else "", f"“{self.suffix}” after" if self.suffix else ""]
        return "Add " + " and ".join(p for p in parts if p) + " the caption"


@dataclass(frozen=True)
class SetText(Operation):
    """Replace a caption with the given text (the editor's edits of one or more captions)."""

    text: str
    creates_captions: ClassVar[bool] = True

    def apply(self, text, ctx):
        return None if text == self.text else self.text

    def describe(self):
        return "Edit caption"


@dataclass(frozen=True)
class SetTags(TagOperation):
    """Replace a caption's tags with the given list (reorder, in-place rename in the editor)."""

    tags: tuple[str, ...]
    creates_captions: ClassVar[bool] = True

    def transform(self, tags, ctx):
        return list(self.tags)

    def describe(self):
        return "Edit tags"
