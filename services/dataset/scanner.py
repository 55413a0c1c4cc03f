"""Scanning folders into a Workspace: every image, its size (from the header) and its caption.

Fast because it does the least: ``os.scandir`` (no per-file ``stat`` beyond the one on the open
file), one small read per image header, caption files read only when the directory listing shows
they exist. Safe because nothing in a folder can stop it: unreadable folders, symlink loops, broken
links, bad names and bad files each become a flagged item or a ``ScanMessage``.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from services.dataset.caption_files import CaptionFile, read_caption
from services.dataset.image_header import HeaderError, ImageHeader, is_image_name, parse_header
from services.dataset.kohya_names import looks_like_regularisation, parse_folder_name
from services.dataset.workspace import (
    DEFAULT_SMALL_SIDE,
    ImageItem,
    Problem,
    ScanMessage,
    Subset,
    Workspace,
    natural_key,
)
from services.errors import FileAccessError, OperationCancelled

log = logging.getLogger(__name__)

# Folders never worth descending into: VCS and OS clutter, NAS thumbnails.
SKIP_DIRS = frozenset({"__MACOSX", "@eaDir", "$RECYCLE.BIN", "System Volume Information", "node_modules"})
_HEAD = 4_096

Progress = Callable[[int, int, str], None]  # (images read, images found, folder being read)
OnItems = Callable[[list, list], None]  # (new subsets, items) read so far: see scan_folders
FIRST_BATCH = 48  # about a screenful of thumbnails: the grid can start while the rest is read
LATER_BATCH = 2000


@dataclass
class ScanOptions:
    caption_extension: str = ".txt"
    tag_separator: str = ", "
    small_side: int = DEFAULT_SMALL_SIDE
    reg_folders: frozenset[str] = frozenset()  # subset paths the user marked as regularisation
    not_reg_folders: frozenset[str] = frozenset()  # ... and those the user un-marked
    max_depth: int = 32


@dataclass
class DirListing:
    """The images (and caption names present) of one folder, plus its sub-folders."""

    path: str
    images: list[os.DirEntry] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    subdirs: list[str] = field(default_factory=list)
    entries: dict[str, os.DirEntry] = field(default_factory=dict)  # every visible name


def list_dir(path: str, messages: list[ScanMessage]) -> DirListing:
    listing = DirListing(path)
    try:
        with os.scandir(path) as it:
            entries = list(it)
    except PermissionError:
        messages.append(ScanMessage(path, "This folder cannot be read (permission denied); its images are skipped."))
        return listing
    except OSError as exc:
        messages.append(ScanMessage(path, f"This folder cannot be read ({exc.strerror or exc}); it is skipped."))
        return listing
    for entry in entries:
        name = entry.name
        if name.startswith("."):  # hidden files, AppleDouble "._x.jpg", our own temp files
            continue
        listing.names.add(name)
        listing.entries[name] = entry
        try:
            is_dir = entry.is_dir()  # follows symlinks; loops are caught by the caller
        except OSError:
            is_dir = False
        if is_dir:
            if name not in SKIP_DIRS:
                listing.subdirs.append(entry.path)
        elif is_image_name(name):
            listing.images.append(entry)
    listing.images.sort(key=lambda e: natural_key(e.name))
    listing.subdirs.sort(key=lambda p: natural_key(os.path.basename(p)))
    return listing


def read_image(path: str) -> tuple[ImageHeader | None, int, int, str]:
    """(header or None, file size, mtime_ns, error) for one image; never raises."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            return None, 0, 0, "is a broken link (its target does not exist)"
        return None, 0, 0, "has disappeared"
    except PermissionError:
        return None, 0, 0, "cannot be read: permission denied"
    except OSError as exc:
        return None, 0, 0, f"cannot be read: {exc.strerror or exc}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, 0, 0, "is not a regular file"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            head = fh.read(_HEAD)
            try:
                header = parse_header(head, fh)
            except HeaderError as exc:
                return None, st.st_size, st.st_mtime_ns, str(exc)
        return header, st.st_size, st.st_mtime_ns, ""
    except OSError as exc:
        return None, 0, 0, f"cannot be read: {exc.strerror or exc}"
    finally:
        os.close(fd)


def make_item(path: str, subset_id: str, caption: CaptionFile) -> ImageItem:
    header, size, mtime_ns, error = read_image(path)
    item = ImageItem(key=path, subset=subset_id, name=os.path.basename(path), caption=caption,
                     file_size=size, mtime_ns=mtime_ns)
    if header is None:
        item.problems = Problem.UNREADABLE
        item.error = error
    else:
        item.width, item.height = header.display_size
        item.format = header.format
        item.orientation = header.orientation
    return item


