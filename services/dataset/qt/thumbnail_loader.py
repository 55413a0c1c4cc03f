"""Thumbnails for the grid, made off the GUI thread, only for the rows that are (about to be) seen.

The view calls ``request(jobs)`` with the rows on screen first, then the next screen: that list
*replaces* the previous one, so rows scrolled away are dropped before a worker ever starts on them
(a decode already running finishes and is kept). A few workers of a private QThreadPool take jobs
from the head of the list; each job is served from the disk cache when it can be, otherwise
decoded at reduced size (and written to the cache). Results are handed back in batches through
one queued signal, converted on the GUI thread into a bounded in-memory LRU of QImages (the view
paints QImages directly; no QPixmap conversion is needed on a raster surface).
"""

from __future__ import annotations

import _thread
import os
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from services.dataset.thumbnails import ThumbnailCache, ThumbnailError, ThumbnailJob, decode_reduced

DEFAULT_MEMORY_BYTES = 160 * 1024 * 1024


def default_thread_count() -> int:
    # Leave the GUI thread room on small machines; more than 4 decoders only fight over the disk.
    return max(1, min(4, (os.cpu_count() or 2)))


def to_qimage(image) -> QImage:
    """A Pillow RGB image as a QImage that owns its pixels (Format_RGB32, the fastest to paint)."""
    data = image.tobytes("raw", "BGRX")
    return QImage(data, image.width, image.height, image.width * 4, QImage.Format.Format_RGB32).copy()


def produce(job: ThumbnailJob, box: int, cache: ThumbnailCache | None) -> tuple[QImage, bool]:
    """(thumbnail, came from the disk cache) for ``job``; raises ThumbnailError."""
    from PIL import Image

    if cache is not None:
        cached = cache.path_for(job, box)
        try:
            with Image.open(cached) as im:
                im.load()
                return to_qimage(im if im.mode == "RGB" else im.convert("RGB")), True
        except (OSError, ValueError, SyntaxError):
            pass  # not cached yet (or a damaged cache file): decode the original
    image = decode_reduced(job.path, box, job.orientation)
    if cache is not None:
        cache.store(job, box, image)
    return to_qimage(image), False


WORKER_NICENESS = 5


