"""The benchmark dataset: N images with tag captions, generated once into a cache folder.

Images are JPEG quality 90 in the three shapes people train SDXL on (1024x1024, 832x1216,
1216x832), with photo-like content (smooth colour fields, shapes, texture and grain), so files
are as large and as slow to decode as real photos (~250-400 KB), not flat test cards that decode
in no time. Each has a caption of about 20 tags in the booru style. They are split into four Kohya
subsets (``10_alpha``, ``5_beta``, ``2_gamma``, ``1_delta``).

Use it from any benchmark::

    from benchmarks.common.dataset_gen import generate_dataset
    ds = generate_dataset(count=10_000)          # cached: instant the second time
    ds.root, ds.image_paths, ds.caption_paths

The cache folder is ``$LORA_STUDIO_BENCH_CACHE`` or ``benchmarks/.cache``; a complete dataset is
marked by a ``COMPLETE`` file holding its parameters, and an interrupted generation resumes.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

GENERATOR_VERSION = 1
SHAPES = ((1024, 1024), (832, 1216), (1216, 832))
SUBSETS = (("10_alpha", 10), ("5_beta", 5), ("2_gamma", 2), ("1_delta", 1))
CAPTION_EXTENSION = ".txt"

_SUBJECTS = ["1girl", "1boy", "solo", "no humans", "cat", "dog", "landscape", "still life", "portrait", "building"]
_TAGS = ["long hair", "short hair", "smile", "looking at viewer", "blue eyes", "brown hair", "outdoors", "indoors",
         "sky", "cloud", "tree", "grass", "water", "sunlight", "night", "city", "flower", "holding", "sitting",
         "standing", "upper body", "full body", "day", "shadow", "reflection", "mountain", "snow", "rain",
         "window", "table", "chair", "book", "cup", "hat", "jacket", "shirt", "dress", "glasses", "bag",
         "from side", "from above", "depth of field", "blurry background", "bokeh", "lens flare", "scenery",
         "red theme", "blue theme", "green theme", "warm colors", "cool colors", "high contrast", "film grain",
         "realistic", "photo", "simple background", "white background", "gradient", "close-up", "wide shot"]


@dataclass(frozen=True)
class GeneratedDataset:
    root: Path
    count: int
    subset_dirs: tuple[Path, ...]

    @property
    def image_paths(self) -> list[Path]:
        return [p for d in self.subset_dirs for p in sorted(d.glob("*.jpg"))]

    @property
    def caption_paths(self) -> list[Path]:
        return [p.with_suffix(CAPTION_EXTENSION) for p in self.image_paths]


def default_cache_dir() -> Path:
    env = os.environ.get("LORA_STUDIO_BENCH_CACHE")
    return Path(env) if env else Path(__file__).resolve().parent.parent / ".cache"


def _plan(count: int, seed: int) -> list[tuple[str, str, int, int]]:
    """(subset folder, file stem, shape index, per-image seed) for every image, deterministic."""
    rng = random.Random(seed)
    plan = []
    per = [count // len(SUBSETS) + (1 if i < count % len(SUBSETS) else 0) for i in range(len(SUBSETS))]
    n = 0
    for (folder, _repeats), k in zip(SUBSETS, per):
        for _ in range(k):
            plan.append((folder, f"img_{n:05d}", rng.randrange(len(SHAPES)), rng.randrange(2**31)))
            n += 1
    return plan


def make_image(size: tuple[int, int], seed: int):
    """A photo-like RGB image: smooth colour fields, a horizon, shapes, texture and film grain."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    # Smooth colour fields: low-resolution noise upscaled (like out-of-focus photo content).
    field = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    base = Image.fromarray(field, "RGB").resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    horizon = int(h * rng.uniform(0.4, 0.75))
    ground = tuple(int(c) for c in rng.integers(20, 200, size=3))
    draw.rectangle([0, horizon, w, h], fill=ground)
    for _ in range(int(rng.integers(4, 12))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(w // 30, w // 5))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=colour)
    base = base.filter(ImageFilter.GaussianBlur(1.2))
    # Texture (mid frequencies) and grain (high frequencies): what makes real photos big and slow.
    texture = Image.fromarray(rng.integers(0, 256, size=(h // 8, w // 8), dtype=np.uint8), "L")
    texture = np.asarray(texture.resize((w, h), Image.Resampling.BILINEAR), dtype=np.int16) - 128
    grain = rng.normal(0, 9, size=(h, w, 1)).astype(np.int16)
    pixels = np.asarray(base, dtype=np.int16) + (texture[..., None] // 5) + grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def make_caption(seed: int, n_tags: int = 20) -> str:
    rng = random.Random(seed)
    tags = [rng.choice(_SUBJECTS), *rng.sample(_TAGS, n_tags - 1)]
    return ", ".join(tags)


def _write_one(job: tuple[str, str, tuple[int, int], int]) -> None:
    folder, stem, size, seed = job
    path = Path(folder) / f"{stem}.jpg"
    if not path.exists():
        tmp = path.with_name(f".{stem}.tmp.jpg")
        make_image(size, seed).save(tmp, "JPEG", quality=90)
        os.replace(tmp, path)
    caption = path.with_suffix(CAPTION_EXTENSION)
    if not caption.exists():
        caption.write_text(make_caption(seed), encoding="utf-8")


def generate_dataset(count: int = 10_000, *, cache_dir: str | os.PathLike | None = None, seed: int = 0,
                     workers: int | None = None, progress: Callable[[int, int], None] | None = None
                     ) -> GeneratedDataset:
    """Create (once) and return the benchmark dataset of ``count`` images in ``cache_dir``."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    root = cache / f"dataset-{count}-s{seed}-v{GENERATOR_VERSION}"
    subset_dirs = tuple(root / name for name, _ in SUBSETS)
    marker = root / "COMPLETE"
    params = {"count": count, "seed": seed, "version": GENERATOR_VERSION}
    if marker.exists():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == params:
                return GeneratedDataset(root, count, subset_dirs)
        except (OSError, ValueError):
            pass
    for d in subset_dirs:
        d.mkdir(parents=True, exist_ok=True)
    jobs = [(str(root / folder), stem, SHAPES[shape], s) for folder, stem, shape, s in _plan(count, seed)]
    workers = workers or max(1, os.cpu_count() or 1)
    done = 0
    if workers == 1:
        for job in jobs:
            _write_one(job)
            done += 1
            if progress:
                progress(done, count)
    else:
        with ProcessPoolExecutor(workers) as pool:
            for _ in pool.map(_write_one, jobs, chunksize=16):
                done += 1
                if progress and (done % 100 == 0 or done == count):
                    progress(done, count)
    marker.write_text(json.dumps(params), encoding="utf-8")
    return GeneratedDataset(root, count, subset_dirs)


if __name__ == "__main__":  # python -m benchmarks.common.dataset_gen [COUNT]
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    ds = generate_dataset(n, progress=lambda d, t: print(f"\r{d}/{t}", end="", file=sys.stderr))
    print(f"\n{ds.root}")
