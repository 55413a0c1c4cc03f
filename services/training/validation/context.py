"""The facts every rule looks at, computed once per validation run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from services.training.detect import DetectionResult
from services.training.families import Family, Mode, script_for
from services.training.project import Project, Subset
from services.training.registry import Parameter, Registry, Selection
from services.training.steps import StepPlan
from services.training.validation.problems import ValidationContext
from services.training.values import Origin, Resolved


@dataclass
class RuleContext:
    project: Project
    options: ValidationContext
    registry: Registry
    family: Family | None
    mode: Mode
    resolved: Resolved | None = None
    applicable: set[str] = field(default_factory=set)
    bad: set[str] = field(default_factory=set)          # keys whose value has the wrong type or range
    detection: DetectionResult | None = None
    subsets: list[Subset] = field(default_factory=list)  # enabled subsets
    subset_indices: list[int] = field(default_factory=list)  # their positions in the project
    counts: list[int | None] = field(default_factory=list)
    steps: StepPlan | None = None

    @property
    def script(self) -> str | None:
        return script_for(self.family, self.mode) if self.family else None

    @property
    def selection(self) -> Selection | None:
        return self.resolved.selection() if self.resolved is not None else None

    @property
    def environ(self):
        return os.environ if self.options.environ is None else self.options.environ

    def v(self, key: str) -> Any:
        """The value the engine will get: None when the parameter does not apply or is invalid."""
        if self.resolved is None or key not in self.applicable or key in self.bad:
            return None
        return self.resolved[key]

    def raw(self, key: str) -> Any:
        return None if self.resolved is None else self.resolved.get(key)

    def label(self, key: str) -> str:
        param = self.registry.find(key)
        return f"'{param.display_label}'" if param else key

    def param(self, key: str) -> Parameter:
        return self.registry.get(key)

    def chosen(self, key: str) -> bool:
        """Was the value set by a profile or the user (not just the default)?"""
        return self.resolved is not None and self.resolved.origin(key) is not Origin.DEFAULT

    def subset_value(self, index: int, key: str) -> Any:
        """A dataset parameter as the engine sees it for one subset (the subset's own, else the project's)."""
        subset = self.subsets[index]
        if key in subset.values:
            return subset.values[key]
        return self.v(key)

    def absolute(self, path: str | None) -> str | None:
        return self.project.absolute(path)
