"""Splitting a caption into tags and joining tags back, with the workspace's separator.

A caption is a *body* and a *tail*: the tail is the trailing whitespace (usually one newline) that
editors leave at the end of a file. Operations work on the body; the tail is put back unchanged so
an edit never adds or removes a final newline the user had.

Splitting is lossless enough to round-trip: tags are stripped of surrounding spaces, empty tags are
kept (removing them is an operation of its own), and an empty body has no tags at all.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATORS = {", ": "comma and space", ",": "comma", "\n": "new line"}
_TAIL_CHARS = " \t\r\n"


@dataclass(frozen=True)
class TagFormat:
    """How tags are separated in this workspace's caption files.

    ``separator`` is what joins tags when a caption is written; ``split_on`` is what separates
    them when one is read (the separator without its padding: ", " reads as ",").
    """

    separator: str = ", "

    @property
    def split_on(self) -> str:
        core = self.separator.strip(" \t")
        return core or "\n"

    def split_tail(self, text: str) -> tuple[str, str]:
        body = text.rstrip(_TAIL_CHARS)
        return body, text[len(body):]

    def split(self, text: str | None) -> list[str]:
        if not text:
            return []
        body = text.rstrip(_TAIL_CHARS)
        if not body.strip():
            return []
        return [t.strip() for t in body.split(self.split_on)]

    def join(self, tags: list[str], tail: str = "") -> str:
        return self.separator.join(tags) + tail

    def rejoin(self, original: str | None, tags: list[str]) -> str:
        """``tags`` as a caption that keeps the tail of ``original``."""
        tail = self.split_tail(original)[1] if original else ""
        return self.join(tags, tail)

    def tag_set(self, text: str | None) -> set[str]:
        """The distinct, non-empty tags of a caption (what the tag statistics count)."""
        if not text:
            return set()
        tags = set(self.split(text))
        tags.discard("")
        return tags


def format_for(separator: str | None) -> TagFormat:
    return TagFormat(separator if separator else ", ")
