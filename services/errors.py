"""The error hierarchy every service raises, so the GUI and the CLI show any failure alike.

Each error carries a message for the user (what went wrong) and a hint (what to do about it).
Technical detail (a path, a traceback excerpt, an exit code) goes in ``details``.
"""

from __future__ import annotations


class LoraStudioError(Exception):
    """Base of every error that is meant to reach a person."""

    default_hint = ""

    def __init__(self, message: str, hint: str = "", *, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def as_dict(self) -> dict[str, str]:
        return {"kind": type(self).__name__, "message": self.message, "hint": self.hint,
                "details": self.details}


class UserInputError(LoraStudioError):
    """Something the user typed or chose cannot be used as it is."""


class FileAccessError(LoraStudioError):
    """A file or folder is missing, unreadable or unwritable."""

    default_hint = "Check that the path exists and that you have permission to read and write it."


class FileFormatError(LoraStudioError):
    """A file exists but its content is not what it claims to be (corrupt, truncated, hostile)."""


class UnsafeFileError(FileFormatError):
    """A file could run code if opened (a pickle checkpoint); it is refused, not opened."""

    default_hint = "Convert the file to .safetensors with a tool you trust, then choose that file."


class ConflictError(LoraStudioError):
    """A file changed on disk while the app held unsaved edits to it."""


class ValidationError(LoraStudioError):
    """A configuration has problems that block an action; ``problems`` lists them."""

    def __init__(self, message: str, problems: list | None = None, hint: str = "") -> None:
        super().__init__(message, hint)
        self.problems = list(problems or [])


class BackendError(LoraStudioError):
    """The training backend runtime is missing, broken or of the wrong version."""

    default_hint = "Open Settings > Training backend to install, verify or repair it."


class WorkerError(LoraStudioError):
    """A worker process failed (crash, out of memory, protocol mismatch)."""


class OperationCancelled(LoraStudioError):
    """The user cancelled; not a failure, but callers must stop."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)
