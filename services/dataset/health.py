"""The dataset health report: what would hurt a training run, each finding with its images.

Checks: unreadable images (from the scan), corrupt or truncated ones (every image is decoded at
reduced size), images too small for the training resolution (they would be enlarged), missing,
empty or undecodable captions, exact duplicates (content hash), near-duplicates (perceptual hash),
odd aspect ratios (extreme, or heavily cropped by their bucket), and the bucket histogram that
sd-scripts will form. Runs in a worker: plain data in, plain data out, progress and cancel.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from services.dataset.buckets import BucketCount, BucketPlanner, BucketSettings, bucket_histogram
from services.dataset.thumbnails import ThumbnailError, decode_reduced
from services.dataset.workspace import Problem, Workspace
from services.errors import OperationCancelled

Report = Callable[[int, int, str], None]
HASH_BOX = 64  # decode size for the corruption check and the perceptual hash
EXTREME_ASPECT = 3.0
HEAVY_CROP = 0.2
UPSCALE_LIMIT = 1.25


@dataclass(frozen=True)
class HealthItem:
    """What the report needs of one image (a snapshot, safe to use in a worker)."""

    key: str
    path: str
    width: int
    height: int
    file_size: int
    problems: Problem
    error: str
    repeats: int
    is_reg: bool
    caption_exists: bool
    caption_empty: bool
    caption_undecodable: bool
    caption_error: str = ""


@dataclass
class Finding:
    kind: str  # "corrupt", "unreadable", "too_small", "no_caption", "empty_caption", "caption_encoding",
    #            "duplicate", "near_duplicate", "odd_aspect", "zero_repeats"
    severity: str  # "error", "warning", "info"
    title: str
    detail: str
    keys: list[str] = field(default_factory=list)
    groups: list[list[str]] = field(default_factory=list)  # duplicates: the sets of equal images

    def as_dict(self) -> dict:
        return {"kind": self.kind, "severity": self.severity, "title": self.title, "detail": self.detail,
                "images": self.keys, **({"groups": self.groups} if self.groups else {})}


@dataclass
class HealthReport:
    images: int
    findings: list[Finding]
    buckets: list[BucketCount]
    settings: BucketSettings
    content_hashes: dict[str, str] = field(default_factory=dict)
    corrupt: dict[str, str] = field(default_factory=dict)  # key -> reason

    @property
    def duplicate_groups(self) -> list[list[str]]:
        return [g for f in self.findings if f.kind == "duplicate" for g in f.groups]

    @property
    def near_duplicate_groups(self) -> list[list[str]]:
        return [g for f in self.findings if f.kind == "near_duplicate" for g in f.groups]

    def as_dict(self) -> dict:
        s = self.settings
        return {
            "images": self.images,
            "findings": [f.as_dict() for f in self.findings],
            "buckets": {"resolution": list(s.resolution), "min": s.min_size, "max": s.max_size, "step": s.step,
                        "no_upscale": s.no_upscale,
                        "histogram": [{"width": b.bucket[0], "height": b.bucket[1], "images": b.images,
                                       "images_x_repeats": b.weighted} for b in self.buckets]},
        }


def snapshot(ws: Workspace, keys: Iterable[str] | None = None) -> list[HealthItem]:
    """Copy what the report needs out of the workspace (on the thread that owns it)."""
    out = []
    for key in (keys if keys is not None else ws.keys()):
        item = ws.item(key)
        subset = ws.subsets[item.subset]
        cap = item.caption
        out.append(HealthItem(key, key, item.width, item.height, item.file_size, item.problems, item.error,
                              subset.repeats, subset.is_reg, cap.exists, cap.is_empty, cap.undecodable, cap.error))
    return out


# --- content hashes -----------------------------------------------------------------------------
def file_digest(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


SAMPLE_BYTES = 8192


def sample_digest(path: str, size: int) -> str:
    """A digest of three 8 KiB samples (start, middle, end): two different images of the same size
    almost never agree on all three, and reading 24 KiB instead of the whole file makes the
    comparison of a 10,000-image dataset (thousands of files share a size) a matter of seconds."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}):
            fh.seek(offset)
            h.update(fh.read(SAMPLE_BYTES))
    return h.hexdigest()


def _groups(pairs: Iterable[tuple[str, object]]) -> list[list[str]]:
    by_value: dict[object, list[str]] = defaultdict(list)
    for key, value in pairs:
        by_value[value].append(key)
    return [g for g in by_value.values() if len(g) > 1]


