"""Model families, training modes, and which sd-scripts entry script trains each pair.

The pair (family, mode) decides the script; the script decides which arguments exist. Both enums
are ``str`` subclasses so their values go to and come from TOML unchanged.
"""

from __future__ import annotations

from enum import Enum


class Family(str, Enum):
    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"
    FLUX = "flux"
    SD3 = "sd3"

    @property
    def label(self) -> str:
        return FAMILY_LABELS[self]


class Mode(str, Enum):
    LORA = "lora"              # network training: LoRA and LyCORIS adapters
    DREAMBOOTH = "dreambooth"  # full weights, DreamBooth-style folders (class tokens, regularisation)
    FINETUNE = "finetune"      # full weights, captioned images, no regularisation

    @property
    def label(self) -> str:
        return MODE_LABELS[self]


FAMILY_LABELS = {
    Family.SD1: "Stable Diffusion 1.x",
    Family.SD2: "Stable Diffusion 2.x",
    Family.SDXL: "SDXL",
    Family.FLUX: "Flux.1",
    Family.SD3: "SD3 / SD3.5",
}

MODE_LABELS = {
    Mode.LORA: "LoRA / LyCORIS (network)",
    Mode.DREAMBOOTH: "DreamBooth (full weights)",
    Mode.FINETUNE: "Full finetune",
}

ALL_FAMILIES = frozenset(Family)
ALL_MODES = frozenset(Mode)
SD_UNET = frozenset({Family.SD1, Family.SD2, Family.SDXL})    # U-Net models
SD12 = frozenset({Family.SD1, Family.SD2})
DIT = frozenset({Family.FLUX, Family.SD3})                      # transformer, flow-matching models
FULL_MODES = frozenset({Mode.DREAMBOOTH, Mode.FINETUNE})

_SCRIPTS: dict[tuple[Family, Mode], str] = {
    (Family.SD1, Mode.LORA): "train_network.py",
    (Family.SD2, Mode.LORA): "train_network.py",
    (Family.SD1, Mode.DREAMBOOTH): "train_db.py",
    (Family.SD2, Mode.DREAMBOOTH): "train_db.py",
    (Family.SD1, Mode.FINETUNE): "fine_tune.py",
    (Family.SD2, Mode.FINETUNE): "fine_tune.py",
    (Family.SDXL, Mode.LORA): "sdxl_train_network.py",
    (Family.SDXL, Mode.DREAMBOOTH): "sdxl_train.py",
    (Family.SDXL, Mode.FINETUNE): "sdxl_train.py",
    (Family.FLUX, Mode.LORA): "flux_train_network.py",
    (Family.FLUX, Mode.DREAMBOOTH): "flux_train.py",
    (Family.FLUX, Mode.FINETUNE): "flux_train.py",
    (Family.SD3, Mode.LORA): "sd3_train_network.py",
    (Family.SD3, Mode.DREAMBOOTH): "sd3_train.py",
    (Family.SD3, Mode.FINETUNE): "sd3_train.py",
}

TRAINING_SCRIPTS: tuple[str, ...] = tuple(dict.fromkeys(_SCRIPTS.values()))


def script_for(family: Family, mode: Mode) -> str:
    """The sd-scripts entry script (relative to the sd-scripts folder) that trains this pair."""
    return _SCRIPTS[(Family(family), Mode(mode))]


def pairs_for_script(script: str) -> list[tuple[Family, Mode]]:
    return [pair for pair, name in _SCRIPTS.items() if name == script]


def uses_metadata_dataset(family: Family, mode: Mode) -> bool:
    """fine_tune.py only reads fine-tuning datasets (a metadata JSON of captions per image)."""
    return script_for(family, mode) == "fine_tune.py"
