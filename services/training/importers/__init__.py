"""Importers: other tools' configs become a LoRA Studio project, with a report of what was not mapped.

    result = import_config(path)          # .json -> kohya_ss GUI, .toml -> LoRA_Easy_Training_Scripts
    result.project, result.report.text()
"""

from __future__ import annotations

from pathlib import Path

from services.errors import FileFormatError
from services.training.importers.common import ImportReport, ImportResult, Skipped
from services.training.importers.kohya_ss import import_kohya_ss
from services.training.importers.lets import import_lets

__all__ = ["ImportReport", "ImportResult", "Skipped", "import_config", "import_kohya_ss", "import_lets"]


def import_config(path: str | Path) -> ImportResult:
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return import_kohya_ss(path)
    if suffix == ".toml":
        return import_lets(path)
    raise FileFormatError(f"{Path(path).name}: only kohya_ss GUI configs (.json) and LoRA_Easy_Training_Scripts "
                          "configs (.toml) can be imported.", "Choose one of those files.")
