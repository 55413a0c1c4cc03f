"""Running a captioning worker process and reading its reports (plain Python, no Qt).

``WorkerDriver`` starts ``python -m workers.captioning`` in the backend runtime (in a development
checkout: this interpreter), sends the job, and yields the worker's messages as they come. It keeps
the last lines of the worker's stderr for the report of a crash, and turns the end of the process
into a ``JobOutcome``: finished, cancelled, failed with the worker's own error, or crashed (with the
exit code or signal, and the stderr tail). The CLI iterates it directly; the GUI on a QThread.

Cancel asks the worker to stop after its current batch (so that batch's captions still arrive);
a worker that does not finish within a grace period is terminated, then killed.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from services.captioning import protocol as P
from services.captioning.job import CaptionJob
from services.errors import BackendError, LoraStudioError, WorkerError
from services.paths import app_dirs, repo_root

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 60


def worker_launch(backend_settings=None) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a captioning worker.

    In a development checkout the GUI's own interpreter has the ML stack and runs the worker from
    this tree, unless the settings name another interpreter. Otherwise (a frozen GUI, or a Python
    named in the settings) the worker runs in the backend runtime, from the worker modules the
    backend setup installed there (services.backend.worker_launch checks their version)."""
    from services.backend.payload import is_frozen

    args = ("--protocol", str(P.PROTOCOL_VERSION))
    configured = (getattr(backend_settings, "python", "") or "").strip()
    if not is_frozen() and not configured:
        return [sys.executable, "-m", "workers.captioning", *args], with_source_tree(dict(os.environ))
    from services.backend.runtime import locate
    from services.backend.worker_launch import worker_command

    runtime = locate(backend_settings)
    if runtime.python is None or not runtime.python.is_file():
        raise BackendError("Captioning runs in the training backend's Python, which is not installed.",
                           "Install it from Train > Training backend…, or with `lora-studio backend install`.",
                           details="; ".join(runtime.problems))
    return worker_command(runtime, "captioning", *args)


def with_source_tree(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this source tree first on PYTHONPATH (a development checkout)."""
    root = str(repo_root())
    return {**env, "PYTHONPATH": root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")}


def with_io_settings(env: dict[str, str]) -> dict[str, str]:
    env = dict(env)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


@dataclass
class JobOutcome:
    total: int = 0
    done: int = 0
    failed: int = 0
    cancelled: bool = False
    error: LoraStudioError | None = None
    error_kind: str = ""
    crashed: bool = False
    returncode: int | None = None
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    failed_images: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled

    def summary(self) -> str:
        parts = [f"{self.done} of {self.total} image(s) captioned"]
        if self.failed:
            parts.append(f"{self.failed} could not be read")
        if self.cancelled:
            parts.append("cancelled")
        if self.error is not None:
            parts.append("stopped by an error" if not self.crashed else "the worker crashed")
        return ", ".join(parts)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exit code {code}"


def _lower_priority(pid: int) -> None:
    """Below-normal scheduling priority for a worker on POSIX (Windows: a creation flag instead)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 5)
    except (AttributeError, OSError) as exc:  # not POSIX, not permitted, already ended
        log.debug("could not lower the priority of the caption worker %s: %s", pid, exc)


