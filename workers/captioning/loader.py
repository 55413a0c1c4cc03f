"""Decoding and preprocessing the next batches while the model works on the current one.

``Prefetcher`` keeps ``depth`` batches in flight on a small thread pool (PIL and numpy release the
GIL while they decode and resize), and hands them out in order. The model therefore waits on the
disk only for the very first batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from workers.captioning.images import ImageReadError


@dataclass
class Item:
    index: int
    path: str
    data: Any = None  # the preprocessed input; None when ``error`` is set
    error: str = ""


class Prefetcher:
    def __init__(self, paths: Sequence[str], preprocess: Callable[[str], Any], batch_size: int, *,
                 threads: int = 2, depth: int = 2, cancelled: threading.Event | None = None,
                 first_batch: int | None = None) -> None:
        self._paths = list(paths)
        self._preprocess = preprocess
        self._batch_size = max(1, batch_size)
        self._depth = max(1, depth)
        self._cancelled = cancelled or threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="caption-loader")
        self._pending: deque[list[Future]] = deque()
        self._next_start = 0
        # A smaller first batch puts the first caption on screen sooner; the rest run full-size.
        self._first_batch = max(1, min(first_batch or self._batch_size, self._batch_size))

    def _load(self, index: int) -> Item:
        path = self._paths[index]
        if self._cancelled.is_set():
            return Item(index, path, error="cancelled")
        try:
            return Item(index, path, self._preprocess(path))
        except ImageReadError as exc:
            return Item(index, path, error=str(exc))
        except MemoryError:
            raise
        except Exception as exc:  # a hostile file must cost one image, never the job
            return Item(index, path, error=f"could not be prepared ({type(exc).__name__}: {exc})")

    def _submit_next(self) -> None:
        start = self._next_start
        if start >= len(self._paths) or self._cancelled.is_set():
            return
        size = self._first_batch if start == 0 else self._batch_size
        stop = min(start + size, len(self._paths))
        self._pending.append([self._pool.submit(self._load, i) for i in range(start, stop)])
        self._next_start = stop

    def __iter__(self) -> Iterator[list[Item]]:
        try:
            while len(self._pending) < self._depth and self._next_start < len(self._paths):
                self._submit_next()
            while self._pending:
                chunk = self._pending.popleft()
                self._submit_next()
                yield [f.result() for f in chunk]
                if self._cancelled.is_set():
                    return
        finally:
            self.close()

    def close(self) -> None:
        for chunk in self._pending:
            for future in chunk:
                future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
