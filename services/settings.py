"""The application's settings: one typed model, stored as TOML with a schema version.

Sections are dataclasses; every field has a type and a default. Loading never fails: a value of
the wrong type falls back to its default and is reported in ``Settings.load_warnings``; a file
that cannot be parsed is kept aside (``settings.toml.bad``) rather than overwritten silently.
Window geometry lives in QSettings (it is Qt's own binary state), everything else here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit

from services.atomic import atomic_write_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
FILE_NAME = "settings.toml"
THEMES = ("dark", "light", "minimal", "cyberpunk", "system")


@dataclass
class AppearanceSettings:
    theme: str = "dark"
    thumbnail_size: int = 160


@dataclass
class WorkspaceSettings:
    recent_folders: list[str] = field(default_factory=list)
    recent_projects: list[str] = field(default_factory=list)
    last_folders: list[str] = field(default_factory=list)
    last_project: str = ""
    caption_extension: str = ".txt"
    tag_separator: str = ", "
    autosave_captions: bool = True
    caption_keep_tokens: int = 0  # batch operations that reorder keep the first N tags fixed


@dataclass
class DatasetSettings:
    # --- Dataset (issue 3) ---
    small_image_side: int = 384  # "very small" badge below this shorter side
    reg_folders: list[str] = field(default_factory=list)  # folders the user marked as regularisation
    not_reg_folders: list[str] = field(default_factory=list)  # ... and un-marked
    sort: str = "folder"  # folder order (as scanned), name, date, size, pixels, tags
    sort_descending: bool = False
    health_resolution: int = 1024  # training resolution the health report checks against
    bucket_min: int = 256
    bucket_max: int = 2048
    bucket_step: int = 64
    near_duplicate_distance: int = 6  # perceptual-hash bits that may differ for "near-duplicate"
    thumbnail_cache_mb: int = 2048
    watch_interval_s: float = 8.0  # how often caption files are checked for in-place edits
    caption_extensions: list[str] = field(default_factory=list)  # per workspace: "<ext>\t<first folder>"


@dataclass
class CaptioningSettings:
    models_dir: str = ""
    batch_size: int = 4
    execution_provider: str = "auto"
    # What the auto-caption dock used last (issue 5): captioner, model per captioner, options per
    # captioner ({family: {option: value}}), existing-caption policy, target, local model folders.
    captioner: str = "wd14"
    models: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    existing_policy: str = "skip"
    target: str = "all"
    recent_model_folders: list[str] = field(default_factory=list)


@dataclass
class BackendSettings:
    python: str = ""
    sd_scripts_dir: str = ""
    accepted_commit: str = ""
    runs_dir: str = ""
    tokenizer_cache_dir: str = ""
    offer_setup_at_start: bool = True  # the setup wizard opens at start while no backend is installed


@dataclass
class HardwareSettings:
    stated_vram_gb: float = 0.0
    monitor_interval_s: float = 1.0


@dataclass
class Settings:
    appearance: AppearanceSettings = field(default_factory=AppearanceSettings)
    workspace: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    dataset: DatasetSettings = field(default_factory=DatasetSettings)
    captioning: CaptioningSettings = field(default_factory=CaptioningSettings)
    backend: BackendSettings = field(default_factory=BackendSettings)
    hardware: HardwareSettings = field(default_factory=HardwareSettings)
    load_warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    def remember_folder(self, folder: str, limit: int = 10) -> None:
        _push_recent(self.workspace.recent_folders, folder, limit)

    def remember_project(self, project: str, limit: int = 10) -> None:
        _push_recent(self.workspace.recent_projects, project, limit)


def _push_recent(items: list[str], value: str, limit: int) -> None:
    if value in items:
        items.remove(value)
    items.insert(0, value)
    del items[limit:]


# --- migrations: each takes the raw dict of version N and returns version N+1 -------------

def _v1_to_v2(raw: dict) -> dict:
    # v1 kept the theme and the recent folders at the top level.
    raw = dict(raw)
    appearance = dict(raw.get("appearance", {}))
    if "theme" in raw:
        appearance["theme"] = raw.pop("theme")
    workspace = dict(raw.get("workspace", {}))
    if "recent_folders" in raw:
        workspace["recent_folders"] = raw.pop("recent_folders")
    raw["appearance"], raw["workspace"] = appearance, workspace
    return raw


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


def migrate(raw: dict) -> dict:
    version = int(raw.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"settings file is from a newer LoRA Studio (schema {version}, this one knows {SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version += 1
    raw["schema_version"] = version
    return raw


# --- typed conversion -----------------------------------------------------------------

def _conforms(value: object, annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list,):
        (item_type,) = typing.get_args(annotation)
        return isinstance(value, list) and all(_conforms(v, item_type) for v in value)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in typing.get_args(annotation))
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _section_from_dict(cls: type, raw: object, where: str, warnings: list[str]):
    instance = cls()
    if not isinstance(raw, dict):
        if raw is not None:
            warnings.append(f"[{where}] is not a table; using defaults")
        return instance
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        value = _plain(raw[f.name])
        if _conforms(value, hints[f.name]):
            setattr(instance, f.name, float(value) if hints[f.name] is float else value)
        else:
            warnings.append(f"{where}.{f.name} = {value!r} is not a {hints[f.name]}; using the default")
    return instance


def _plain(value: object) -> object:
    if hasattr(value, "unwrap"):
        return value.unwrap()
    return value


def from_dict(raw: dict) -> Settings:
    warnings: list[str] = []
    raw = migrate(_plain(raw) if not isinstance(raw, dict) else {k: _plain(v) for k, v in raw.items()})
    settings = Settings()
    hints = typing.get_type_hints(Settings)
    for f in dataclasses.fields(Settings):
        if f.name == "load_warnings":
            continue
        setattr(settings, f.name, _section_from_dict(hints[f.name], raw.get(f.name), f.name, warnings))
    if settings.appearance.theme not in THEMES:
        warnings.append(f"unknown theme {settings.appearance.theme!r}; using dark")
        settings.appearance.theme = "dark"
    settings.load_warnings = warnings
    return settings


def to_dict(settings: Settings) -> dict:
    out: dict = {"schema_version": SCHEMA_VERSION}
    for f in dataclasses.fields(Settings):
        if f.name != "load_warnings":
            out[f.name] = dataclasses.asdict(getattr(settings, f.name))
    return out


class SettingsStore:
    """Loads and saves the settings file in a config directory."""

    def __init__(self, config_dir: Path) -> None:
        self.path = Path(config_dir) / FILE_NAME

    def load(self) -> Settings:
        if not self.path.exists():
            return Settings()
        try:
            raw = tomlkit.parse(self.path.read_text(encoding="utf-8"))
            settings = from_dict(raw.unwrap())
        except Exception as exc:  # a broken or future file must not stop the app
            backup = self.path.with_suffix(".toml.bad")
            try:
                os.replace(self.path, backup)
            except OSError:
                backup = self.path
            log.warning("settings file %s could not be read (%s); kept as %s, using defaults",
                        self.path, exc, backup)
            settings = Settings()
            settings.load_warnings.append(f"{self.path} could not be read ({exc}); kept as {backup}")
        for warning in settings.load_warnings:
            log.warning("settings: %s", warning)
        return settings

    def save(self, settings: Settings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, tomlkit.dumps(to_dict(settings)))
