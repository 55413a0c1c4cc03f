"""Opening a large dataset in the real Dataset dock (model, grid view, thumbnail loader), offscreen.

Generates the benchmark dataset once (benchmarks/common/dataset_gen.py), then, in a fresh LoRA
Studio home (empty thumbnail cache):

  scan_s            open request -> workspace ready (sizes from headers, captions read)
  first_screen_s    open request -> the first screen of thumbnails painted (cold thumbnail cache)
  all_thumbs_cold_s open request -> every thumbnail made, scrolling a screen at a time as soon as
                    the screen is complete (cold cache: decoded from the originals)
  all_thumbs_warm_s the same in a new dock with the disk cache filled
  decode_alone_s    the same thumbnails decoded by the same number of threads with nothing else
                    (the yardstick for all_thumbs_cold_s); cold_vs_decode is the ratio
  max_stall_ms      the longest the GUI event loop was kept from running a 5 ms timer, minus 5 ms
  rss_mb            peak resident memory of the process

Prints one JSON object. The OS file cache is warm after the first run (as for a user who opens the
folder they just worked on); the thumbnail cache is what is cold or warm.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VIEW_SIZE = (1000, 820)


class StallMeter:
    """A 5 ms precise timer; a late tick means the event loop was busy for that long."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.max_stall = 0.0
        self._last = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.max_stall = max(self.max_stall, now - self._last - self.interval)
        self._last = now


