"""Running one attempt of a training run: start the engine, stream and parse its output, keep the
log, find sample images, stop the whole tree on request, and say how it ended.

``Runner.run()`` blocks until the process tree is gone; call it from a worker thread (the GUI's
``RunService``) or from the main thread (the CLI). ``Runner.stop()`` may be called from any thread:
it only sets a flag, and the run loop ends the tree (within 5 seconds). Events reach the caller
in batches through ``on_events`` at most every ``flush_interval_s``, so a fast stream of output
costs the GUI a handful of signals per second, not one per line.
"""

from __future__ import annotations

import codecs
import logging
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.runs import events as ev
from services.runs.diagnosis import Diagnosis, RunContext, diagnose, launch_failure
from services.runs.launch import Launch
from services.runs.parser import LogParser
from services.runs.process import ProcessTree
from services.runs.run_folder import FAILED, RUNNING, STOPPED, SUCCEEDED, Attempt, parse_sample_name

log = logging.getLogger(__name__)

_EMPTY = object()


@dataclass
class Outcome:
    state: str
    exit_code: int | None
    diagnosis: Diagnosis | None
    step: int = 0
    total_steps: int | None = None
    last_loss: float | None = None
    checkpoints: list[str] = field(default_factory=list)


class Runner:
    def __init__(self, launch: Launch, on_events: Callable[[list], None], *, flush_interval_s: float = 0.1,
                 idle_flush_s: float = 0.15, stall_after_s: float = 1200.0, sample_poll_s: float = 1.0,
                 context: RunContext | None = None) -> None:
        self.launch = launch
        self.run_folder = launch.run
        self._on_events = on_events
        self._flush_interval = flush_interval_s
        self._idle_flush = idle_flush_s
        self._stall_after = stall_after_s
        self._sample_poll = sample_poll_s
        self._context = context
        self._stop = threading.Event()
        self._stop_reason = "user"
        self.parser = LogParser()
        self.tree: ProcessTree | None = None
        self._samples_dir: Path | None = None
        self._prompts: dict[int, str] = {}
        self._reported_samples: set[str] = set()
        self._sample_sizes: dict[str, tuple[int, float]] = {}
        self._stop_took_s: float | None = None

    # --- control -----------------------------------------------------------------------------
    def stop(self, reason: str = "user") -> None:
        self._stop_reason = reason
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def stop_took_s(self) -> float | None:
        """How long ending the tree took, once it was asked for (for tests and the log)."""
        return self._stop_took_s

    # --- the run ---------------------------------------------------------------------------
    def run(self) -> Outcome:
        run = self.run_folder
        status = run.status()
        attempt = Attempt(time.time(), resumed_from=self.launch.resumed_from)
        status.attempts.append(attempt)
        status.state = RUNNING
        status.exit_code = None
        status.diagnosis = None
        run.write_status(status)
        try:
            self._samples_dir = run.samples_dir()
            self._prompts = run.prompts()
            config = run.config()
        except Exception as exc:  # an unreadable config: the engine will say more, if it starts
            log.warning("run config unreadable: %s", exc)
            config = {}
        context = self._context or self._context_from(config)

        log_file = open(run.log_path, "a", encoding="utf-8", newline="")  # noqa: SIM115 - closed in finally
        try:
            header = (f"===== LoRA Studio: attempt {len(status.attempts)}, {time.strftime('%Y-%m-%d %H:%M:%S')}"
                      + (f", resumed from {self.launch.resumed_from}" if self.launch.resumed_from else "")
                      + f" =====\n$ {self._redact(self.launch.display_command())}\n")
            log_file.write(header)
            log_file.flush()
            if self._stop.is_set():
                return self._finish(status, attempt, STOPPED, None, None, [])
            try:
                self.tree = ProcessTree.start(self.launch.argv, env=self.launch.env, cwd=self.launch.cwd)
            except OSError as exc:
                diagnosis = launch_failure(exc, self.launch.argv)
                log_file.write(f"could not start: {exc}\n")
                return self._finish(status, attempt, FAILED, None, diagnosis, [])
            batch: list = [ev.Started(self.tree.pid, self.launch.display_command(), str(run.path),
                                      len(status.attempts))]
            exit_code, stopped = self._stream(log_file, batch, status)
            state = STOPPED if stopped else (SUCCEEDED if exit_code == 0 else FAILED)
            diagnosis = None
            if state != STOPPED:
                diagnosis = diagnose(self.parser.tail_text(), exit_code, ctx=context, nan_step=self.parser.nan_step,
                                     phase=ev.PHASE_LABELS.get(self.parser.phase, "").lower())
            footer = f"===== LoRA Studio: {state}" + (f", exit code {exit_code}" if exit_code is not None else "")
            log_file.write(f"\n{footer} =====\n")
            return self._finish(status, attempt, state, exit_code, diagnosis, batch)
        finally:
            log_file.close()

    def _context_from(self, config: dict) -> RunContext:
        from services.runs.profiles_info import memory_context
        from services.runs.vram_estimate import family_and_mode

        try:
            family = family_and_mode(self.run_folder.plan().script, config)[0]
        except Exception:
            family = ""
        used, lower = memory_context(self.run_folder, family) if family else ("", "")
        return RunContext.from_config(config, python=self.launch.argv[0], family=family, memory_profile=used,
                                      lower_memory_profile=lower)

    def _stream(self, log_file, batch: list, status) -> tuple[int | None, bool]:
        tree = self.tree
        chunks: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_read_pipe, args=(tree.stdout, chunks), name="engine-output-reader",
                                  daemon=True)
        reader.start()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        parser = self.parser
        now = time.monotonic()
        last_flush = last_output = now
        next_scan = now
        next_status = now + 10.0
        flushed_idle = True
        stall_reported = False
        eof = False
        stopped = False
        exit_code: int | None = None
        exit_seen_at: float | None = None
        leftovers_killed = False
        try:
            while True:
                try:
                    item = chunks.get(timeout=0.05)
                except queue.Empty:
                    item = _EMPTY
                now = time.monotonic()
                if item is None:
                    eof = True
                elif item is not _EMPTY:
                    parts = [item]
                    while True:  # take everything already waiting: big bursts become one parse
                        try:
                            more = chunks.get_nowait()
                        except queue.Empty:
                            break
                        if more is None:
                            eof = True
                            break
                        parts.append(more)
                    text = self._redact(decoder.decode(b"".join(parts)))
                    log_file.write(text)
                    batch += parser.feed(text)
                    last_output = now
                    flushed_idle = False
                    stall_reported = False
                elif not flushed_idle and now - last_output >= self._idle_flush:
                    batch += parser.flush()
                    log_file.flush()
                    flushed_idle = True

                if self._stop.is_set() and not stopped:
                    stopped = exit_code is None
                    if stopped:
                        batch.append(ev.Stopping(self._stop_reason))
                        self._deliver(batch)
                        begun = time.monotonic()
                        tree.terminate()
                        self._stop_took_s = time.monotonic() - begun
                        log_file.write(f"\n===== LoRA Studio: stopped ({self._stop_reason}) in "
                                       f"{self._stop_took_s:.1f} s =====\n")
                    else:
                        stopped = False
                if now >= next_scan:
                    next_scan = now + self._sample_poll
                    batch += self._scan_samples(final=False)
                    tree.refresh()
                if now >= next_status:
                    next_status = now + 10.0
                    self._write_progress(status)
                if not stall_reported and not eof and exit_code is None and now - last_output > self._stall_after:
                    stall_reported = True
                    batch.append(ev.Stalled(round(now - last_output)))
                if batch and (now - last_flush >= self._flush_interval or eof):
                    self._deliver(batch)
                    last_flush = now
                if exit_code is None:
                    exit_code = tree.poll()
                    if exit_code is not None:
                        exit_seen_at = now
                if eof and exit_code is not None:
                    break
                if eof and exit_code is None:
                    try:
                        exit_code = tree.wait(timeout=0.5)
                    except subprocess.TimeoutExpired:
                        continue
                    break
                if exit_seen_at is not None and now - exit_seen_at > 2.0:
                    # The engine ended but something it started still holds the pipe open.
                    if not leftovers_killed:
                        leftovers_killed = True
                        tree.kill_leftovers()
                    elif now - exit_seen_at > 4.0:
                        break
        finally:
            tail = decoder.decode(b"", final=True)
            if tail:
                log_file.write(tail)
                batch += parser.feed(tail)
            batch += parser.close()
            if exit_code is None:
                exit_code = tree.poll()
            tree.kill_leftovers()  # nothing the engine started outlives the run
            tree.close()
            reader.join(timeout=2.0)
        batch += self._scan_samples(final=True)
        return exit_code, stopped

    def _finish(self, status, attempt: Attempt, state: str, exit_code: int | None, diagnosis: Diagnosis | None,
                batch: list) -> Outcome:
        parser = self.parser
        attempt.ended_at = time.time()
        attempt.state = state
        attempt.exit_code = exit_code
        status.state = state
        status.exit_code = exit_code
        status.diagnosis = diagnosis.as_dict() if diagnosis is not None else None
        self._fill_progress(status)
        try:
            self.run_folder.write_status(status)
        except OSError as exc:
            log.error("could not write the run status: %s", exc)
        outcome = Outcome(state, exit_code, diagnosis, parser.step, parser.total_steps, parser.last_loss,
                          list(parser.checkpoints))
        batch.append(ev.Ended(state, exit_code, diagnosis))
        self._deliver(batch)
        return outcome

    def _fill_progress(self, status) -> None:
        parser = self.parser
        if parser.step:
            status.step = parser.step
        if parser.total_steps:
            status.total_steps = parser.total_steps
        if parser.last_loss is not None and parser.last_loss == parser.last_loss:  # not NaN
            status.last_loss = parser.last_loss
        for path in parser.checkpoints:
            if path not in status.checkpoints:
                status.checkpoints.append(path)

    def _write_progress(self, status) -> None:
        self._fill_progress(status)
        try:
            self.run_folder.write_status(status)
        except OSError as exc:
            log.warning("could not write the run status: %s", exc)

    def _deliver(self, batch: list) -> None:
        if not batch:
            return
        events = list(batch)
        batch.clear()
        try:
            self._on_events(events)
        except Exception:  # a broken consumer must not kill the run (and leave the engine orphaned)
            log.exception("an event consumer failed")

    def _redact(self, text: str) -> str:
        for secret in self.launch.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    # --- samples ------------------------------------------------------------------------------
    def _scan_samples(self, *, final: bool) -> list:
        folder = self._samples_dir
        if folder is None:
            return []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return []
        found = []
        now = time.time()
        for entry in entries:
            if not entry.name.endswith(".png") or entry.path in self._reported_samples:
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            key = (stat.st_size, stat.st_mtime)
            # Report a file once it stopped growing: the engine writes it in place.
            if not final and (self._sample_sizes.get(entry.path) != key or now - stat.st_mtime < 0.2):
                self._sample_sizes[entry.path] = key
                continue
            sample = parse_sample_name(Path(entry.path))
            if sample is None:
                continue
            self._reported_samples.add(entry.path)
            self._sample_sizes.pop(entry.path, None)
            step = sample.step if sample.step is not None else (self.parser.step or None)
            prompt = self.parser.prompts.get(sample.index) or self._prompts.get(sample.index, "")
            found.append((step or 0, sample.index, ev.SampleImage(entry.path, step, sample.epoch, sample.index,
                                                                  prompt)))
        return [item[2] for item in sorted(found, key=lambda t: (t[0], t[1]))]


def _read_pipe(stream, chunks: queue.Queue) -> None:
    try:
        while True:
            data = stream.read(65536)
            if not data:
                break
            chunks.put(data)
    except (OSError, ValueError):
        pass
    finally:
        chunks.put(None)
