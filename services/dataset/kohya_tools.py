"""Kohya folder tools: make an ``N_name`` subset, set repeats, balance repeats, add images.

Every tool first makes a *plan* (a list of file operations) that the user sees before anything
happens; ``apply_plan`` carries it out and returns a journal from which ``undo_journal`` puts things
back. Nothing is ever deleted outright: undoing a copy sends the copies to the system trash
(send2trash), and removing images from a dataset goes to the trash too.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.dataset.image_header import is_image_name
from services.dataset.kohya_names import format_folder_name, parse_folder_name
from services.errors import FileAccessError, UserInputError

MODES = ("copy", "move", "link")
MODE_LABELS = {"copy": "Copy (originals untouched)", "move": "Move", "link": "Hard-link (no extra space; same drive)"}


@dataclass(frozen=True)
class FileOp:
    kind: str  # "mkdir", "copy", "move", "link", "rename"
    source: Path | None
    target: Path

    def describe(self) -> str:
        if self.kind == "mkdir":
            return f"create folder {self.target}"
        verb = {"copy": "copy", "move": "move", "link": "hard-link", "rename": "rename"}[self.kind]
        return f"{verb} {self.source} → {self.target}"


@dataclass
class Plan:
    title: str
    ops: list[FileOp] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what will not be done, and why
    rows: list[tuple] = field(default_factory=list)  # a summary table for the preview (tool-specific)

    @property
    def empty(self) -> bool:
        return not self.ops


@dataclass
class Journal:
    """What apply_plan did, in order (for undo)."""

    done: list[FileOp] = field(default_factory=list)
    error: str = ""


def _files_with_captions(images: Iterable[Path], caption_extensions: Sequence[str]) -> list[Path]:
    out: list[Path] = []
    for image in images:
        out.append(image)
        for ext in caption_extensions:
            caption = image.with_name(image.stem + ext)
            if caption.is_file():
                out.append(caption)
    return out


def _same_device(a: Path, b: Path) -> bool:
    def dev(p: Path) -> int | None:
        while not p.exists() and p != p.parent:
            p = p.parent
        try:
            return p.stat().st_dev
        except OSError:
            return None

    da, db = dev(a), dev(b)
    return da is not None and da == db


def plan_make_subset(source_dir: str | os.PathLike, target_parent: str | os.PathLike, repeats: int, name: str,
                     mode: str, caption_extensions: Sequence[str] = (".txt", ".caption", ".cap")) -> Plan:
    """Put the images of a flat folder (and their caption files) into ``target_parent/N_name``."""
    source, parent = Path(source_dir), Path(target_parent)
    if mode not in MODES:
        raise UserInputError(f"Unknown mode {mode!r}.", "Choose copy, move or hard-link.")
    if repeats < 1:
        raise UserInputError("Repeats must be at least 1.", "sd-scripts skips folders with 0 repeats.")
    try:
        folder_name = format_folder_name(repeats, name)
    except ValueError as exc:
        raise UserInputError(f"{name!r} cannot be used as a folder name.",
                             "Use letters, digits, spaces; no slashes.") from exc
    if not source.is_dir():
        raise FileAccessError(f"{source} is not a folder.")
    target = parent / folder_name
    plan = Plan(f"Make subset {folder_name} from {source.name} ({mode})")
    try:
        images = sorted(p for p in source.iterdir() if p.is_file() and is_image_name(p.name))
    except OSError as exc:
        raise FileAccessError(f"The folder {source} cannot be read.", details=str(exc)) from exc
    if not images:
        raise UserInputError(f"There are no images directly in {source}.", "Choose the folder that holds them.")
    if target.resolve() == source.resolve():
        raise UserInputError("The new subset would be the source folder itself.",
                             "Use Set repeats to rename a folder in place.")
    if mode == "link" and not _same_device(source, parent):
        plan.warnings.append("Hard links only work on the same drive; the source and the target are on different "
                             "drives. Choose copy or move.")
    if not target.exists():
        plan.ops.append(FileOp("mkdir", None, target))
    for path in _files_with_captions(images, caption_extensions):
        dest = target / path.name
        if dest.exists():
            plan.skipped.append(f"{dest} already exists; {path.name} is left where it is")
            continue
        plan.ops.append(FileOp(mode, path, dest))
    plan.rows = [(folder_name, len(images), repeats, len(images) * repeats)]
    return plan


def plan_add_images(images: Sequence[str | os.PathLike], target_dir: str | os.PathLike, mode: str,
                    caption_extensions: Sequence[str] = (".txt", ".caption", ".cap")) -> Plan:
    """Copy/move/link ``images`` (and their captions) into an existing subset folder."""
    target = Path(target_dir)
    if mode not in MODES:
        raise UserInputError(f"Unknown mode {mode!r}.", "Choose copy, move or hard-link.")
    plan = Plan(f"Add {len(images)} images to {target.name} ({mode})")
    paths = [Path(p) for p in images]
    if mode == "link" and paths and not _same_device(paths[0], target):
        plan.warnings.append("Hard links only work on the same drive. Choose copy or move.")
    for path in _files_with_captions(paths, caption_extensions):
        dest = target / path.name
        if path.parent.resolve() == target.resolve():
            plan.skipped.append(f"{path.name} is already in {target.name}")
            continue
        if dest.exists():
            plan.skipped.append(f"{dest} already exists; {path.name} is not added")
            continue
        plan.ops.append(FileOp(mode, path, dest))
    return plan


def plan_set_repeats(folder: str | os.PathLike, repeats: int, name: str | None = None) -> Plan:
    """Rename ``folder`` to ``<repeats>_<name>`` (name: its class tokens, or its current name)."""
    folder = Path(folder)
    if repeats < 0:
        raise UserInputError("Repeats cannot be negative.")
    parsed = parse_folder_name(folder.name)
    tokens = name if name is not None else (parsed.class_tokens if parsed else folder.name)
    try:
        new_name = format_folder_name(repeats, tokens)
    except ValueError as exc:
        raise UserInputError(f"{tokens!r} cannot be used as a folder name.", "Remove slashes.") from exc
    plan = Plan(f"Set repeats of {folder.name} to {repeats}")
    target = folder.with_name(new_name)
    if target == folder:
        plan.skipped.append(f"{folder.name} already has {repeats} repeats")
    elif target.exists():
        plan.skipped.append(f"{target} already exists")
    else:
        plan.ops.append(FileOp("rename", folder, target))
    return plan


@dataclass(frozen=True)
class SubsetCount:
    path: Path
    images: int
    repeats: int


def balanced_repeats(images: int, target: int) -> int:
    """The repeat count that brings ``images`` × repeats closest to ``target`` (at least 1)."""
    if images <= 0:
        return 1
    low = max(1, math.floor(target / images))
    high = low + 1
    return low if abs(low * images - target) <= abs(high * images - target) else high


def plan_balance(subsets: Sequence[SubsetCount], target: int) -> Plan:
    """Set each subset's repeats so that images × repeats is as close as possible to ``target``."""
    if target < 1:
        raise UserInputError("The target must be at least 1.", "A typical target is 100 to 400 per subset.")
    plan = Plan(f"Balance {len(subsets)} subsets to about {target} images × repeats each")
    for s in subsets:
        new = balanced_repeats(s.images, target)
        plan.rows.append((s.path.name, s.images, s.repeats, new, s.images * new))
        if new != s.repeats:
            sub = plan_set_repeats(s.path, new)
            plan.ops.extend(sub.ops)
            plan.skipped.extend(sub.skipped)
    return plan


