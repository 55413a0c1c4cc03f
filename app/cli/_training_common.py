"""Shared bits of the training sub-commands (detect, validate, emit, import)."""

from __future__ import annotations

import os


def print_problems(problems, *, stream=None) -> None:
    import sys

    stream = stream or sys.stdout
    for problem in problems:
        print(f"{problem.severity.value:7s} {problem.field}: {problem.message}", file=stream)
        if problem.hint:
            print(f"        -> {problem.hint}", file=stream)


def backend_paths(args) -> tuple[str | None, str | None, str | None]:
    """(sd-scripts folder, backend python, tokenizer cache): options, then the environment
    (LORA_STUDIO_SDSCRIPTS, LORA_STUDIO_SDSCRIPTS_PYTHON), then the backend runtime the settings
    point to (Settings > Training backend, or the managed one)."""
    from services.backend.runtime import locate
    from services.paths import app_dirs
    from services.settings import SettingsStore

    runtime = locate(SettingsStore(app_dirs().config).load())
    sd = getattr(args, "sd_scripts", None) or os.environ.get("LORA_STUDIO_SDSCRIPTS") or \
        (str(runtime.sd_scripts_dir) if runtime.sd_scripts_dir and runtime.sd_scripts_dir.is_dir() else None)
    python = getattr(args, "python", None) or os.environ.get("LORA_STUDIO_SDSCRIPTS_PYTHON") or \
        (str(runtime.python) if runtime.python and runtime.python.is_file() else None)
    tokenizers = getattr(args, "tokenizer_cache", None) or str(runtime.tokenizer_cache_dir)
    return sd, python, tokenizers


def validation_context(python: str | None):
    """A ValidationContext that knows the backend's packages when its Python is known."""
    from services.errors import BackendError
    from services.training.backend_packages import installed_distributions
    from services.training.validation import ValidationContext

    installed = None
    if python:
        try:
            installed = installed_distributions(python)
        except BackendError as exc:
            print(f"note    {exc.message} Package checks are skipped.")
    return ValidationContext(installed=installed)
