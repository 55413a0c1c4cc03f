"""The dataset config (``--dataset_config``): [general], one [[datasets]] with its [[datasets.subsets]].

sd-scripts rejects unknown keys here, and infers the kind of each dataset from its subsets: all with
``metadata_file`` = fine-tuning, none = DreamBooth-style. fine_tune.py reads only fine-tuning
datasets, so for it the captions are gathered into a metadata JSON per subset, in the run folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.atomic import atomic_write_text
from services.training.families import Mode, uses_metadata_dataset
from services.training.image_counts import list_engine_images
from services.training.project import Project, Subset
from services.training.registry import PATH_TYPES, Target, registry
from services.training.values import Origin, Resolved

DREAMBOOTH, FINETUNING = "dreambooth", "finetuning"


def dataset_kind(resolved: Resolved) -> str:
    return FINETUNING if uses_metadata_dataset(resolved.family, resolved.mode) else DREAMBOOTH


def build_dataset_config(project: Project, resolved: Resolved, metadata_dir: Path) -> tuple[dict[str, Any], list[Path]]:
    """The dataset config as a dict, and the metadata files written for it (fine-tuning only)."""
    reg = registry()
    kind = dataset_kind(resolved)
    values = resolved.applicable()
    general: dict[str, Any] = {}
    for key, value in values.items():
        param = reg.get(key)
        if param.target is not Target.DATASET or value is None or "general" not in param.levels:
            continue
        if not _fits_kind(param, kind):
            continue
        if resolved.origin(key) is Origin.DEFAULT and value == param.engine_default():
            continue
        general[param.engine_name] = _absolute(project, param, value)

    subsets = []
    written: list[Path] = []
    enabled = [(i, s) for i, s in enumerate(project.subsets) if s.enabled]
    for index, sub in enabled:
        table: dict[str, Any] = {"image_dir": project.absolute(sub.image_dir), "num_repeats": sub.num_repeats}
        if kind == DREAMBOOTH:
            if sub.class_tokens:
                table["class_tokens"] = sub.class_tokens
            if sub.is_reg and resolved.mode is not Mode.FINETUNE:
                table["is_reg"] = True
        else:
            path = metadata_dir / f"subset-{index + 1}.json"
            caption_ext = values.get("caption_extension") or ".txt"
            write_metadata(path, sub, project.absolute(sub.image_dir), _subset(sub, "caption_extension",
                                                                               caption_ext))
            written.append(path)
            table["metadata_file"] = str(path)
        for key, value in sub.values.items():
            param = reg.find(key)
            if param is None or param.target is not Target.DATASET or "subset" not in param.levels \
                    or value is None or not _fits_kind(param, kind):
                continue
            table[param.engine_name] = _absolute(project, param, value)
        subsets.append(table)
    doc: dict[str, Any] = {}
    if general:
        doc["general"] = general
    doc["datasets"] = [{"subsets": subsets}]
    return doc, written


def _fits_kind(param, kind: str) -> bool:
    return param.dataset_kinds is None or kind in param.dataset_kinds


def _subset(sub: Subset, key: str, fallback: Any) -> Any:
    value = sub.values.get(key)
    return fallback if value is None else value


def _absolute(project: Project, param, value: Any) -> Any:
    return project.absolute(value) if param.type in PATH_TYPES and isinstance(value, str) else value


def write_metadata(path: Path, sub: Subset, folder: str, caption_extension: str) -> int:
    """A fine-tuning metadata JSON for the images of one folder: {absolute image path: {caption}}.
    Images without a caption file get the subset's class tokens (or nothing). Returns the image count."""
    images = list_engine_images(folder) or []
    metadata: dict[str, Mapping[str, str]] = {}
    for image in images:
        caption = read_caption(Path(image).with_suffix(caption_extension))
        if caption is None:
            caption = sub.class_tokens or ""
        metadata[image] = {"caption": caption}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(metadata, ensure_ascii=False, indent=1))
    return len(images)


def read_caption(path: Path) -> str | None:
    """The caption text, decoded as the dataset panel writes it (UTF-8, UTF-8 or UTF-16 with BOM)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    for encoding in ("utf-8-sig", "utf-16") if not data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-16",):
        try:
            return data.decode(encoding).strip()
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace").strip()
