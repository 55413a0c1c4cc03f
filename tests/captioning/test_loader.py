"""The prefetching loader: order, batch sizes, a bad image costs one image, cancel."""

from __future__ import annotations

import threading
import time

from workers.captioning.images import ImageReadError
from workers.captioning.loader import Prefetcher


def prepare(path: str):
    if path.startswith("bad"):
        raise ImageReadError("cannot be decoded")
    if path.startswith("boom"):
        raise ValueError("a hostile file")
    time.sleep(0.001)
    return path.upper()


def test_batches_come_in_order_with_a_small_first_batch():
    paths = [f"p{i}" for i in range(10)]
    batches = list(Prefetcher(paths, prepare, 4, threads=3, first_batch=1))
    assert [len(b) for b in batches] == [1, 4, 4, 1]
    assert [item.data for b in batches for item in b] == [p.upper() for p in paths]
    assert [item.index for b in batches for item in b] == list(range(10))


def test_unusable_images_are_reported_and_the_rest_goes_on():
    items = [i for b in Prefetcher(["a", "bad", "boom", "b"], prepare, 2) for i in b]
    assert items[0].data == "A" and items[1].error == "cannot be decoded"
    assert "ValueError: a hostile file" in items[2].error and items[3].data == "B"


def test_cancel_stops_after_the_current_batch():
    cancelled = threading.Event()
    seen = []
    for batch in Prefetcher([f"p{i}" for i in range(40)], prepare, 4, cancelled=cancelled):
        seen.append(batch)
        cancelled.set()
    assert len(seen) == 1
