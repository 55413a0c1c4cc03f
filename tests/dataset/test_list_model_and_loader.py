"""The grid's model (qtmodeltester) and the thumbnail loader: visible-first, cancellation, caches."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from services.dataset.qt.list_model import DatasetListModel, display_name
from services.dataset.qt.thumbnail_loader import ThumbnailLoader
from services.dataset.scanner import scan_folders
from services.dataset.thumbnails import ThumbnailCache, ThumbnailJob
from tests.dataset.files import write_jpeg, write_png, write_truncated_jpeg


@pytest.fixture
def ws(tmp_path):
    for i in range(12):
        write_jpeg(tmp_path / "5_set" / f"img{i:02d}.jpg", (300 + i, 200), seed=i)
        if i % 3:
            (tmp_path / "5_set" / f"img{i:02d}.txt").write_text(f"tag{i}, shared", encoding="utf-8")
    write_png(tmp_path / "5_set" / "small.png", (40, 40))
    write_truncated_jpeg(tmp_path / "5_set" / "broken.jpg")
    return scan_folders([tmp_path])


def jobs_for(ws, keys=None):
    return [ThumbnailJob(k, k, ws.item(k).file_size, ws.item(k).mtime_ns, ws.item(k).orientation)
            for k in (keys or ws.keys())]


def test_model_passes_qtmodeltester(qtmodeltester, ws):
    model = DatasetListModel()
    model.set_workspace(ws)
    qtmodeltester.check(model, force_py=True)
    model.set_keys(list(reversed(ws.keys()))[:5])
    qtmodeltester.check(model, force_py=True)


def test_model_roles_and_updates(qtbot, ws):
    model = DatasetListModel()
    model.set_workspace(ws)
    first = next(k for k in list(ws.keys()) if k.endswith("img00.jpg"))
    index = model.index_of(first)
    assert model.data(index, Qt.ItemDataRole.DisplayRole) == "img00.jpg"
    assert model.data(index, DatasetListModel.SnippetRole) == "(no caption)"
    assert model.data(index, DatasetListModel.KeyRole) == first
    assert model.data(index, DatasetListModel.ThumbnailRole) is None
    assert "Problems" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    ws.save_caption(first, "new caption", fsync=False)
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.refresh_keys([first])
    assert blocker.args[0].row() == index.row()
    assert model.data(index, DatasetListModel.SnippetRole) == "new caption"
    # removal of scattered rows and appending keep the key -> row map right
    keys = list(model.keys())
    model.remove_keys([keys[1], keys[2], keys[7]])
    assert model.keys() == [k for k in keys if k not in (keys[1], keys[2], keys[7])]
    assert all(model.row_of(k) == i for i, k in enumerate(model.keys()))
    model.append_keys([keys[2]])
    assert model.keys()[-1] == keys[2] and model.row_of(keys[2]) == model.rowCount() - 1


def test_display_name_survives_bytes_that_are_not_utf8():
    assert display_name("caf\udce9.jpg") == "caf\ufffd.jpg"
    assert display_name("ok.jpg") == "ok.jpg"


def test_loader_makes_thumbnails_and_reports_failures(qtbot, ws, tmp_path):
    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "cache"), 64, threads=2)
    try:
        keys = ws.keys()
        ready, failed = set(), {}
        loader.thumbnails_ready.connect(ready.update)
        loader.thumbnail_failed.connect(lambda k, r: failed.__setitem__(k, r))
        loader.request(jobs_for(ws))
        qtbot.waitUntil(lambda: len(ready) + len(failed) == len(keys), timeout=20_000)
        broken = next(k for k in keys if k.endswith("broken.jpg"))
        assert set(failed) == {broken} and "truncated" in failed[broken]
        image = loader.image(next(k for k in keys if k.endswith("img00.jpg")))
        assert image is not None and max(image.width(), image.height()) == 64
        assert loader.stats["decoded"] == len(keys) - 1
        # a second loader with the same disk cache decodes nothing
        again = ThumbnailLoader(ThumbnailCache(tmp_path / "cache"), 64, threads=2)
        done = set()
        again.thumbnails_ready.connect(done.update)
        again.request(jobs_for(ws, [k for k in keys if k != broken]))
        qtbot.waitUntil(lambda: len(done) == len(keys) - 1, timeout=20_000)
        assert again.stats == {"decoded": 0, "from_cache": len(keys) - 1, "failed": 0}
        again.shutdown()
    finally:
        loader.shutdown()


def test_a_new_request_drops_what_was_not_started(qtbot, ws, tmp_path):
    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "cache"), 64, threads=1)
    try:
        keys = ws.keys()
        ready = set()
        loader.thumbnails_ready.connect(ready.update)
        loader.request(jobs_for(ws, keys[:10]))
        loader.request(jobs_for(ws, keys[-2:]))  # scrolled away at once: the first ten are dropped
        qtbot.waitUntil(lambda: set(keys[-2:]) <= ready, timeout=20_000)
        qtbot.wait(100)
        made = loader.stats["decoded"] + loader.stats["failed"]
        assert made <= 2 + 1  # the two wanted, plus at most the one already running
        assert loader.pending_count() == 0
    finally:
        loader.shutdown()


def test_size_change_and_memory_bound(qtbot, ws, tmp_path):
    loader = ThumbnailLoader(None, 64, threads=2, memory_bytes=3 * 64 * 64 * 4)
    try:
        good = [k for k in list(ws.keys()) if not k.endswith("broken.jpg")]
        ready = set()
        loader.thumbnails_ready.connect(ready.update)
        loader.request(jobs_for(ws, good))
        qtbot.waitUntil(lambda: len(ready) == len(good), timeout=20_000)
        kept = [k for k in good if loader.has(k)]
        assert 0 < len(kept) < len(good)  # bounded LRU: the newest few stay
        assert sum(loader.image(k).sizeInBytes() for k in kept) <= loader.memory_bytes
        loader.set_box(128)
        assert not any(loader.has(k) for k in good)
        ready.clear()
        loader.request(jobs_for(ws, good[:1]))
        qtbot.waitUntil(lambda: good[0] in ready, timeout=20_000)
        assert max(loader.image(good[0]).width(), loader.image(good[0]).height()) == 128 or \
            ws.item(good[0]).width < 128
    finally:
        loader.shutdown()


def test_disk_cache_prune(tmp_path, ws):
    from services.dataset.thumbnails import decode_reduced

    cache = ThumbnailCache(tmp_path / "cache")
    for job in jobs_for(ws, [k for k in list(ws.keys()) if not k.endswith("broken.jpg")]):
        cache.store(job, 64, decode_reduced(job.path, 64))
    total = cache.size_bytes()
    assert total > 0
    assert cache.prune(total // 2) > 0
    assert cache.size_bytes() <= total // 2
    cache.clear()
    assert cache.size_bytes() == 0
