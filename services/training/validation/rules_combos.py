"""Options that exclude or need each other: optimizer, schedule, precision, caching, memory."""

from __future__ import annotations

from collections.abc import Iterator

from services.training.families import Family, Mode
from services.training.registry.algorithms import lycoris
from services.training.registry.optimizers import ADAPTIVE, optimizer, scheduler
from services.training.validation.context import RuleContext
from services.training.validation.problems import Problem, error, info, warning


def check_optimizer(c: RuleContext) -> Iterator[Problem]:
    name = c.v("optimizer_type") or "AdamW"
    opt = optimizer(name)
    key = name.lower()
    if opt is None and "." not in name:
        yield warning("optimizer_type", f"{name!r} is not an optimizer LoRA Studio knows; sd-scripts will look for "
                                        f"torch.optim.{name}.", "Choose one from the list, or write module.Class.")
    if opt is not None and opt.package and c.options.installed is not None and opt.package not in c.options.installed:
        yield error("optimizer_type", f"{opt.label} needs the {opt.package} package, which the training backend "
                                      "does not have.",
                    f"Install {opt.package} in the backend (Settings > Training backend), or choose AdamW.")
    lr = c.v("learning_rate")
    if key in ADAPTIVE and isinstance(lr, float) and lr < 0.1:
        yield warning("learning_rate", f"{opt.label} finds its own step size; its learning rate is a multiplier "
                                       f"and is usually 1.0 (it is {lr:g}).", "Set the learning rate to 1.0.")
    if key not in ADAPTIVE and isinstance(lr, float) and lr >= 0.01 and key != "adafactor":
        yield warning("learning_rate", f"A learning rate of {lr:g} is very high for {name}; training will likely "
                                       "diverge.", "Typical values are 1e-4 for LoRA and 1e-6 to 1e-5 for finetunes.")
    if lr == 0 and c.v("unet_lr") in (None, 0):
        yield error("learning_rate", "The learning rate is 0, so nothing would be learned.", "Set a learning rate.")
    sched = c.v("lr_scheduler") or "constant"
    relative = c.v("optimizer_args.relative_step")
    if key == "adafactor" and relative is not False and sched != "adafactor":
        yield info("lr_scheduler", "Adafactor with relative steps uses its own schedule; sd-scripts replaces the "
                                   f"'{sched}' schedule with it.", "Set 'Adafactor relative step' off to use your "
                                                                  "own learning rate and schedule.")
    s = scheduler(sched)
    if s is not None and s.needs_optimizer and key != s.needs_optimizer:
        yield error("lr_scheduler", f"The '{s.label}' schedule works only with the Adafactor optimizer.",
                    "Choose another schedule, or the Adafactor optimizer.")
    if opt is not None and opt.schedule_free and sched != "constant":
        yield warning("lr_scheduler", f"{opt.label} needs no learning-rate schedule; '{sched}' would fight it.",
                      "Choose the constant schedule.")
    warmup = c.raw("lr_warmup_steps")
    if isinstance(warmup, (int, float)) and warmup:
        if s is not None and not s.warmup:
            yield error("lr_warmup_steps", f"The '{s.label}' schedule has no warmup, and sd-scripts stops when warmup "
                                           "steps are given with it.",
                        "Set warmup to 0, or choose 'Constant with warmup'.")
        if isinstance(warmup, float) and warmup >= 1:
            yield error("lr_warmup_steps", f"A warmup of {warmup:g} is a fraction of the run but is not below 1.",
                        "Write a fraction below 1 (0.05) or a whole number of steps (100).")
        total = c.steps.total_steps if c.steps else None
        if isinstance(warmup, int) and total and warmup >= total:
            yield warning("lr_warmup_steps", f"Warmup ({warmup} steps) is as long as the whole run ({total} steps).",
                          "Shorten the warmup, for example to 5-10% of the steps.")
    if sched == "warmup_stable_decay" and not c.v("lr_decay_steps"):
        yield error("lr_decay_steps", "The warmup-stable-decay schedule needs a decay length.",
                    "Set 'Decay length' in steps or as a fraction of the run.")
    if sched == "piecewise_constant" and not c.v("lr_scheduler_args.step_rules"):
        yield error("lr_scheduler_args.step_rules", "The piecewise constant schedule needs its rules.",
                    "Set 'Piecewise rules', for example 1:500,0.5:1000,0.1.")


