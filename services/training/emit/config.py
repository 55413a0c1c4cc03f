"""The training config (``--config_file``): every applicable value, as sd-scripts names it.

Values equal to the engine's own default are left out only when nobody chose them (they are the
registry default); anything a profile or the user set is written, zero and false included. Paths
are absolute. The file is split into tables by group for reading; sd-scripts ignores table names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.training.emit.args import literal_arg, network_arg
from services.training.families import Family, Mode
from services.training.project import MODEL_PATH_KEY, Project
from services.training.registry import PATH_TYPES, Group, ParamType, Target, registry
from services.training.registry.algorithms import algorithm
from services.training.values import Origin, Resolved


@dataclass(frozen=True)
class RunPaths:
    folder: Path
    output_dir: Path
    logging_dir: Path | None
    sample_prompts: Path | None


def output_name(project: Project, resolved: Mapping[str, Any]) -> str:
    name = resolved.get("output_name") or project.name
    return "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in name).strip() or "lora"


def build_training_config(project: Project, resolved: Resolved, script: str, paths: RunPaths, *,
                          tokenizer_cache_dir: str | None = None) -> dict[str, dict[str, Any]]:
    reg = registry()
    values = resolved.applicable()
    family, mode = resolved.family, resolved.mode
    tables: dict[str, dict[str, Any]] = {g.value: {} for g in Group}

    for key, value in values.items():
        param = reg.get(key)
        if Target.CONFIG not in param.targets or value is None:
            continue
        if resolved.origin(key) is Origin.DEFAULT and value == param.engine_default(script):
            continue
        if key == "max_train_epochs" and values.get("max_train_steps"):
            continue  # an explicit step count decides (sd-scripts would let epochs win)
        if key == "sample_prompts" or key in ("output_dir", "logging_dir", "output_name"):
            continue  # written below from the run's paths
        tables[param.group.value][param.engine_name] = _absolute(project, param, value)

    model = {MODEL_PATH_KEY: project.absolute(project.model_path)}
    if family is Family.SD2:
        model["v2"] = True
    if tokenizer_cache_dir:
        model["tokenizer_cache_dir"] = str(Path(tokenizer_cache_dir).absolute())
    model.update((k, v) for k, v in tables[Group.MODEL.value].items() if k != MODEL_PATH_KEY)
    tables[Group.MODEL.value] = model

    saving = tables[Group.SAVING.value]
    saving["output_dir"] = str(paths.output_dir)
    saving["output_name"] = output_name(project, values)
    if paths.logging_dir is not None:
        tables[Group.LOGGING.value]["logging_dir"] = str(paths.logging_dir)
    if paths.sample_prompts is not None:
        tables[Group.SAMPLING.value]["sample_prompts"] = str(paths.sample_prompts)

    if mode is Mode.LORA:
        network = tables[Group.NETWORK.value]
        algo = algorithm(values.get("network_algorithm") or "lora")
        network["network_module"] = algo.module_for(family)
        net_args = [f"algo={algo.lycoris_algo}"] if algo.is_lycoris else []
        net_args += _arg_list(values, resolved, Target.NETWORK_ARGS)
        if net_args:
            network["network_args"] = net_args
    optimizer = tables[Group.OPTIMIZER.value]
    opt_args = _arg_list(values, resolved, Target.OPTIMIZER_ARGS)
    if opt_args:
        optimizer["optimizer_args"] = opt_args
    sched_args = _arg_list(values, resolved, Target.SCHEDULER_ARGS)
    if sched_args:
        optimizer["lr_scheduler_args"] = sched_args
    return {name: table for name, table in tables.items() if table}


def _arg_list(values: Mapping[str, Any], resolved: Resolved, target: Target) -> list[str]:
    reg = registry()
    out: list[str] = []
    extras: list[str] = []
    for key, value in values.items():
        param = reg.get(key)
        if param.target is not target or value is None:
            continue
        if param.type is ParamType.KV_LIST:
            extras += list(value)
            continue
        if resolved.origin(key) is Origin.DEFAULT:
            continue  # the module's own default applies
        text = network_arg(param, value) if target is Target.NETWORK_ARGS else literal_arg(param.engine_name, value)
        if text is not None:
            out.append(text)
    # an extra argument of the same name replaces the listed one: the user's explicit text wins
    overridden = {e.split("=", 1)[0].strip() for e in extras}
    return [item for item in out if item.split("=", 1)[0] not in overridden] + extras


def _absolute(project: Project, param, value: Any) -> Any:
    if param.type in PATH_TYPES and isinstance(value, str):
        return project.absolute(value)
    if param.type is ParamType.FILE_LIST and isinstance(value, list):
        return [project.absolute(v) for v in value]
    return value
