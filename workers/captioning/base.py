"""What every captioner provides to the job runner, and the errors it may raise while loading."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Caption:
    text: str
    tags: list[str] | None = None  # for tag captioners: the tags, before the prefix and suffix


class LoadError(Exception):
    """A model could not be loaded; ``kind`` is a protocol error kind, ``hint`` says what to do."""

    def __init__(self, kind: str, message: str, hint: str = "", details: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.hint, self.details = kind, message, hint, details


@dataclass
class Loaded:
    """What the runner reports once a model is ready."""

    device: str
    warnings: list[str] = field(default_factory=list)


class Captioner(Protocol):
    min_side: int  # images may be decoded down to this size

    def load(self) -> Loaded: ...

    def preprocess(self, path: str) -> Any:
        """Runs on a loader thread: decode and prepare one image (ImageReadError if unusable)."""

    def caption(self, batch: list[Any]) -> list[Caption]:
        """Runs on the main thread: one caption per prepared image, in order."""

    def close(self) -> None:
        """Free the model (and the GPU memory it held)."""


_OOM = re.compile(r"out of memory|can't allocate memory|cannot allocate memory|failed to allocate|bad_alloc"
                  r"|CUBLAS_STATUS_ALLOC_FAILED|hipErrorOutOfMemory|not enough memory|allocation.*failed",
                  re.IGNORECASE)


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    return name == "OutOfMemoryError" or bool(_OOM.search(str(exc)))


def join_caption(parts: list[str], options: dict[str, Any], separator: str) -> str:
    prefix, suffix = str(options.get("prefix", "")).strip(), str(options.get("suffix", "")).strip()
    items = ([prefix] if prefix else []) + [p for p in parts if p] + ([suffix] if suffix else [])
    return separator.join(items)
