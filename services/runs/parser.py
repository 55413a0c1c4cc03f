"""Turning sd-scripts' console output into events.

The engine writes three kinds of text to one stream (stdout and stderr merged, as a terminal
would show them):

* rich log records: ``2026-11-23 17:23:37 INFO     message…   train_util.py:4744``; the time
  column is blank when it repeats, and long messages wrap onto continuation lines indented to the
  message column (about 32 characters wide on an 80-column console, so paths break mid-word);
* plain prints: ``epoch 1/1``, ``saving checkpoint: PATH``, tracebacks;
* tqdm progress bars, redrawn in place with ``\\r``: ``steps:  50%|█████| 2/4 [00:30<00:30,
  15.38s/it, avr_loss=1.05]``.

``LogParser.feed(text)`` takes whatever the pipe delivered (any chunking) and returns the events
it completes; ``flush()`` is called when the stream has been idle for a moment (a record or a bar
that is complete but not yet followed by anything) and ``close()`` at the end. The parser keeps
the last lines for the diagnosis of a failure. It is written for speed: most lines are decided by
a prefix test before any regular expression runs.
"""

from __future__ import annotations

import math
import re
from collections import deque

from services.runs import events as ev
from services.runs.tqdm_bar import BAR_NO_TOTAL, parse_postfix, parse_rate, parse_seconds, split_bar

# A rich record's first line: time (or its blank), level padded to 8, message, source path.
_LEVELS = {"DEBUG": ev.DEBUG, "INFO": ev.INFO, "WARNING": ev.WARNING, "ERROR": ev.ERROR, "CRITICAL": ev.ERROR}
_BLANK_TIME = " " * 20

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Invalid|Failure))(?::\s?(.*))?$")
_PY_WARNING = re.compile(r"^\S.*?:\d+: (\w*Warning): (.*)$")
_TRAILING_INT = re.compile(r"(\d+)\s*$")
_LEADING_INT = re.compile(r"(\d+)")
_STATE_STEP = re.compile(r"'current_step':\s*(\d+)")

_LOADING_PREFIXES = ("Loading dataset config", "prepare images", "loading model", "load Diffusers",
                     "load StableDiffusion", "Loading settings", "Using DreamBooth", "Train with captions",
                     "Using v1 tokenizer", "Using v2 tokenizer", "prepare dataset", "Building ")
_PREPARING_PRINTS = ("prepare optimizer", "import network module", "create LoRA", "enable LoRA")


def _folded(text: str, width: int) -> bool:
    """Rich moves a word that does not fit to the next line, and cuts a word longer than the
    column into column-wide pieces: a piece is a cut one when it is one word filling the column."""
    return width > 0 and len(text) >= width and " " not in text.strip()


def _record_start(line: str):
    """The first line of a rich record, or None. Hand-parsed: this runs for every record."""
    if line[19:20] != " ":
        return None
    level = _LEVELS.get(line[20:28].rstrip())
    if level is None or line[28:29] not in (" ", ""):
        return None
    if line[:1] != " " and not (line[:4].isdigit() and line[13:14] == ":" and line[16:17] == ":"):
        return None
    prefix = 29
    body = line[prefix:].rstrip()
    message, sep, source = body.rpartition(" ")
    if sep and ".py:" in source and source[-1:].isdigit():
        width = len(line) - prefix - len(source) - 1
        message = message.rstrip()
    else:
        message, width = body, len(line) - prefix
    return _Record(level, message, prefix, width)


class _Record:
    __slots__ = ("full", "level", "lines", "prefix", "spaces", "width")

    def __init__(self, level: str, message: str, prefix: int, width: int) -> None:
        self.level = level
        self.lines = [message.rstrip()]
        self.prefix = prefix
        self.width = width
        self.spaces = " " * prefix
        self.full = _folded(self.lines[0], width)

    def add(self, piece: str) -> None:
        text = piece.rstrip()
        if not text:
            self.lines.append("")
            self.full = False
            return
        if text[0] == " " or not self.lines[-1]:
            # Indented content (a table the engine prints) keeps its own lines.
            self.lines.append(text)
        elif self.full:
            self.lines[-1] += text
        else:
            self.lines[-1] += " " + text
        self.full = _folded(text, self.width)


