"""Where a captioner's model lives: a Hub repository under the models folder, or a local folder.

A repository ``owner/name`` is kept in ``<models folder>/owner/name`` (downloaded on first use);
a local folder is used as it is. ``check`` says which files are missing, so the dialog can say
"will be downloaded" or "missing X" before a job starts, and an offline job fails with a message
that names the files and the folder to put them in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from services.captioning.families import Family
from services.errors import LoraStudioError
from services.paths import app_dirs

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
HUB_URL = "https://huggingface.co/"


class ModelMissingError(LoraStudioError):
    """A model's files are not on disk and cannot be downloaded."""


def default_models_dir() -> Path:
    return app_dirs().data / "models"


def models_dir_from(setting: str) -> Path:
    """The models folder: the setting when given, else the default in the app's data folder."""
    return Path(setting).expanduser() if setting.strip() else default_models_dir()


def is_repo_id(model: str) -> bool:
    return bool(_REPO_ID.match(model)) and ".." not in model


@dataclass(frozen=True)
class ModelLocation:
    model: str  # as the user gave it
    folder: Path
    repo_id: str  # "" for a local folder

    @property
    def is_local(self) -> bool:
        return not self.repo_id


def locate(model: str, models_dir: str | os.PathLike) -> ModelLocation:
    """A repository id maps into the models folder; anything that exists on disk, or looks like a
    path, is a local folder."""
    text = model.strip()
    path = Path(text).expanduser()
    if text and (path.is_absolute() or path.exists() or text.startswith((".", "~")) or not is_repo_id(text)):
        return ModelLocation(text, path.resolve() if path.exists() else path, "")
    owner, name = text.split("/")
    return ModelLocation(text, Path(models_dir) / owner / name, text)


def _alternatives(entry: str | tuple[str, ...]) -> tuple[str, ...]:
    return (entry,) if isinstance(entry, str) else tuple(entry)


def required_names(family: Family) -> list[str]:
    """The required files in words: "config.json", "model.safetensors or model.safetensors.index.json"."""
    return [" or ".join(_alternatives(entry)) for entry in family.required_files]


def missing_files(family: Family, folder: Path) -> list[str]:
    """The files ``folder`` lacks for ``family`` (alternatives as "a or b")."""
    exists = folder.is_dir()
    return [" or ".join(names) for names in map(_alternatives, family.required_files)
            if not (exists and any((folder / name).is_file() for name in names))]


@dataclass(frozen=True)
class ModelStatus:
    location: ModelLocation
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def will_download(self) -> bool:
        return bool(self.missing) and not self.location.is_local

    def describe(self) -> str:
        loc = self.location
        if self.ready:
            return f"Ready in {loc.folder}" if not loc.is_local else f"Local folder {loc.folder}"
        if loc.is_local:
            if not loc.folder.exists():
                return f"Folder not found: {loc.folder}"
            return f"Missing in {loc.folder}: {', '.join(self.missing)}"
        return f"Downloaded on first use into {loc.folder}"


def check(family: Family, model: str, models_dir: str | os.PathLike) -> ModelStatus:
    location = locate(model, models_dir)
    return ModelStatus(location, tuple(missing_files(family, location.folder)))


def missing_model_error(family: Family, status: ModelStatus, reason: str) -> ModelMissingError:
    """"X is missing, put files A and B from URL into FOLDER" — what a person needs to fix it."""
    loc = status.location
    files = ", ".join(status.missing)
    if loc.is_local:
        return ModelMissingError(
            f"The {family.title} model folder {loc.folder} is incomplete: {files} missing.",
            f"Choose a folder that holds {', '.join(required_names(family))}, "
            "or pick one of the listed models to download it.")
    return ModelMissingError(
        f"The {family.title} model {loc.repo_id} is not downloaded ({reason}).",
        f"Connect to the internet and start again to download it, or put {files} from "
        f"{HUB_URL}{loc.repo_id} into {loc.folder}.")
