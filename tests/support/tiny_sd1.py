"""TEST DOUBLE: a tiny Stable Diffusion 1.x model for real (CPU, few-step) sd-scripts runs.

sd-scripts rebuilds the SD1 U-Net from its own fixed architecture, so the U-Net here is the real one
(four levels of 320/640/1280/1280 channels, ~840M parameters, random weights), but its
cross-attention width is 32, which lets the text encoder be tiny (2 layers, width 32); the VAE is
tiny too (32 channels, still 8x downsampling). It is a diffusers folder, which is how sd-scripts can
load such a model (a single-file SD1 checkpoint must carry the full-size text encoder and VAE).

    from tests.support.tiny_sd1 import build_tiny_sd1, tokenizer_cache, write_tiny_dataset
    model_dir = build_tiny_sd1()                 # builds once into the cache, ~1.7 GB, then reused
    cache = tokenizer_cache(some_dir)            # --tokenizer_cache_dir for offline runs
    images = write_tiny_dataset(folder)          # eight 64x64 images with captions

The build runs in the backend Python (``LORA_STUDIO_SDSCRIPTS_PYTHON``: it needs torch, diffusers
and transformers), under a file lock, into a temporary folder renamed into place when complete.
The cache is ``$LORA_STUDIO_TEST_CACHE`` or ``<tmp>/lora-studio-test-cache``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = 1
NAME = f"tiny-sd1-v{VERSION}"
CLIP_L_ID = "openai/clip-vit-large-patch14"


def default_cache_dir() -> Path:
    return Path(os.environ.get("LORA_STUDIO_TEST_CACHE") or Path(tempfile.gettempdir()) / "lora-studio-test-cache")


def build_tiny_sd1(cache_dir: str | os.PathLike | None = None, python: str | None = None,
                   timeout: float = 1800) -> Path:
    """The folder of the tiny SD1 diffusers model, built on first use. Raises RuntimeError on failure."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / NAME
    if (target / "complete.json").is_file():
        return target
    python = python or os.environ.get("LORA_STUDIO_SDSCRIPTS_PYTHON")
    if not python:
        raise RuntimeError("building the tiny SD1 model needs LORA_STUDIO_SDSCRIPTS_PYTHON (torch + diffusers)")
    cache.mkdir(parents=True, exist_ok=True)
    with _file_lock(cache / f"{NAME}.lock"):
        if (target / "complete.json").is_file():  # another process built it meanwhile
            return target
        work = Path(tempfile.mkdtemp(prefix=f"{NAME}-", dir=cache))
        try:
            proc = subprocess.run([python, __file__, "--build", str(work)], capture_output=True, text=True,
                                  timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"building the tiny SD1 model failed:\n{proc.stderr[-4000:]}")
            _write_tokenizer(work / "tokenizer")
            (work / "complete.json").write_text(json.dumps({"version": VERSION}), encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            work.rename(target)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return target


def tokenizer_cache(folder: str | os.PathLike) -> Path:
    """A --tokenizer_cache_dir holding CLIP-L's tokenizer files (sd-scripts' folder naming)."""
    folder = Path(folder)
    _write_tokenizer(folder / CLIP_L_ID.replace("/", "_"))
    return folder


def write_tiny_dataset(folder: str | os.PathLike, count: int = 8, size: int = 64,
                       caption_extension: str = ".txt") -> Path:
    """``count`` small, varied RGB images with a caption file each."""
    from PIL import Image, ImageDraw

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = Image.new("RGB", (size, size), ((37 * i) % 256, (91 * i) % 256, (53 * i + 80) % 256))
        draw = ImageDraw.Draw(image)
        draw.ellipse((8 + i, 8, size - 8, size - 8 - i), fill=(250 - 20 * i, 200, 30 * i % 256))
        image.save(folder / f"image_{i:02d}.png")
        (folder / f"image_{i:02d}{caption_extension}").write_text(f"mychar, a red circle, picture {i}",
                                                                   encoding="utf-8")
    return folder


def _write_tokenizer(folder: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from services.tokenizers.clip_bpe import ClipTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    ClipTokenizer().write_hf_files(folder)


@contextlib.contextmanager
def _file_lock(path: Path):
    import fcntl

    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- the part that runs in the backend Python -------------------------------------------------

def _build(out: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    width = 32  # the cross-attention / text-encoder width
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, cross_attention_dim=width,
        attention_head_dim=8, block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"))
    unet.to(torch.float16).save_pretrained(out / "unet", safe_serialization=True)
    del unet
    text = CLIPTextModel(CLIPTextConfig(hidden_size=width, intermediate_size=37, num_hidden_layers=2,
                                        num_attention_heads=4, vocab_size=49408, max_position_embeddings=77,
                                        projection_dim=width, hidden_act="quick_gelu"))
    text.save_pretrained(out / "text_encoder", safe_serialization=True)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 32, 32, 32),
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        layers_per_block=1, norm_num_groups=32, sample_size=64)
    vae.save_pretrained(out / "vae", safe_serialization=True)
    PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                  skip_prk_steps=True, set_alpha_to_one=False, steps_offset=1,
                  prediction_type="epsilon").save_pretrained(out / "scheduler")
    index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.32.1",
             "feature_extractor": [None, None], "safety_checker": [None, None], "requires_safety_checker": False,
             "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
             "vae": ["diffusers", "AutoencoderKL"]}
    (out / "model_index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--build":
        _build(Path(sys.argv[2]))
    else:
        print(f"usage: {sys.argv[0]} --build OUT_DIR (in the backend Python)", file=sys.stderr)
        sys.exit(2)