class LogParser:
    """Incremental parser of one run's output; not thread-safe (one reader feeds it)."""

    TAIL_LINES = 400

    def __init__(self) -> None:
        self._pending = ""
        self._pending_seen = ""    # the last \r segment already reported by flush()
        self._record: _Record | None = None
        self._in_traceback = False
        self.lines = 0
        self.tail: deque[tuple[str, str]] = deque(maxlen=self.TAIL_LINES)
        # State, readable by the runner and the diagnosis.
        self.phase = ev.STARTING
        self._phase_detail = ""
        self.step = 0
        self.total_steps: int | None = None
        self.epoch = 0
        self.total_epochs: int | None = None
        self.last_loss: float | None = None
        self.nan_step: int | None = None
        self.sampling_step: int | None = None
        self.prompts: dict[int, str] = {}
        self._prompt_index = 0
        self._last_steps_postfix: str | None = None
        self._last_steps_n = -1
        self._last_loss_key: tuple[int, float] | None = None
        self._state_step = 0
        self._skip_steps = 0
        self._batches_per_epoch = 0
        self._grad_accum = 1
        self._offset: int | None = None
        self.checkpoints: list[str] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []

    # --- public ---------------------------------------------------------------------------
    def feed(self, text: str) -> list:
        out: list = []
        if not text:
            return out
        if self._pending:
            text = self._pending + text
            self._pending = ""
        if "\x1b" in text:  # colours, and tqdm's cursor-up after a nested bar
            text = _ANSI.sub("", text)
        if "\n" in text:
            parts = text.split("\n")
            text = parts.pop()
            line = self._line
            for part in parts:
                line(part, out)
        if text:
            if "\r" in text:
                segments = text.split("\r")
                text = segments.pop()
                if self._record is not None and any(segments):
                    self._close_record(out)  # a bar is being drawn: the record before it is complete
                for segment in segments:
                    if segment and segment != self._pending_seen:
                        self._progress_segment(segment, out)
                self._pending_seen = "" if text != self._pending_seen else text
                text = "\r" + text
            self._pending = text
        return out

    def flush(self) -> list:
        """The stream went quiet: report what is complete but not yet terminated."""
        out: list = []
        if self._record is not None:
            self._close_record(out)
        pending = self._pending.lstrip("\r")
        if (pending and pending != self._pending_seen and pending.rstrip().endswith("]") and "%|" in pending
                and self._progress_segment(pending, out)):
            self._pending_seen = pending
        return out

    def close(self) -> list:
        out: list = []
        if self._pending:
            pending, self._pending = self._pending, ""
            self._line(pending, out)
        if self._record is not None:
            self._close_record(out)
        return out

    def tail_text(self) -> list[str]:
        return [text for text, _level in self.tail]

    # --- lines ------------------------------------------------------------------------------
    def _line(self, line: str, out: list) -> None:
        self.lines += 1
        if "\r" in line:
            segments = [s for s in line.split("\r") if s]
            if not segments:
                return
            last = segments.pop()
            if self._record is not None:
                self._close_record(out)
            seen = self._pending_seen
            for segment in segments:
                if segment != seen:
                    self._progress_segment(segment, out)
            is_bar = last == seen or self._progress_segment(last, out)
            self._pending_seen = ""
            if is_bar:
                text = last.strip()
                out.append(ev.LogLine(text, ev.PROGRESS))
                self.tail.append((text, ev.PROGRESS))
                return
            line = last
            bar_at = last.find("%|")
            close = last.find("]", bar_at) if bar_at >= 0 else -1
            if close > 0:
                # Something was written after a bar without a newline first (a log record
                # right after tqdm's redraw): the bar, then the rest as a line of its own.
                drawn = last[:close + 1]
                if drawn == seen or self._progress_segment(drawn, out):
                    text = drawn.strip()
                    out.append(ev.LogLine(text, ev.PROGRESS))
                    self.tail.append((text, ev.PROGRESS))
                    line = last[close + 1:]
        record = self._record
        if record is not None:
            if line.startswith(record.spaces):
                record.add(line[record.prefix:])
                return
            self._close_record(out)
        first = line[:1]
        if (first.isdigit() and line[4:5] == "-") or (first == " " and line.startswith(_BLANK_TIME)
                                                      and line[20:21] not in (" ", "")):
            record = _record_start(line)
            if record is not None:
                self._record = record
                return
        self._plain(line, out)

    def _close_record(self, out: list) -> None:
        record, self._record = self._record, None
        lines = record.lines
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        message = "\n".join(lines)
        level = record.level
        if not message:
            return  # the engine logs "" to move off a progress bar's line
        out.append(ev.LogLine(message, level))
        self.tail.append((message, level))
        first = lines[0]
        if level == ev.WARNING:
            self.warnings.append(message)
            out.append(ev.Warning_(message))
        elif level == ev.ERROR:
            self.errors.append(message)
            out.append(ev.Error(message))
        if not first:
            return
        c = first[0]
        if c == "c" and first.startswith("caching"):
            self._set_phase(ev.CACHING, out, first.rstrip(". "))
        elif c == "p" and first.startswith("prompt: "):
            step = self.sampling_step if self.sampling_step is not None else self.step
            prompt = first[8:]
            self.prompts[self._prompt_index] = prompt
            out.append(ev.SamplePrompt(step, self._prompt_index, prompt))
            self._prompt_index += 1
        elif c == "g" and first.startswith("generating sample images"):
            m = _TRAILING_INT.search(first)
            step = int(m.group(1)) if m else self.step
            self.sampling_step = step
            self._prompt_index = 0
            self._set_phase(ev.SAMPLING, out)
            out.append(ev.SamplingStarted(step))
        elif c == "s" and (first.startswith("saving state at ") or first.startswith("saving last state")):
            m = _TRAILING_INT.search(first)
            kind = "last" if "last" in first else ("epoch" if "epoch" in first else "step")
            self._set_phase(ev.SAVING, out, "training state")
            out.append(ev.StateSaved(kind, int(m.group(1)) if m else None))
        elif c == "m" and first.startswith("model saved"):
            self._set_phase(ev.FINISHED, out)
        elif c == "r" and first.startswith("resume training from local state: "):
            out.append(ev.Resumed(first.split(": ", 1)[1].strip()))
        elif c == "l" and first.startswith("load train state from "):
            m = _STATE_STEP.search(message)
            if m:
                self._state_step = int(m.group(1))
        elif c == "s" and first.startswith("skipping ") and " steps" in first:
            m = _LEADING_INT.search(first)
            if m:
                self._skip_steps = int(m.group(1))
        elif first.startswith(_LOADING_PREFIXES):
            if self.phase == ev.STARTING:
                self._set_phase(ev.LOADING, out)
        elif first.startswith(("create LoRA", "create network", "enable LoRA")) and self.phase in (
                ev.STARTING, ev.LOADING, ev.CACHING):
            self._set_phase(ev.PREPARING, out)

    def _plain(self, line: str, out: list) -> None:
        text = line.rstrip()
        if not text:
            return
        level = ev.PLAIN
        c = text[0]
        if c == "e" and text.startswith("epoch "):
            head, _, tail = text[6:].partition("/")
            if head.isdigit() and tail.isdigit():
                self.epoch, self.total_epochs = int(head), int(tail)
                out.append(ev.Epoch(self.epoch, self.total_epochs))
        elif c == "s" and text.startswith("saving checkpoint: "):
            path = text[19:].strip()
            self.checkpoints.append(path)
            self._set_phase(ev.SAVING, out, "checkpoint")
            out.append(ev.CheckpointSaved(path, self.step or None, self.epoch or None))
        elif c == "r" and text.startswith("removing old checkpoint: "):
            out.append(ev.CheckpointRemoved(text[25:].strip()))
        elif c == "r" and text.startswith("running training"):
            self._set_phase(ev.TRAINING, out)
        elif c == " " and "optimization steps" in text:
            m = _TRAILING_INT.search(text)
            if m:
                self.total_steps = int(m.group(1))
                out.append(ev.TotalSteps(self.total_steps))
        elif c == " " and text.startswith("  num epochs"):
            m = _TRAILING_INT.search(text)
            if m:
                self.total_epochs = int(m.group(1))
        elif c == " " and text.startswith("  num batches per epoch"):
            m = _TRAILING_INT.search(text)
            if m:
                self._batches_per_epoch = int(m.group(1))
        elif c == " " and text.startswith("  gradient accumulation steps"):
            m = _TRAILING_INT.search(text)
            if m:
                self._grad_accum = max(1, int(m.group(1)))
        elif text.startswith(_PREPARING_PRINTS):
            if self.phase in (ev.STARTING, ev.LOADING, ev.CACHING):
                self._set_phase(ev.PREPARING, out)
        elif c == "T" and text.startswith("Traceback (most recent call last)"):
            self._in_traceback = True
            level = ev.ERROR
        elif c != " " and c != "\t":
            m = _EXCEPTION.match(text)
            if m is not None:
                level = ev.ERROR
                self._in_traceback = False
                self.errors.append(text)
                out.append(ev.Error(text))
            elif "Warning: " in text:
                m = _PY_WARNING.match(text)
                if m is not None:
                    level = ev.WARNING
                    self.warnings.append(text)
                    out.append(ev.Warning_(text))
            elif text.startswith(("ERROR", "error:", "fatal error", "RuntimeError", "Error:")):
                level = ev.ERROR
                self.errors.append(text)
                out.append(ev.Error(text))
        elif self._in_traceback:
            level = ev.ERROR
        out.append(ev.LogLine(text, level))
        self.tail.append((text, level))

    # --- progress bars ------------------------------------------------------------------------
    def _progress_segment(self, segment: str, out: list) -> bool:
        bar = split_bar(segment)
        if bar is None:
            m = BAR_NO_TOTAL.match(segment) if segment.rstrip().endswith("]") else None
            if m is None:
                return False
            out.append(ev.Progress(m.group("label").strip(), int(m.group("n")), None, parse_seconds(m.group("elapsed")),
                                   None, parse_rate(m.group("rate"), m.group("unit"))))
            return True
        label, n, total, elapsed, remaining, rate, raw_postfix = bar
        if label != "steps":
            if not label:
                label = self._phase_detail or ev.PHASE_LABELS.get(self.phase, "")
            out.append(ev.Progress(label, n, total, elapsed, remaining, rate))
            return True
        postfix = parse_postfix(raw_postfix)
        loss = postfix.get("avr_loss", postfix.get("loss"))
        loss = loss if isinstance(loss, float) else None
        lr = None
        for key, value in postfix.items():
            if (key == "lr" or key.startswith("lr/")) and isinstance(value, float):
                lr = value
                break
        if self._offset is None:
            self._offset = self._resume_offset()
        offset = self._offset
        if offset:
            # A resumed run: the engine's bar restarts at 0; report steps of the whole run.
            n += offset
            total = max(total + (offset if self._skip_steps else 0), self.total_steps or 0)
            remaining = (total - n) / rate if rate else None
        elif self.total_steps != total:
            self.total_steps = total
        if self.phase != ev.TRAINING and self.phase != ev.FINISHED and n >= self.step:
            self._set_phase(ev.TRAINING, out)
        self.step = n
        out.append(ev.Step(n, total, elapsed, remaining, rate, loss, lr, postfix))
        # tqdm redraws on update() with the previous postfix, then again on setpostfix() with the
        # new one: a loss belongs to step n when the postfix changed or the step did not.
        if loss is not None and (raw_postfix != self._last_steps_postfix or n == self._last_steps_n):
            key = (n, loss)
            if key != self._last_loss_key:
                self._last_loss_key = key
                self.last_loss = loss
                out.append(ev.Loss(n, loss))
                if lr is not None:
                    out.append(ev.LearningRate(n, lr))
                if not math.isfinite(loss) and self.nan_step is None:
                    self.nan_step = n
                    message = (f"The loss became {loss} at step {n}: training is diverging and further "
                               "steps are wasted.")
                    self.warnings.append(message)
                    out.append(ev.Warning_(message))
        self._last_steps_postfix = raw_postfix
        self._last_steps_n = n
        return True

    def _resume_offset(self) -> int:
        """Where a resumed run's bar starts in the whole run. With ``skip_until_initial_step`` the
        engine skips exactly the saved steps; otherwise it restarts at the saved epoch's start."""
        if self._skip_steps:
            return self._skip_steps
        if not self._state_step or not self._batches_per_epoch:
            return 0
        per_epoch = math.ceil(self._batches_per_epoch / self._grad_accum)
        return (self._state_step // per_epoch) * per_epoch

    # --- phases -----------------------------------------------------------------------------
    def _set_phase(self, phase: str, out: list, detail: str = "") -> None:
        if phase == self.phase and detail == self._phase_detail:
            return
        if self.phase == ev.FINISHED and phase != ev.FINISHED:
            return
        self.phase = phase
        self._phase_detail = detail
        out.append(ev.Phase(phase, detail))


def parse_text(text: str) -> tuple[LogParser, list]:
    """Parse a whole transcript at once (tests, history replay)."""
    parser = LogParser()
    events = parser.feed(text)
    events += parser.close()
    return parser, events
