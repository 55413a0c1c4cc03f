"""Logging for every entry point: a rich console handler and a rotating log file.

Every line carries a timestamp. The log file lives in the platform log directory; secrets never
reach it because services never log them (and ``redact`` is applied to anything that might
carry one, such as an environment dump).
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

LOG_FILE_NAME = "lora-studio.log"
FILE_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

_SECRET_PATTERNS = [
    re.compile(r"(hf_[A-Za-z0-9]{8,})"),
    re.compile(r"((?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|WANDB_API_KEY)\s*[=:]\s*)(\S+)"),
]


def redact(text: str) -> str:
    text = _SECRET_PATTERNS[0].sub("hf_***", text)
    return _SECRET_PATTERNS[1].sub(lambda m: m.group(1) + "***", text)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
                record.args = None
            except Exception:
                return True
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def setup_logging(log_dir: Path | None, level: str | int = "INFO", *, console: bool = True) -> Path | None:
    """Configure the root logger; returns the log file path (None if no file logging)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r} (use DEBUG, INFO, WARNING or ERROR)")
    root.setLevel(numeric)
    redactor = _RedactingFilter()

    if console:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=False, log_time_format="[%X]")
        handler.setLevel(numeric)
        handler.addFilter(redactor)
        root.addHandler(handler)

    log_file = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / LOG_FILE_NAME
        file_handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8", delay=True)
        file_handler.setFormatter(logging.Formatter(FILE_FORMAT, DATE_FORMAT))
        file_handler.setLevel(min(numeric, logging.INFO))
        file_handler.addFilter(redactor)
        root.addHandler(file_handler)
        root.setLevel(min(numeric, logging.INFO))
    # Chatty third-party loggers stay at WARNING unless asked for DEBUG.
    for name in ("PIL", "urllib3", "huggingface_hub", "filelock", "asyncio"):
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    return log_file
