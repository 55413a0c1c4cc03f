"""An ESTIMATE of the video memory a configuration needs, with the assumptions that make it one.

Nothing here measures anything: the figures are the parameter counts of each family's models,
the bytes per weight that the precision settings imply, the optimizer's state, and activation
sizes observed on typical runs, scaled by batch size and resolution. Real use varies with the
PyTorch version, the attention kernel, fragmentation and the driver by a gigabyte or more; the
estimate is for deciding whether a configuration is close to the limit, and which memory settings
would bring it under -- never to promise that a run fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GB = 1024 ** 3

# Parameters (billions) of what each family loads: the denoiser, the text encoders, the VAE.
MODELS = {
    "sd1": {"denoiser": 0.86, "text_encoders": 0.123, "vae": 0.084},
    "sd2": {"denoiser": 0.865, "text_encoders": 0.354, "vae": 0.084},
    "sdxl": {"denoiser": 2.57, "text_encoders": 0.818, "vae": 0.084},
    "flux": {"denoiser": 11.9, "text_encoders": 4.85, "vae": 0.084},
    "sd3": {"denoiser": 2.03, "text_encoders": 5.55, "vae": 0.084},
}
# Trainable LoRA parameters (millions) per unit of rank, for the default target modules.
LORA_PARAMS_PER_RANK_M = {"sd1": 0.6, "sd2": 0.65, "sdxl": 3.6, "flux": 4.7, "sd3": 2.4}
# Activation memory (GB) of one image at the family's native resolution, with and without
# gradient checkpointing, observed on typical runs with SDPA attention.
ACTIVATIONS_GB = {  # family: (native side, with checkpointing, without)
    "sd1": (512, 0.9, 3.2), "sd2": (768, 1.4, 5.0), "sdxl": (1024, 2.6, 10.0),
    "flux": (1024, 3.2, 14.0), "sd3": (1024, 2.8, 11.0),
}
FLUX_BLOCKS = 57  # 19 double + 38 single transformer blocks
SD3_BLOCKS = 24
CUDA_CONTEXT_GB = 0.8

SCRIPT_FAMILIES = {
    "train_network.py": ("sd1", "lora"), "train_db.py": ("sd1", "full"), "fine_tune.py": ("sd1", "full"),
    "sdxl_train_network.py": ("sdxl", "lora"), "sdxl_train.py": ("sdxl", "full"),
    "flux_train_network.py": ("flux", "lora"), "flux_train.py": ("flux", "full"),
    "sd3_train_network.py": ("sd3", "lora"), "sd3_train.py": ("sd3", "full"),
}


def family_and_mode(script: str, config: dict) -> tuple[str, str]:
    name = script.replace("\\", "/").rsplit("/", 1)[-1]
    family, mode = SCRIPT_FAMILIES.get(name, ("sd1", "lora"))
    if family == "sd1" and config.get("v2"):
        family = "sd2"
    return family, mode


def resolution_of(dataset: dict, config: dict) -> tuple[int, int]:
    """The largest training resolution named in the dataset config (or the training config)."""
    found: list[tuple[int, int]] = []

    def take(value) -> None:
        if isinstance(value, int) and value > 0:
            found.append((value, value))
        elif isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
            found.append((int(value[0]), int(value[1])))
        elif isinstance(value, str):
            parts = [p.strip() for p in value.split(",")]
            if len(parts) in (1, 2) and all(p.isdigit() for p in parts):
                w = int(parts[0])
                found.append((w, int(parts[-1])))

    take((dataset.get("general") or {}).get("resolution"))
    for ds in dataset.get("datasets") or []:
        if isinstance(ds, dict):
            take(ds.get("resolution"))
    take(config.get("resolution"))
    return max(found, key=lambda r: r[0] * r[1]) if found else (0, 0)


@dataclass
class VramEstimate:
    total_gb: float
    parts: list[tuple[str, float]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = ", ".join(f"{label} {gb:.1f} GB" for label, gb in self.parts if gb >= 0.05)
        return f"about {self.total_gb:.1f} GB (estimate: {parts})"


@dataclass
class Settings_:
    """The memory-relevant settings of a run (what-if variants are copies of this)."""
    family: str
    mode: str
    batch_size: int = 1
    resolution: tuple[int, int] = (0, 0)
    network_dim: int = 16
    mixed_precision: str = "no"
    full_fp16: bool = False
    full_bf16: bool = False
    fp8_base: bool = False
    gradient_checkpointing: bool = False
    cache_latents: bool = False
    cache_text_encoder_outputs: bool = False
    train_text_encoder: bool = True
    optimizer: str = "AdamW"
    blocks_to_swap: int = 0

    @classmethod
    def from_config(cls, script: str, config: dict, dataset: dict) -> Settings_:
        family, mode = family_and_mode(script, config)
        s = cls(family, mode)
        batch = config.get("train_batch_size")
        for ds in dataset.get("datasets") or []:
            if isinstance(ds, dict) and isinstance(ds.get("batch_size"), int):
                batch = max(batch or 0, ds["batch_size"])
        general_batch = (dataset.get("general") or {}).get("batch_size")
        if isinstance(general_batch, int):
            batch = max(batch or 0, general_batch)
        s.batch_size = batch if isinstance(batch, int) and batch > 0 else 1
        s.resolution = resolution_of(dataset, config)
        if isinstance(config.get("network_dim"), int):
            s.network_dim = config["network_dim"]
        s.mixed_precision = str(config.get("mixed_precision") or "no")
        for key in ("full_fp16", "full_bf16", "fp8_base", "gradient_checkpointing", "cache_latents",
                    "cache_text_encoder_outputs"):
            setattr(s, key, bool(config.get(key)))
        s.train_text_encoder = not bool(config.get("network_train_unet_only")) and not s.cache_text_encoder_outputs
        if mode == "full" and family in ("sdxl", "sd1", "sd2"):
            s.train_text_encoder = bool(config.get("train_text_encoder", family != "sdxl"))
        s.optimizer = str(config.get("optimizer_type") or "AdamW")
        if isinstance(config.get("blocks_to_swap"), int):
            s.blocks_to_swap = max(0, config["blocks_to_swap"])
        return s


def _weight_bytes(s: Settings_) -> float:
    if s.fp8_base and s.mode == "lora":
        return 1.0
    if s.mode == "full":
        return 2.0 if (s.full_fp16 or s.full_bf16) else 4.0
    return 2.0 if s.mixed_precision in ("fp16", "bf16") else 4.0


def _optimizer_bytes(optimizer: str) -> float:
    name = optimizer.lower()
    if "8bit" in name:
        return 2.0
    if "adafactor" in name:
        return 0.1
    if "sgd" in name or "lion" in name:
        return 4.0
    if "prodigy" in name:
        return 16.0
    return 8.0  # AdamW and most others: two fp32 moments


def estimate(s: Settings_) -> VramEstimate:
    model = MODELS.get(s.family, MODELS["sd1"])
    side, with_gc, without_gc = ACTIVATIONS_GB.get(s.family, ACTIVATIONS_GB["sd1"])
    wbytes = _weight_bytes(s)
    parts: list[tuple[str, float]] = []
    assumptions = [
        f"{s.family.upper()} models of {model['denoiser']:g}B (denoiser) and {model['text_encoders']:g}B "
        f"(text encoders) parameters",
        f"base weights in {int(wbytes * 8)}-bit",
    ]

    denoiser = model["denoiser"] * 1e9 * wbytes / GB
    if s.blocks_to_swap and s.family in ("flux", "sd3"):
        blocks = FLUX_BLOCKS if s.family == "flux" else SD3_BLOCKS
        kept = max(0.0, 1.0 - min(s.blocks_to_swap, blocks - 2) / blocks)
        assumptions.append(f"{s.blocks_to_swap} blocks swapped to the CPU (about {100 * (1 - kept):.0f}% of "
                           f"the transformer)")
        denoiser = denoiser * (0.08 + 0.92 * kept)
    parts.append(("denoiser weights", denoiser))

    te_resident = not s.cache_text_encoder_outputs or s.train_text_encoder
    if te_resident:
        te_bytes = 2.0 if s.mixed_precision in ("fp16", "bf16") else 4.0
        parts.append(("text encoders", model["text_encoders"] * 1e9 * te_bytes / GB))
    else:
        assumptions.append("text-encoder outputs cached: the encoders leave the GPU")
    if not s.cache_latents:
        parts.append(("VAE", model["vae"] * 1e9 * 2.0 / GB + 0.4))
    else:
        assumptions.append("latents cached: the VAE leaves the GPU")

    opt = _optimizer_bytes(s.optimizer)
    if s.mode == "lora":
        trainable = LORA_PARAMS_PER_RANK_M.get(s.family, 1.0) * 1e6 * max(1, s.network_dim)
        if not s.train_text_encoder:
            trainable *= 0.9
        parts.append((f"LoRA (rank {s.network_dim}) weights, gradients, optimizer",
                      trainable * (4 + 4 + opt) / GB))
    else:
        trainable = model["denoiser"] * 1e9 + (model["text_encoders"] * 1e9 if s.train_text_encoder else 0)
        parts.append(("gradients and optimizer state", trainable * (wbytes + opt) / GB))
    assumptions.append(f"optimizer {s.optimizer} ({opt:g} bytes of state per trained parameter)")

    width, height = s.resolution if s.resolution != (0, 0) else (side, side)
    scale = (width * height) / (side * side) * s.batch_size
    activation = (with_gc if s.gradient_checkpointing else without_gc) * scale
    if s.mixed_precision == "no":
        activation *= 2
    parts.append((f"activations (batch {s.batch_size} at {width}x{height}"
                  f"{', checkpointed' if s.gradient_checkpointing else ''})", activation))
    parts.append(("CUDA context and workspace", CUDA_CONTEXT_GB))
    assumptions.append("SDPA attention; activation sizes observed on typical runs")
    total = sum(gb for _, gb in parts) * 1.1  # allocator fragmentation
    assumptions.append("10% added for allocator fragmentation")
    return VramEstimate(round(total, 1), [(label, round(gb, 2)) for label, gb in parts], assumptions)


# The settings a memory profile turns on, cheapest first: what the suggestion tries in turn.
_KNOBS: list[tuple[str, str]] = [
    ("cache_latents", "cache latents"),
    ("gradient_checkpointing", "gradient checkpointing"),
    ("mixed_precision", "bf16 mixed precision"),
    ("cache_text_encoder_outputs", "cache text-encoder outputs (no text-encoder training)"),
    ("optimizer", "an 8-bit optimizer (AdamW8bit)"),
    ("fp8_base", "fp8 base weights"),
    ("blocks_to_swap", "swap transformer blocks to the CPU"),
    ("batch_size", "batch size 1"),
]


@dataclass
class Suggestion:
    fits: bool
    changes: list[str]
    estimate: VramEstimate
    profile: str = ""

    def text(self, available_gb: float) -> str:
        if not self.changes:
            return ""
        what = ", ".join(self.changes)
        verdict = "fits" if self.fits else "still does not fit"
        profile = f" The memory profile “{self.profile}” sets these." if self.profile else ""
        return (f"With {what} the estimate is {self.estimate.total_gb:.1f} GB, which {verdict} in "
                f"{available_gb:g} GB.{profile}")


def suggest(s: Settings_, available_gb: float, profiles: dict[float, str] | None = None) -> Suggestion:
    """Turn on memory settings in order until the estimate fits ``available_gb`` (with a margin).
    ``profiles`` maps memory-profile VRAM tiers (GB) to names, to name the profile to choose."""
    import copy

    limit = available_gb * 0.92
    current = copy.copy(s)
    changes: list[str] = []
    est = estimate(current)
    for knob, label in _KNOBS:
        if est.total_gb <= limit:
            break
        before = copy.copy(current)
        if knob == "mixed_precision":
            if current.mixed_precision in ("fp16", "bf16"):
                continue
            current.mixed_precision = "bf16"
        elif knob == "optimizer":
            if "8bit" in current.optimizer.lower():
                continue
            current.optimizer = "AdamW8bit"
        elif knob == "blocks_to_swap":
            if current.family not in ("flux", "sd3"):
                continue
            blocks = FLUX_BLOCKS if current.family == "flux" else SD3_BLOCKS
            while estimate(current).total_gb > limit and current.blocks_to_swap < blocks - 22:
                current.blocks_to_swap += 4
            label = f"{label} (blocks_to_swap = {current.blocks_to_swap})"
        elif knob == "batch_size":
            if current.batch_size <= 1:
                continue
            current.batch_size = 1
        elif knob == "fp8_base":
            if current.mode != "lora" or current.fp8_base:
                continue
            current.fp8_base = True
        elif knob == "cache_text_encoder_outputs":
            if current.cache_text_encoder_outputs or current.family in ("sd1", "sd2"):
                continue
            current.cache_text_encoder_outputs = True
            current.train_text_encoder = False
        else:
            if getattr(current, knob):
                continue
            setattr(current, knob, True)
        new = estimate(current)
        if new.total_gb < est.total_gb:
            changes.append(label)
            est = new
        else:
            current = before
    fits = est.total_gb <= limit
    profile = ""
    tiers = [t for t in (profiles or {}) if t <= available_gb + 0.5]
    if tiers:  # the profile made for this much VRAM
        profile = profiles[max(tiers)]
    return Suggestion(fits, changes, est, profile)


def human_gb(value: float) -> str:
    return f"{value:.1f} GB" if value < 100 else f"{math.ceil(value)} GB"
