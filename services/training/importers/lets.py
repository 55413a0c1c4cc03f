"""Import a LoRA_Easy_Training_Scripts config (TOML).

Its file has one table per panel, each with ``args`` (sd-scripts arguments, with ``network_args``,
``optimizer_args`` and ``lr_scheduler_args`` as sub-tables) and ``dataset_args`` (dataset-config
keys), plus ``[[subsets]]`` with the subset keys of sd-scripts' dataset config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit

from services.errors import FileAccessError, FileFormatError
from services.training.families import Family, Mode
from services.training.importers.common import ImportReport, ImportResult, Mapper
from services.training.project import Project, Subset
from services.training.registry import Target
from services.training.registry.algorithms import LYCORIS_IDS
from services.training.secrets import is_secret_key

TOOL = "LoRA_Easy_Training_Scripts"
MAX_BYTES = 4 * 1024 * 1024
RENAMES = {"batch_size": "train_batch_size", "fa": None, "sdxl": None, "flux": None, "v2": None,
           "network_module": None}
SUBSET_CORE = {"image_dir", "num_repeats", "is_reg", "class_tokens", "name"}
NESTED = {"network_args": "network_args.", "optimizer_args": "optimizer_args.",
          "lr_scheduler_args": "lr_scheduler_args."}


def import_lets(path: str | Path) -> ImportResult:
    path = Path(path)
    doc = _read_toml(path)
    report = ImportReport(str(path), TOOL)
    args: dict[str, Any] = {}
    dataset_args: dict[str, Any] = {}
    for section, table in doc.items():
        if section == "subsets":
            continue
        if not isinstance(table, dict):
            report.skipped.append(_skip(section, table, "not a panel table"))
            continue
        for part, values in table.items():
            if part == "args" and isinstance(values, dict):
                args.update({k: (v, section) for k, v in values.items()})
            elif part == "dataset_args" and isinstance(values, dict):
                dataset_args.update({k: (v, section) for k, v in values.items()})
            else:
                report.skipped.append(_skip(f"{section}.{part}", values, "not an args or dataset_args table"))
    family = _family(args)
    project = Project.new(path.stem, family=family, mode=Mode.LORA)
    report.notes.append(f"Read as {family.label}, {Mode.LORA.label} (the tool trains LoRAs only).")
    m = Mapper(project, report)
    model = args.pop("pretrained_model_name_or_path", (None, ""))[0]
    if model:
        project.model_path = str(model)
    network = args.get("network_args", ({}, ""))[0]
    m.set("network_args", "network_algorithm", _algorithm(args, network if isinstance(network, dict) else {}))
    names = {p.engine_name: p.key for p in m.reg.parameters()
             if p.target in (Target.CONFIG, Target.DATASET) and p.key not in ("network_args_extra",)}
    for key, (value, section) in {**args, **dataset_args}.items():
        source = f"{section}.{key}"
        if key in NESTED and isinstance(value, dict):
            _nested(m, source, key, value)
            continue
        if key in RENAMES and RENAMES[key] is None:
            continue
        if is_secret_key(key):
            m.set(source, key, value)  # reported as a secret
            continue
        target = RENAMES.get(key) or names.get(key)
        if target is None:
            m.skip(source, value, "not a setting LoRA Studio knows")
            continue
        m.set(source, target, value)
    if m.values.get("xformers") is True:
        m.set("xformers", "sdpa", False)  # the tool's attention switch: xformers on means SDPA off
    for i, table in enumerate(doc.get("subsets", []) or []):
        _subset(project, m, i, table)
    if not project.subsets:
        report.notes.append("The config lists no image folders; add them as subsets in the Dataset panel.")
    m.finish()
    return ImportResult(project, report)


def _skip(source, value, reason):
    from services.training.importers.common import Skipped

    return Skipped(source, value, reason)


def _read_toml(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise FileFormatError(f"{path.name} is too large to be a training config.")
        return tomlkit.parse(path.read_text(encoding="utf-8-sig")).unwrap()
    except FileNotFoundError:
        raise FileAccessError(f"{path} does not exist.") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{path.name} is not a text file.") from None
    except OSError as exc:
        raise FileAccessError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    except FileFormatError:
        raise
    except Exception as exc:  # tomlkit parse errors
        raise FileFormatError(f"{path.name} is not valid TOML: {exc}",
                              "Choose a config saved by LoRA_Easy_Training_Scripts.") from None


def _family(args: dict) -> Family:
    def flag(name):
        return args.get(name, (False,))[0] is True
    if flag("flux") or "ae" in args or "t5xxl" in args:
        return Family.FLUX
    if flag("sdxl"):
        return Family.SDXL
    if flag("v2"):
        return Family.SD2
    return Family.SD1


def _algorithm(args: dict, network: dict) -> str:
    algo = str(network.get("algo", "")).lower()
    if algo and f"lycoris.{algo}" in LYCORIS_IDS:
        return f"lycoris.{algo}"
    if algo == "lora":
        return "lycoris.locon"
    if args.get("fa", (False,))[0] is True:
        return "lora_fa"
    if "unit" in network:
        return "dylora"
    return "lora"


def _nested(m: Mapper, source: str, name: str, values: dict) -> None:
    prefix = NESTED[name]
    extras = []
    for key, value in values.items():
        if name == "network_args" and key == "algo":
            continue
        if m.reg.find(prefix + key) is not None:
            if isinstance(value, str) and name != "network_args":
                value = _literal(value)
            m.set(f"{source}.{key}", prefix + key, value)
        else:
            extras.append(f"{key}={_as_text(value)}")
    if extras:
        m.set(source, f"{name}_extra", extras)


def _literal(text: str) -> Any:
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return list(value) if isinstance(value, tuple) else value


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _subset(project: Project, m: Mapper, index: int, table: Any) -> None:
    source = f"subsets[{index}]"
    if not isinstance(table, dict) or not table.get("image_dir"):
        m.skip(source, table, "a subset without an image folder")
        return
    sub = Subset(str(table["image_dir"]), name=str(table.get("name", "")),
                 num_repeats=int(table.get("num_repeats", 1) or 1), class_tokens=table.get("class_tokens") or None,
                 is_reg=bool(table.get("is_reg", False)))
    for key, value in table.items():
        if key in SUBSET_CORE:
            continue
        param = m.reg.find(key)
        if param is None or param.target is not Target.DATASET or "subset" not in param.levels:
            m.skip(f"{source}.{key}", value, "not a per-subset setting LoRA Studio knows")
            continue
        if value in (None, "") or value == param.default_for(project.family, project.mode):
            continue
        sub.values[key] = value
        m.report.mapped.append((f"{source}.{key}", f"subsets[{index}].{key}", value))
    project.add_subset(sub)
