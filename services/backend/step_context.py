"""What every install step works with: the reporter it tells, the context it runs in (markers,
subprocesses, pip with the torch constraints), and how a failed command becomes a clear error."""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.atomic import atomic_write_text
from services.backend.plan import InstallPlan, WheelSource
from services.backend.proc import CancelToken, run_streaming
from services.backend.runtime import RuntimeLayout
from services.errors import BackendError


class Reporter:
    """What an installation tells whoever watches it. Called from the installing thread."""

    def step_started(self, step: str, title: str) -> None: ...

    def step_progress(self, step: str, fraction: float | None, text: str) -> None: ...

    def log(self, step: str, line: str) -> None: ...

    def step_finished(self, step: str, outcome: str, seconds: float, message: str) -> None: ...


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class StepContext:
    plan: InstallPlan
    layout: RuntimeLayout
    tokenizer_cache: Path
    cancel: CancelToken
    reporter: Reporter
    log_sink: Callable[[str], None] = lambda line: None
    current: str = ""
    warnings: list[str] = field(default_factory=list)

    # --- reporting ----------------------------------------------------------------------
    def log(self, line: str) -> None:
        self.log_sink(f"[{self.current}] {line}")
        self.reporter.log(self.current, line)

    def progress(self, fraction: float | None, text: str) -> None:
        self.reporter.step_progress(self.current, fraction, text)

    # --- markers ------------------------------------------------------------------------
    def marker(self, step: str) -> dict | None:
        try:
            data = json.loads(self.layout.marker(step).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def run_id(self, step: str) -> str:
        data = self.marker(step)
        return str(data.get("run_id", "")) if data and data.get("status") == "done" else ""

    def write_marker(self, step: str, data: dict) -> None:
        self.layout.state.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.layout.marker(step), json.dumps(data, indent=1, default=str))

    # --- subprocesses -------------------------------------------------------------------
    def run(self, cmd: list, *, cwd: Path | None = None, what: str) -> list[str]:
        tail: list[str] = []

        def on_line(line: str) -> None:
            tail.append(line)
            del tail[:-60]
            self.log(line)
            short = _progress_text(line)
            if short:
                self.progress(None, short)

        code = run_streaming(cmd, cwd=cwd, cancel=self.cancel, on_line=on_line)
        if code != 0:
            raise _failure(what, code, tail)
        return tail

    @property
    def constraints_file(self) -> Path:
        return self.layout.state / "constraints.txt"

    def pip_install(self, args: list[str], *, source: WheelSource, cwd: Path | None = None, what: str) -> None:
        cmd = [str(self.layout.python), "-m", "pip", "install", "--no-input", *source.pip_args()]
        if self.constraints_file.is_file():
            cmd += ["-c", str(self.constraints_file)]
        self.run(cmd + args, cwd=cwd, what=what)


_PIP_PROGRESS = re.compile(r"^(Collecting|Downloading|Processing|Installing collected packages|Building|Obtaining|"
                           r"Successfully installed|Requirement already satisfied|Using cached)\b")


def _progress_text(line: str) -> str:
    line = line.strip()
    if _PIP_PROGRESS.match(line):
        return line if len(line) <= 110 else line[:107] + "…"
    return ""


def _failure(what: str, code: int, tail: list[str]) -> BackendError:
    text = "\n".join(tail)
    errors = [t for t in tail if t.startswith(("ERROR", "error:", "fatal:")) or "Error" in t[:40]]
    hint = "See the log for details; fix what it names and run the setup again (it resumes where it stopped)."
    if "No space left on device" in text:
        hint = "The disk is full: free some space, then run the setup again (it resumes where it stopped)."
    elif re.search(r"No matching distribution|Could not find a version", text):
        hint = ("pip found no matching package: check the network connection (or the package source chosen "
                "in the setup), then run the setup again.")
    elif "ResolutionImpossible" in text or "conflicting dependencies" in text:
        hint = "The requirements conflict with each other; the log names the packages. Please report this."
    elif re.search(r"(Connection|Network|Temporary failure in name resolution|timed out)", text):
        hint = "The network failed: check the connection, then run the setup again (it resumes where it stopped)."
    message = f"{what} failed (exit code {code})"
    if errors:
        message += ": " + errors[-1].strip()[:300]
    return BackendError(message, hint, details=text[-4000:])