def caption_for(listing_names: set[str], image_name: str, folder: str, extension: str) -> CaptionFile:
    stem = image_name.rsplit(".", 1)[0]
    caption_name = stem + extension
    path = os.path.join(folder, caption_name)
    if caption_name not in listing_names:
        return CaptionFile(Path(path))
    return read_caption(path)


def make_subset(folder: str, root: str, options: ScanOptions) -> Subset:
    base = os.path.basename(folder.rstrip(os.sep)) or folder
    root_name = os.path.basename(root.rstrip(os.sep)) or root
    rel = os.path.relpath(folder, root)
    display = root_name if rel == "." else os.path.join(root_name, rel)
    parts = tuple(Path(display).parts)
    kohya = parse_folder_name(base)
    is_reg = looks_like_regularisation(parts[:-1]) or (kohya is not None and looks_like_regularisation(parts[-1:]))
    if folder in options.reg_folders:
        is_reg = True
    elif folder in options.not_reg_folders:
        is_reg = False
    return Subset(id=folder, path=Path(folder), root=Path(root), name=display,
                  repeats=kohya.repeats if kohya else 1, class_tokens=kohya.class_tokens if kohya else "",
                  kohya=kohya is not None, is_reg=is_reg)


CAPTION_EXTENSIONS = (".txt", ".caption", ".cap")


def guess_caption_extension(listings: Iterable[DirListing], default: str = ".txt") -> str:
    """The common caption extension that most images have a file for (``default`` on a tie or none)."""
    counts = dict.fromkeys(CAPTION_EXTENSIONS, 0)
    for listing in listings:
        for entry in listing.images:
            stem = entry.name.rsplit(".", 1)[0]
            for ext in CAPTION_EXTENSIONS:
                if stem + ext in listing.names:
                    counts[ext] += 1
    best = max(counts, key=lambda e: (counts[e], e == default))
    return best if counts[best] > counts.get(default, 0) else default


def scan_folders(roots: Iterable[str | os.PathLike], options: ScanOptions | None = None, *,
                 progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
                 guess_extension: bool = False, on_items: OnItems | None = None) -> Workspace:
    """Scan ``roots`` recursively into a new Workspace.

    ``on_items(new_subsets, items)`` (optional) receives what was read so far, in scan order and
    in batches (the first one small, as soon as a screenful is read), so a view can show the
    images while the rest are read: ``new_subsets`` are copies (with no keys) of the subsets that
    start in this batch; the items are the workspace's own (not changed after being handed out).

    With ``guess_extension`` the caption extension is the one of .txt/.caption/.cap that most
    images have a file for (``options.caption_extension`` when none do). Raises FileAccessError
    when a root is missing or not a folder, OperationCancelled when ``cancelled()`` turns true.
    Everything else becomes a flagged item or a message."""
    options = options or ScanOptions()
    started = time.perf_counter()
    roots = list(dict.fromkeys(os.path.abspath(os.fspath(r)) for r in roots))
    for root in roots:
        if not os.path.isdir(root):
            what = "does not exist" if not os.path.lexists(root) else "is not a folder"
            raise FileAccessError(f"The dataset folder {root} {what}.",
                                  "Choose a folder that holds your images (and their caption files).")
    messages: list[ScanMessage] = []
    # Phase 1: walk every folder (cheap: listings only).
    walked: list[tuple[str, DirListing]] = []
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            folder, depth = stack.pop()
            if cancelled is not None and cancelled():
                raise OperationCancelled("The scan was cancelled.")
            try:
                st = os.stat(folder)
            except OSError as exc:
                messages.append(ScanMessage(folder, f"This folder cannot be read ({exc.strerror or exc})."))
                continue
            ident = (st.st_dev, st.st_ino)
            if ident in seen_dirs:
                if os.path.islink(folder):
                    messages.append(ScanMessage(folder, "This link leads to a folder already scanned "
                                                        "(a symlink loop or a duplicate link); skipped."))
                continue
            seen_dirs.add(ident)
            listing = list_dir(folder, messages)
            walked.append((root, listing))
            if depth < options.max_depth:
                stack.extend((d, depth + 1) for d in reversed(listing.subdirs))
            elif listing.subdirs:
                messages.append(ScanMessage(folder, f"Folders deeper than {options.max_depth} levels are skipped."))
    extension = options.caption_extension
    if guess_extension:
        extension = guess_caption_extension((listing for _r, listing in walked), options.caption_extension)
    ws = Workspace(roots, caption_extension=extension, tag_separator=options.tag_separator,
                   small_side=options.small_side)
    ws.messages = messages
    ext = ws.caption_extension
    total = sum(len(listing.images) for _r, listing in walked)
    # Phase 2: headers and captions.
    found = 0
    batch: list[ImageItem] = []
    batch_subsets: list[Subset] = []
    next_flush = FIRST_BATCH
    last_flush = time.perf_counter()
    for root, listing in walked:
        ws.folders.add(listing.path)
        if not listing.images:
            continue
        folder = listing.path
        subset = ws.add_subset(make_subset(folder, root, options))
        if on_items is not None:
            batch_subsets.append(replace(subset, keys=[]))
        for entry in listing.images:
            path = entry.path
            if path in ws:
                continue
            caption = caption_for(listing.names, entry.name, folder, ext)
            item = make_item(path, subset.id, caption)
            ws.add_item(item)
            found += 1
            if on_items is not None:
                batch.append(item)
                if found >= next_flush or time.perf_counter() - last_flush > 0.5:
                    on_items(batch_subsets, batch)
                    batch, batch_subsets = [], []
                    next_flush, last_flush = found + LATER_BATCH, time.perf_counter()
            if found % 64 == 0:
                if cancelled is not None and cancelled():
                    raise OperationCancelled("The scan was cancelled.")
                if progress is not None:
                    progress(found, total, folder)
    if on_items is not None and (batch or batch_subsets):
        on_items(batch_subsets, batch)
    if progress is not None:
        progress(found, total, "")
    ws.scan_seconds = time.perf_counter() - started
    return ws


