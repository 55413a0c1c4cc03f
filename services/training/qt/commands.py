"""Undo commands for project edits. Each stores only what it changes (old and new), so a command
costs memory proportional to the values it touched."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from services.training.project import Project

# A key the user had not set (the profile or the default applies) - distinct from None ("emptied").
NOT_SET: Any = type("NotSet", (), {"__repr__": lambda self: "NOT_SET"})()
PROJECT_FIELDS = ("model_path", "family", "variant", "mode", "training_profile", "memory_profile", "name")


def user_layer(project: Project, keys) -> dict[str, Any]:
    values = project.user_values
    return {key: values.get(key, NOT_SET) for key in keys}


def apply_user_layer(project: Project, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if value is NOT_SET:
            project.reset_value(key)
        else:
            project.set_value(key, value)


class ProjectEdit(QUndoCommand):
    """Changes project fields and user values together, as one step.

    ``after_values`` maps key -> new user value (None: emptied, NOT_SET: back to the profile or the
    default); ``after_fields`` maps a Project attribute (PROJECT_FIELDS) -> new value.
    ``on_change(keys, fields_changed)`` runs after redo and undo (the controller re-resolves).
    """

    def __init__(self, project: Project, text: str, *, after_values: Mapping[str, Any] | None = None,
                 after_fields: Mapping[str, Any] | None = None,
                 on_change: Callable[[list[str], bool], None] | None = None) -> None:
        super().__init__(text)
        self.project = project
        self.after_values = dict(after_values or {})
        self.before_values = user_layer(project, self.after_values)
        self.after_fields = dict(after_fields or {})
        unknown = set(self.after_fields) - set(PROJECT_FIELDS)
        if unknown:
            raise ValueError(f"not project fields: {sorted(unknown)}")
        self.before_fields = {name: getattr(project, name) for name in self.after_fields}
        self.on_change = on_change

    def is_noop(self) -> bool:
        return self.before_values == self.after_values and self.before_fields == self.after_fields

    def _apply(self, fields: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        for name, value in fields.items():
            setattr(self.project, name, value)
        apply_user_layer(self.project, values)
        if self.on_change is not None:
            self.on_change(list(values), bool(fields))

    def redo(self) -> None:
        self._apply(self.after_fields, self.after_values)

    def undo(self) -> None:
        self._apply(self.before_fields, self.before_values)
