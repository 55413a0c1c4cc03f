"""The dataset workspace: the opened folders as subsets of images with their captions.

An ``ImageItem`` is addressed by its ``key`` — the image's absolute path as a string, stable across
rescans and across the app — so panels talk about images by key (``Session.selection_changed``,
``Session.captions_changed``) and look them up with ``Workspace.item(key)``.

The workspace is plain data owned by the GUI thread; workers get copies or keys, never mutate it.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from services.dataset.caption_files import (
    CaptionFile,
    CaptionFormat,
    caption_path_for,
    normalise_extension,
    read_caption,
    write_caption,
)
from services.errors import UserInputError

TAG_SEPARATORS = {", ": "comma and space", ",": "comma", "\n": "new line"}
DEFAULT_SMALL_SIDE = 384  # below this shorter side an image gets the "very small" badge


class Problem(enum.IntFlag):
    NONE = 0
    NO_CAPTION = 1  # no caption file
    EMPTY_CAPTION = 2  # caption file with only white space
    CAPTION_UNDECODABLE = 4  # caption file in an unknown encoding or unreadable: never overwritten
    UNREADABLE = 8  # the image cannot be read (not an image, zero bytes, no permission, bomb)
    CORRUPT = 16  # the header reads but the pixels do not decode (truncated, damaged): health report
    TOO_SMALL = 32  # shorter side below the workspace's small-image threshold
    DUPLICATE = 64  # same content as another image (content hash)
    NEAR_DUPLICATE = 128  # looks the same as another image (perceptual hash): health report
    ODD_ASPECT = 256  # extreme aspect ratio (beyond 1:3): health report

    @property
    def labels(self) -> list[str]:
        return [PROBLEM_LABELS[p] for p in PROBLEM_ORDER if p in self]


PROBLEM_ORDER = (Problem.UNREADABLE, Problem.CORRUPT, Problem.CAPTION_UNDECODABLE, Problem.NO_CAPTION,
                 Problem.EMPTY_CAPTION, Problem.TOO_SMALL, Problem.DUPLICATE, Problem.NEAR_DUPLICATE,
                 Problem.ODD_ASPECT)
PROBLEM_LABELS = {
    Problem.NO_CAPTION: "no caption", Problem.EMPTY_CAPTION: "empty caption",
    Problem.CAPTION_UNDECODABLE: "caption encoding unknown", Problem.UNREADABLE: "unreadable",
    Problem.CORRUPT: "corrupt", Problem.TOO_SMALL: "very small", Problem.DUPLICATE: "duplicate",
    Problem.NEAR_DUPLICATE: "near-duplicate", Problem.ODD_ASPECT: "odd aspect ratio",
}
# Names used by the filter language: problem:no_caption, problem:duplicate, ...
PROBLEM_NAMES = {p.name.lower(): p for p in PROBLEM_ORDER}
CAPTION_PROBLEMS = Problem.NO_CAPTION | Problem.EMPTY_CAPTION | Problem.CAPTION_UNDECODABLE
_KEEP_ON_UPDATE = ~int(CAPTION_PROBLEMS | Problem.TOO_SMALL)
_NO_CAPTION, _EMPTY_CAPTION = int(Problem.NO_CAPTION), int(Problem.EMPTY_CAPTION)
_CAPTION_UNDECODABLE, _TOO_SMALL = int(Problem.CAPTION_UNDECODABLE), int(Problem.TOO_SMALL)


@dataclass(slots=True, eq=False)
class ImageItem:
    """One image of the workspace. ``width``/``height`` are as displayed (EXIF orientation applied)."""

    key: str
    subset: str  # Subset.id
    name: str  # file name
    caption: CaptionFile
    width: int = 0
    height: int = 0
    format: str = ""  # "JPEG", "PNG", "WEBP", "BMP", "GIF"
    file_size: int = 0
    mtime_ns: int = 0
    orientation: int = 1  # EXIF orientation 1..8
    problems: Problem = Problem.NONE
    error: str = ""  # why the image is unreadable or corrupt
    content_hash: str = ""  # filled by the duplicate pass / health report
    # (caption text, separator, tags, normalised tag set or None), replaced as a whole: a worker may
    # fill it while the GUI thread reads it, and a stale entry is recognised by its text.
    _tag_cache: tuple | None = field(default=None, repr=False)
    _name_key: tuple | None = field(default=None, repr=False)  # natural sort key, computed once

    @property
    def path(self) -> Path:
        return Path(self.key)

    @property
    def caption_path(self) -> Path:
        return self.caption.path

    @property
    def caption_text(self) -> str:
        return self.caption.text

    @property
    def readable(self) -> bool:
        return not (self.problems & Problem.UNREADABLE)

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.width and self.height else 0.0


@dataclass(slots=True)
class Subset:
    """A folder of images; a Kohya ``N_name`` folder carries its repeats and class tokens."""

    id: str  # the folder's path as a string
    path: Path
    root: Path  # the opened folder it was found under
    name: str  # for display: path relative to the root's parent
    repeats: int = 1
    class_tokens: str = ""
    kohya: bool = False  # the folder name follows N_name
    is_reg: bool = False  # regularisation images
    keys: list[str] = field(default_factory=list)

    @property
    def image_count(self) -> int:
        return len(self.keys)

    @property
    def weighted(self) -> int:
        """Images × repeats: how many samples one epoch draws from this subset."""
        return len(self.keys) * self.repeats


@dataclass(frozen=True)
class Totals:
    images: int
    weighted: int  # images × repeats over training (non-regularisation) subsets
    train_images: int
    reg_images: int
    reg_weighted: int
    subsets: int


@dataclass(frozen=True)
class ScanMessage:
    """Something about a folder (not one image) the user should know: unreadable, a symlink loop."""

    path: str
    message: str


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """``img2`` before ``img10``; case-insensitive."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name))