def apply_plan(plan: Plan) -> Journal:
    """Carry out ``plan`` in order; stops at the first failure (the journal says what was done)."""
    journal = Journal()
    for op in plan.ops:
        try:
            if op.kind == "mkdir":
                op.target.mkdir(parents=True, exist_ok=False)
            elif op.target.exists():
                raise FileExistsError(f"{op.target} already exists")
            elif op.kind == "copy":
                shutil.copy2(op.source, op.target)
            elif op.kind == "link":
                os.link(op.source, op.target)
            elif op.kind == "move":
                shutil.move(str(op.source), str(op.target))
            elif op.kind == "rename":
                os.rename(op.source, op.target)
            else:
                raise ValueError(op.kind)
        except OSError as exc:
            journal.error = f"{op.describe()} failed: {exc.strerror or exc}"
            break
        journal.done.append(op)
    return journal


def undo_journal(journal: Journal) -> list[str]:
    """Reverse what a journal did, newest first; copies and links go to the system trash.
    Returns the problems met (empty when all went back)."""
    from send2trash import send2trash

    problems: list[str] = []
    for op in reversed(journal.done):
        try:
            if op.kind == "mkdir":
                if op.target.is_dir() and not any(op.target.iterdir()):
                    op.target.rmdir()  # an empty folder we made ourselves
            elif op.kind in ("copy", "link"):
                send2trash(str(op.target))
            elif op.kind in ("move", "rename"):
                if op.source.exists():
                    raise FileExistsError(f"{op.source} exists again")
                shutil.move(str(op.target), str(op.source))
        except OSError as exc:
            problems.append(f"could not undo “{op.describe()}”: {exc.strerror or exc}")
    return problems


def trash_images(images: Sequence[str | os.PathLike], caption_extensions: Sequence[str]) -> tuple[list[str], list[str]]:
    """Send images and their caption files to the system trash. Returns (trashed, problems)."""
    from send2trash import send2trash

    trashed, problems = [], []
    for path in _files_with_captions([Path(p) for p in images], caption_extensions):
        try:
            send2trash(str(path))
            trashed.append(str(path))
        except Exception as exc:  # send2trash raises OSError or its own TrashPermissionError
            problems.append(f"{path}: {exc}")
    return trashed, problems
