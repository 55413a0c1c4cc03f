"""``lora-studio import CONFIG --out PROJECT``: a kohya_ss or LoRA_Easy_Training_Scripts config becomes
a LoRA Studio project, with a report of what could not be mapped."""

from __future__ import annotations

import json
from pathlib import Path

COMMAND = "import"
ORDER = 33


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="turn a kohya_ss (.json) or LoRA_Easy_Training_Scripts (.toml) config "
                                       "into a project")
    parser.add_argument("config", help="the other tool's config file")
    parser.add_argument("--out", required=True, help="the project file to write (.lsproj.toml)")
    parser.add_argument("--force", action="store_true", help="replace an existing project file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from services.errors import UserInputError
    from services.training.importers import import_config

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UserInputError(f"{out} already exists.", "Choose another name, or pass --force to replace it.")
    result = import_config(args.config)
    result.project.save(out)
    if args.json:
        print(json.dumps({"project": str(out), **result.report.as_dict()}, indent=2, default=str))
    else:
        print(result.report.text())
        print(f"Project written to {out}")
    return 0
