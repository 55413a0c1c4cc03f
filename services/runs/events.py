"""What a training run reports, as plain values: the parser and the runner produce these events,
the monitor dock and the terminal display consume them.

Every event is a small slotted dataclass (cheap to create: a fast run prints thousands of lines a
second); once emitted an event is never modified, so batches cross threads safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Phases, in the order a run normally goes through them.
STARTING = "starting"
LOADING = "loading"            # reading the dataset and loading the model
CACHING = "caching"            # caching latents or text-encoder outputs
PREPARING = "preparing"        # building the network, optimizer and data loader
TRAINING = "training"
SAMPLING = "sampling"          # generating sample images
SAVING = "saving"              # writing a checkpoint or a training state
FINISHED = "finished"          # the engine said the final model was saved

PHASES = (STARTING, LOADING, CACHING, PREPARING, TRAINING, SAMPLING, SAVING, FINISHED)
PHASE_LABELS = {
    STARTING: "Starting", LOADING: "Loading model and dataset", CACHING: "Caching",
    PREPARING: "Preparing", TRAINING: "Training", SAMPLING: "Generating samples",
    SAVING: "Saving", FINISHED: "Finished",
}

# Log levels of LogLine.
INFO, WARNING, ERROR, PLAIN, PROGRESS, DEBUG = "info", "warning", "error", "plain", "progress", "debug"


@dataclass(slots=True)
class LogLine:
    """One line for the log view: a joined rich record, a print, or the final state of a bar."""
    text: str
    level: str = PLAIN


@dataclass(slots=True)
class Phase:
    name: str
    detail: str = ""


@dataclass(slots=True)
class Epoch:
    current: int
    total: int


@dataclass(slots=True)
class TotalSteps:
    total: int


@dataclass(slots=True)
class Progress:
    """A progress bar other than the training steps (caching latents, loading the pipeline...)."""
    label: str
    n: int
    total: int | None
    elapsed_s: float | None = None
    remaining_s: float | None = None
    rate: float | None = None  # items per second


@dataclass(slots=True)
class Step:
    """The training progress bar moved (or its postfix changed)."""
    step: int
    total: int
    elapsed_s: float | None
    remaining_s: float | None
    it_per_s: float | None
    loss: float | None = None
    lr: float | None = None
    postfix: dict = field(default_factory=dict, compare=False)


@dataclass(slots=True)
class Loss:
    """The engine's average loss at ``step``. A second Loss for the same step replaces the first
    (tqdm prints the step once before and once after the new average is known)."""
    step: int
    value: float


@dataclass(slots=True)
class LearningRate:
    step: int
    value: float


@dataclass(slots=True)
class CheckpointSaved:
    path: str
    step: int | None = None
    epoch: int | None = None


@dataclass(slots=True)
class CheckpointRemoved:
    path: str


@dataclass(slots=True)
class StateSaved:
    """A resumable training state was written (``--save_state``)."""
    kind: str  # "step", "epoch" or "last"
    number: int | None = None


@dataclass(slots=True)
class SamplingStarted:
    step: int


@dataclass(slots=True)
class SamplePrompt:
    """The engine logged the prompt of the next sample image (in prompt-file order)."""
    step: int
    index: int
    prompt: str


@dataclass(slots=True)
class SampleImage:
    """A sample image appeared in the output folder (found by the runner, not the parser)."""
    path: str
    step: int | None
    epoch: int | None
    index: int
    prompt: str = ""


@dataclass(slots=True)
class Resumed:
    state_path: str


@dataclass(slots=True)
class Warning_:
    message: str


@dataclass(slots=True)
class Error:
    message: str


@dataclass(slots=True)
class Stalled:
    """No output for ``seconds``: the engine may be hung (or busy in a long silent step)."""
    seconds: float


# Events the runner itself adds around the engine's output.

@dataclass(slots=True)
class Started:
    pid: int
    command: str
    run_dir: str
    attempt: int = 1


@dataclass(slots=True)
class Stopping:
    reason: str = "user"


@dataclass(slots=True)
class Ended:
    """The process tree is gone. ``state`` is succeeded, failed or stopped."""
    state: str
    exit_code: int | None
    diagnosis: object = None  # services.runs.diagnosis.Diagnosis, or None on success


Event = (LogLine | Phase | Epoch | TotalSteps | Progress | Step | Loss | LearningRate | CheckpointSaved
         | CheckpointRemoved | StateSaved | SamplingStarted | SamplePrompt | SampleImage | Resumed | Warning_
         | Error | Stalled | Started | Stopping | Ended)
