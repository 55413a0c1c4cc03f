"""What validation reports: problems (field, severity, message, hint) and the context it runs in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.training.detect import DetectionResult
    from services.training.profiles import ProfileLibrary
    from services.training.steps import StepPlan
    from services.training.values import Resolved


class Severity(str, Enum):
    ERROR = "error"      # blocks the launch
    WARNING = "warning"  # worth reading; does not block
    INFO = "info"        # explains what will happen

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Problem:
    """``field`` is a registry key, or ``model``, ``dataset``, ``subsets[i]``, ``subsets[i].<key>``,
    ``profile.training`` / ``profile.memory``, or ``steps``."""

    field: str
    severity: Severity
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "severity": self.severity.value, "message": self.message, "hint": self.hint}

    def __str__(self) -> str:
        text = f"{self.severity.value}: {self.field}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


def error(field: str, message: str, hint: str = "") -> Problem:
    return Problem(field, Severity.ERROR, message, hint)


def warning(field: str, message: str, hint: str = "") -> Problem:
    return Problem(field, Severity.WARNING, message, hint)


def info(field: str, message: str, hint: str = "") -> Problem:
    return Problem(field, Severity.INFO, message, hint)


@dataclass
class ValidationContext:
    """What validation may use beyond the project itself.

    image_counts: images per subset folder (absolute path -> count), from the dataset scanner. Folders
        missing from it are counted with the minimal counter when ``count_missing`` is true.
    check_paths: look at the filesystem (existence of model files, folders).
    detection: the detected base model (detected here when None and ``detect_model`` is true).
    installed: the Python distributions installed in the backend runtime (lower-case names), or None
        when unknown (the related checks are then left to the preflight).
    environ: the environment the run would get (for HF_TOKEN / WANDB_API_KEY presence); None: os.environ.
    """

    image_counts: Mapping[str, int] | None = None
    count_missing: bool = True
    check_paths: bool = True
    detection: DetectionResult | None = None
    detect_model: bool = True
    installed: frozenset[str] | None = None
    library: ProfileLibrary | None = None
    environ: Mapping[str, str] | None = None


@dataclass
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    steps: StepPlan | None = None
    resolved: Resolved | None = None
    detection: DetectionResult | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_field(self, name: str) -> list[Problem]:
        return [p for p in self.problems if p.field == name]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.as_dict() for p in self.problems],
                "steps": None if self.steps is None else {
                    "total_steps": self.steps.total_steps, "steps_per_epoch": self.steps.steps_per_epoch,
                    "epochs": self.steps.epochs, "decided_by": self.steps.decided_by,
                    "explanation": list(self.steps.lines)}}


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.severity.rank)
