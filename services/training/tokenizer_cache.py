"""The tokenizer cache sd-scripts reads with ``--tokenizer_cache_dir`` (it cannot reach the hub offline).

sd-scripts looks for ``<cache>/<hub id with "/" replaced by "_">/``. The CLIP tokenizers of every
family are written here from the CLIP vocabulary bundled with LoRA Studio; T5-XXL's (Flux.1, SD3)
is a SentencePiece model that cannot be built offline: sd-scripts saves it into the cache on its
first run with network access, and ``missing`` says so until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.training.families import Family

CLIP_L = "openai/clip-vit-large-patch14"
CLIP_G = "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"
SD2 = "stabilityai/stable-diffusion-2"
T5_XXL = "google/t5-v1_1-xxl"

# hub id -> the pad token of its CLIP tokenizer (None: not a CLIP tokenizer, cannot be built here)
_BUILDABLE = {CLIP_L: "<|endoftext|>", CLIP_G: "!", SD2: "!", T5_XXL: None}
_NEEDS = {
    Family.SD1: (CLIP_L,),
    Family.SD2: (SD2,),
    Family.SDXL: (CLIP_L, CLIP_G),
    Family.FLUX: (CLIP_L, T5_XXL),
    Family.SD3: (CLIP_L, CLIP_G, T5_XXL),
}


@dataclass
class TokenizerCacheReport:
    folder: Path
    written: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # needed, cannot be built offline, not cached yet

    @property
    def complete(self) -> bool:
        return not self.missing


def cache_folder(cache_dir: str | Path, hub_id: str) -> Path:
    return Path(cache_dir) / hub_id.replace("/", "_")


def required_tokenizers(family: Family) -> tuple[str, ...]:
    return _NEEDS[Family(family)]


def fill_tokenizer_cache(cache_dir: str | Path, family: Family) -> TokenizerCacheReport:
    """Write the CLIP tokenizers ``family`` needs that are not cached yet; report what is missing."""
    from services.tokenizers.clip_bpe import default_tokenizer

    report = TokenizerCacheReport(Path(cache_dir))
    for hub_id in required_tokenizers(family):
        folder = cache_folder(cache_dir, hub_id)
        if (folder / "tokenizer_config.json").is_file():
            report.present.append(hub_id)
            continue
        pad = _BUILDABLE[hub_id]
        if pad is None:
            report.missing.append(hub_id)
            continue
        default_tokenizer().write_hf_files(folder, pad_token=pad)
        report.written.append(hub_id)
    return report
