"""Where LoRA Studio keeps its files: platform directories, overridable for tests.

``LORA_STUDIO_HOME`` puts every directory under one folder (tests, portable installs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "LoRA Studio"
APP_SLUG = "lora-studio"


@dataclass(frozen=True)
class AppDirs:
    config: Path
    data: Path
    cache: Path
    logs: Path

    def ensure(self) -> AppDirs:
        for p in (self.config, self.data, self.cache, self.logs):
            p.mkdir(parents=True, exist_ok=True)
        return self


def app_dirs() -> AppDirs:
    home = os.environ.get("LORA_STUDIO_HOME")
    if home:
        root = Path(home)
        return AppDirs(root / "config", root / "data", root / "cache", root / "logs")
    import platformdirs

    return AppDirs(
        Path(platformdirs.user_config_dir(APP_SLUG, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_SLUG, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_SLUG, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_SLUG, appauthor=False)),
    )


def repo_root() -> Path:
    """The folder holding app/, services/, profiles/, resources/ (source tree or bundle)."""
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return repo_root() / "resources"


def profiles_dir() -> Path:
    return repo_root() / "profiles"
