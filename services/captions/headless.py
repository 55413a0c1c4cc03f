"""Batch operations on a dataset folder without the window: scan, plan, save.

The command line (``lora-studio captions DIR OPERATION …``) is a thin layer over this. It uses
the same scanner as the Dataset panel, the same operations and the same save pipeline as the
editor, so a file is treated exactly alike from either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from services.captions.changes import ChangeSet, Entry, plan
from services.captions.durable import remove_stale_temps
from services.captions.extension import ExtensionPlan, RenameReport, execute_renames, plan_extension_rename
from services.captions.operations import OpContext, Operation
from services.captions.saving import SaveItem, SaveResult, new_caption_format, save_captions
from services.captions.stats import TagStats
from services.captions.tags import TagFormat
from services.dataset.scanner import ScanOptions, scan_folders
from services.dataset.workspace import Workspace


@dataclass
class FolderRun:
    workspace: Workspace
    changes: ChangeSet
    result: SaveResult | None = None  # None for a dry run
    stale_temps_removed: int = 0


def open_folder(folder: str | os.PathLike, *, caption_extension: str = ".txt", separator: str = ", ") -> Workspace:
    return scan_folders([folder], ScanOptions(caption_extension=caption_extension, tag_separator=separator))


def entries_of(ws: Workspace) -> list[Entry]:
    out = []
    for item in ws:
        cap = item.caption
        if cap.undecodable:
            out.append(Entry(item.key, None, f"its caption file could not be decoded ({cap.error or 'unknown'})"))
        else:
            out.append(Entry(item.key, cap.text if cap.exists else None))
    return out


def run_operation(folder: str | os.PathLike, op: Operation, *, caption_extension: str = ".txt",
                  separator: str = ", ", dry_run: bool = False, durable: bool = True,
                  on_saving: Callable[[int], None] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> FolderRun:
    ws = open_folder(folder, caption_extension=caption_extension, separator=separator)
    fmt = TagFormat(separator)
    entries = entries_of(ws)
    counts = TagStats.from_texts((e.text for e in entries), fmt).counts
    changes = plan(op, entries, OpContext(fmt, counts))
    run = FolderRun(ws, changes)
    if dry_run:
        return run
    run.stale_temps_removed = sum(remove_stale_temps(s.path) for s in ws.subsets.values())
    items = [SaveItem(key, ws.item(key).caption, new, new_caption_format(ws, ws.item(key)))
             for key, (_old, new) in changes.changes.items()]
    if on_saving is not None:
        on_saving(len(items))
    run.result = save_captions(items, durable=durable, progress=progress)
    return run


def plan_extension(folder: str | os.PathLike, old_extension: str, new_extension: str
                   ) -> tuple[Workspace, ExtensionPlan]:
    ws = open_folder(folder, caption_extension=old_extension)
    captions = ((item.key, item.caption.path, item.caption.exists) for item in ws)
    return ws, plan_extension_rename(captions, ws.caption_extension, new_extension)


def rename_extension(plan_: ExtensionPlan) -> RenameReport:
    return execute_renames(plan_.renames)