def open_and_scroll(app, session, root: Path, meter: StallMeter, *, timeout_s: float = 1800) -> dict:
    """Open ``root`` in a new Dataset dock and scroll through it; returns the timings.

    Event-driven (a QEventLoop, no polling): after each batch of thumbnails, if the screen is
    complete the view scrolls one screen down; the loop ends when every row has its thumbnail."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer

    from widgets.dataset.dock import DatasetDock

    dock = DatasetDock(session)
    dock.resize(*VIEW_SIZE)
    dock.show()
    app.processEvents()
    meter.start()  # the dock exists (as in the window at start-up): measure the opening itself
    grid, model, loader = dock.grid, dock.model, dock.loader
    marks: dict[str, float] = {}
    loop = QEventLoop()
    done_keys: set[str] = set()
    state = {"waiting_paint": False}

    def screen_complete() -> bool:
        first, last = grid.visible_rows()
        if first < 0:
            return False
        return all(model.key_at(r) in done_keys for r in range(first, last + 1))

    class PaintSpy(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and state["waiting_paint"] and "first" not in marks:
                state["waiting_paint"] = False
                # this paint draws the complete first screen; it is done when the event returns
                QTimer.singleShot(0, lambda: (marks.setdefault("first", time.perf_counter()), advance()))
            return False

    spy = PaintSpy()
    grid.viewport().installEventFilter(spy)

    def advance() -> None:
        # The grid shows the first images while the scan still reads the rest (progressive), so
        # the first screen may be complete before the workspace is.
        if "first" not in marks:
            if model.rowCount() and screen_complete():
                state["waiting_paint"] = True
            return
        if "scan" not in marks:
            return
        total = model.rowCount()
        if len(done_keys) >= total:
            marks.setdefault("all", time.perf_counter())
            loop.quit()
            return
        if not screen_complete():
            return
        bar = grid.verticalScrollBar()
        if bar.value() < bar.maximum():
            bar.setValue(min(bar.maximum(), bar.value() + grid.viewport().height()))
        else:  # rows skipped on the way (none expected): show the first missing one
            missing = next((k for k in list(model.keys()) if k not in done_keys), None)
            if missing is not None:
                grid.scrollTo(model.index_of(missing))

    def ready(keys) -> None:
        done_keys.update(keys)
        advance()

    def failed(key, _reason) -> None:
        done_keys.add(key)
        advance()

    loader.thumbnails_ready.connect(ready)
    loader.thumbnail_failed.connect(failed)
    session.workspace_changed.connect(lambda _ws: marks.setdefault("scan", time.perf_counter()))
    tick = QTimer()
    tick.setInterval(50)  # after the first paint, and as a safety net
    tick.timeout.connect(advance)
    tick.start()
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    started = time.perf_counter()
    session.open_folders([str(root)])
    loop.exec()
    tick.stop()
    meter.stop()
    timings = {
        "scan_s": marks.get("scan", float("nan")) - started,
        "first_screen_s": marks.get("first", float("nan")) - started,
        "all_s": marks.get("all", float("nan")) - started,
        "stats": dict(loader.stats),
        "images": model.rowCount(),
        "max_stall_ms": meter.max_stall * 1000,
    }
    dock.shutdown()
    dock.close()
    dock.deleteLater()
    session.set_workspace(None)
    # deleteLater is only carried out by an event loop; do it now so the next run starts clean
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
    return timings


def decode_alone(paths: list[str], box: int, threads: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from services.dataset.qt.thumbnail_loader import to_qimage
    from services.dataset.thumbnails import decode_reduced

    def one(path: str) -> None:
        to_qimage(decode_reduced(path, box))

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, paths, chunksize=16))
    return time.perf_counter() - started


def prewarm(root: Path) -> None:
    """Read every file once so the OS file cache holds them: we measure our code, not the disk."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--cache-dir", default=None, help="where the generated dataset is kept")
    parser.add_argument("--skip-decode-alone", action="store_true")
    parser.add_argument("--no-prewarm", action="store_true",
                        help="do not read the dataset once first (then disk speed dominates)")
    args = parser.parse_args(argv)

    from benchmarks.common.dataset_gen import generate_dataset

    dataset = generate_dataset(args.images, cache_dir=args.cache_dir)
    if not args.no_prewarm:
        prewarm(dataset.root)
    home = tempfile.mkdtemp(prefix="lora-bench-home-")
    os.environ["LORA_STUDIO_HOME"] = home
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from services.dataset.qt.thumbnail_loader import default_thread_count
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import Settings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = Settings()
    session = Session(settings, None, app_dirs().ensure())
    from PySide6.QtCore import qInstallMessageHandler

    # The offscreen platform says this for every window; it is not a finding of the benchmark.
    qInstallMessageHandler(lambda _mode, _ctx, msg: None if "propagateSizeHints" in msg
                           else sys.stderr.write(msg + "\n"))
    import widgets.dataset.dock  # noqa: F401  (imported at window start-up in the app, not when opening)

    meter = StallMeter()
    cold = open_and_scroll(app, session, dataset.root, meter)
    warm = open_and_scroll(app, session, dataset.root, meter)
    threads = default_thread_count()
    result = {
        "images": cold["images"],
        "scan_s": round(cold["scan_s"], 3),
        "first_screen_s": round(cold["first_screen_s"], 3),
        "all_thumbs_cold_s": round(cold["all_s"], 2),
        "all_thumbs_warm_s": round(warm["all_s"], 2),
        "max_stall_ms": round(meter.max_stall * 1000, 1),
        "rss_mb": 0.0,
        "warm_scan_s": round(warm["scan_s"], 3),
        "warm_first_screen_s": round(warm["first_screen_s"], 3),
        "cold_max_stall_ms": round(cold["max_stall_ms"], 1),
        "thumbnail_box": settings.appearance.thumbnail_size,
        "threads": threads,
        "cpus": os.cpu_count(),
        "cold_stats": cold["stats"],
        "warm_stats": warm["stats"],
    }
    if not args.skip_decode_alone:
        alone = decode_alone([str(p) for p in dataset.image_paths], settings.appearance.thumbnail_size, threads)
        result["decode_alone_s"] = round(alone, 2)
        result["cold_vs_decode"] = round(cold["all_s"] / alone, 2) if alone else None
    result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