def check_memory(c: RuleContext) -> Iterator[Problem]:
    fam, mode = c.family, c.mode
    name = (c.v("optimizer_type") or "AdamW").lower()
    if c.v("fused_backward_pass"):
        if c.v("fused_optimizer_groups"):
            yield error("fused_backward_pass", "The fused backward pass and fused optimizer groups cannot be used "
                                               "together.", "Keep one of them.")
        if name != "adafactor":
            yield error("fused_backward_pass", "The fused backward pass works only with the Adafactor optimizer.",
                        "Choose Adafactor, or use 'Fused optimizer groups' instead.")
        if (c.v("gradient_accumulation_steps") or 1) > 1:
            yield error("fused_backward_pass", "The fused backward pass cannot accumulate gradients.",
                        "Set 'Gradient accumulation' to 1.")
    precision = c.v("mixed_precision") or "no"
    if c.v("full_fp16") and precision != "fp16":
        yield error("full_fp16", "'Everything in fp16' needs fp16 mixed precision.", "Set mixed precision to fp16.")
    if c.v("full_bf16") and precision != "bf16":
        yield error("full_bf16", "'Everything in bf16' needs bf16 mixed precision.", "Set mixed precision to bf16.")
    if c.v("full_fp16") and c.v("full_bf16"):
        yield error("full_fp16", "Choose either 'Everything in fp16' or 'Everything in bf16', not both.")
    if (c.v("fp8_base") or c.v("fp8_base_unet")) and precision == "no":
        yield error("fp8_base", "An fp8 base model needs fp16 or bf16 mixed precision.", "Set mixed precision.")
    if c.v("blocks_to_swap") and c.v("cpu_offload_checkpointing"):
        yield error("cpu_offload_checkpointing", "Swapping blocks to RAM and offloading checkpoints to the CPU "
                                                 "cannot be combined.", "Keep 'Blocks to swap' and turn this off.")
    if c.v("xformers") and c.v("sdpa"):
        yield warning("xformers", "Both xformers and SDPA attention are on; sd-scripts uses one of them.",
                      "Turn one off (SDPA needs no extra package).")
    if c.v("xformers") and c.options.installed is not None and "xformers" not in c.options.installed:
        yield error("xformers", "xformers attention is on, but the training backend has no xformers package.",
                    "Use SDPA attention instead.")
    if c.v("deepspeed") and c.options.installed is not None and "deepspeed" not in c.options.installed:
        yield error("deepspeed", "DeepSpeed is on, but the training backend has no deepspeed package.",
                    "Install deepspeed in the backend, or turn it off.")
    if c.v("lowram") and c.v("highvram"):
        yield warning("lowram", "'Low system RAM' and 'Plenty of VRAM' pull in opposite directions.", "Keep one.")
    # caching
    if c.v("cache_latents"):
        for i, sub in enumerate(c.subsets):
            for key in ("random_crop", "color_aug"):
                if c.subset_value(i, key):
                    yield error(f"subsets[{c.subset_indices[i]}].{key}" if key in sub.values else key,
                                f"{c.label(key)} changes the image every step, so latents cannot be cached "
                                f"(subset {sub.display_name()}).",
                                f"Turn off {c.label(key)}, or turn off 'Cache latents'.")
                    break
    if c.v("cache_text_encoder_outputs"):
        for i, sub in enumerate(c.subsets):
            for key in ("shuffle_caption", "caption_dropout_rate", "caption_tag_dropout_rate", "token_warmup_step"):
                if c.subset_value(i, key):
                    where = f"subsets[{c.subset_indices[i]}].{key}" if key in sub.values else key
                    yield error(where, f"{c.label(key)} changes the captions during training, so text-encoder "
                                       f"outputs cannot be cached (subset {sub.display_name()}).",
                                f"Turn off {c.label(key)}, or turn off 'Cache text-encoder outputs'.")
                    break
        if mode is Mode.LORA and not c.v("network_train_unet_only"):
            yield error("cache_text_encoder_outputs", "Cached text-encoder outputs cannot train the text encoder.",
                        "Turn on 'Train the denoiser only', or turn off 'Cache text-encoder outputs'.")
        if mode is not Mode.LORA and c.v("train_text_encoder"):
            yield error("cache_text_encoder_outputs", "Cached text-encoder outputs cannot train the text encoder.",
                        "Turn off 'Train the text encoder', or turn off 'Cache text-encoder outputs'.")
    if fam is Family.FLUX and mode is Mode.LORA and not c.v("network_train_unet_only") \
            and not c.v("cache_text_encoder_outputs"):
        yield info("network_train_unet_only", "The CLIP-L text encoder of Flux.1 will be trained too (T5 never "
                                              "is, unless set in the network arguments).")


