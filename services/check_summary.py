"""What a list of checks adds up to: its errors, its warnings, whether it passes.

Shared by the training preflight and the backend verification, whose checks both carry a
``status`` of "ok", "warning", "error" (and a few kinds of their own that count as neither)."""

from __future__ import annotations

ERROR, WARNING = "error", "warning"


class CheckSummary:
    """Mixin for a report with a ``checks`` list."""

    checks: list

    @property
    def errors(self) -> list:
        return [c for c in self.checks if c.status == ERROR]

    @property
    def warnings(self) -> list:
        return [c for c in self.checks if c.status == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors
