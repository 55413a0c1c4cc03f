"""Caption operations on the 10,000-image benchmark dataset, in the real window, offscreen.

Uses the dataset of the dataset benchmark (benchmarks/common/dataset_gen.py), on a working copy
(images hard-linked, caption files copied) so the cached dataset is never modified. The folder is
opened through the real Dataset dock; the operations go through the caption controller exactly as
the batch dialog and the Edit menu drive it, and each one is timed until every changed caption is
on disk (atomic, durable: the files are flushed before they replace the old ones).

  find_replace_s       a whole-dataset find and replace (regex: spaces inside tags -> "_"), saved
  add_tag_all_s        add a trigger tag at the front of every caption, saved
  undo_s               Edit > Undo of that add, saved
  tag_count_update_ms  after a single-image edit: the tag statistics and the All tags table (model
                       and its sorted, filtered proxy) updated (median of 25; edit_latency_ms is the
                       whole edit with every panel's reaction, for information)
  max_stall_ms         the longest the GUI event loop was kept from running a 5 ms timer, minus
                       5 ms, during the three batch operations (planning, applying, saving)
  caption_slice_max_ms the longest slice of GUI-thread work of the caption code itself during them
                       (the rest of max_stall_ms is other panels reacting, or a starved CPU)

Prints one JSON object. ``files_*`` say how many captions each batch changed; ``cpus`` and
``load_avg`` the conditions (the machine is shared, so figures are pessimistic).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def working_copy(source: Path, target: Path) -> Path:
    """Images symlinked (no data copied), captions copied as fresh files.

    Not hard links: linking 10,000 files rewrites 10,000 inodes scattered over the cache's part of
    the disk, and ext4 then makes the next file creations wait while its journal writes them back,
    which would be measured as the cost of saving captions."""
    for folder, _dirs, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = Path(folder) / name, target / rel / name
            if name.endswith(".txt"):
                shutil.copyfile(src, dst)
            else:
                try:
                    os.symlink(src, dst)
                except OSError:  # no symlinks here (Windows without the privilege)
                    shutil.copyfile(src, dst)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--cache-dir", default=None, help="where the generated dataset is kept "
                        "(default: $LORA_STUDIO_BENCH_CACHE or benchmarks/.cache)")
    parser.add_argument("--keep", action="store_true", help="keep the working copy")
    args = parser.parse_args(argv)

    from benchmarks.common.dataset_gen import generate_dataset

    dataset = generate_dataset(args.images, cache_dir=args.cache_dir)
    work = Path(tempfile.mkdtemp(prefix="lora-bench-captions-"))
    home = work / "home"
    os.environ["LORA_STUDIO_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = working_copy(dataset.root, work / "data")
    os.sync()  # the copy is on disk: the timed writes do not flush it
    time.sleep(2)
    try:
        result = run(root)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result["load_avg"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    try:
        import resource

        result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    except ImportError:  # Windows
        pass
    print(json.dumps(result))
    return 0


def _note(text: str) -> None:
    if os.environ.get("LORA_STUDIO_BENCH_VERBOSE"):
        print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def run(root: Path) -> dict:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from app.application import build
    from benchmarks.dataset_open import StallMeter
    from services.captions.operations import AddTags, FindReplace

    parts = build(log_level="WARNING", console_log=False, show_crash_dialog=False, restore_layout=False,
                  open_initial=False, process_hooks=False)
    app, window, session = parts.app, parts.window, parts.session
    session.settings.workspace.autosave_captions = True
    window.show()
    app.processEvents()
    editor = window.dock_widget("captions")
    tags_dock = window.dock_widget("alltags")
    controller = editor.controller
    dataset_dock = window.dock_widget("dataset")
    watcher = getattr(dataset_dock, "watcher", None)
    # The Dataset panel pauses its watcher while captions are written; recorded, to be shown.
    paused_seen: list[bool] = []
    if watcher is not None:
        session.caption_writes_changed.connect(lambda writing: writing and paused_seen.append(watcher.paused))

    def wait(condition, timeout_s: float = 600) -> None:
        loop = QEventLoop()
        poll = QTimer()
        poll.setInterval(5)
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start()
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        if not condition():
            loop.exec()
        poll.stop()
        if not condition():
            raise TimeoutError("the benchmark step did not finish")

    def settled() -> bool:
        # Saved: nothing planned, applied or written is pending. (Deleting the replaced contents
        # goes on in the background at low priority and is not part of a save.)
        busy = [t for t in controller._threads if t.property("label")]
        return (controller.index is not None and not busy and not controller.runner.busy
                and not controller.planner.busy
                and not controller.dirty and not controller.saving)

    _note("opening")
    session.open_folders([str(root)])
    wait(lambda: session.workspace is not None and len(session.workspace) > 0)
    _note("scanned")
    wait(settled)
    _note("tags counted")
    ws = session.workspace
    keys = ws.keys()
    meter = StallMeter()
    meter.timer.setTimerType(Qt.TimerType.PreciseTimer)
    own = {"max": 0.0}
    def timed_slices(runner) -> None:
        # The caption controller's own GUI-thread work comes in these slices (applying, planning):
        # their longest is the part of max_stall_ms this code is responsible for (the rest: other
        # panels, the machine).
        step = runner._run_slice

        def timed_slice() -> None:
            t = time.perf_counter()
            step()
            own["max"] = max(own["max"], time.perf_counter() - t)

        runner._timer.timeout.disconnect()
        runner._timer.timeout.connect(timed_slice)

    timed_slices(controller.runner)
    timed_slices(controller.planner)

    def timed(start) -> tuple[float, int]:
        """Seconds from the request until every change is saved; captions changed."""
        before = session.undo_stack.count()
        meter.start()
        t0 = time.perf_counter()
        start()
        wait(lambda: session.undo_stack.count() != before and settled())
        elapsed = time.perf_counter() - t0
        meter.stop()
        return elapsed, len(session.undo_stack.command(session.undo_stack.count() - 1).changes)

    def undo() -> None:
        window.actions_by_id["edit.undo"].trigger()

    replace = FindReplace(r"(?<=\w) (?=\w)", "_", mode="regex")
    find_replace_s, files_replace = timed(lambda: controller.run_operation(replace, keys))
    _note(f"find and replace {find_replace_s:.2f} s")
    add_tag_all_s, files_add = timed(lambda: controller.run_operation(AddTags(("sks",), "front"), keys))
    _note(f"add tag {add_tag_all_s:.2f} s")
    meter.start()
    t0 = time.perf_counter()
    undo()
    wait(settled)
    undo_s = time.perf_counter() - t0
    meter.stop()
    _note(f"undo {undo_s:.2f} s")
    batch_stall_ms = meter.max_stall * 1000

    on_disk = ws.item(keys[0]).caption.path.read_text(encoding="utf-8")
    assert not on_disk.startswith("sks"), "the undo did not reach the disk"
    assert "long_hair" in on_disk or "_" in on_disk

    # Single-image edits. tag_count_update_ms: the statistics and the All tags table (model and
    # sorted, filtered proxy) brought up to date; edit_latency_ms: the whole edit as the editor
    # makes it (planning, the workspace item, every panel's reaction), for information.
    proxy = tags_dock.proxy
    stats_time = {"t": 0.0}
    index_apply = controller.index.apply
    emit_tags = controller._emit_tags

    def timed_apply(*a, **k):
        t = time.perf_counter()
        try:
            return index_apply(*a, **k)
        finally:
            stats_time["t"] += time.perf_counter() - t

    def timed_emit(result):
        t = time.perf_counter()
        try:
            return emit_tags(result)
        finally:
            stats_time["t"] += time.perf_counter() - t

    controller.index.apply = timed_apply
    controller._emit_tags = timed_emit
    samples, latencies = [], []
    for i in range(25):
        tag = f"bench tag {i}"
        key = keys[(i * 397) % len(keys)]
        stats_time["t"] = 0.0
        t0 = time.perf_counter()
        controller.edit([key], AddTags((tag,), "end"))  # statistics, table and proxy update in the call
        latencies.append((time.perf_counter() - t0) * 1000)
        samples.append(stats_time["t"] * 1000)
        shown = proxy.match(proxy.index(0, 0), Qt.ItemDataRole.DisplayRole, tag, 1, Qt.MatchFlag.MatchExactly)
        assert shown, "the new tag did not appear in the All tags table"
        app.processEvents()
    wait(settled)

    controller.shutdown()
    window.close()
    app.processEvents()
    return {
        "images": len(keys),
        "find_replace_s": round(find_replace_s, 3),
        "add_tag_all_s": round(add_tag_all_s, 3),
        "undo_s": round(undo_s, 3),
        "tag_count_update_ms": round(statistics.median(samples), 2),
        "tag_count_update_max_ms": round(max(samples), 2),
        "edit_latency_ms": round(statistics.median(latencies), 2),
        "max_stall_ms": round(batch_stall_ms, 1),
        "caption_slice_max_ms": round(own["max"] * 1000, 1),
        "files_find_replace": files_replace,
        "files_add_tag": files_add,
        "durable": True,
        "watcher_paused_while_writing": bool(paused_seen) and all(paused_seen),
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    sys.exit(main())