def check_network(c: RuleContext) -> Iterator[Problem]:
    if c.mode is not Mode.LORA:
        return
    algo = c.v("network_algorithm") or "lora"
    dim = c.v("network_dim")
    alpha = c.v("network_alpha")
    if c.v("network_train_unet_only") and c.v("network_train_text_encoder_only"):
        yield error("network_train_unet_only", "'Train the denoiser only' and 'Train the text encoder only' "
                                               "exclude each other.", "Keep one of them.")
    if isinstance(dim, int) and isinstance(alpha, float) and alpha > dim:
        yield warning("network_alpha", f"Alpha ({alpha:g}) is larger than the dimension ({dim}), which amplifies "
                                       "the adapter's updates.", "Use an alpha at most equal to the dimension.")
    if algo in lycoris("loha", "lokr") and isinstance(dim, int) and dim > 64:
        yield warning("network_dim", f"LoHa and LoKr rarely need a dimension above 64 (it is {dim}).",
                      "Try 16-32, unless a huge value is meant to make LoKr full-rank.")
    if algo in ("dylora", *lycoris("dylora")):
        unit = c.v("network_args.unit") if algo == "dylora" else c.v("network_args.block_size")
        if isinstance(dim, int) and isinstance(unit, int) and unit and dim % unit:
            key = "network_args.unit" if algo == "dylora" else "network_args.block_size"
            yield error(key, f"The dimension ({dim}) must be a multiple of {c.label(key)} ({unit}).",
                        "Change one of them.")
        conv = c.v("network_args.conv_dim")
        if algo == "dylora" and conv is not None and conv != dim:
            yield error("network_args.conv_dim", "DyLoRA needs the conv dimension equal to the network dimension.",
                        "Set them equal, or clear the conv dimension.")
    if algo in lycoris("ia3") and isinstance(c.v("learning_rate"), float) and c.v("learning_rate") < 1e-3:
        yield warning("learning_rate", "(IA)³ learns scaling vectors and needs a much higher learning rate.",
                      "Try around 5e-3.")
    if c.raw("network_args.conv_alpha") is not None and not c.raw("network_args.conv_dim") \
            and "network_args.conv_alpha" in (c.resolved.changed() if c.resolved else {}):
        yield warning("network_args.conv_alpha", "Conv alpha is set but the conv dimension is not, so it has no "
                                                 "effect.", "Set a conv dimension, or clear conv alpha.")
    if (c.v("network_args.ggpo_sigma") is None) != (c.v("network_args.ggpo_beta") is None):
        yield error("network_args.ggpo_sigma", "GGPO needs both sigma and beta.", "Set both, or clear both.")
    if c.v("dim_from_weights") and not c.v("network_weights"):
        yield error("dim_from_weights", "'Take the dimension from the weights' needs a starting LoRA file.",
                    "Choose the LoRA under 'Start from LoRA weights'.")
    bases, multipliers = c.v("base_weights") or [], c.v("base_weights_multiplier") or []
    if multipliers and len(multipliers) != len(bases):
        yield error("base_weights_multiplier", f"There are {len(bases)} merged LoRAs but {len(multipliers)} "
                                               "strengths.", "Give one strength per file.")


def check_training(c: RuleContext) -> Iterator[Problem]:
    if c.v("v_pred_like_loss") and c.v("v_parameterization"):
        yield error("v_pred_like_loss", "The v-prediction-like loss is for noise-prediction models only.",
                    "Turn it off for a v-prediction model.")
    if c.v("zero_terminal_snr") and not c.v("v_parameterization"):
        yield warning("zero_terminal_snr", "Zero terminal SNR is meant for v-prediction models.",
                      "Turn it off, unless you know the model needs it.")
    if c.raw("adaptive_noise_scale") is not None and not c.raw("noise_offset"):
        yield error("adaptive_noise_scale", "The adaptive noise scale needs a noise offset.", "Set a noise offset.")
    lo, hi = c.v("min_timestep"), c.v("max_timestep")
    if lo is not None and hi is not None and lo >= hi:
        yield error("min_timestep", f"The lowest timestep ({lo}) must be below the highest ({hi}).",
                    "Lower the first or raise the second.")
    if c.family is Family.SDXL and c.v("clip_skip") not in (None, 1):
        yield warning("clip_skip", "SDXL models are rarely trained with CLIP skip.", "Leave it empty unless the "
                                                                                     "model's card asks for it.")
    if c.family is Family.SD2 and c.v("clip_skip") is not None:
        yield warning("clip_skip", "SD 2.x models are not meant to use CLIP skip.", "Clear it.")
