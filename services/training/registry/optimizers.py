"""Optimizers and learning-rate schedulers that ``optimizer_type`` / ``lr_scheduler`` choose from.

``id`` is exactly what sd-scripts expects in ``optimizer_type`` (it compares lower-cased, and falls
back to importing ``module.Class`` for anything it does not know by name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Optimizer:
    id: str
    label: str
    help: str
    package: str | None = None        # pip package needed in the backend (None: torch/transformers)
    import_name: str | None = None    # module to import to check that it is installed
    eight_bit: bool = False
    adaptive: bool = False            # finds its own step size: the learning rate is a multiplier (~1.0)
    schedule_free: bool = False       # has no use for an LR schedule
    fused_backward: bool = False      # works with fused_backward_pass

    @property
    def key(self) -> str:
        return self.id.lower()


_BNB = ("bitsandbytes", "bitsandbytes")

OPTIMIZERS: tuple[Optimizer, ...] = (
    Optimizer("AdamW", "AdamW", "The standard choice: adaptive per-weight steps with decoupled weight decay."),
    Optimizer("AdamW8bit", "AdamW 8-bit", "AdamW with its state stored in 8 bits: about a quarter of the "
              "optimizer memory, nearly the same results. Needs bitsandbytes.", *_BNB, eight_bit=True),
    Optimizer("PagedAdamW", "Paged AdamW", "AdamW whose state can spill to system RAM when VRAM runs out.",
              *_BNB),
    Optimizer("PagedAdamW8bit", "Paged AdamW 8-bit", "8-bit AdamW whose state can spill to system RAM.",
              *_BNB, eight_bit=True),
    Optimizer("PagedAdamW32bit", "Paged AdamW 32-bit", "Full-precision AdamW state that can spill to system RAM.",
              *_BNB),
    Optimizer("Lion", "Lion", "Sign-based updates with one momentum buffer: less memory than AdamW; use a "
              "learning rate 3 to 10 times lower.", "lion-pytorch", "lion_pytorch"),
    Optimizer("Lion8bit", "Lion 8-bit", "Lion with 8-bit state.", *_BNB, eight_bit=True),
    Optimizer("PagedLion8bit", "Paged Lion 8-bit", "8-bit Lion whose state can spill to system RAM.",
              *_BNB, eight_bit=True),
    Optimizer("SGDNesterov", "SGD with Nesterov momentum", "Plain momentum SGD: least memory, needs careful "
              "learning-rate tuning."),
    Optimizer("SGDNesterov8bit", "SGD Nesterov 8-bit", "Momentum SGD with 8-bit state.", *_BNB, eight_bit=True),
    Optimizer("bitsandbytes.optim.AdEMAMix8bit", "AdEMAMix 8-bit", "Adam with a second, slow momentum that "
              "remembers older gradients; 8-bit state.", *_BNB, eight_bit=True),
    Optimizer("bitsandbytes.optim.PagedAdEMAMix8bit", "Paged AdEMAMix 8-bit", "AdEMAMix 8-bit whose state can "
              "spill to system RAM.", *_BNB, eight_bit=True),
    Optimizer("Adafactor", "Adafactor", "Factored second moments: much less memory than Adam. Required by "
              "fused_backward_pass. With relative_step=False it uses your learning rate.", fused_backward=True),
    Optimizer("Prodigy", "Prodigy", "Estimates its own step size: keep the learning rate at 1.0 and use it as "
              "a multiplier. Popular for LoRA when you do not want to tune the rate.", "prodigyopt",
              "prodigyopt", adaptive=True),
    Optimizer("DAdaptation", "D-Adaptation (Adam, preprint)", "Learning-rate-free Adam from the D-Adaptation "
              "paper; learning rate 1.0.", "dadaptation", "dadaptation", adaptive=True),
    Optimizer("DAdaptAdam", "D-Adapt Adam", "Learning-rate-free Adam; learning rate 1.0.", "dadaptation",
              "dadaptation", adaptive=True),
    Optimizer("DAdaptAdaGrad", "D-Adapt AdaGrad", "Learning-rate-free AdaGrad; learning rate 1.0.",
              "dadaptation", "dadaptation", adaptive=True),
    Optimizer("DAdaptAdan", "D-Adapt Adan", "Learning-rate-free Adan; learning rate 1.0.", "dadaptation",
              "dadaptation", adaptive=True),
    Optimizer("DAdaptAdanIP", "D-Adapt Adan IP", "Learning-rate-free Adan, improved variant; learning rate 1.0.",
              "dadaptation", "dadaptation", adaptive=True),
    Optimizer("DAdaptLion", "D-Adapt Lion", "Learning-rate-free Lion; learning rate 1.0.", "dadaptation",
              "dadaptation", adaptive=True),
    Optimizer("DAdaptSGD", "D-Adapt SGD", "Learning-rate-free SGD; learning rate 1.0.", "dadaptation",
              "dadaptation", adaptive=True),
    Optimizer("AdamWScheduleFree", "AdamW schedule-free", "AdamW that needs no learning-rate schedule: it "
              "averages its iterates instead. Use the constant scheduler.", "schedulefree", "schedulefree",
              schedule_free=True),
    Optimizer("RAdamScheduleFree", "RAdam schedule-free", "Rectified Adam without a schedule; no warmup needed.",
              "schedulefree", "schedulefree", schedule_free=True),
    Optimizer("SGDScheduleFree", "SGD schedule-free", "SGD without a schedule.", "schedulefree", "schedulefree",
              schedule_free=True),
    Optimizer("prodigyplus.ProdigyPlusScheduleFree", "Prodigy+ schedule-free", "Prodigy's step-size estimate "
              "combined with schedule-free averaging; learning rate 1.0, constant scheduler.",
              "prodigy-plus-schedule-free", "prodigyplus", adaptive=True, schedule_free=True),
    Optimizer("pytorch_optimizer.CAME", "CAME", "Confidence-guided adaptive memory-efficient optimizer: "
              "Adafactor-like memory with Adam-like stability.", "pytorch-optimizer", "pytorch_optimizer"),
)

_BY_KEY = {o.key: o for o in OPTIMIZERS}
OPTIMIZER_IDS: tuple[str, ...] = tuple(o.id for o in OPTIMIZERS)


def optimizer(optimizer_type: str | None) -> Optimizer | None:
    """The catalogued optimizer for an ``optimizer_type`` value (None for a custom module.Class)."""
    return _BY_KEY.get((optimizer_type or "AdamW").lower())


def optimizer_keys(*ids: str) -> frozenset[str]:
    return frozenset(i.lower() for i in ids)


EIGHT_BIT = frozenset(o.key for o in OPTIMIZERS if o.eight_bit)
ADAPTIVE = frozenset(o.key for o in OPTIMIZERS if o.adaptive)
ADAM_LIKE = optimizer_keys("AdamW", "AdamW8bit", "PagedAdamW", "PagedAdamW8bit", "PagedAdamW32bit",
                           "bitsandbytes.optim.AdEMAMix8bit", "bitsandbytes.optim.PagedAdEMAMix8bit",
                           "AdamWScheduleFree", "RAdamScheduleFree", "pytorch_optimizer.CAME")
LION_LIKE = optimizer_keys("Lion", "Lion8bit", "PagedLion8bit", "DAdaptLion")
DADAPT = frozenset(k for k in _BY_KEY if k.startswith("dadapt"))
SCHEDULE_FREE = frozenset(o.key for o in OPTIMIZERS if o.schedule_free)


@dataclass(frozen=True)
class Scheduler:
    id: str
    label: str
    help: str
    warmup: bool = True          # accepts lr_warmup_steps
    needs_optimizer: str | None = None


SCHEDULERS: tuple[Scheduler, ...] = (
    Scheduler("constant", "Constant", "The same learning rate for the whole run.", warmup=False),
    Scheduler("constant_with_warmup", "Constant with warmup", "Ramps up over the warmup steps, then constant."),
    Scheduler("linear", "Linear", "Falls in a straight line to zero at the last step."),
    Scheduler("cosine", "Cosine", "Falls along a half cosine to zero: slow at first and at the end."),
    Scheduler("cosine_with_restarts", "Cosine with restarts", "Several cosine cycles, each starting again at the "
              "full rate (the number of cycles is set separately)."),
    Scheduler("cosine_with_min_lr", "Cosine with a floor", "Cosine that stops at a minimum fraction of the rate."),
    Scheduler("polynomial", "Polynomial", "Falls as a power curve; power 1 is linear."),
    Scheduler("inverse_sqrt", "Inverse square root", "Falls with the inverse square root of the step."),
    Scheduler("warmup_stable_decay", "Warmup, stable, decay", "Warmup, a long constant phase, then a decay over "
              "the decay steps at the end."),
    Scheduler("piecewise_constant", "Piecewise constant", "Constant rates that change at given steps "
              "(set step_rules in the scheduler arguments).", warmup=False),
    Scheduler("adafactor", "Adafactor's own", "The schedule built into Adafactor with relative steps; only with "
              "the Adafactor optimizer.", warmup=False, needs_optimizer="adafactor"),
)
SCHEDULER_IDS: tuple[str, ...] = tuple(s.id for s in SCHEDULERS)
_SCHED = {s.id: s for s in SCHEDULERS}


def scheduler(name: str | None) -> Scheduler | None:
    return _SCHED.get((name or "").lower())
