"""Aspect-ratio buckets as sd-scripts forms them, so the health report can show the histogram.

sd-scripts (``--enable_bucket``) builds a list of bucket resolutions for the training resolution
R×R: the square whose side is sqrt(R²) rounded down to the step, and for every width from the
minimum to the maximum bucket size in steps, the largest height (a multiple of the step, at most
the maximum) whose area stays within R². An image goes to the bucket whose aspect ratio is
closest to its own; it is scaled so that it covers the bucket and the excess is cropped. With
``--bucket_no_upscale`` an image is only ever shrunk (to fit the area R²) and its bucket is its own
size rounded down to the step. This module reproduces that arithmetic (independently written).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketSettings:
    resolution: tuple[int, int] = (1024, 1024)  # (width, height) of the training resolution
    min_size: int = 256
    max_size: int = 2048
    step: int = 64
    no_upscale: bool = False

    def validate(self) -> list[str]:
        problems = []
        if self.step <= 0:
            problems.append("The bucket step must be positive.")
        if self.min_size <= 0 or self.max_size < self.min_size:
            problems.append("The maximum bucket size must be at least the minimum.")
        if min(self.resolution) < self.min_size:
            problems.append("The minimum bucket size must not exceed the resolution.")
        if max(self.resolution) > self.max_size:
            problems.append("The maximum bucket size must be at least the resolution.")
        return problems

    def adjusted(self) -> BucketSettings:
        """min/max rounded to the step as sd-scripts does (min down, max up)."""
        lo = self.min_size - self.min_size % self.step
        hi = self.max_size + (self.step - self.max_size % self.step) % self.step
        return BucketSettings(self.resolution, lo, hi, self.step, self.no_upscale)


@dataclass(frozen=True)
class Placement:
    bucket: tuple[int, int]
    resized: tuple[int, int]  # the image's size after scaling, before the crop
    scale: float  # > 1 means the image is enlarged
    crop_fraction: float  # share of the resized image cut away to fit the bucket


def bucket_resolutions(settings: BucketSettings) -> list[tuple[int, int]]:
    width, height = settings.resolution
    area = width * height
    step = settings.step
    buckets = set()
    side = int(math.sqrt(area) // step) * step
    buckets.add((side, side))
    w = settings.min_size
    while w <= settings.max_size:
        h = min(settings.max_size, int((area // w) // step) * step)
        if h >= settings.min_size:
            buckets.add((w, h))
            buckets.add((h, w))
        w += step
    return sorted(buckets)


class BucketPlanner:
    def __init__(self, settings: BucketSettings) -> None:
        self.settings = settings.adjusted()
        self.resolutions = bucket_resolutions(self.settings)
        self._set = set(self.resolutions)
        self._ratios = [w / h for w, h in self.resolutions]

    def place(self, width: int, height: int) -> Placement:
        s = self.settings
        aspect = width / height
        if not s.no_upscale:
            if (width, height) in self._set:
                bucket = (width, height)
            else:
                best = min(range(len(self._ratios)), key=lambda i: abs(self._ratios[i] - aspect))
                bucket = self.resolutions[best]
            scale = bucket[1] / height if aspect > bucket[0] / bucket[1] else bucket[0] / width
            resized = (int(width * scale + 0.5), int(height * scale + 0.5))
        else:
            area = s.resolution[0] * s.resolution[1]
            if width * height > area:
                rw = math.sqrt(area * aspect)
                rh = area / rw

                def round_step(x: float) -> int:
                    x = int(x + 0.5)
                    return x - x % s.step

                bw = round_step(rw)
                bh_for_w = round_step(bw / aspect)
                bh = round_step(rh)
                bw_for_h = round_step(bh * aspect)
                err_w = abs(bw / bh_for_w - aspect) if bh_for_w else math.inf
                err_h = abs(bw_for_h / bh - aspect) if bh else math.inf
                if err_w < err_h:
                    resized = (bw, int(bw / aspect + 0.5))
                else:
                    resized = (int(bh * aspect + 0.5), bh)
            else:
                resized = (width, height)
            bucket = (resized[0] - resized[0] % s.step, resized[1] - resized[1] % s.step)
            scale = resized[0] / width
        kept = (bucket[0] * bucket[1]) / max(1, resized[0] * resized[1])
        return Placement(bucket, resized, scale, max(0.0, 1.0 - kept))


@dataclass(frozen=True)
class BucketCount:
    bucket: tuple[int, int]
    images: int
    weighted: int  # images × repeats

    @property
    def aspect(self) -> float:
        return self.bucket[0] / self.bucket[1]


def bucket_histogram(sizes: Iterable[tuple[int, int, int]], settings: BucketSettings) -> list[BucketCount]:
    """``sizes`` as (width, height, repeats) -> images and images × repeats per bucket, wide to tall."""
    planner = BucketPlanner(settings)
    images: Counter = Counter()
    weighted: Counter = Counter()
    for w, h, repeats in sizes:
        if w <= 0 or h <= 0:
            continue
        bucket = planner.place(w, h).bucket
        images[bucket] += 1
        weighted[bucket] += repeats
    return sorted((BucketCount(b, images[b], weighted[b]) for b in images), key=lambda c: -c.aspect)
