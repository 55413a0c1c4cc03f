"""Emission of a run folder: what sd-scripts needs to train a project, written so it can be launched,
inspected and reproduced.

    run = emit_run_folder(project, out_dir, EmitOptions(sd_scripts_dir=..., python=...))
    subprocess.Popen(run.argv, cwd=run.cwd, env=run.launch_environment())

The folder holds ``config.toml`` (--config_file), ``dataset.toml`` (--dataset_config), the project
snapshot, ``resolved.toml`` (every effective value and where it came from), ``command.txt`` and
``command.json``, typed sample prompts, fine-tuning metadata, and empty ``output/`` (and ``logs/``).
No secret is written: ``secret_env_names`` lists what the launcher adds from the environment or
keyring (``services.training.secrets.secret_environment``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.atomic import atomic_write_text
from services.errors import FileAccessError, UserInputError, ValidationError
from services.training.emit import toml_text
from services.training.emit.command import BASE_ENVIRONMENT, accelerate_argv, command_line
from services.training.emit.config import RunPaths, build_training_config
from services.training.emit.dataset import build_dataset_config
from services.training.families import script_for
from services.training.project import Project
from services.training.registry import PATH_TYPES, ParamType, registry
from services.training.secrets import SECRET_ENV, secret_environment
from services.training.steps import StepPlan
from services.training.validation import ValidationContext, check_project

CONFIG_NAME, DATASET_NAME, SNAPSHOT_NAME = "config.toml", "dataset.toml", "project.lsproj.toml"
RESOLVED_NAME, COMMAND_TXT, COMMAND_JSON, PROMPTS_NAME = "resolved.toml", "command.txt", "command.json", \
    "sample_prompts.txt"


@dataclass(frozen=True)
class EmitOptions:
    sd_scripts_dir: str | os.PathLike | None = None   # the engine's folder: the working directory of the run
    python: str | None = None                         # the backend runtime's interpreter (default: this one)
    tokenizer_cache_dir: str | os.PathLike | None = None
    validation: ValidationContext | None = None       # image counts etc.; validation runs before writing
    allow_errors: bool = False                        # write even when validation found errors (tests, debugging)
    extra_environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFolder:
    folder: Path
    config_path: Path
    dataset_path: Path
    snapshot_path: Path
    resolved_path: Path
    command_path: Path
    command_json_path: Path
    output_dir: Path
    logging_dir: Path | None
    sample_prompts_path: Path | None
    metadata_paths: tuple[Path, ...]
    script: str                       # e.g. "sdxl_train_network.py"
    argv: tuple[str, ...]             # the exact command
    cwd: Path | None                  # the sd-scripts folder
    env: Mapping[str, str]            # variables to add to the launcher's environment (no secrets)
    secret_env_names: tuple[str, ...]  # secrets the launcher passes from its environment / the keyring
    steps: StepPlan | None
    problems: tuple = ()              # validation problems (warnings, infos; errors only with allow_errors)
    tokenizers: TokenizerCacheReport | None = None  # what the tokenizer cache holds for this family

    def launch_environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The full environment for the child: ``base`` (default os.environ) + ``env`` + the secrets
        (read from this process's environment or the system keyring, at launch time only)."""
        env = dict(os.environ if base is None else base)
        env.update(self.env)
        env.update(secret_environment())
        return env


