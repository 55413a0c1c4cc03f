"""The project file's format: its schema version, the migrations between versions, and the checks of
its structure that must hold before the rest of the app can read it (values are judged later, by
validation, so a wrong value never makes a project unopenable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from services.errors import FileFormatError
from services.training.families import Family, Mode

SCHEMA_VERSION = 1
MAX_PROJECT_BYTES = 16 * 1024 * 1024  # a project is a few KB; anything this large is not one

# Each migration takes the tomlkit document of version N and changes it in place to version N+1.
MIGRATIONS: dict[int, Callable[[tomlkit.TOMLDocument], None]] = {}


def parse(text: str, where: str) -> tuple[tomlkit.TOMLDocument, bool]:
    """The document, migrated to the current version, and whether it was migrated."""
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # tomlkit's parse errors have several types; all mean "not TOML"
        raise FileFormatError(f"{where} is not valid TOML: {exc}",
                              "Open it in a text editor and fix the line named, or restore a backup.") from None
    version = doc.get("schema_version")
    if version is None:
        if "project" not in doc and "training" not in doc:
            raise FileFormatError(f"{where} is not a LoRA Studio project (it has no schema_version).",
                                  "Use File > Import for kohya_ss or LoRA_Easy_Training_Scripts configs.")
        version = 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FileFormatError(f"{where} has an invalid schema_version ({version!r}).")
    if version > SCHEMA_VERSION:
        raise FileFormatError(
            f"{where} was written by a newer LoRA Studio (project format {version}; this version reads up "
            f"to {SCHEMA_VERSION}).", "Update LoRA Studio to open it. The file was not changed.")
    migrated = version < SCHEMA_VERSION
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](doc)
        version += 1
    doc["schema_version"] = SCHEMA_VERSION
    check_structure(doc, where)
    return doc, migrated


def check_structure(doc: Any, where: str) -> None:
    for name in ("project", "model", "training", "dataset", "captioning"):
        if name in doc and not isinstance(doc[name], (Table, dict)):
            raise FileFormatError(f"{where}: [{name}] must be a table.")
    training = doc.get("training", {})
    mode = training.get("mode", Mode.LORA.value)
    if not isinstance(mode, str) or mode not in {m.value for m in Mode}:
        raise FileFormatError(f"{where}: training mode {mode!r} is not one of "
                              f"{', '.join(m.value for m in Mode)}.")
    family = doc.get("model", {}).get("family")
    if family is not None and (not isinstance(family, str) or family not in {f.value for f in Family}):
        raise FileFormatError(f"{where}: model family {family!r} is not one of "
                              f"{', '.join(f.value for f in Family)}.")
    values = training.get("values", {})
    if not isinstance(values, (Table, dict)):
        raise FileFormatError(f"{where}: [training.values] must be a table.")
    cleared = training.get("cleared", [])
    if not isinstance(cleared, list) or not all(isinstance(k, str) for k in cleared):
        raise FileFormatError(f"{where}: training.cleared must be a list of parameter names.")
    texts = [("model", "path"), ("model", "variant"), ("training", "training_profile"),
             ("training", "memory_profile"), ("project", "name")]
    for table, key in texts:
        value = doc.get(table, {}).get(key)
        if value is not None and not isinstance(value, str):
            raise FileFormatError(f"{where}: {table}.{key} must be text.")
    for sub, value in values.items():
        if sub in ("network_args", "optimizer_args", "lr_scheduler_args", "accelerate") \
                and not isinstance(value, (Table, dict)):
            raise FileFormatError(f"{where}: training.values.{sub} must be a table.")
    subsets = doc.get("dataset", {}).get("subsets", [])
    if not isinstance(subsets, (AoT, list)) or not all(isinstance(s, (Table, dict)) for s in subsets):
        raise FileFormatError(f"{where}: dataset.subsets must be a list of [[dataset.subsets]] tables.")
    for i, sub in enumerate(subsets):
        if not isinstance(sub.get("image_dir"), str):
            raise FileFormatError(f"{where}: subset {i + 1} has no image_dir.")
        if not isinstance(sub.get("values", {}), (Table, dict)):
            raise FileFormatError(f"{where}: subset {i + 1}: values must be a table.")
        for key in ("name", "class_tokens"):
            if key in sub and not isinstance(sub[key], str):
                raise FileFormatError(f"{where}: subset {i + 1}: {key} must be text.")
        for key, kind in (("num_repeats", int), ("is_reg", bool), ("enabled", bool)):
            if key in sub and (not isinstance(sub[key], kind) or (kind is int and isinstance(sub[key], bool))):
                raise FileFormatError(f"{where}: subset {i + 1}: {key} must be a {kind.__name__}.")

def unknown_keys(values: dict[str, Any]) -> list[str]:
    from services.training.registry import registry

    reg = registry()
    return [f"unknown parameter {key!r} kept as it is (not used)" for key in values if key not in reg]
