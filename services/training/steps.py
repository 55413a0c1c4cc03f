"""Step arithmetic, as sd-scripts does it, with an explanation a person can follow.

    images x repeats (+ regularisation, repeated to match)  / batch  / GPUs  / accumulation
      = steps per epoch;  x epochs = total steps   (unless max_train_steps decides)

sd-scripts' own rule is that epochs override steps when both are given; LoRA Studio lets an explicit
step count decide instead (the emitter then leaves the epochs out), and never falls back silently to
the engine's default of 1,600 steps: with neither set there is no plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SubsetCount:
    name: str
    images: int
    repeats: int
    is_reg: bool = False

    @property
    def views(self) -> int:
        return self.images * self.repeats


@dataclass(frozen=True)
class StepPlan:
    subsets: tuple[SubsetCount, ...]
    train_views: int               # training images x repeats, per epoch
    reg_views: int                 # regularisation images x repeats available
    reg_used: int                  # regularisation views actually used per epoch
    samples_per_epoch: int
    batch_size: int
    processes: int
    accumulation: int
    batches_per_epoch: int
    steps_per_epoch: int
    epochs: int | None
    total_steps: int | None
    decided_by: str                # "epochs", "max_train_steps" or "nothing"
    validation_split: float = 0.0
    lines: tuple[str, ...] = field(default=())

    @property
    def explanation(self) -> str:
        return "\n".join(self.lines)

    @property
    def summary(self) -> str:
        if self.total_steps is None:
            return "no step count: set epochs or steps"
        return (f"{self.total_steps:,} steps ({self.steps_per_epoch:,} per epoch"
                + (f" x {self.epochs} epochs)" if self.decided_by == "epochs" else ")"))


def plan_steps(values: Mapping[str, Any], subsets: Sequence[SubsetCount]) -> StepPlan:
    """The step plan for resolved ``values`` and counted subsets."""
    batch = _positive_int(values.get("train_batch_size"), 1)
    accumulation = _positive_int(values.get("gradient_accumulation_steps"), 1)
    processes = _positive_int(values.get("accelerate.num_processes"), 1) \
        * _positive_int(values.get("accelerate.num_machines"), 1)
    split = values.get("validation_split") or 0.0
    split = float(split) if isinstance(split, (int, float)) and not isinstance(split, bool) else 0.0

    train = [s for s in subsets if not s.is_reg]
    reg = [s for s in subsets if s.is_reg]
    lines: list[str] = []
    for s in subsets:
        kind = "regularisation" if s.is_reg else "training"
        lines.append(f"{s.name}: {s.images:,} images x {s.repeats} repeats = {s.views:,} {kind} views")
    train_views = sum(s.views for s in train)
    if split > 0:
        kept = train_views - sum(math.floor(s.views * split) for s in train)
        lines.append(f"validation holds back about {split:.0%}: {kept:,} of {train_views:,} views train")
        train_views = kept
    reg_views = sum(s.views for s in reg)
    reg_used = train_views if reg_views > 0 else 0
    if reg_views:
        lines.append(f"regularisation images are repeated or cut to match the training views: +{reg_used:,} "
                     f"({reg_views:,} available)")
    samples = train_views + reg_used
    batches = math.ceil(samples / batch) if samples else 0
    lines.append(f"{samples:,} views per epoch / batch size {batch} = {batches:,} batches per epoch"
                 + (" (aspect-ratio buckets fill separately, which can add a few)" if batch > 1 else ""))
    per_epoch = math.ceil(batches / processes / accumulation) if batches else 0
    if processes > 1 or accumulation > 1:
        lines.append(f"{batches:,} batches / {processes} process(es) / {accumulation} accumulated = "
                     f"{per_epoch:,} optimizer steps per epoch")
    else:
        lines.append(f"= {per_epoch:,} optimizer steps per epoch")

    steps = values.get("max_train_steps")
    epochs = values.get("max_train_epochs")
    if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0:
        decided, total = "max_train_steps", steps
        run_epochs = math.ceil(steps / per_epoch) if per_epoch else None
        lines.append(f"'Steps' is set to {steps:,}: it decides the length"
                     + (f" (about {run_epochs} epochs); the epoch count is not used" if run_epochs else ""))
    elif isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > 0:
        decided, total, run_epochs = "epochs", per_epoch * epochs, epochs
        lines.append(f"{per_epoch:,} steps x {epochs} epochs = {total:,} steps")
    else:
        decided, total, run_epochs = "nothing", None, None
        lines.append("neither epochs nor steps is set, so the length is undecided (sd-scripts would silently "
                     "train 1,600 steps)")
    return StepPlan(tuple(subsets), train_views, reg_views, reg_used, samples, batch, processes, accumulation,
                    batches, per_epoch, run_epochs, total, decided, split, tuple(lines))


def _positive_int(value: Any, fallback: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return fallback
