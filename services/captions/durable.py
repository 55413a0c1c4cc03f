"""Writing many small files atomically and durably, without paying one disk flush per file.

``services.atomic.atomic_write_bytes`` is right for one file: temp file, fsync, replace, fsync the
folder. Over 10,000 captions those 20,000 flushes take tens of seconds. The guarantee that matters
is the same for a batch:

1. every new content is complete on disk before any file is replaced by it, and
2. each replace is a single atomic rename, so a crash at any moment leaves each file old or new.

So a batch writes all its temporary files, makes them durable with one barrier (``syncfs`` of the
filesystem on Linux; one fsync per temp file elsewhere), renames each over its target, then fsyncs
each folder once. Work goes in chunks so progress and cancel stay responsive and a crash leaves at
most one chunk of temporary files behind; ``remove_stale_temps`` clears those (they are ours, named
``.<name>.<token>-<n>.lstmp``, never a user's file).

Replacing a file also frees the old one, and on a busy disk freeing is most of the cost (ext4 with
``discard`` can take milliseconds per file). On Linux the swap is therefore done with
``renameat2(RENAME_EXCHANGE)``: just as atomic, the target name points to the new content at once,
and the old content is left under the temporary name, to be deleted afterwards (``old_versions``),
off the path of the save. Where exchange is not supported, ``os.replace`` is used.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TEMP_SUFFIX = ".lstmp"
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}-[0-9a-f]+" + re.escape(TEMP_SUFFIX) + "$")
CHUNK = 2000


def _current_umask() -> int:
    if os.name != "posix":
        return 0
    mask = os.umask(0o022)  # the only way to read it; set back at once (at import, single-threaded)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@dataclass(frozen=True)
class WriteItem:
    path: Path
    data: bytes
    mode: int | None = None  # permissions of the file replaced, when the caller already knows them


@dataclass(frozen=True)
class Written:
    """The file as written: what a later conflict check compares against."""

    mtime_ns: int
    size: int


@dataclass
class WriteReport:
    written: dict[int, Written]      # item index -> stat of the new file
    failed: dict[int, OSError]       # item index -> why it was not written (the old file is intact)
    cancelled: bool = False
    # Temporary names now holding the replaced contents (exchange): delete with remove_files().
    old_versions: list[str] = field(default_factory=list)


def _syncfs_function():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.syncfs
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int]
    func.restype = ctypes.c_int
    return func


_SYNCFS = _syncfs_function()
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2_function():
    if not sys.platform.startswith("linux"):
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc older than 2.28, musl
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_RENAMEAT2 = _renameat2_function()


class _Swapper:
    """Puts a temporary file in place of its target: exchange where possible, else replace."""

    def __init__(self) -> None:
        self.exchange = _RENAMEAT2 is not None

    def swap(self, tmp: str, target: Path) -> bool:
        """True when the old content now sits under ``tmp`` (to delete later)."""
        if self.exchange:
            if _RENAMEAT2(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(target), _RENAME_EXCHANGE) == 0:
                return True
            err = ctypes.get_errno()
            if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
                self.exchange = False  # this filesystem cannot: plain replace from now on
            elif err != errno.ENOENT:  # ENOENT: no file to exchange with (a new caption)
                raise OSError(err, os.strerror(err), str(target))
        os.replace(tmp, target)
        return False


def _barrier(folders: set[Path]) -> bool:
    """Flush the filesystems holding ``folders``; False when that cannot be done in one call."""
    if _SYNCFS is None:
        return False
    done: set[int] = set()
    for folder in folders:
        fd = os.open(folder, os.O_RDONLY)
        try:
            dev = os.fstat(fd).st_dev
            if dev in done:
                continue
            if _SYNCFS(fd) != 0:
                return False
            done.add(dev)
        finally:
            os.close(fd)
    return True


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_many(items: Sequence[WriteItem], *, durable: bool = True,
               progress: Callable[[int], None] | None = None,
               cancelled: Callable[[], bool] | None = None, chunk: int = CHUNK,
               keep_old_versions: bool = False) -> WriteReport:
    """Replace each ``item.path`` with ``item.data``, atomically. Files already replaced stay
    replaced if a later one fails or the batch is cancelled (between chunks).

    With ``keep_old_versions`` the replaced contents are left for the caller to delete (in the
    background: ``report.old_versions``); otherwise they are deleted before this returns."""
    report = WriteReport({}, {})
    token = secrets.token_hex(4)
    per_file_sync = durable and _SYNCFS is None
    swapper = _Swapper()
    for start in range(0, len(items), chunk):
        if cancelled is not None and cancelled():
            report.cancelled = True
            break
        staged: list[tuple[int, str, Written]] = []
        folders: set[Path] = set()
        try:
            for i in range(start, min(start + chunk, len(items))):
                item = items[i]
                tmp = str(item.path.parent / f".{item.path.name}.{token}-{i:x}{TEMP_SUFFIX}")
                try:
                    written = _write_temp(tmp, item, per_file_sync)
                except OSError as exc:
                    report.failed[i] = exc
                    continue
                staged.append((i, tmp, written))
                folders.add(item.path.parent)
            if durable and not per_file_sync and staged and not _barrier(folders):
                for _i, tmp, _w in staged:  # the one-call barrier failed: flush each file
                    _fsync_path(tmp)
            for i, tmp, written in staged:
                try:
                    if swapper.swap(tmp, items[i].path):
                        report.old_versions.append(tmp)
                except OSError as exc:
                    report.failed[i] = exc
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    continue
                report.written[i] = written
            staged = []
        finally:
            for _i, tmp, _w in staged:  # an exception (or interrupt) before the renames
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        if durable:
            for folder in folders:
                _fsync_folder(folder)
        if progress is not None:
            progress(min(start + chunk, len(items)))
    if not keep_old_versions:
        remove_files(report.old_versions)
        report.old_versions = []
    return report


def remove_files(paths: Sequence[str], cancelled: Callable[[], bool] | None = None) -> int:
    """Delete our temporary files (old versions left by an exchange); returns how many."""
    removed = 0
    for n, path in enumerate(paths):
        if cancelled is not None and n % 64 == 0 and cancelled():
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed += 1
    return removed


def _write_temp(tmp: str, item: WriteItem, fsync: bool) -> Written:
    mode = item.mode
    if mode is None:
        try:
            mode = os.stat(item.path).st_mode & 0o7777
        except FileNotFoundError:
            mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666 if mode is None else mode)
    try:
        view = memoryview(item.data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if mode is not None and os.name == "posix" and mode & _UMASK:
            os.fchmod(fd, mode)  # the umask narrowed the mode given to open
        if fsync:
            os.fsync(fd)
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return Written(st.st_mtime_ns, st.st_size)


def _fsync_path(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_stale_temp(name: str) -> bool:
    return bool(_TEMP_NAME.match(name))


def remove_stale_temps(folder: str | os.PathLike) -> int:
    """Delete temporary files a killed batch left in ``folder``; returns how many."""
    removed = 0
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(TEMP_SUFFIX) and is_stale_temp(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed
