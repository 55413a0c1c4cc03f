"""Background work after a folder opens stays out of the way of the grid: tag sets are made on the
GUI thread in slices, the folder poll waits for a pause in scrolling, duplicates are found by
sampled digests first, and the thumbnail cache is pruned rarely and late."""

from __future__ import annotations

import os
import time

from services.dataset import health
from services.dataset.qt import live_updates
from services.dataset.thumbnails import ThumbnailCache
from tests.dataset.test_dock import dock, folder, open_folder, session  # noqa: F401  (fixtures)


def test_tag_sets_are_made_in_small_steps_on_the_gui_thread(qtbot, dock, session, folder):  # noqa: F811
    ws = open_folder(qtbot, session, folder)
    qtbot.waitUntil(lambda: all(it._tag_cache is not None and it._tag_cache[3] is not None for it in ws), timeout=5000)
    items = ws.items()
    steps = list(dock.live._warm_caches(ws, items * 20))  # 220 items
    assert len(steps) == -(-len(items) * 20 // live_updates.WARM_CHUNK)
    session.set_workspace(None)
    assert list(dock.live._warm_caches(ws, items)) == []  # another workspace: the job ends at once


def test_poll_waits_while_the_user_scrolls(qtbot, dock, session, folder, monkeypatch):  # noqa: F811
    open_folder(qtbot, session, folder)
    live = dock.live
    qtbot.waitUntil(lambda: not live.busy(), timeout=5000)
    now = [1000.0]
    monkeypatch.setattr(live_updates.time, "monotonic", lambda: now[0])
    rescans = []
    monkeypatch.setattr(live, "rescan", lambda folders: rescans.append(folders))
    live.note_activity()
    now[0] += 0.5
    live.poll()
    assert rescans == [] and live._poll_retry.isActive()
    now[0] += live_updates.POLL_QUIET_S
    live.poll()
    assert len(rescans) == 1
    # Scrolling without a pause never holds the poll back longer than MAX_POLL_DEFER_S.
    live.note_activity()
    live.poll()
    assert len(rescans) == 1
    now[0] += live_updates.MAX_POLL_DEFER_S
    live.note_activity()
    live.poll()
    assert len(rescans) == 2
    live._poll_retry.stop()


def test_scrolling_the_grid_counts_as_activity(qtbot, dock, session, tmp_path):  # noqa: F811
    from tests.dataset.files import write_jpeg

    for i in range(60):
        write_jpeg(tmp_path / "many" / f"{i:03}.jpg", (64, 64), seed=i)
    open_folder(qtbot, session, tmp_path / "many")
    bar = dock.grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    dock.live._last_activity = float("-inf")
    bar.setValue(bar.maximum())
    assert time.monotonic() - dock.live._last_activity < 5


def _write(path, data: bytes) -> tuple[str, str, int]:
    path.write_bytes(data)
    return str(path), str(path), len(data)


def test_duplicates_read_whole_files_only_when_their_samples_agree(tmp_path, monkeypatch):
    base = bytes(range(256)) * 400  # 102,400 bytes
    same_a = _write(tmp_path / "a.jpg", base)
    same_b = _write(tmp_path / "b.jpg", base)
    # same size, differs only between the sampled regions: the samples agree, the whole file does not
    hidden = bytearray(base)
    hidden[20_000] ^= 0xFF
    differs_inside = _write(tmp_path / "c.jpg", bytes(hidden))
    # same size, differs at the start: told apart by the samples alone
    head = bytearray(base)
    head[0] ^= 0xFF
    differs_at_start = _write(tmp_path / "d.jpg", bytes(head))
    lone = _write(tmp_path / "e.jpg", base[:1000])
    read_whole = []
    real = health.file_digest
    monkeypatch.setattr(health, "file_digest", lambda p: read_whole.append(os.path.basename(p)) or real(p))
    groups, digests = health.exact_duplicate_groups([same_a, same_b, differs_inside, differs_at_start, lone])
    assert [sorted(g) for g in groups] == [sorted([same_a[0], same_b[0]])]
    assert sorted(read_whole) == ["a.jpg", "b.jpg", "c.jpg"]
    assert set(digests) == {same_a[0], same_b[0], differs_inside[0]}
    # digests already known are not read again, and still group with files read now
    read_whole.clear()
    groups, _ = health.exact_duplicate_groups([same_a, same_b], known={same_a[0]: digests[same_a[0]]})
    assert len(groups) == 1 and read_whole == ["b.jpg"]


def test_small_files_are_sampled_without_reading_past_their_end(tmp_path):
    a = _write(tmp_path / "a.bin", b"x" * 100)
    b = _write(tmp_path / "b.bin", b"x" * 100)
    assert health.sample_digest(a[1], 100) == health.sample_digest(b[1], 100)
    groups, _ = health.exact_duplicate_groups([a, b])
    assert len(groups) == 1


def test_cache_is_pruned_at_most_once_a_day(tmp_path):
    from PIL import Image

    from services.dataset.thumbnails import ThumbnailJob

    cache = ThumbnailCache(tmp_path / "thumbs")
    for i in range(6):
        cache.store(ThumbnailJob(f"k{i}", f"/x/{i}.jpg", i, i), 64, Image.new("RGB", (64, 64), (i * 40, 0, 0)))
    assert cache.prune_if_due(0) == 6
    cache.store(ThumbnailJob("k9", "/x/9.jpg", 9, 9), 64, Image.new("RGB", (64, 64)))
    assert cache.prune_if_due(0) is None  # pruned minutes ago
    marker = tmp_path / "thumbs" / ".last-prune"
    old = time.time() - 25 * 3600
    os.utime(marker, (old, old))
    assert cache.prune_if_due(0) == 1


def test_prune_runs_after_a_delay_not_while_the_first_thumbnails_are_made(qtbot, dock, session, folder,  # noqa: F811
                                                                           monkeypatch):
    from widgets.dataset import dock as dock_module

    calls = []
    monkeypatch.setattr(ThumbnailCache, "prune_if_due", lambda self, budget: calls.append(budget))
    monkeypatch.setattr(dock_module, "PRUNE_DELAY_MS", 300)
    open_folder(qtbot, session, folder)
    assert calls == []
    qtbot.waitUntil(lambda: calls != [], timeout=5000)
    assert calls == [session.settings.dataset.thumbnail_cache_mb * 1024 * 1024]


def test_the_watcher_waits_while_the_caption_editor_writes(qtbot, dock, session, folder):  # noqa: F811
    open_folder(qtbot, session, folder)
    rescanned = []
    dock.watcher.folders_changed.connect(rescanned.append)
    session.set_writing_captions(True)
    assert dock.watcher.paused
    dock.watcher._changed(str(folder / "plain"))
    qtbot.wait(600)  # longer than the debounce
    assert rescanned == []
    session.set_writing_captions(False)
    assert not dock.watcher.paused
    qtbot.waitUntil(lambda: rescanned == [[str(folder / "plain")]], timeout=3000)
