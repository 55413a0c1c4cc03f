"""What a monitor shows about one run, folded from its events: progress, loss curve (raw and
smoothed), samples by step, checkpoints, warnings, the end and its diagnosis.

Plain Python, shared by the GUI's monitor dock and the terminal display, so both tell the same story.
Memory stays bounded on long runs: the loss curve keeps one point per step (a 100,000-step run is
100,000 floats), and the warnings kept are capped.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from services.runs import events as ev

SMOOTHING = 0.9  # weight of the past in the smoothed loss (TensorBoard's default)
MAX_WARNINGS = 200


@dataclass
class MonitorState:
    run_dir: str = ""
    state: str = "idle"          # idle, running, stopping, succeeded, failed, stopped
    phase: str = ""
    phase_detail: str = ""
    step: int = 0
    total_steps: int | None = None
    epoch: int = 0
    total_epochs: int | None = None
    it_per_s: float | None = None
    elapsed_s: float | None = None
    remaining_s: float | None = None
    progress_label: str = ""     # a bar other than the steps (caching latents 3/8)
    progress_n: int = 0
    progress_total: int | None = None
    loss_steps: list[int] = field(default_factory=list)
    loss_values: list[float] = field(default_factory=list)
    loss_smoothed: list[float] = field(default_factory=list)
    lr: float | None = None
    samples: dict[int, list[ev.SampleImage]] = field(default_factory=dict)
    checkpoints: list[ev.CheckpointSaved] = field(default_factory=list)
    states_saved: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stalled_s: float | None = None
    exit_code: int | None = None
    diagnosis: object = None
    pid: int = 0
    attempt: int = 0
    started_at: float | None = None
    version: int = 0             # bumped on every change, for cheap "anything new?" checks
    loss_version: int = 0
    samples_version: int = 0
    checkpoints_version: int = 0

    # --- folding events -----------------------------------------------------------------------
    def apply(self, events: list) -> None:
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)
        if events:
            self.version += 1

    def _started(self, e: ev.Started) -> None:
        self.state = "running"
        self.pid = e.pid
        self.attempt = e.attempt
        self.run_dir = e.run_dir
        self.started_at = time.time()
        self.exit_code = None
        self.diagnosis = None
        self.stalled_s = None
        self.phase = ev.STARTING

    def _phase(self, e: ev.Phase) -> None:
        self.phase, self.phase_detail = e.name, e.detail
        if e.name != ev.CACHING:
            self.progress_label = ""

    def _epoch(self, e: ev.Epoch) -> None:
        self.epoch, self.total_epochs = e.current, e.total

    def _total(self, e: ev.TotalSteps) -> None:
        self.total_steps = e.total

    def _progress(self, e: ev.Progress) -> None:
        self.progress_label, self.progress_n, self.progress_total = e.label, e.n, e.total

    def _step(self, e: ev.Step) -> None:
        self.step, self.total_steps = e.step, e.total
        self.elapsed_s, self.remaining_s = e.elapsed_s, e.remaining_s
        if e.it_per_s is not None:
            self.it_per_s = e.it_per_s
        if e.lr is not None:
            self.lr = e.lr
        self.stalled_s = None

    def _loss(self, e: ev.Loss) -> None:
        steps, values, smoothed = self.loss_steps, self.loss_values, self.loss_smoothed
        if steps and e.step <= steps[-1]:
            # The same step again (tqdm's second redraw), or a restart from an earlier state:
            # what came after it is superseded.
            while steps and steps[-1] >= e.step:
                steps.pop()
                values.pop()
                smoothed.pop()
        previous = smoothed[-1] if smoothed else None
        value = e.value
        if previous is None or not math.isfinite(previous):
            smooth = value
        elif not math.isfinite(value):
            smooth = previous
        else:
            smooth = SMOOTHING * previous + (1 - SMOOTHING) * value
        steps.append(e.step)
        values.append(value)
        smoothed.append(smooth)
        self.loss_version += 1

    def _lr(self, e: ev.LearningRate) -> None:
        self.lr = e.value

    def _checkpoint(self, e: ev.CheckpointSaved) -> None:
        self.checkpoints.append(e)
        self.checkpoints_version += 1

    def _removed(self, e: ev.CheckpointRemoved) -> None:
        before = len(self.checkpoints)
        self.checkpoints = [c for c in self.checkpoints if c.path != e.path]
        if len(self.checkpoints) != before:
            self.checkpoints_version += 1

    def _state_saved(self, _e: ev.StateSaved) -> None:
        self.states_saved += 1

    def _sample(self, e: ev.SampleImage) -> None:
        key = e.step if e.step is not None else -(e.epoch or 0)
        images = self.samples.setdefault(key, [])
        if all(s.path != e.path for s in images):
            images.append(e)
            images.sort(key=lambda s: s.index)
            self.samples_version += 1

    def _warning(self, e: ev.Warning_) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(e.message)

    def _error(self, e: ev.Error) -> None:
        if len(self.errors) < MAX_WARNINGS:
            self.errors.append(e.message)

    def _stalled(self, e: ev.Stalled) -> None:
        self.stalled_s = e.seconds

    def _stopping(self, _e: ev.Stopping) -> None:
        self.state = "stopping"

    def _ended(self, e: ev.Ended) -> None:
        self.state = e.state
        self.exit_code = e.exit_code
        self.diagnosis = e.diagnosis
        self.pid = 0
        self.stalled_s = None
        self.remaining_s = 0 if e.state == "succeeded" else None

    # --- readings ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state in ("running", "stopping")

    @property
    def last_loss(self) -> float | None:
        return self.loss_values[-1] if self.loss_values else None

    @property
    def fraction(self) -> float:
        if self.total_steps:
            return min(1.0, self.step / self.total_steps)
        return 0.0

    def sample_steps(self) -> list[int]:
        """Keys of ``samples``, newest first: steps (>= 0), then end-of-epoch samples whose step is
        unknown (a reopened run), keyed by minus their epoch."""
        return sorted(self.samples, key=lambda k: (k >= 0, abs(k)), reverse=True)


_HANDLERS = {
    ev.Started: MonitorState._started, ev.Phase: MonitorState._phase, ev.Epoch: MonitorState._epoch,
    ev.TotalSteps: MonitorState._total, ev.Progress: MonitorState._progress, ev.Step: MonitorState._step,
    ev.Loss: MonitorState._loss, ev.LearningRate: MonitorState._lr, ev.CheckpointSaved: MonitorState._checkpoint,
    ev.CheckpointRemoved: MonitorState._removed, ev.StateSaved: MonitorState._state_saved,
    ev.SampleImage: MonitorState._sample, ev.Warning_: MonitorState._warning, ev.Error: MonitorState._error,
    ev.Stalled: MonitorState._stalled, ev.Stopping: MonitorState._stopping, ev.Ended: MonitorState._ended,
}


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def format_rate(it_per_s: float | None) -> str:
    if not it_per_s:
        return "–"
    return f"{it_per_s:.2f} it/s" if it_per_s >= 1 else f"{1 / it_per_s:.2f} s/it"