def exact_duplicate_groups(items: Sequence[tuple[str, str, int]], *, report: Report | None = None,
                           cancelled: Callable[[], bool] | None = None,
                           known: dict[str, str] | None = None) -> tuple[list[list[str]], dict[str, str]]:
    """Groups of keys with identical content; ``items`` are (key, path, file size). Files are
    compared by size, then files of equal size by a sampled digest, and only those that still agree
    are read whole. Returns the groups and the full digests computed (key -> digest)."""
    path_of = {key: path for key, path, _size in items}
    size_of = {key: size for key, _path, size in items}
    same_size = [key for group in _groups((k, s) for k, _p, s in items if s > 0) for key in group]
    samples: list[tuple[str, tuple[int, str]]] = []
    for i, key in enumerate(same_size):
        if cancelled is not None and cancelled():
            raise OperationCancelled()
        try:
            samples.append((key, (size_of[key], sample_digest(path_of[key], size_of[key]))))
        except OSError:
            continue
        if report is not None and i % 64 == 0:
            report(i + 1, len(same_size), "Comparing files of equal size")
    candidates = [key for group in _groups(samples) for key in group]
    digests: dict[str, str] = {}
    for key in candidates:
        if cancelled is not None and cancelled():
            raise OperationCancelled()
        if known and key in known:
            digests[key] = known[key]
            continue
        try:
            digests[key] = file_digest(path_of[key])
        except OSError:
            continue
    return _groups(digests.items()), digests


# --- perceptual hashes ---------------------------------------------------------------------------
_DCT_N = 32
_DCT_MATRIX = None


def _dct_matrix():
    import numpy as np

    global _DCT_MATRIX
    if _DCT_MATRIX is None:
        n = _DCT_N
        u = np.arange(n)[:, None]
        x = np.arange(n)[None, :]
        m = np.cos(np.pi * (2 * x + 1) * u / (2 * n)) * np.sqrt(2 / n)
        m[0, :] = np.sqrt(1 / n)
        _DCT_MATRIX = m
    return _DCT_MATRIX


def perceptual_hash(image) -> int:
    """64-bit pHash: signs (against the median) of the lowest 8×8 DCT frequencies of a 32×32 grey
    thumbnail, without the DC term. Resizing, re-encoding and small edits move few bits; different
    pictures differ in about half of them."""
    import numpy as np
    from PIL import Image

    grey = np.asarray(image.convert("L").resize((_DCT_N, _DCT_N), Image.Resampling.BILINEAR), dtype=np.float64)
    m = _dct_matrix()
    low = (m @ grey @ m.T)[:8, :8].flatten()[1:]
    bits = 0
    for value in (low > np.median(low)).tolist():
        bits = (bits << 1) | int(value)
    return bits


def near_duplicate_groups(hashes: dict[str, int], max_distance: int,
                          exclude_pairs: set[frozenset[str]] | None = None) -> list[list[str]]:
    """Groups (connected by Hamming distance <= max_distance) of perceptually similar images."""
    import numpy as np

    keys = list(hashes)
    if len(keys) < 2:
        return []
    values = np.array([hashes[k] for k in keys], dtype=np.uint64)
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    chunk = 512
    for start in range(0, len(keys), chunk):
        block = values[start:start + chunk]
        distances = np.bitwise_count(block[:, None] ^ values[None, :])
        rows, cols = np.nonzero(distances <= max_distance)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i = start + r
            if c <= i:
                continue
            if exclude_pairs and frozenset((keys[i], keys[c])) in exclude_pairs:
                continue
            a, b = find(i), find(c)
            if a != b:
                parent[b] = a
    groups: dict[int, list[str]] = defaultdict(list)
    for i, key in enumerate(keys):
        groups[find(i)].append(key)
    return [g for g in groups.values() if len(g) > 1]


def decode_check(item: HealthItem) -> tuple[str, int | None, str]:
    """(key, perceptual hash or None, error) — decoding the whole file finds truncation and damage."""
    try:
        image = decode_reduced(item.path, HASH_BOX)
    except ThumbnailError as exc:
        return item.key, None, str(exc)
    return item.key, perceptual_hash(image), ""


