"""Renaming the extension of every caption file (``.txt`` -> ``.caption``), as a planned batch.

The plan lists each rename and what blocks one (a file with the new name already there is never
replaced). Executing renames one file at a time with ``os.rename``, which is atomic; the renames
done are returned, so the batch can be undone by renaming them back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from services.dataset.caption_files import normalise_extension


@dataclass(frozen=True)
class Rename:
    key: str
    source: Path
    target: Path

    def reversed(self) -> Rename:
        return Rename(self.key, self.target, self.source)


@dataclass
class ExtensionPlan:
    old_extension: str
    new_extension: str
    renames: list[Rename] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)  # key -> why its caption cannot be renamed
    without_caption: int = 0


@dataclass
class RenameReport:
    done: list[Rename] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    cancelled: bool = False


def plan_extension_rename(captions: Iterable[tuple[str, Path, bool]], old_extension: str,
                          new_extension: str) -> ExtensionPlan:
    """``captions``: (key, caption path, whether the caption file exists) for every image."""
    old_ext, new_ext = normalise_extension(old_extension), normalise_extension(new_extension)
    plan = ExtensionPlan(old_ext, new_ext)
    if old_ext == new_ext:
        return plan
    targets: set[Path] = set()
    for key, path, exists in captions:
        if not exists:
            plan.without_caption += 1
            continue
        target = path.with_name(path.name[: len(path.name) - len(old_ext)] + new_ext) \
            if path.name.endswith(old_ext) else path.with_suffix(new_ext)
        if target in targets or target.exists():
            plan.blocked[key] = f"{target.name} already exists"
            continue
        targets.add(target)
        plan.renames.append(Rename(key, path, target))
    return plan


def execute_renames(renames: list[Rename], *, progress: Callable[[int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> RenameReport:
    report = RenameReport()
    for n, rename in enumerate(renames, 1):
        if n % 200 == 0:
            if cancelled is not None and cancelled():
                report.cancelled = True
                break
            if progress is not None:
                progress(n)
        if os.path.lexists(rename.target):
            report.failed[rename.key] = f"{rename.target.name} already exists"
            continue
        try:
            os.rename(rename.source, rename.target)
        except OSError as exc:
            report.failed[rename.key] = f"{rename.source.name}: {exc.strerror or exc}"
            continue
        report.done.append(rename)
    if progress is not None:
        progress(len(renames))
    return report
