"""Optimizer and scheduler: learning rates, the optimizer with its own arguments, the LR schedule.

Optimizer arguments are read by sd-scripts as Python literals (``betas=(0.9,0.99)``,
``decouple=True``); the emitter writes them that way.
"""

from __future__ import annotations

from services.training.families import FULL_MODES, SD12, Family, Mode
from services.training.registry._decl import (
    BOOL,
    CHOICE,
    FLOAT,
    FLOAT_LIST,
    INT,
    INT_OR_FLOAT,
    KV_LIST,
    STR,
    declarer,
)
from services.training.registry.optimizers import (
    ADAM_LIKE,
    ADAPTIVE,
    DADAPT,
    LION_LIKE,
    OPTIMIZER_IDS,
    SCHEDULE_FREE,
    SCHEDULER_IDS,
    SCHEDULERS,
    optimizer_keys,
)
from services.training.registry.spec import Group, Target

p = declarer(Group.OPTIMIZER)
LORA = {Mode.LORA}
_WARMUP = frozenset(s.id for s in SCHEDULERS if s.warmup)
_PRODIGY = optimizer_keys("Prodigy", "prodigyplus.ProdigyPlusScheduleFree")
_DECAY = ADAM_LIKE | LION_LIKE | ADAPTIVE | optimizer_keys("SGDNesterov", "SGDNesterov8bit", "SGDScheduleFree",
                                                           "Adafactor")
_BETAS = ADAM_LIKE | LION_LIKE | _PRODIGY | optimizer_keys("DAdaptation", "DAdaptAdam", "DAdaptAdan",
                                                           "DAdaptAdanIP", "DAdaptLion")
_ADAFACTOR = optimizer_keys("Adafactor")
_SF = SCHEDULE_FREE