def name_key(item: ImageItem) -> tuple:
    if item._name_key is None:
        item._name_key = natural_key(item.name)
    return item._name_key


def normalise_tag(tag: str) -> str:
    """A tag as the filter compares it: lower case, "_" as " ", runs of spaces as one."""
    low = tag.replace("_", " ").lower()
    return " ".join(low.split()) if "  " in low or "\t" in low else low.strip()


def split_tags(text: str, separator: str = ", ") -> list[str]:
    """Tags of a caption: split on the separator (commas for ", " and ","), stripped, blanks dropped."""
    if separator.strip() == ",":
        parts = text.replace("\n", ",").split(",")
    elif separator == "\n":
        parts = text.split("\n")
    else:
        parts = text.split(separator)
    return [p.strip() for p in parts if p.strip()]


def join_tags(tags: Iterable[str], separator: str = ", ") -> str:
    return separator.join(t.strip() for t in tags if t.strip())


class Workspace:
    """The open dataset: subsets (folders) and image items, addressable by key."""

    def __init__(self, roots: Iterable[str | os.PathLike] = (), *, caption_extension: str = ".txt",
                 tag_separator: str = ", ", small_side: int = DEFAULT_SMALL_SIDE) -> None:
        self.roots: list[Path] = [Path(r) for r in roots]
        self.caption_extension = normalise_extension(caption_extension)
        if tag_separator not in TAG_SEPARATORS:
            raise UserInputError(f"{tag_separator!r} is not a supported tag separator.",
                                 "Choose comma, comma and space, or new line.")
        self.tag_separator = tag_separator
        self.small_side = small_side
        self.subsets: dict[str, Subset] = {}
        self._items: dict[str, ImageItem] = {}
        self.messages: list[ScanMessage] = []
        self.folders: set[str] = set()  # every folder scanned (watched for changes)
        self.ready = True  # a workspace is handed out only when its scan is complete
        self.scan_seconds = 0.0

    # --- lookup ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[ImageItem]:
        return iter(self._items.values())

    def item(self, key: str) -> ImageItem:
        return self._items[key]

    def get(self, key: str) -> ImageItem | None:
        return self._items.get(key)

    def keys(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[ImageItem]:
        return list(self._items.values())

    def subset_of(self, key: str) -> Subset:
        return self.subsets[self._items[key].subset]

    def subset_items(self, subset_id: str) -> list[ImageItem]:
        return [self._items[k] for k in self.subsets[subset_id].keys]

    def totals(self) -> Totals:
        train = [s for s in self.subsets.values() if not s.is_reg and s.repeats >= 1]
        reg = [s for s in self.subsets.values() if s.is_reg and s.repeats >= 1]
        return Totals(images=len(self._items), weighted=sum(s.weighted for s in train),
                      train_images=sum(s.image_count for s in train), reg_images=sum(s.image_count for s in reg),
                      reg_weighted=sum(s.weighted for s in reg), subsets=len(self.subsets))

    # --- tags -----------------------------------------------------------------------------
    def tags(self, key_or_item: str | ImageItem) -> tuple[str, ...]:
        """The caption's tags (cached per caption text)."""
        item = key_or_item if isinstance(key_or_item, ImageItem) else self._items[key_or_item]
        return self._tag_entry(item)[2]

    def tag_set(self, key_or_item: str | ImageItem) -> frozenset[str]:
        """The caption's tags normalised for matching: lower case, "_" as " ", spaces collapsed."""
        item = key_or_item if isinstance(key_or_item, ImageItem) else self._items[key_or_item]
        entry = self._tag_entry(item)
        if entry[3] is None:
            entry = (*entry[:3], frozenset(map(normalise_tag, entry[2])))
            item._tag_cache = entry
        return entry[3]

    def _tag_entry(self, item: ImageItem) -> tuple:
        text, separator = item.caption.text, self.tag_separator
        entry = item._tag_cache
        if entry is None or entry[0] is not text or entry[1] != separator:
            entry = (text, separator, tuple(split_tags(text, separator)), None)
            item._tag_cache = entry
        return entry

    def split_tags(self, text: str) -> list[str]:
        return split_tags(text, self.tag_separator)

    def warm_caches(self, items: Iterable[ImageItem] | None = None) -> None:
        """Compute the tag sets and sort keys now (the Dataset dock does it in a worker after a scan), so the first
        filter or sort on the GUI thread costs nothing extra."""
        for item in items if items is not None else self._items.values():
            self.tag_set(item)
            name_key(item)

    def join_tags(self, tags: Iterable[str]) -> str:
        return join_tags(tags, self.tag_separator)

    # --- building and changing (GUI thread) -------------------------------------------------
    def add_subset(self, subset: Subset) -> Subset:
        existing = self.subsets.get(subset.id)
        if existing is not None:
            return existing
        self.subsets[subset.id] = subset
        return subset

    def add_item(self, item: ImageItem) -> None:
        if item.key in self._items:
            return
        self._items[item.key] = item
        self.subsets[item.subset].keys.append(item.key)
        self.update_problems(item)

    def adopt_item(self, item: ImageItem) -> None:
        """Add an item whose problems are already worked out (one handed over by the scan)."""
        if item.key not in self._items:
            self._items[item.key] = item
            self.subsets[item.subset].keys.append(item.key)

    def remove_item(self, key: str) -> ImageItem | None:
        item = self._items.pop(key, None)
        if item is not None:
            subset = self.subsets.get(item.subset)
            if subset is not None:
                subset.keys.remove(key)
                if not subset.keys:
                    del self.subsets[subset.id]
        return item

    def caption_path(self, image_path: str | os.PathLike) -> Path:
        return caption_path_for(image_path, self.caption_extension)

    def update_problems(self, item: ImageItem) -> Problem:
        """Recompute the problems that follow from the caption and size (others are kept)."""
        # Plain int arithmetic: IntFlag operators are slow, and this runs for every scanned image.
        problems = int(item.problems) & _KEEP_ON_UPDATE
        cap = item.caption
        if cap.undecodable:
            problems |= _CAPTION_UNDECODABLE
        elif cap.snapshot is None:
            problems |= _NO_CAPTION
        elif not cap.text.strip():
            problems |= _EMPTY_CAPTION
        if item.width and item.height and min(item.width, item.height) < self.small_side:
            problems |= _TOO_SMALL
        item.problems = Problem(problems)
        return item.problems

    def set_caption(self, key: str, caption: CaptionFile) -> ImageItem:
        """Record a caption as it now is on disk (after a write or an external change)."""
        item = self._items[key]
        item.caption = caption
        self.update_problems(item)
        return item

    def reload_caption(self, key: str) -> CaptionFile:
        item = self._items[key]
        return self.set_caption(key, read_caption(item.caption.path)).caption

    def save_caption(self, key: str, text: str, *, base: CaptionFile | None = None, fsync: bool = True,
                     new_file_format: CaptionFormat | None = None) -> CaptionFile:
        """Write ``text`` as the caption of ``key`` (atomic, same encoding as before) and record it.

        ``base`` is the CaptionFile the edit started from (default: the item's current caption);
        a ``ConflictError`` is raised when the file changed on disk since then."""
        item = self._items[key]
        written = write_caption(base or item.caption, text, fmt=new_file_format, fsync=fsync)
        self.set_caption(key, written)
        return written

    def set_caption_extension(self, extension: str) -> None:
        """Point every item at ``<stem><extension>`` and read those files (blocking: small files).
        The GUI calls it through a worker (services.dataset.qt) for large workspaces."""
        self.caption_extension = normalise_extension(extension)
        for item in self._items.values():
            self.set_caption(item.key, read_caption(self.caption_path(item.key)))

    def set_tag_separator(self, separator: str) -> None:
        if separator not in TAG_SEPARATORS:
            raise UserInputError(f"{separator!r} is not a supported tag separator.",
                                 "Choose comma, comma and space, or new line.")
        self.tag_separator = separator  # cached tags carry their separator: they are made again

    def set_small_side(self, pixels: int) -> None:
        self.small_side = max(0, int(pixels))
        for item in self._items.values():
            self.update_problems(item)

    def set_flag(self, keys: Iterable[str], flag: Problem) -> set[str]:
        """Set ``flag`` on exactly ``keys`` (clearing it everywhere else); returns the keys that changed."""
        wanted = {k for k in keys if k in self._items}
        changed = set()
        for item in self._items.values():
            want = item.key in wanted
            if bool(item.problems & flag) != want:
                item.problems = (item.problems | flag) if want else (item.problems & ~flag)
                changed.add(item.key)
        return changed

    def mark_duplicates(self, groups: Iterable[Iterable[str]], flag: Problem = Problem.DUPLICATE) -> set[str]:
        """Flag the keys of each group (of two or more) with ``flag``; clear it everywhere else."""
        flagged: set[str] = set()
        for group in groups:
            keys = [k for k in group if k in self._items]
            if len(keys) > 1:
                flagged.update(keys)
        return self.set_flag(flagged, flag)
