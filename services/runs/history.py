"""Run history: every run folder under the runs directory, and reopening one.

``list_runs`` reads each folder's status.json (never its log), so listing hundreds of runs is quick.
``replay`` rebuilds what the monitor showed from the folder alone: the log parsed again (each
attempt on its own, as it ran), the samples and checkpoints found on disk, the final diagnosis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.paths import app_dirs
from services.runs import events as ev
from services.runs.diagnosis import Diagnosis
from services.runs.parser import LogParser
from services.runs.run_folder import COMMAND_JSON, PLAN, RunFolder, RunStatus

ATTEMPT_MARK = "===== LoRA Studio: attempt "


def runs_dir(settings=None) -> Path:
    backend = getattr(settings, "backend", settings)
    configured = (getattr(backend, "runs_dir", "") or "").strip() if backend is not None else ""
    return Path(configured).expanduser() if configured else app_dirs().data / "runs"


@dataclass
class RunSummary:
    run: RunFolder
    status: RunStatus

    @property
    def name(self) -> str:
        return self.status.name or self.run.path.name

    @property
    def state(self) -> str:
        return self.status.state

    @property
    def started_at(self) -> float | None:
        return self.status.attempts[0].started_at if self.status.attempts else None

    @property
    def ended_at(self) -> float | None:
        return self.status.attempts[-1].ended_at if self.status.attempts else None

    @property
    def diagnosis_title(self) -> str:
        return (self.status.diagnosis or {}).get("title", "") if self.status.diagnosis else ""


def list_runs(folder: Path) -> list[RunSummary]:
    """Every run folder directly under ``folder``, newest first."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.is_dir() or not any(os.path.isfile(os.path.join(entry.path, name))
                                         for name in (PLAN, COMMAND_JSON)):
            continue
        run = RunFolder(entry.path)
        found.append(RunSummary(run, run.status()))
    return sorted(found, key=lambda s: (s.status.created_at, s.run.path.name), reverse=True)


@dataclass
class Replay:
    events: list = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    status: RunStatus | None = None


def split_attempts(text: str) -> list[str]:
    parts = text.split(ATTEMPT_MARK)
    return [parts[0]] if len(parts) == 1 else [ATTEMPT_MARK + p for p in parts[1:]]


def replay(run: RunFolder, max_log_bytes: int = 64 * 1024 * 1024) -> Replay:
    """The events a monitor needs to show a finished (or interrupted) run again. Blocking: call it
    from a worker thread."""
    result = Replay(status=run.status())
    try:
        size = run.log_path.stat().st_size
        with open(run.log_path, encoding="utf-8", errors="replace", newline="") as fh:
            if size > max_log_bytes:
                fh.seek(size - max_log_bytes)
            text = fh.read()
    except OSError:
        text = ""
    for attempt in split_attempts(text):
        parser = LogParser()
        result.events += parser.feed(attempt)
        result.events += parser.close()
    prompts = run.prompts() if run.config_path.is_file() else {}
    try:
        samples = run.samples()
    except Exception:  # an unreadable config: no samples to show
        samples = []
    for sample in samples:
        result.events.append(ev.SampleImage(str(sample.path), sample.step, sample.epoch, sample.index,
                                            prompts.get(sample.index, "")))
    status = result.status
    if status is not None and status.diagnosis:
        result.diagnosis = Diagnosis.from_dict(status.diagnosis)
    if status is not None and status.state in ("succeeded", "failed", "stopped"):
        exit_code = status.exit_code
        result.events.append(ev.Ended(status.state, exit_code, result.diagnosis))
    return result
