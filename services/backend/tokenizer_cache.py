"""The tokenizer cache sd-scripts reads with ``--tokenizer_cache_dir``.

sd-scripts loads its tokenizers by Hugging Face hub id (hard-coded per model family); given
``--tokenizer_cache_dir D`` it first looks in ``D/<id with "/" replaced by "_">/``. Offline and
without that folder it fails with an unhelpful TypeError. So LoRA Studio owns the cache: it is
filled while online for the families the user trains, passed to every run (the runtime's
``tokenizer_cache_dir``), and anything missing is named clearly.

The CLIP tokenizers (openai/clip-vit-large-patch14, and the laion ViT-bigG of SDXL/SD3, which uses
the same vocabulary with "!" as padding) can also be written offline from the vocabulary bundled
with LoRA Studio (services/tokenizers/clip_bpe.py); the others are downloaded with huggingface_hub.
Each folder is built as ``<name>.partial`` and renamed when complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MARKER = ".lora-studio.json"


@dataclass(frozen=True)
class TokenizerSpec:
    repo_id: str
    subfolder: str = ""
    kind: str = "clip"                 # "clip" (vocab.json + merges.txt) | "t5" (spiece.model)
    offline_pad: str | None = None     # the pad token for an offline CLIP build; None: download only

    @property
    def folder_name(self) -> str:
        return self.repo_id.replace("/", "_")

    @property
    def files(self) -> tuple[str, ...]:
        if self.kind == "t5":
            return ("spiece.model", "tokenizer_config.json", "special_tokens_map.json")
        return ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")

    @property
    def optional_files(self) -> tuple[str, ...]:
        return ("tokenizer.json", "added_tokens.json")

    @property
    def required(self) -> tuple[str, ...]:
        return ("spiece.model",) if self.kind == "t5" else ("vocab.json", "merges.txt")


CLIP_L = TokenizerSpec("openai/clip-vit-large-patch14", offline_pad="<|endoftext|>")
CLIP_G = TokenizerSpec("laion/CLIP-ViT-bigG-14-laion2B-39B-b160k", offline_pad="!")
SD2 = TokenizerSpec("stabilityai/stable-diffusion-2", subfolder="tokenizer")
T5_XXL = TokenizerSpec("google/t5-v1_1-xxl", kind="t5")

# The hub ids sd-scripts (at the pinned commit) loads per model family.
FAMILY_TOKENIZERS: dict[str, tuple[TokenizerSpec, ...]] = {
    "sd1": (CLIP_L,),
    "sd2": (SD2,),
    "sdxl": (CLIP_L, CLIP_G),
    "sd3": (CLIP_L, CLIP_G, T5_XXL),
    "flux": (CLIP_L, T5_XXL),
}
FAMILY_NAMES = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL", "sd3": "SD3", "flux": "Flux.1"}


def specs_for(families) -> list[TokenizerSpec]:
    seen: dict[str, TokenizerSpec] = {}
    for family in families:
        for spec in FAMILY_TOKENIZERS.get(family, ()):
            seen.setdefault(spec.repo_id, spec)
    return list(seen.values())


@dataclass(frozen=True)
class TokenizerState:
    spec: TokenizerSpec
    path: Path
    present: bool
    source: str          # "hub", "bundled-vocabulary", "unknown" (placed there by someone else), "" (absent)


def state_of(cache_dir: Path, spec: TokenizerSpec) -> TokenizerState:
    folder = Path(cache_dir) / spec.folder_name
    present = all((folder / name).is_file() for name in spec.required) or \
        (spec.kind == "t5" and (folder / "tokenizer.json").is_file())
    source = ""
    if present:
        try:
            source = json.loads((folder / MARKER).read_text(encoding="utf-8")).get("source", "unknown")
        except (OSError, ValueError, AttributeError):
            source = "unknown"  # written by sd-scripts itself while online, or copied in by the user
    return TokenizerState(spec, folder, present, source)


def status(cache_dir: Path, families) -> list[TokenizerState]:
    return [state_of(cache_dir, spec) for spec in specs_for(families)]


def missing_for(cache_dir: Path, families) -> list[str]:
    """Hub ids the given families need that the cache lacks (for the runner's preflight)."""
    return [s.spec.repo_id for s in status(cache_dir, families) if not s.present]


def missing_message(missing: list[str], families=()) -> str:
    names = ", ".join(FAMILY_NAMES.get(f, f) for f in families)
    return (f"Tokenizers missing from the cache{f' (needed for {names})' if names else ''}: "
            + ", ".join(missing) + ". sd-scripts cannot load them offline.")


MISSING_HINT = ("Connect to the internet and run Repair in Settings > Training backend "
                "(or `lora-studio backend repair`).")


@dataclass
class FillReport:
    filled: list[tuple[str, str]] = field(default_factory=list)     # (repo id, source)
    already: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)    # (repo id, reason)


