"""Helpers for caption tests: real folders of images with caption files, opening, waiting."""

from __future__ import annotations

from pathlib import Path

from tests.dataset.files import write_jpeg


def make_dataset(root: Path, captions: dict[str, bytes | str | None], folder: str = "10_demo") -> Path:
    """Images ``<name>.jpg`` in ``root/folder`` with caption bytes (str is written as UTF-8,
    None means no caption file)."""
    subset = root / folder
    for i, (name, content) in enumerate(captions.items()):
        write_jpeg(subset / f"{name}.jpg", (64, 48), seed=i)
        if content is None:
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        (subset / f"{name}.txt").write_bytes(data)
    return subset


def open_workspace(session, root: Path, separator: str = ", "):
    from services.dataset.scanner import ScanOptions, scan_folders

    ws = scan_folders([root], ScanOptions(tag_separator=separator))
    session.set_workspace(ws)
    return ws


def wait_idle(qtbot, controller, timeout: int = 10_000) -> None:
    """Until the tag index is built, no worker runs and no GUI job is queued."""
    qtbot.waitUntil(lambda: (controller.workspace is None or controller.index is not None)
                    and not controller._threads and not controller.runner.busy and not controller.planner.busy,
                    timeout=timeout)


def key_of(ws, name: str) -> str:
    return next(item.key for item in ws if item.name == f"{name}.jpg")