def lower_thread_priority() -> None:
    """Let the GUI thread win the CPU over thumbnail decoding (Linux: nice is per thread).

    On a machine with few cores the decoders would otherwise take a core each and painting would
    wait its turn; +5 keeps them busy whenever the GUI is idle (which is nearly always)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = _thread.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < WORKER_NICENESS:
            os.setpriority(os.PRIO_PROCESS, tid, WORKER_NICENESS)
    except OSError:
        pass


def _warm_up_imports() -> None:
    from PIL import Image, JpegImagePlugin, PngImagePlugin  # noqa: F401

    Image.init()


class ThumbnailLoader(QObject):
    """Owns the worker pool, the request queue and the in-memory LRU of thumbnails."""

    # Keys whose thumbnail is now available from image(key).
    thumbnails_ready = Signal(list)
    # (key, reason) for an image that did not decode: truncated, damaged, vanished.
    thumbnail_failed = Signal(str, str)
    _results_waiting = Signal()

    def __init__(self, cache: ThumbnailCache | None, box: int = 160, *, threads: int | None = None,
                 memory_bytes: int = DEFAULT_MEMORY_BYTES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self._box = box
        self._pool = QThreadPool(self)
        self._pool.setObjectName("thumbnail-pool")
        self._pool.setMaxThreadCount(threads or default_thread_count())
        self._lock = threading.Lock()
        self._queue: deque[ThumbnailJob] = deque()
        self._inflight: set[str] = set()
        self._results: list[tuple[str, int, QImage | None, str]] = []
        self._generation = 0  # bumped when the thumbnail size changes: older results are dropped
        self._active = 0
        self._closing = False
        self._lru: OrderedDict[str, QImage] = OrderedDict()
        self._lru_bytes = 0
        self.memory_bytes = memory_bytes
        self._failed: dict[str, str] = {}
        self.stats = {"decoded": 0, "from_cache": 0, "failed": 0}
        self._results_waiting.connect(self._drain)
        self._warmed = False

    # --- GUI-thread API --------------------------------------------------------------------
    @property
    def box(self) -> int:
        return self._box

    def set_box(self, box: int) -> None:
        """Change the thumbnail size: the memory cache is emptied and pending work dropped."""
        if box == self._box:
            return
        with self._lock:
            self._box = box
            self._generation += 1
            self._queue.clear()
        self._lru.clear()
        self._lru_bytes = 0

    def warm_up(self) -> None:
        """Import Pillow and its plugins on a worker now (a folder is being opened), rather than
        when the first screen of thumbnails is waited for. Not at construction: start-up stays lean."""
        if not self._warmed and not self._closing:
            self._warmed = True
            self._pool.start(_warm_up_imports)

    def image(self, key: str) -> QImage | None:
        image = self._lru.get(key)
        if image is not None:
            self._lru.move_to_end(key)
        return image

    def failure(self, key: str) -> str | None:
        return self._failed.get(key)

    def has(self, key: str) -> bool:
        return key in self._lru

    def pending_count(self) -> int:
        with self._lock:
            return len(self._queue) + len(self._inflight)

    def request(self, jobs: Iterable[ThumbnailJob]) -> int:
        """Replace the wanted list with ``jobs`` (highest priority first). Returns how many are queued."""
        if self._closing:
            return 0
        with self._lock:
            fresh = [j for j in jobs
                     if j.key not in self._lru and j.key not in self._inflight and j.key not in self._failed]
            self._queue = deque(fresh)
            want = min(self._pool.maxThreadCount() - self._active, len(self._queue))
            self._active += max(0, want)
        for _ in range(max(0, want)):
            self._pool.start(self._work)
        return len(fresh)

    def forget(self, keys: Iterable[str]) -> None:
        """Drop cached thumbnails of ``keys`` (their image changed on disk)."""
        for key in keys:
            image = self._lru.pop(key, None)
            if image is not None:
                self._lru_bytes -= image.sizeInBytes()
            self._failed.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._generation += 1
        self._lru.clear()
        self._lru_bytes = 0
        self._failed.clear()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop: drop the queue and wait for running decodes (each is short)."""
        self._closing = True
        with self._lock:
            self._queue.clear()
        done = self._pool.waitForDone(timeout_ms)
        self._drain()
        self._lru.clear()  # the memory goes now, not whenever the object is deleted
        self._lru_bytes = 0
        return done

    # --- workers -----------------------------------------------------------------------------
    def _work(self) -> None:
        # Runs in a pool thread. No logging here: it would register a Python thread object.
        lower_thread_priority()
        while True:
            with self._lock:
                if self._closing or not self._queue:
                    self._active -= 1
                    return
                job = self._queue.popleft()
                self._inflight.add(job.key)
                box, generation = self._box, self._generation
            image, error, from_cache = None, "", False
            try:
                image, from_cache = produce(job, box, self.cache)
            except ThumbnailError as exc:
                error = str(exc)
            except Exception as exc:  # nothing may escape a worker thread
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                # the key stays "in flight" until _drain has taken the result, so a request made
                # in between does not queue it a second time
                first = not self._results
                self._results.append((job.key, generation, image, error))
                self.stats["from_cache" if from_cache else ("failed" if error else "decoded")] += 1
            if first:
                self._results_waiting.emit()

    @Slot()
    def _drain(self) -> None:
        with self._lock:
            results, self._results = self._results, []
            generation = self._generation
            for key, _gen, _image, _error in results:
                self._inflight.discard(key)
        ready: list[str] = []
        for key, gen, image, error in results:
            if gen != generation:
                continue
            if image is None:
                self._failed[key] = error
                self.thumbnail_failed.emit(key, error)
                continue
            old = self._lru.pop(key, None)
            if old is not None:
                self._lru_bytes -= old.sizeInBytes()
            self._lru[key] = image
            self._lru_bytes += image.sizeInBytes()
            ready.append(key)
        while self._lru_bytes > self.memory_bytes and len(self._lru) > 1:
            _key, evicted = self._lru.popitem(last=False)
            self._lru_bytes -= evicted.sizeInBytes()
        if ready:
            self.thumbnails_ready.emit(ready)