class WorkerDriver:
    def __init__(self, job: CaptionJob, *, backend_settings=None, command: list[str] | None = None,
                 env: dict[str, str] | None = None, cancel_grace_s: float = 10.0,
                 lower_priority: bool = False) -> None:
        """``command``/``env`` replace the worker's launch (tests start test doubles this way);
        without them it comes from ``worker_launch(backend_settings)``."""
        self.job = job
        frozen = bool(getattr(sys, "frozen", False))
        if command is None:
            command, launch_env = worker_launch(backend_settings)
            env = launch_env if env is None else (env if frozen else with_source_tree(env))
        else:
            env = with_source_tree(dict(os.environ) if env is None else env)
        self.command = command
        self.env = with_io_settings(env)
        # A development worker runs from this tree; a runtime's worker from a folder of our own,
        # never from a frozen bundle's folder (``-m`` puts the working folder on sys.path).
        self.cwd = str(app_dirs().data) if frozen else str(repo_root())
        self.cancel_grace_s = cancel_grace_s
        self.lower_priority = lower_priority
        self.outcome = JobOutcome(total=len(job.images))
        self._proc: subprocess.Popen | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._stderr_thread: threading.Thread | None = None
        self._stderr_done = threading.Event()
        self._write_lock = threading.Lock()
        self._cancel_requested = threading.Event()
        self._ready = False
        self._last_batch_at = 0.0
        self._longest_batch_s = 0.0
        self._got_done = False
        self._hello_seen = False
        self._killer: threading.Timer | None = None
        self._started_at = 0.0

    # --- process ------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        creation = {}
        if os.name == "nt":
            creation["creationflags"] = subprocess.CREATE_NO_WINDOW | (  # type: ignore[attr-defined]
                subprocess.BELOW_NORMAL_PRIORITY_CLASS if self.lower_priority else 0)  # type: ignore[attr-defined]
        try:
            self._proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=self.cwd, env=self.env, **creation)
        except OSError as exc:
            raise BackendError(f"The captioning worker could not be started: {exc}.",
                               details=" ".join(self.command)) from None
        self._started_at = time.monotonic()
        if self.lower_priority and os.name == "posix":
            _lower_priority(self._proc.pid)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, name="caption-stderr", daemon=True)
        self._stderr_thread.start()
        self._send(P.encode(P.JOB, protocol=P.PROTOCOL_VERSION, job=self.job.to_dict()))

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        try:
            for raw in self._proc.stderr:
                line = raw.decode("utf-8", errors="replace").rstrip()
                if line:
                    self._stderr.append(line)
                    log.debug("caption worker: %s", line)
        except (OSError, ValueError):
            pass
        finally:
            self._stderr_done.set()

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def _send(self, line: str) -> None:
        with self._write_lock:
            proc = self._proc
            if proc is None or proc.stdin is None or proc.stdin.closed:
                return
            try:
                proc.stdin.write((line + "\n").encode("utf-8"))
                proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass  # the worker is gone; the reader sees the end of its output

    # --- cancel -------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the worker to stop after the batch in flight; force it if it does not (thread-safe)."""
        if self._cancel_requested.is_set():
            return
        self._cancel_requested.set()
        self._send(P.encode(P.CANCEL))
        # Before the model is ready nothing can be lost: stop quickly. Afterwards, let the batch
        # in flight finish (its captions are wanted) for as long as the slowest batch took.
        grace = 3.0 if not self._ready else max(self.cancel_grace_s, 1.5 * self._longest_batch_s + 5.0)
        self._killer = threading.Timer(grace, self._force_stop)
        self._killer.daemon = True
        self._killer.start()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    def _force_stop(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        log.warning("caption worker did not stop after cancel; terminating pid %s", proc.pid)
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()

    def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    # --- messages -----------------------------------------------------------------------
    def messages(self) -> Iterator[P.Message]:
        """The worker's messages until it ends; then ``outcome`` is final. Blocks between lines."""
        assert self._proc is not None and self._proc.stdout is not None, "start() first"
        first = True
        try:
            for raw in self._proc.stdout:
                try:
                    message = P.decode(raw)
                except P.ProtocolError as exc:
                    log.warning("caption worker wrote a line outside the protocol: %s", exc.message)
                    continue
                if first:
                    first = False
                    self._hello_seen = message.type == P.HELLO
                    if message.type != P.HELLO:
                        self._fail(P.ProtocolError("The captioning worker did not introduce itself.",
                                                   details=str(message)), P.PROTOCOL_MISMATCH)
                        self.kill()
                        break
                    try:
                        P.check_hello(message)
                    except WorkerError as exc:
                        self._fail(exc, P.PROTOCOL_MISMATCH)
                        self.kill()
                        break
                self._track(message)
                yield message
        finally:
            self._finish()

    def _track(self, message: P.Message) -> None:
        out = self.outcome
        kind = message.type
        if kind == P.READY:
            self._ready = True
            self._last_batch_at = time.monotonic()
        elif kind == P.PROGRESS:
            now = time.monotonic()
            if self._last_batch_at:
                self._longest_batch_s = max(self._longest_batch_s, now - self._last_batch_at)
            self._last_batch_at = now
        elif kind == P.RESULT:
            out.done += 1
        elif kind == P.IMAGE_FAILED:
            out.failed += 1
            out.failed_images.append((str(message.get("path", "")), str(message.get("message", ""))))
        elif kind == P.WARNING:
            out.warnings.append(str(message.get("message", "")))
        elif kind == P.ERROR:
            if out.error is None:  # the first error is the cause; later ones are consequences
                self._fail(P.error_from_message(message), str(message.get("kind", P.INTERNAL)))
        elif kind == P.DONE:
            self._got_done = True
            out.cancelled = bool(message.get("cancelled")) or (self.cancel_requested and out.error is None
                                                                and out.done < out.total)
            out.elapsed_s = float(message.get("elapsed_s", 0.0))

    def _fail(self, error: LoraStudioError, kind: str) -> None:
        self.outcome.error = error
        self.outcome.error_kind = kind

    def _finish(self) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if self._killer is not None:
            self._killer.cancel()
        # An Event, not Thread.join: join() would register the calling QThread with the threading
        # module as a never-ending "dummy" thread.
        self._stderr_done.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        out = self.outcome
        out.returncode = code
        if not out.elapsed_s:
            out.elapsed_s = round(time.monotonic() - self._started_at, 3)
        if self._got_done or out.error is not None:
            return
        if self.cancel_requested:
            out.cancelled = True  # stopped by force after a cancel: not a crash
            return
        out.crashed = True
        if not self._hello_seen:
            last = next((line for line in reversed(self._stderr) if line.strip()), "")
            out.error_kind = P.INTERNAL
            self._fail(BackendError(
                f"The captioning worker could not start ({_describe_exit(code)}).",
                "The backend runtime may be incomplete; verify or repair it from Settings > Training backend."
                + (f" The worker said: {last}" if last else ""), details=self.stderr_tail()), P.INTERNAL)
            return
        kept = f"The {out.done} caption(s) it produced before are kept." if out.done else ""
        hint = kept
        if (code is not None and code in (-9, 137)) or "MemoryError" in self.stderr_tail():
            out.error_kind = P.OOM
            hint = (kept + " It was probably stopped for using too much memory: lower the batch size "
                    f"(it was {self.job.batch_size}) or run the captioner on the CPU.").strip()
        else:
            out.error_kind = P.INTERNAL
            hint = (kept + " The details are in the log.").strip()
        self._fail(WorkerError(f"The captioning worker stopped unexpectedly ({_describe_exit(code)}).", hint,
                               details=self.stderr_tail()), out.error_kind)

    def run(self) -> JobOutcome:
        """Start, consume every message, return the outcome (for callers that need no live view)."""
        self.start()
        for _ in self.messages():
            pass
        return self.outcome