PARAMETERS = [
    p("optimizer_type", CHOICE, "AdamW", "Optimizer",
      "The algorithm that turns gradients into weight updates. AdamW is the safe default; AdamW 8-bit saves "
      "memory; Prodigy and the D-Adapt family choose their own step size. A module.Class name of another "
      "optimizer also works.", choices=OPTIMIZER_IDS, open_choices=True, engine=""),
    p("learning_rate", FLOAT, 1e-4, "Learning rate",
      "How large each update step is. Typical: 1e-4 for LoRA, 1e-6 to 1e-5 for full finetunes, 1.0 for "
      "Prodigy and D-Adapt (where it is a multiplier).", minimum=0, scientific=True, engine=2e-6,
      by=((None, FULL_MODES, 1e-6),)),
    p("unet_lr", FLOAT, None, "Learning rate: denoiser",
      "A separate learning rate for the U-Net or transformer part of the adapter (empty: the learning rate).",
      modes=LORA, minimum=0, scientific=True),
    p("text_encoder_lr", FLOAT_LIST, None, "Learning rate: text encoder",
      "A separate learning rate for the text encoder part of the adapter: one value for all text encoders, "
      "or one per encoder. Usually half the denoiser's rate; 0 leaves the text encoder untrained.",
      modes=LORA, minimum=0, scientific=True),
    p("learning_rate_te", FLOAT, None, "Learning rate: text encoder",
      "A separate learning rate for the text encoder (empty: the learning rate).",
      families=SD12, modes=FULL_MODES, minimum=0, scientific=True),
    p("learning_rate_te1", FLOAT, None, "Learning rate: first text encoder",
      "A separate learning rate for the first text encoder (CLIP-L); empty uses the learning rate.",
      families={Family.SDXL, Family.SD3}, modes=FULL_MODES, minimum=0, scientific=True),
    p("learning_rate_te2", FLOAT, None, "Learning rate: second text encoder",
      "A separate learning rate for the second text encoder (OpenCLIP bigG).",
      families={Family.SDXL, Family.SD3}, modes=FULL_MODES, minimum=0, scientific=True),
    p("learning_rate_te3", FLOAT, None, "Learning rate: T5-XXL",
      "A separate learning rate for SD3's T5-XXL text encoder when it is trained.", families={Family.SD3},
      modes=FULL_MODES, minimum=0, scientific=True),
    p("block_lr", STR, None, "Learning rate per U-Net block",
      "Comma-separated learning rates, one for each of the 23 SDXL U-Net blocks (0 freezes a block).",
      families={Family.SDXL}, modes=FULL_MODES),
    p("max_grad_norm", FLOAT, 1.0, "Gradient clipping",
      "Gradients with a larger norm are scaled down to it, which tames occasional spikes. 0 turns clipping "
      "off.", minimum=0, engine=1.0),
    p("lr_scheduler", CHOICE, "cosine", "LR schedule",
      "How the learning rate changes over the run. Schedule-free optimizers want constant.",
      choices=SCHEDULER_IDS, engine="constant"),
    p("lr_warmup_steps", INT_OR_FLOAT, 0, "Warmup",
      "Raise the learning rate from zero over this many steps; a value below 1 is a fraction of all steps "
      "(0.05 = the first 5%).", minimum=0, engine=0, schedulers=_WARMUP, unit="steps"),
    p("lr_decay_steps", INT_OR_FLOAT, 0, "Decay length",
      "For warmup-stable-decay: the final decay phase, in steps or as a fraction of the run.", minimum=0,
      engine=0, schedulers={"warmup_stable_decay"}, unit="steps"),
    p("lr_scheduler_num_cycles", INT, 1, "Cycles",
      "How many cosine cycles (restarts) the run has.", minimum=1, engine=1,
      schedulers={"cosine_with_restarts", "cosine_with_min_lr", "warmup_stable_decay"}),
    p("lr_scheduler_power", FLOAT, 1.0, "Polynomial power",
      "The power of the polynomial decay; 1 is linear, higher falls faster at first.", minimum=0, engine=1,
      schedulers={"polynomial"}),
    p("lr_scheduler_timescale", INT, None, "Timescale",
      "For the inverse square root schedule: the step count the decay is measured in (default: the warmup).",
      minimum=1, schedulers={"inverse_sqrt"}, unit="steps"),
    p("lr_scheduler_min_lr_ratio", FLOAT, None, "Minimum LR fraction",
      "The fraction of the learning rate the schedule ends at (0.1 = a tenth).", minimum=0, maximum=1,
      schedulers={"cosine_with_min_lr", "warmup_stable_decay"}),
    p("lr_scheduler_args.step_rules", STR, None, "Piecewise rules",
      "For the piecewise constant schedule: multiplier:step pairs and a final multiplier, for example "
      "'1:500,0.5:1000,0.1'.", schedulers={"piecewise_constant"}),
    p("lr_scheduler_type", STR, None, "Custom scheduler class",
      "A scheduler class to use instead of the schedule above: a name from torch.optim.lr_scheduler, or "
      "module.Class. Its arguments go in the extra scheduler arguments.", engine=""),
    p("lr_scheduler_args_extra", KV_LIST, None, "More scheduler arguments",
      "Extra name=value arguments for the scheduler, values written as Python literals.",
      targets=(Target.SCHEDULER_ARGS,), name="lr_scheduler_args"),
    # --- optimizer arguments ----------------------------------------------------------------
    p("optimizer_args.weight_decay", FLOAT, None, "Weight decay",
      "Pulls weights gently towards zero each step. 0.01-0.1 is common for AdamW; empty keeps the "
      "optimizer's own default.", optimizers=_DECAY, minimum=0),
    p("optimizer_args.betas", FLOAT_LIST, None, "Betas",
      "The momentum factors, for example 0.9, 0.999 (Adam) or 0.9, 0.99 (Lion, Prodigy). Empty keeps the "
      "optimizer's default.", optimizers=_BETAS),
    p("optimizer_args.eps", FLOAT, None, "Epsilon",
      "A tiny number that keeps Adam's division stable; change it only for low-precision training.",
      optimizers=ADAM_LIKE, minimum=0, min_exclusive=True, scientific=True),
    p("optimizer_args.momentum", FLOAT, None, "Momentum",
      "The momentum of SGD (sd-scripts uses 0.9 when empty).",
      optimizers=optimizer_keys("SGDNesterov", "SGDNesterov8bit", "SGDScheduleFree", "DAdaptSGD"), minimum=0,
      maximum=1),
    p("optimizer_args.decouple", BOOL, None, "Decoupled weight decay",
      "Apply weight decay AdamW-style, separately from the gradient step. Recommended with Prodigy and "
      "D-Adapt Adam.", optimizers=optimizer_keys("Prodigy", "DAdaptAdam", "DAdaptation")),
    p("optimizer_args.d_coef", FLOAT, None, "Prodigy d coefficient",
      "Multiplies Prodigy's estimated step size; lower it (0.5) if it overshoots.", optimizers=_PRODIGY,
      minimum=0, min_exclusive=True),
    p("optimizer_args.d0", FLOAT, None, "Initial step estimate",
      "The starting guess of the adaptive step size (1e-6 by default); larger values adapt faster.",
      optimizers=_PRODIGY | DADAPT, minimum=0, min_exclusive=True, scientific=True),
    p("optimizer_args.use_bias_correction", BOOL, None, "Bias correction",
      "Use Adam-style bias correction in Prodigy; often recommended for LoRA.", optimizers=_PRODIGY),
    p("optimizer_args.safeguard_warmup", BOOL, None, "Safeguard warmup",
      "Keep Prodigy's step estimate stable during LR warmup; turn on when using warmup.", optimizers=_PRODIGY),
    p("optimizer_args.growth_rate", FLOAT, None, "Step-size growth limit",
      "How fast the adaptive step size may grow per step (unlimited when empty).",
      optimizers=_PRODIGY | DADAPT, minimum=1),
    p("optimizer_args.relative_step", BOOL, None, "Adafactor relative step",
      "Let Adafactor derive its own learning rate from the step count (its default). Turn off to use your "
      "learning rate and schedule.", optimizers=_ADAFACTOR),
    p("optimizer_args.scale_parameter", BOOL, None, "Adafactor parameter scaling",
      "Scale updates by the size of each weight. Usually off together with relative step.",
      optimizers=_ADAFACTOR),
    p("optimizer_args.warmup_init", BOOL, None, "Adafactor warmup init",
      "Adafactor's own warmup, used with relative step.", optimizers=_ADAFACTOR),
    p("optimizer_args.clip_threshold", FLOAT, None, "Adafactor update clipping",
      "Adafactor clips each update's size to this (1.0 recommended).", optimizers=_ADAFACTOR, minimum=0,
      min_exclusive=True),
    p("optimizer_args.warmup_steps", INT, None, "Schedule-free warmup",
      "Schedule-free optimizers warm up on their own: the number of warmup steps.", optimizers=_SF, minimum=0,
      unit="steps"),
    p("optimizer_args_extra", KV_LIST, None, "More optimizer arguments",
      "Extra name=value arguments for the optimizer, values written as Python literals (True, 0.1, "
      "(0.9,0.99), 'text').", targets=(Target.OPTIMIZER_ARGS,), name="optimizer_args"),
]
