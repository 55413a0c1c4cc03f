"""Validation of a project before anything is launched, cascading and specific.

    report = check_project(project, ValidationContext(image_counts=...))
    report.problems   # [Problem(field, severity, message, hint)], errors first
    report.steps      # StepPlan: the step arithmetic and its explanation (None without counts)
    validate(project, context) -> list[Problem]   # the same problems, for callers that need only them

Cascade: the model decides the family; without a family nothing else can be judged. Values of the
wrong type or out of range are reported once and then left out of the rules that combine values.
"""

from __future__ import annotations

from services.training.project import Project
from services.training.registry import registry
from services.training.validation import rules_combos, rules_dataset, rules_model, rules_run, rules_values
from services.training.validation.context import RuleContext
from services.training.validation.problems import (
    Problem,
    Severity,
    ValidationContext,
    ValidationReport,
    error,
    info,
    sort_problems,
    warning,
)

__all__ = ["Problem", "Severity", "ValidationContext", "ValidationReport", "check_project", "error", "info",
           "validate", "warning"]

_RULES = (
    rules_dataset.check_buckets,
    rules_model.check_model_settings,
    rules_combos.check_optimizer,
    rules_combos.check_memory,
    rules_combos.check_network,
    rules_combos.check_training,
    rules_run.check_profiles,
    rules_run.check_distributed,
    rules_run.check_outputs,
)


def check_project(project: Project, context: ValidationContext | None = None) -> ValidationReport:
    options = context or ValidationContext()
    c = RuleContext(project=project, options=options, registry=registry(), family=project.family, mode=project.mode,
                    detection=options.detection)
    problems: list[Problem] = list(rules_model.check_model_file(c))
    if c.family is None:
        problems += rules_dataset.count_subsets(c)
        return ValidationReport(sort_problems(_unique(problems)), detection=c.detection)
    project_for_values = project
    if project.family is None:  # detected just now: resolve as if the project said so
        project_for_values = project.copy()
        project_for_values.family = c.family
    c.resolved = project_for_values.resolve(options.library)
    problems += rules_values.check_values(c)
    problems += rules_dataset.count_subsets(c)
    problems += rules_dataset.check_steps(c)
    for rule in _RULES:
        problems += rule(c)
    return ValidationReport(sort_problems(_unique(problems)), steps=c.steps, resolved=c.resolved,
                            detection=c.detection)


def validate(project: Project, context: ValidationContext | None = None) -> list[Problem]:
    return check_project(project, context).problems


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