def emit_run_folder(project: Project, out_dir: str | os.PathLike, options: EmitOptions | None = None) -> RunFolder:
    options = options or EmitOptions()
    folder = Path(out_dir).absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserInputError(f"The run folder {folder} already exists and is not empty.",
                             "Choose a new folder for each run; earlier runs are never overwritten.")
    report = check_project(project, options.validation)
    if report.errors and not options.allow_errors:
        raise ValidationError(f"The project has {len(report.errors)} problem(s) that must be fixed before a run "
                              "can be written.", report.problems,
                              "Fix the errors listed; warnings do not block.")
    resolved = report.resolved
    if resolved is None:
        raise ValidationError("The project cannot be resolved (no model family).", report.problems)
    script = script_for(resolved.family, resolved.mode)
    values = resolved.applicable()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        output_dir = Path(project.absolute(values.get("output_dir")) or folder / "output")
        output_dir.mkdir(parents=True, exist_ok=True)
        logging_dir = None
        if values.get("log_with"):
            logging_dir = Path(project.absolute(values.get("logging_dir")) or folder / "logs")
            logging_dir.mkdir(parents=True, exist_ok=True)
        prompts_path = None
        if values.get("sample_prompts"):
            prompts_path = Path(project.absolute(values["sample_prompts"]))
        elif values.get("sample_prompt_text"):
            prompts_path = folder / PROMPTS_NAME
            atomic_write_text(prompts_path, values["sample_prompt_text"].strip() + "\n")
        paths = RunPaths(folder, output_dir, logging_dir, prompts_path)
        config = build_training_config(project, resolved, script, paths,
                                       tokenizer_cache_dir=str(options.tokenizer_cache_dir)
                                       if options.tokenizer_cache_dir else None)
        dataset, metadata = build_dataset_config(project, resolved, folder / "metadata")
        header = f"Written by LoRA Studio for {script} ({resolved.family.label}, {resolved.mode.label})."
        config_path, dataset_path = folder / CONFIG_NAME, folder / DATASET_NAME
        try:
            config_text = toml_text.dumps_checked(config, header=header + "\nsd-scripts reads every table as one "
                                                                          "flat list of arguments.")
            dataset_text = toml_text.dumps_checked(dataset, header=header)
        except ValueError as exc:
            raise UserInputError(f"A value cannot be written so that sd-scripts reads it back unchanged: {exc}.",
                                 "sd-scripts' TOML reader mishandles some text (for example text that starts "
                                 "with a double quote); change that value.") from None
        atomic_write_text(config_path, config_text)
        atomic_write_text(dataset_path, dataset_text)
        snapshot_path = folder / SNAPSHOT_NAME
        atomic_write_text(snapshot_path, _snapshot(project).to_toml())
        resolved_path = folder / RESOLVED_NAME
        atomic_write_text(resolved_path, _resolved_text(resolved))
    except OSError as exc:
        raise FileAccessError(f"The run folder {folder} could not be written: {exc.strerror or exc}.") from None

    tokenizers = None
    if options.tokenizer_cache_dir:
        tokenizers = _offline_tokenizers(Path(options.tokenizer_cache_dir), resolved.family)
    sd_dir = Path(options.sd_scripts_dir).absolute() if options.sd_scripts_dir else None
    script_arg = str(sd_dir / script) if sd_dir else script
    argv = accelerate_argv(options.python or sys.executable, script_arg, config_path, dataset_path, values)
    env = {**BASE_ENVIRONMENT, **options.extra_environment}
    secret_names = tuple(SECRET_ENV)
    command_path, command_json = folder / COMMAND_TXT, folder / COMMAND_JSON
    atomic_write_text(command_path, _command_text(argv, sd_dir, env, secret_names))
    atomic_write_text(command_json, json.dumps({"argv": argv, "cwd": str(sd_dir) if sd_dir else None, "env": env,
                                                "secret_env_names": list(secret_names), "script": script},
                                               indent=2))
    return RunFolder(folder, config_path, dataset_path, snapshot_path, resolved_path, command_path, command_json,
                     output_dir, logging_dir, prompts_path, tuple(metadata), script, tuple(argv), sd_dir, env,
                     secret_names, report.steps, tuple(report.problems), tokenizers)


@dataclass(frozen=True)
class TokenizerCacheReport:
    folder: Path
    written: tuple[str, ...]   # written now from the bundled CLIP vocabulary
    present: tuple[str, ...]   # already cached
    missing: tuple[str, ...]   # needed, not cached, cannot be built offline (T5-XXL): the backend's repair
                               # (services.backend.tokenizer_cache.fill) downloads it while online


def _offline_tokenizers(cache_dir: Path, family) -> TokenizerCacheReport:
    """The tokenizers the family needs, written offline where they can be (never a download here)."""
    from services.backend.tokenizer_cache import fill

    try:
        report = fill(cache_dir, [family.value], hf_cache=cache_dir, offline=True, log_line=lambda _line: None)
    except OSError as exc:
        raise FileAccessError(f"The tokenizer cache {cache_dir} could not be written: {exc.strerror or exc}.") \
            from None
    return TokenizerCacheReport(cache_dir, tuple(repo for repo, _ in report.filled), tuple(report.already),
                                tuple(repo for repo, _ in report.missing))


def _snapshot(project: Project) -> Project:
    """The project with every path made absolute, so the snapshot works from the run folder."""
    snap = project.copy()
    snap.model_path = project.absolute(project.model_path)
    reg = registry()
    for key, value in project.user_values.items():
        param = reg.find(key)
        if param is None or value is None:
            continue
        if param.type in PATH_TYPES and isinstance(value, str):
            snap.set_value(key, project.absolute(value))
        elif param.type is ParamType.FILE_LIST and isinstance(value, list):
            snap.set_value(key, [project.absolute(v) for v in value])
    for index, sub in enumerate(project.subsets):
        sub.image_dir = project.absolute(sub.image_dir)
        snap.update_subset(index, sub)
    return snap


def _resolved_text(resolved) -> str:
    lines = ["# Every effective value of this run and where it came from (default, training profile,",
             "# memory profile, user). Values of parameters that do not apply are listed under [not_applied].", ""]
    applied = resolved.applicable()
    rows = {"applied": [], "not_applied": []}
    for key, value in resolved.items():
        if value is None:
            continue
        section = "applied" if key in applied else "not_applied"
        origin = resolved.origin(key).value + (f" {resolved.source(key)}" if resolved.source(key) else "")
        rows[section].append(f"{toml_text.key(key)} = {toml_text.value(value)}  # {origin}")
    for section, items in rows.items():
        lines += [f"[{section}]", *items, ""]
    return "\n".join(lines)


def _command_text(argv: list[str], cwd: Path | None, env: Mapping[str, str], secrets: tuple[str, ...]) -> str:
    where = f"cd {command_line([str(cwd)])}" if cwd else "# run from the sd-scripts folder"
    exports = "\n".join(f"export {k}={command_line([v])}" for k, v in env.items())
    return (f"# The exact command of this run. Secrets ({', '.join(secrets)}) come from the environment.\n"
            f"{where}\n{exports}\n{command_line(argv)}\n")


__all__ = ["EmitOptions", "RunFolder", "TokenizerCacheReport", "emit_run_folder"]
