"""What importers share: the report of what was and was not mapped, and a mapper that converts
loosely typed values of other tools into registry values (checking type and range)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.training.families import Family, Mode
from services.training.project import Project, Subset
from services.training.registry import Selection, registry
from services.training.secrets import is_secret_key
from services.training.value_types import ConversionError, from_text, range_problem, type_problem

KOHYA_FOLDER = re.compile(r"^(\d+)_(.*)$")


@dataclass(frozen=True)
class Skipped:
    source: str
    value: Any
    reason: str


@dataclass
class ImportReport:
    source: str
    tool: str
    mapped: list[tuple[str, str, Any]] = field(default_factory=list)   # (their key, our key, value)
    skipped: list[Skipped] = field(default_factory=list)               # not imported, with the reason
    defaults: list[str] = field(default_factory=list)                  # their keys equal to our defaults
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"Imported {self.source} ({self.tool}): {len(self.mapped)} settings mapped, "
                 f"{len(self.defaults)} equal to LoRA Studio's defaults, {len(self.skipped)} not imported."]
        lines += [f"  note: {n}" for n in self.notes]
        if self.skipped:
            lines.append("Not imported:")
            lines += [f"  {s.source} = {_short(s.value)}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "tool": self.tool,
                "mapped": [{"from": a, "to": b, "value": v} for a, b, v in self.mapped],
                "skipped": [{"key": s.source, "value": s.value, "reason": s.reason} for s in self.skipped],
                "defaults": self.defaults, "notes": self.notes}


@dataclass
class ImportResult:
    project: Project
    report: ImportReport


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


class Mapper:
    """Collects values for a new project, converting and checking each one."""

    def __init__(self, project: Project, report: ImportReport) -> None:
        self.project = project
        self.report = report
        self.reg = registry()
        self.values: dict[str, Any] = {}

    @property
    def family(self) -> Family:
        return self.project.family

    @property
    def mode(self) -> Mode:
        return self.project.mode

    def skip(self, source: str, value: Any, reason: str) -> None:
        self.report.skipped.append(Skipped(source, value, reason))

    def set(self, source: str, key: str, raw: Any) -> bool:
        """Convert ``raw`` to parameter ``key``; record it or the reason it was not taken."""
        if is_secret_key(source):
            self.skip(source, "<hidden>", "a secret: never stored in a project; set it in the environment "
                                          "(HF_TOKEN, WANDB_API_KEY) or the system keyring")
            return False
        param = self.reg.find(key)
        if param is None:
            self.skip(source, raw, "not a setting LoRA Studio knows")
            return False
        try:
            value = raw if type_problem(param, raw) is None else from_text(param, raw)
        except ConversionError as exc:
            self.skip(source, raw, f"not a valid value for {param.display_label}: {exc}")
            return False
        problem = type_problem(param, value) or range_problem(param, value)
        if problem:
            self.skip(source, raw, f"{param.display_label} {problem}")
            return False
        if value is None:
            return False
        if value == param.default_for(self.family, self.mode):
            self.report.defaults.append(source)
            self.values.pop(key, None)
            return True
        self.values[key] = value
        self.report.mapped.append((source, key, value))
        return True

    def finish(self) -> None:
        """Apply the values, and report those that do not apply to the chosen family/mode/algorithm."""
        merged = {**self.project.resolve().as_dict(), **self.values}
        selection = Selection.from_values(self.family, self.mode, merged)
        for key, value in list(self.values.items()):
            param = self.reg.get(key)
            reason = param.why_not(selection, merged)
            if reason is not None and not reason.startswith("only when"):
                self.skip(key, value, f"does not apply here ({reason})")
                del self.values[key]
                self.report.mapped = [m for m in self.report.mapped if m[1] != key]
        self.project.set_values(self.values)


def subsets_from_kohya_folder(folder: str, *, is_reg: bool, report: ImportReport) -> list[Subset]:
    """Kohya's layout: <folder>/<repeats>_<class tokens>/ images. Unreadable folders are reported."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        report.notes.append(f"The folder {folder} was not found here; add the subsets in the Dataset panel.")
        return []
    subsets = []
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        match = KOHYA_FOLDER.match(child.name)
        if not match:
            report.notes.append(f"{child} does not follow the <repeats>_<name> naming and was not added.")
            continue
        repeats, tokens = int(match.group(1)), match.group(2).strip()
        subsets.append(Subset(str(child), name=child.name, num_repeats=max(repeats, 1),
                              class_tokens=tokens or None, is_reg=is_reg))
    if not subsets:
        report.notes.append(f"No <repeats>_<name> sub-folders in {folder}; add the subsets in the Dataset panel.")
    return subsets