@dataclass
class FolderDiff:
    """What changed in one folder since the workspace was scanned."""

    folder: str
    added: list[ImageItem] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed_images: list[ImageItem] = field(default_factory=list)  # content changed (new size/mtime)
    changed_captions: dict[str, CaptionFile] = field(default_factory=dict)
    new_subdirs: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed_images or self.changed_captions or self.new_subdirs)


@dataclass(frozen=True)
class KnownImage:
    """What the workspace knows of one image, handed to a worker that rescans its folder."""

    key: str
    file_size: int
    mtime_ns: int
    caption: CaptionFile


def rescan_folder(folder: str, known: dict[str, KnownImage], subset_id: str, caption_extension: str,
                  known_dirs: set[str]) -> FolderDiff:
    """Compare one folder with what the workspace knows (``known``: its images there) and return the
    difference; runs in a worker. A caption is read again only when its size or time changed, and
    counts as changed only when its content did (a touch is no change)."""
    diff = FolderDiff(folder)
    messages: list[ScanMessage] = []
    listing = list_dir(folder, messages) if os.path.isdir(folder) else DirListing(folder)
    present = set()
    for entry in listing.images:
        path = entry.path
        present.add(path)
        before = known.get(path)
        if before is None:
            diff.added.append(make_item(path, subset_id, caption_for(listing.names, entry.name, folder,
                                                                     caption_extension)))
            continue
        try:
            st = entry.stat()
            moved = (st.st_size, st.st_mtime_ns) != (before.file_size, before.mtime_ns)
        except OSError:
            moved = True
        if moved:
            diff.changed_images.append(make_item(path, subset_id, caption_for(listing.names, entry.name, folder,
                                                                              caption_extension)))
            continue
        caption_name = entry.name.rsplit(".", 1)[0] + caption_extension
        cap_entry = listing.entries.get(caption_name)
        snap = before.caption.snapshot
        if cap_entry is None:
            if before.caption.exists:
                diff.changed_captions[path] = CaptionFile(Path(os.path.join(folder, caption_name)))
            continue
        try:
            cst = cap_entry.stat()
            same_stat = snap is not None and (cst.st_size, cst.st_mtime_ns) == (snap.size, snap.mtime_ns)
        except OSError:
            same_stat = False
        if same_stat:
            continue
        caption = read_caption(cap_entry.path)
        if _caption_differs(before.caption, caption):
            diff.changed_captions[path] = caption
    diff.removed = [k for k in known if k not in present]
    diff.new_subdirs = [d for d in listing.subdirs if d not in known_dirs]
    return diff


def _caption_differs(a: CaptionFile, b: CaptionFile) -> bool:
    if a.exists != b.exists or a.undecodable != b.undecodable:
        return True
    if a.snapshot is None or b.snapshot is None:
        return False
    return a.snapshot.digest != b.snapshot.digest
