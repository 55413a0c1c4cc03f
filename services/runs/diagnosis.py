"""Explaining why a run failed, in words a person can act on -- never a bare exit code.

``diagnose()`` reads the last lines the engine printed (kept by the parser), the exit code and
what the run was configured with, and recognises the common failures: CUDA out of memory, a
Python module missing from the backend, a missing file or model, a dataset config the engine's
schema rejects, a NaN loss, a tokenizer that cannot be loaded offline, a process killed by the
system. Anything else is shown as the last meaningful error lines (the real exception, not the
launcher's "returned non-zero exit status" wrapper around it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

# Kinds of diagnosis.
CUDA_OOM, MISSING_MODULE, MISSING_FILE, DATASET_SCHEMA, NAN_LOSS, TOKENIZER_OFFLINE = (
    "cuda_oom", "missing_module", "missing_file", "dataset_schema", "nan_loss", "tokenizer_offline")
KILLED, NO_GPU, BAD_MODEL, EMPTY_DATASET, LAUNCH_FAILED, UNKNOWN = (
    "killed", "no_gpu", "bad_model", "empty_dataset", "launch_failed", "unknown")

# pip names of modules whose import name differs, and what they are for.
_PACKAGES = {
    "bitsandbytes": ("bitsandbytes", "8-bit optimizers (AdamW8bit, Lion8bit, PagedAdamW8bit)"),
    "lycoris": ("lycoris-lora", "LyCORIS network algorithms"),
    "prodigyopt": ("prodigyopt", "the Prodigy optimizer"),
    "dadaptation": ("dadaptation", "the D-Adaptation optimizers"),
    "xformers": ("xformers", "xformers attention"),
    "came_pytorch": ("came-pytorch", "the CAME optimizer"),
    "schedulefree": ("schedulefree", "schedule-free optimizers"),
    "wandb": ("wandb", "logging to Weights & Biases"),
    "tensorboard": ("tensorboard", "TensorBoard logging"),
    "cv2": ("opencv-python", "image loading in sd-scripts"),
    "PIL": ("Pillow", "image loading"),
}

_OOM = re.compile(r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|HIP out of memory|"
                  r"XPU out of memory|MPS backend out of memory|DefaultCPUAllocator: can't allocate memory|"
                  r"not enough memory: you tried to allocate", re.IGNORECASE)
_NO_MODULE = re.compile(r"^(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")
_IMPORT_ERROR = re.compile(r"^ImportError: (.*)")
_NO_FILE = re.compile(r"(?:FileNotFoundError|OSError|IsADirectoryError|NotADirectoryError)?:?.*?"
                      r"(?:No such file or directory|does not exist|not found|cannot find the (?:file|path))"
                      r"[^'\"]*['\"]([^'\"]+)['\"]", re.IGNORECASE)
_SCHEMA = re.compile(r"(?:MultipleInvalid|Invalid)\b.*?:?\s*(.*?)\s*@ data((?:\[[^\]]*\])+)")
_SCHEMA_LOOSE = re.compile(r"voluptuous|extra keys not allowed|required key not provided|"
                           r"expected \w+ for dictionary value")
_TOKENIZER = re.compile(r"expected str, bytes or os\.PathLike object, not NoneType|OfflineModeIsEnabled|"
                        r"LocalEntryNotFoundError|couldn't connect to 'https://huggingface\.co'|"
                        r"Can't load tokenizer for '([^']+)'|We couldn't connect", re.IGNORECASE)
_TOKENIZER_ID = re.compile(r"(openai/clip-vit-large-patch14|laion/CLIP-ViT-bigG-14-laion2B-39B-b160k|"
                           r"stabilityai/stable-diffusion-2|google/t5-v1_1-xxl|[\w-]+/[\w.-]+)")
_NO_GPU = re.compile(r"Torch not compiled with CUDA enabled|No CUDA GPUs are available|"
                     r"CUDA driver version is insufficient|Found no NVIDIA driver|no kernel image is available",
                     re.IGNORECASE)
_BAD_MODEL = re.compile(r"Error\(s\) in loading state_dict|SafetensorError|HeaderTooLarge|"
                        r"invalid load key|is not a valid model|Unable to load weights|MetadataIncompleteBuffer",
                        re.IGNORECASE)
_EMPTY = re.compile(r"No data found|no images? found|num train images \* repeats[^:]*: 0\b", re.IGNORECASE)
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Invalid|Failure)\b(?::|$)")
_WRAPPER = ("CalledProcessError", "returned non-zero exit status", "ChildFailedError")

# Exit codes that mean a signal ended the process.
_SIGNALS = {-9: "SIGKILL", 137: "SIGKILL", -6: "SIGABRT", 134: "SIGABRT", -11: "SIGSEGV", 139: "SIGSEGV",
            -15: "SIGTERM", 143: "SIGTERM"}
_WINDOWS_CODES = {3221225477: "an access violation (0xC0000005)",
                  3221226505: "a stack buffer overrun (0xC0000409)",
                  3221225725: "a stack overflow (0xC00000FD)"}


@dataclass
class RunContext:
    """What the run was configured with, for advice that names the right knob."""
    family: str = ""             # sd1, sd2, sdxl, flux, sd3
    memory_profile: str = ""     # the memory profile in use, if any
    lower_memory_profile: str = ""  # the next lower one, if there is one
    blocks_to_swap: int | None = None
    batch_size: int | None = None
    gradient_checkpointing: bool | None = None
    mixed_precision: str = ""
    python: str = ""             # the backend interpreter, for pip commands

    @classmethod
    def from_config(cls, config: dict, **extra) -> RunContext:
        ctx = cls(**extra)
        if isinstance(config.get("blocks_to_swap"), int):
            ctx.blocks_to_swap = config["blocks_to_swap"]
        if isinstance(config.get("train_batch_size"), int):
            ctx.batch_size = config["train_batch_size"]
        if isinstance(config.get("gradient_checkpointing"), bool):
            ctx.gradient_checkpointing = config["gradient_checkpointing"]
        if isinstance(config.get("mixed_precision"), str):
            ctx.mixed_precision = config["mixed_precision"]
        if not ctx.family:
            ctx.family = guess_family(config)
        return ctx


def guess_family(config: dict) -> str:
    if config.get("v2"):
        return "sd2"
    for key in ("t5xxl", "clip_l", "ae"):
        if config.get(key) and config.get("clip_g"):
            return "sd3"
    if config.get("ae") or config.get("t5xxl"):
        return "flux"
    return ""


@dataclass
class Diagnosis:
    kind: str
    title: str
    message: str
    hint: str = ""
    lines: list[str] = field(default_factory=list)  # the engine's own lines that show it
    exit_code: int | None = None
    severity: str = "error"  # "error" (the run failed) or "warning" (it finished, but look)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> Diagnosis:
        known = {k: raw[k] for k in ("kind", "title", "message", "hint", "lines", "exit_code", "severity")
                 if k in raw}
        known.setdefault("kind", UNKNOWN)
        known.setdefault("title", "Training failed")
        known.setdefault("message", "")
        return cls(**known)

    def text(self) -> str:
        parts = [self.title, self.message]
        if self.hint:
            parts.append(f"What to do: {self.hint}")
        return "\n".join(p for p in parts if p)


def _last_exception(lines: Sequence[str]) -> tuple[int, str] | None:
    """The innermost real exception: the last exception line that is not a launcher wrapper."""
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i].strip()
        if _EXCEPTION_LINE.match(line) and not any(w in line for w in _WRAPPER):
            return i, line
    return None


def _evidence(lines: Sequence[str], index: int, before: int = 4) -> list[str]:
    start = max(0, index - before)
    return [line for line in lines[start:index + 1] if line.strip()]


def _pip(ctx: RunContext, package: str) -> str:
    python = ctx.python or "python"
    return f'"{python}" -m pip install {package}'


def _oom_hint(ctx: RunContext) -> str:
    steps = []
    if ctx.lower_memory_profile:
        steps.append(f"choose the memory profile “{ctx.lower_memory_profile}”, the next one down from "
                     f"“{ctx.memory_profile or 'the current one'}”")
    if ctx.family in ("flux", "sd3"):
        more = (ctx.blocks_to_swap or 0) + (8 if ctx.family == "flux" else 6)
        steps.append(f"swap more transformer blocks to the CPU (blocks_to_swap = {more})")
    if ctx.gradient_checkpointing is False:
        steps.append("turn on gradient_checkpointing")
    if ctx.batch_size and ctx.batch_size > 1:
        steps.append(f"lower train_batch_size (now {ctx.batch_size})")
    if not ctx.mixed_precision or ctx.mixed_precision == "no":
        steps.append("use mixed precision (bf16 on recent GPUs, fp16 otherwise)")
    if not steps:
        steps.append("choose a lower memory profile (it caches latents and text-encoder outputs, uses an 8-bit "
                     "optimizer and fp8 weights) or lower the resolution")
    text = "; or ".join(steps[:3])
    return text[0].upper() + text[1:] + "."


def diagnose(tail: Sequence[str], exit_code: int | None, *, ctx: RunContext | None = None,
             nan_step: int | None = None, phase: str = "") -> Diagnosis | None:
    """Why the run ended badly; None when it succeeded cleanly."""
    ctx = ctx or RunContext()
    lines = [line for line in tail if line is not None]
    text = "\n".join(lines)
    exc = _last_exception(lines)
    exc_line = exc[1] if exc else ""
    evidence = _evidence(lines, exc[0]) if exc else [ln for ln in lines[-6:] if ln.strip()]

    if exit_code == 0:
        if nan_step is not None:
            return Diagnosis(NAN_LOSS, "The loss became NaN", (
                f"From step {nan_step} on the loss was not a number: the weights saved after it are broken."),
                _nan_hint(ctx), [], exit_code, "warning")
        return None

    if _OOM.search(text):
        where = next((ln.strip() for ln in reversed(lines) if _OOM.search(ln)), exc_line)
        return Diagnosis(CUDA_OOM, "The GPU ran out of memory",
                         "The configuration needs more video memory than the GPU has free.", _oom_hint(ctx),
                         [where], exit_code)

    m = _NO_MODULE.match(exc_line) if exc_line else None
    if m:
        module = m.group(1)
        top = module.split(".")[0]
        package, purpose = _PACKAGES.get(top, (top, ""))
        why = f" (needed for {purpose})" if purpose else ""
        return Diagnosis(MISSING_MODULE, f"The backend is missing the Python module “{top}”",
                         f"sd-scripts tried to import {module}{why}, which is not installed in the training "
                         f"backend.", f"Repair the backend (Settings ▸ Training backend ▸ Repair), or install it "
                         f"yourself: {_pip(ctx, package)}", evidence, exit_code)

    if _TOKENIZER.search(text) and ("tokenizer" in text.lower()):
        ids = _TOKENIZER_ID.findall(" ".join(ln for ln in lines if "tokenizer" in ln.lower()))
        which = next((i for i in ids if "/" in i and "." not in i.split("/")[0]), "")
        name = f" “{which}”" if which else ""
        return Diagnosis(TOKENIZER_OFFLINE, f"The tokenizer{name} could not be loaded offline",
                         "sd-scripts loads its tokenizers from a local cache when it runs offline, and that "
                         "cache does not hold the one this model family needs.",
                         "Fill the tokenizer cache while online (Settings ▸ Training backend ▸ Tokenizers), or "
                         "point tokenizer_cache_dir at a folder that holds it.", evidence, exit_code)

    if _SCHEMA_LOOSE.search(text):
        sm = _SCHEMA.search(text)
        if sm:
            keys = re.findall(r"\['?([^'\]]*)'?\]", sm.group(2))
            where = " ▸ ".join(keys)
            message = f"The engine rejected the dataset config at {where}: {sm.group(1) or 'invalid value'}."
        else:
            message = "The engine rejected the dataset config."
        return Diagnosis(DATASET_SCHEMA, "The dataset config does not match the engine's schema", message,
                         "Fix the named setting in the dataset's subsets (an unknown key usually means an option "
                         "of another sd-scripts version), then emit the run again.", evidence, exit_code)

    if _NO_GPU.search(text):
        return Diagnosis(NO_GPU, "The backend cannot use the GPU",
                         "PyTorch in the training backend was built without support for this GPU, or the driver "
                         "is too old.", "Run Settings ▸ Training backend ▸ Verify; repair it with the torch build "
                         "for this hardware.", evidence, exit_code)

    if _BAD_MODEL.search(text):
        return Diagnosis(BAD_MODEL, "The model file could not be loaded",
                         "The base model is damaged, incomplete, or of another family than the one chosen.",
                         "Check the model file (download it again if its size looks wrong) and that the model "
                         "family matches it.", evidence, exit_code)

    fm = _NO_FILE.search(exc_line) if exc_line else None
    if fm is None and exc_line.startswith(("FileNotFoundError", "OSError")):
        fm = re.search(r"['\"]([^'\"]+)['\"]", exc_line)
    if fm:
        path = fm.group(1)
        return Diagnosis(MISSING_FILE, "A file the run needs is missing", f"Not found: {path}",
                         "Check that the path exists (a moved model, dataset folder or sample-prompt file), "
                         "correct it in the parameters, and start again.", evidence, exit_code)

    if _EMPTY.search(text):
        return Diagnosis(EMPTY_DATASET, "The engine found no training images",
                         "None of the dataset's folders held images the engine could use.",
                         "Check the subsets' folders and their repeats, then emit the run again.", evidence,
                         exit_code)

    if nan_step is not None:
        return Diagnosis(NAN_LOSS, "The loss became NaN", f"From step {nan_step} on the loss was not a number.",
                         _nan_hint(ctx), evidence, exit_code)

    if exc is None and exit_code is not None and (exit_code in _SIGNALS or exit_code in _WINDOWS_CODES):
        if exit_code in _WINDOWS_CODES:
            what = _WINDOWS_CODES[exit_code]
            return Diagnosis(KILLED, "The engine crashed", f"It ended with {what}, without a Python error.",
                             "This is usually a driver or library problem: update the GPU driver and run Settings "
                             "▸ Training backend ▸ Verify.", evidence, exit_code)
        name = _SIGNALS[exit_code]
        if name == "SIGKILL":
            return Diagnosis(KILLED, "The engine was killed by the system",
                             "It ended abruptly (SIGKILL) without a Python error — most often the operating "
                             "system ended it because the machine ran out of RAM.",
                             "Close other programs, lower max_data_loader_n_workers, or use a lower memory "
                             "profile (cached latents and text-encoder outputs need less RAM).", evidence,
                             exit_code)
        return Diagnosis(KILLED, f"The engine was ended by {name}", "It ended without a Python error.",
                         "Start it again; if it happens again, check the system log.", evidence, exit_code)

    return _generic(lines, exc, exit_code, phase)


def _nan_hint(ctx: RunContext) -> str:
    hints = ["lower the learning rate"]
    if ctx.mixed_precision == "fp16":
        hints.append("use bf16 instead of fp16 if the GPU supports it")
    if ctx.family == "sdxl":
        hints.append("turn on no_half_vae (the SDXL VAE overflows in fp16)")
    hints.append("start again from the last checkpoint before the NaN")
    text = "; ".join(hints)
    return text[0].upper() + text[1:] + "."


def _generic(lines: list[str], exc: tuple[int, str] | None, exit_code: int | None, phase: str) -> Diagnosis:
    code = f" (exit code {exit_code})" if exit_code is not None else ""
    during = f" while {phase}" if phase else ""
    if exc is not None:
        return Diagnosis(UNKNOWN, f"Training failed{during}{code}", exc[1],
                         "The lines below are the engine's own; the full log is in the run folder.",
                         _evidence(lines, exc[0], before=6), exit_code)
    meaningful = [ln for ln in lines if ln.strip() and not any(w in ln for w in _WRAPPER)]
    errors = [ln for ln in meaningful if re.search(r"\berror\b|failed|cannot|can't|unable", ln, re.IGNORECASE)]
    shown = (errors or meaningful)[-6:]
    message = shown[-1].strip() if shown else "The engine stopped without printing an error."
    return Diagnosis(UNKNOWN, f"Training failed{during}{code}", message,
                     "The lines below are the last the engine printed; the full log is in the run folder.",
                     shown, exit_code)


def launch_failure(error: BaseException, argv: Sequence[str]) -> Diagnosis:
    program = argv[0] if argv else "?"
    if isinstance(error, FileNotFoundError):
        return Diagnosis(LAUNCH_FAILED, "The training backend's Python was not found",
                         f"{program} does not exist.", "Set up or repair the training backend (Settings ▸ "
                         "Training backend).")
    if isinstance(error, PermissionError):
        return Diagnosis(LAUNCH_FAILED, "The training backend's Python cannot be run",
                         f"{program}: {error}", "Check the file's permissions, or repair the backend.")
    return Diagnosis(LAUNCH_FAILED, "The engine could not be started", f"{program}: {error}",
                     "Check the training backend (Settings ▸ Training backend ▸ Verify).")
