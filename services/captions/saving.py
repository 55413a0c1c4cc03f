"""The save pipeline: captions with edits -> files on disk, atomically, in their own encoding.

Runs in a worker (or the CLI). For each caption it checks that the file on disk is still the one
the edit started from (a cheap ``stat`` first, the content hash only when that differs), encodes
the text in the file's own codec, BOM and line endings (``services.dataset.caption_files``), and
writes the whole batch with ``durable.write_many``. A file that could not be decoded is never
written; a file another program changed is reported as a conflict and left alone.

A caption whose new text is None should not exist (the undo of a caption the app created): its
file goes to the system trash, never unlinked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.captions.durable import WriteItem, write_many
from services.dataset.caption_files import (
    DEFAULT_FORMAT,
    CaptionFile,
    CaptionFormat,
    CaptionSnapshot,
    digest_bytes,
    encode_caption_text,
    read_caption,
)
from services.errors import FileAccessError, FileFormatError, LoraStudioError


@dataclass(frozen=True)
class SaveItem:
    key: str
    base: CaptionFile        # the caption as last read or written: its snapshot is the disk we expect
    text: str | None         # None: the file should not exist
    new_format: CaptionFormat = DEFAULT_FORMAT  # for a file that does not exist yet


@dataclass
class SaveResult:
    saved: dict[str, CaptionFile] = field(default_factory=dict)      # key -> the file as now written
    conflicts: dict[str, CaptionFile] = field(default_factory=dict)  # key -> the file as another program left it
    errors: dict[str, LoraStudioError] = field(default_factory=dict)
    cancelled: bool = False
    # Replaced contents left under temporary names, to delete off the save's path (durable.remove_files).
    old_versions: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.saved) + len(self.conflicts) + len(self.errors)


def disk_state(base: CaptionFile, st: os.stat_result | None = None) -> CaptionFile | None:
    """None when the file on disk is still ``base``'s (or only touched); otherwise the file as it
    is now (read, so the user can see the other version). ``st``: its stat, if already taken."""
    if st is None:
        try:
            st = os.stat(base.path)
        except FileNotFoundError:
            return None if base.snapshot is None else CaptionFile(base.path)
        except OSError:
            return None  # unreadable now: the write will fail and say so
    snap = base.snapshot
    if snap is not None and (st.st_mtime_ns, st.st_size) == (snap.mtime_ns, snap.size):
        return None
    now = read_caption(base.path)
    if snap is not None and now.snapshot is not None and now.snapshot.digest == snap.digest:
        return None
    return now


def normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _stat(path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def save_captions(items: Sequence[SaveItem], *, durable: bool = True, check_conflicts: bool = True,
                  progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None, keep_old_versions: bool = False) -> SaveResult:
    """Write ``items``; with ``keep_old_versions`` the replaced contents are left for the caller to
    delete in the background (``result.old_versions``) instead of before this returns."""
    result = SaveResult()
    total = len(items)
    writes: list[WriteItem] = []
    pending: list[tuple[SaveItem, CaptionFormat, bytes]] = []
    trash: list[SaveItem] = []
    for n, item in enumerate(items, 1):
        base = item.base
        if base.undecodable:
            result.errors[item.key] = FileFormatError(
                f"The caption file {base.path.name} was not written: its encoding could not be read "
                f"({base.error or 'unknown encoding'}), so saving would destroy its content.",
                "Convert it to UTF-8 with a text editor, then refresh the dataset.")
            continue
        st = _stat(base.path)
        if check_conflicts:
            if st is None:
                theirs = None if base.snapshot is None or base.path.exists() else CaptionFile(base.path)
            else:
                theirs = disk_state(base, st)
            if theirs is not None:
                result.conflicts[item.key] = theirs
                continue
        if item.text is None:
            trash.append(item)
            continue
        fmt = base.format if base.exists else item.new_format
        try:
            data = encode_caption_text(item.text, fmt)
        except LoraStudioError as exc:
            result.errors[item.key] = exc
            continue
        writes.append(WriteItem(base.path, data, st.st_mode & 0o7777 if st is not None else None))
        pending.append((item, fmt, data))
        if progress is not None and n % 1000 == 0:
            progress(n // 4, total)  # checking is about a quarter of the work
    if progress is not None:
        progress(total // 4, total)

    def written_progress(done: int) -> None:
        if progress is not None:
            progress(total // 4 + (done * (total - total // 4)) // max(1, len(writes)), total)

    report = write_many(writes, durable=durable, progress=written_progress, cancelled=cancelled,
                        keep_old_versions=keep_old_versions)
    result.cancelled = report.cancelled
    result.old_versions = report.old_versions
    for i, (item, fmt, data) in enumerate(pending):
        stat = report.written.get(i)
        if stat is not None:
            result.saved[item.key] = CaptionFile(
                item.base.path, normalise(item.text or ""), fmt,
                CaptionSnapshot(stat.mtime_ns, stat.size, digest_bytes(data)))
        elif i in report.failed:
            exc = report.failed[i]
            result.errors[item.key] = FileAccessError(
                f"The caption file {item.base.path} could not be written.",
                details=f"{type(exc).__name__}: {exc}")
    for item in trash:
        if cancelled is not None and cancelled():
            result.cancelled = True
            break
        try:
            if item.base.path.exists():
                from send2trash import send2trash

                send2trash(str(item.base.path))
        except Exception as exc:  # send2trash raises its own error types per platform
            result.errors[item.key] = FileAccessError(
                f"The caption file {item.base.path} could not be moved to the trash.", details=str(exc))
            continue
        result.saved[item.key] = CaptionFile(item.base.path)
    if progress is not None:
        progress(total, total)
    return result


def new_caption_format(workspace, item) -> CaptionFormat:
    """The format for a caption file the app creates: that of a caption in the same folder, if any
    (so a folder of UTF-8-with-BOM, CRLF captions stays one), else UTF-8 without a final newline."""
    cache = getattr(workspace, "_caption_new_format", None)
    if cache is None:
        cache = workspace._caption_new_format = {}
    fmt = cache.get(item.subset)
    if fmt is None:
        fmt = DEFAULT_FORMAT
        for other in workspace.subset_items(item.subset)[:64]:
            if other.caption.exists and not other.caption.undecodable:
                fmt = other.caption.format
                break
        cache[item.subset] = fmt
    return fmt

