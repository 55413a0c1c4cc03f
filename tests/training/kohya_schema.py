"""The argument schema of sd-scripts at the pinned commit (docs/kohya/), for tests.

Facts about the engine (argument names, types, defaults), captured by running each script's own
``setup_parser()``; no help texts.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "docs" / "kohya"


@functools.cache
def args_schema() -> dict[str, dict[str, dict]]:
    """script -> dest -> argparse action facts."""
    raw = json.loads((SCHEMA_DIR / "sd-scripts-args.json").read_text(encoding="utf-8"))
    return {script: {a["dest"]: a for a in actions} for script, actions in raw["scripts"].items()}


@functools.cache
def dataset_schema() -> dict:
    return json.loads((SCHEMA_DIR / "dataset-config-schema.json").read_text(encoding="utf-8"))


def scripts() -> list[str]:
    from services.training.families import TRAINING_SCRIPTS

    return list(TRAINING_SCRIPTS)