# --- the report -------------------------------------------------------------------------------------
def run_health_report(items: Sequence[HealthItem], settings: BucketSettings, *, near_distance: int = 6,
                      decode: bool = True, threads: int | None = None, report: Report | None = None,
                      cancelled: Callable[[], bool] | None = None,
                      known_hashes: dict[str, str] | None = None) -> HealthReport:
    def check() -> None:
        if cancelled is not None and cancelled():
            raise OperationCancelled("The health report was cancelled.")

    findings: list[Finding] = []
    readable = [it for it in items if not it.problems & Problem.UNREADABLE]

    unreadable = [it for it in items if it.problems & Problem.UNREADABLE]
    if unreadable:
        reasons = _reason_summary(it.error for it in unreadable)
        findings.append(Finding("unreadable", "error", f"{_n(len(unreadable), 'unreadable image file')}",
                                f"Not images, empty, unreadable or too large to decode safely ({reasons}). "
                                "sd-scripts would stop on them: fix or remove them.",
                                [it.key for it in unreadable]))

    # Decode every readable image at reduced size: corruption check and perceptual hash in one pass.
    phashes: dict[str, int] = {}
    corrupt: dict[str, str] = {}
    if decode and readable:
        total = len(readable)
        workers = threads or max(1, min(4, os.cpu_count() or 2))
        with ThreadPoolExecutor(workers, thread_name_prefix="health") as pool:
            done = 0
            batch = 64
            for start in range(0, total, batch):
                check()
                for key, phash, error in pool.map(decode_check, readable[start:start + batch]):
                    if error:
                        corrupt[key] = error
                    elif phash is not None:
                        phashes[key] = phash
                done = min(total, start + batch)
                if report is not None:
                    report(done, total, "Decoding images")
    if corrupt:
        findings.append(Finding("corrupt", "error", f"{_n(len(corrupt), 'corrupt or truncated image')}",
                                f"They do not decode completely ({_reason_summary(corrupt.values())}). "
                                "Re-export or remove them.", list(corrupt)))

    # Captions.
    for kind, test, severity, title, detail in (
            ("no_caption", lambda it: not it.caption_exists and not it.caption_undecodable, "warning",
             "without a caption file",
             "sd-scripts trains them with the folder's class tokens only (or nothing)."),
            ("empty_caption", lambda it: it.caption_empty, "warning", "with an empty caption",
             "The caption file exists but holds no text."),
            ("caption_encoding", lambda it: it.caption_undecodable, "error", "with a caption in an unknown encoding",
             "Not UTF-8 or UTF-16 with BOM; LoRA Studio will not edit them and sd-scripts may fail to read them. "
             "Convert them to UTF-8.")):
        keys = [it.key for it in items if test(it)]
        if keys:
            findings.append(Finding(kind, severity, f"{_n(len(keys), 'image')} {title}", detail, keys))

    # Sizes, aspect ratios and buckets.
    planner = BucketPlanner(settings)
    small, odd = [], []
    for it in readable:
        if not it.width or not it.height or it.key in corrupt:  # corrupt ones are reported once, above
            continue
        placement = planner.place(it.width, it.height)
        if placement.scale > UPSCALE_LIMIT:
            small.append(it.key)
        aspect = it.width / it.height
        if aspect > EXTREME_ASPECT or aspect < 1 / EXTREME_ASPECT or placement.crop_fraction > HEAVY_CROP:
            odd.append(it.key)
    res = f"{settings.resolution[0]}×{settings.resolution[1]}"
    if small:
        findings.append(Finding("too_small", "warning", f"{_n(len(small), 'image')} too small for {res}",
                                f"They would be enlarged more than {UPSCALE_LIMIT:.2f}× to fill their bucket, "
                                "which trains blur. Use larger sources or a lower resolution.", small))
    if odd:
        findings.append(Finding("odd_aspect", "info", f"{_n(len(odd), 'image')} with an odd aspect ratio",
                                f"Beyond 1:{EXTREME_ASPECT:g}, or more than {HEAVY_CROP:.0%} cropped away by their "
                                "bucket. Crop them yourself to keep what matters.", odd))
    zero = sorted({it.key for it in items if it.repeats < 1})
    if zero:
        findings.append(Finding("zero_repeats", "warning", f"{_n(len(zero), 'image')} in folders with 0 repeats",
                                "sd-scripts skips folders whose repeat count is 0.", zero))

    # Exact and near duplicates.
    check()
    groups, digests = exact_duplicate_groups([(it.key, it.path, it.file_size) for it in readable],
                                             report=report, cancelled=cancelled, known=known_hashes)
    if groups:
        n = sum(len(g) for g in groups)
        title = f"{_n(n, 'image')} that are exact duplicates ({_n(len(groups), 'group')})"
        findings.append(Finding("duplicate", "warning", title,
                                "The same file content more than once: it is trained more often than you meant.",
                                [k for g in groups for k in g], groups))
    if phashes:
        check()
        exact_pairs = {frozenset((a, b)) for g in groups for a in g for b in g if a != b}
        near = near_duplicate_groups(phashes, near_distance, exact_pairs)
        near = [g for g in near if not any(set(g) <= set(e) for e in groups)]
        if near:
            n = sum(len(g) for g in near)
            title = f"{_n(n, 'image')} that look nearly the same ({_n(len(near), 'group')})"
            findings.append(Finding("near_duplicate", "info", title,
                                    "Resized, re-encoded or slightly edited copies. Keep the best of each group.",
                                    [k for g in near for k in g], near))

    sizes = [(it.width, it.height, max(0, it.repeats)) for it in readable
             if it.width and it.height and it.key not in corrupt and not it.is_reg]
    buckets = bucket_histogram(sizes, settings)
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return HealthReport(len(items), findings, buckets, settings, digests, corrupt)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _reason_summary(reasons: Iterable[str], limit: int = 3) -> str:
    counts: dict[str, int] = defaultdict(int)
    for r in reasons:
        counts[(r or "unknown").split(":")[0].split("(")[0].strip()] += 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
    return "; ".join(f"{n}× {reason}" for reason, n in top)
