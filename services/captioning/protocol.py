"""The line protocol between the GUI (or the CLI) and a captioning worker process.

One JSON object per line, UTF-8, each with a ``type``. The driver starts
``python -m workers.captioning --protocol N`` and writes a ``job`` line on the worker's stdin; the
worker answers ``hello`` first (its protocol version), then status, download, ready, result (one
per image), image_failed, progress, warning and error lines, and ``done`` last. A ``cancel`` line
on stdin (or stdin closing) stops the job after the batch in flight. Anything else the worker or
its libraries print goes to stderr, never into this channel.

The version is compared on both sides: the GUI may run a worker installed in another interpreter
(the backend runtime), and a mismatch is reported rather than guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.errors import LoraStudioError, WorkerError

PROTOCOL_VERSION = 1

# worker -> driver
HELLO = "hello"  # protocol, worker_version, pid, python
STATUS = "status"  # stage, message
DOWNLOAD = "download"  # file, done, total (bytes; total 0 when unknown), file_index, files
READY = "ready"  # total, batch_size, device, load_s
RESULT = "result"  # index, path, caption, tags (list, tag captioners only)
IMAGE_FAILED = "image_failed"  # index, path, message
PROGRESS = "progress"  # done, failed, total, elapsed_s
WARNING = "warning"  # message, hint
ERROR = "error"  # kind, message, hint, details
DONE = "done"  # done, failed, total, cancelled, elapsed_s
# driver -> worker
JOB = "job"  # protocol, job
CANCEL = "cancel"

WORKER_TYPES = frozenset({HELLO, STATUS, DOWNLOAD, READY, RESULT, IMAGE_FAILED, PROGRESS, WARNING, ERROR, DONE})
DRIVER_TYPES = frozenset({JOB, CANCEL})

# error kinds
OOM = "oom"
MISSING_MODEL = "missing_model"
INVALID_MODEL = "invalid_model"
DOWNLOAD_FAILED = "download_failed"
MISSING_DEPENDENCY = "missing_dependency"
DEVICE_UNAVAILABLE = "device_unavailable"
BAD_JOB = "bad_job"
PROTOCOL_MISMATCH = "protocol_mismatch"
INTERNAL = "internal"

# exit codes of the worker
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PROTOCOL = 3

STAGES = ("starting", "downloading", "loading", "running")


class ProtocolError(LoraStudioError):
    """A line that is not a message of this protocol."""

    default_hint = ("The captioning worker and the application do not speak the same protocol; "
                    "repair the backend runtime from Settings > Training backend.")


@dataclass(frozen=True)
class Message:
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def encode(message_type: str, /, **data: Any) -> str:
    """One protocol line (without the newline)."""
    if message_type not in WORKER_TYPES and message_type not in DRIVER_TYPES:
        raise ValueError(f"unknown message type {message_type!r}")
    return json.dumps({"type": message_type, **data}, ensure_ascii=False, separators=(",", ":"))


def decode(line: str | bytes, *, allowed: frozenset[str] = WORKER_TYPES) -> Message:
    """The message on ``line``; ProtocolError for anything else (the caller decides what to do)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    text = line.strip()
    try:
        raw = json.loads(text)
    except ValueError:
        raise ProtocolError(f"Not a protocol message: {text[:200]!r}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ProtocolError(f"Not a protocol message: {text[:200]!r}")
    kind = raw.pop("type")
    if kind not in allowed:
        raise ProtocolError(f"Unexpected message type {kind!r}")
    return Message(kind, raw)


def check_hello(message: Message) -> None:
    """Refuse a worker of another protocol version (WorkerError with what to do)."""
    version = message.get("protocol")
    if version != PROTOCOL_VERSION:
        raise WorkerError(
            f"The captioning worker speaks protocol version {version}, this application version "
            f"{PROTOCOL_VERSION}.",
            "The backend runtime holds another LoRA Studio version's worker; repair or update the backend "
            "from Settings > Training backend.",
            details=f"worker {message.get('worker_version', '?')} with {message.get('python', '?')}")


OOM_HINT = "Lower the batch size (it was {batch_size}) or run the captioner on the CPU."


def error_from_message(message: Message) -> LoraStudioError:
    """The error a worker reported, as the error type the GUI and the CLI show."""
    return WorkerError(str(message.get("message") or "The captioning worker failed."),
                       str(message.get("hint") or ""), details=str(message.get("details") or ""))