def hub_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 6.0) -> tuple[bool, str]:
    """One quick request to the hub (or the mirror HF_ENDPOINT names), without huggingface_hub's
    retries: offline, each file would otherwise cost half a minute of backing off."""
    import urllib.error
    import urllib.request

    endpoint = os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return True, ""          # it answered: reachable
    except (OSError, ValueError) as exc:
        return False, f"{endpoint} cannot be reached ({getattr(exc, 'reason', exc)})"
    return True, ""


def _download(spec: TokenizerSpec, partial: Path, hf_cache: Path, log_line: Callable[[str], None]) -> None:
    from huggingface_hub import errors, hf_hub_download

    absent = getattr(errors, "RemoteEntryNotFoundError", errors.EntryNotFoundError)
    for name in (*spec.files, *spec.optional_files):
        try:
            got = hf_hub_download(spec.repo_id, name, subfolder=spec.subfolder or None, cache_dir=str(hf_cache))
        except absent:
            if name in spec.required:
                raise
            continue
        shutil.copyfile(got, partial / name)
        log_line(f"downloaded {spec.repo_id}/{spec.subfolder + '/' if spec.subfolder else ''}{name}")


def fill(cache_dir: Path, families, *, hf_cache: Path, log_line: Callable[[str], None] = log.info,
         cancel=None, offline: bool | None = None) -> FillReport:
    """Make every tokenizer the families need present in ``cache_dir``; never raises for a
    tokenizer that cannot be had (it is listed in ``missing``, with the reason)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    offline = hub_offline() if offline is None else offline
    report = FillReport()
    unreachable: str | None = None   # checked once, before the first download
    for spec in specs_for(families):
        if cancel is not None:
            cancel.raise_if_cancelled()
        state = state_of(cache_dir, spec)
        if state.present:
            report.already.append(spec.repo_id)
            continue
        partial = state.path.with_name(state.path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        source, reason = "", "offline" if offline else ""
        if not offline and unreachable is None:
            unreachable = hub_reachable()[1]
            if unreachable:
                log_line(f"not downloading tokenizers: {unreachable}")
        if not offline and unreachable:
            reason = unreachable
        elif not offline:
            try:
                _download(spec, partial, hf_cache, log_line)
                source = "hub"
            except Exception as exc:  # network, gated repo, missing file: fall back or report
                reason = f"download failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                log_line(f"{spec.repo_id}: {reason}")
                for child in partial.iterdir():
                    child.unlink()
        if not source and spec.offline_pad is not None:
            from services.tokenizers.clip_bpe import default_tokenizer

            default_tokenizer().write_hf_files(partial, pad_token=spec.offline_pad)
            source = "bundled-vocabulary"
            log_line(f"{spec.repo_id}: written from the CLIP vocabulary bundled with LoRA Studio")
        if not source:
            shutil.rmtree(partial, ignore_errors=True)
            report.missing.append((spec.repo_id, reason or "not available"))
            continue
        (partial / MARKER).write_text(json.dumps({"repo_id": spec.repo_id, "subfolder": spec.subfolder,
                                                  "source": source}), encoding="utf-8")
        shutil.rmtree(state.path, ignore_errors=True)
        partial.rename(state.path)
        report.filled.append((spec.repo_id, source))
    return report
