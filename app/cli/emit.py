"""``lora-studio emit PROJECT --out DIR``: write the run folder (configs, command, snapshot)."""

from __future__ import annotations

import json
import sys

COMMAND = "emit"
ORDER = 32


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="write a run folder with the sd-scripts configs and the launch command",
                            description="Validate the project, then write config.toml, dataset.toml, the project "
                                        "snapshot and the exact accelerate launch command into a new folder. Exit "
                                        "1 with the problems listed when there are errors.")
    parser.add_argument("project", help="a LoRA Studio project file")
    parser.add_argument("--out", required=True, help="the run folder to create (must not exist or be empty)")
    parser.add_argument("--sd-scripts", help="the sd-scripts folder (default: LORA_STUDIO_SDSCRIPTS or Settings)")
    parser.add_argument("--python", help="the backend Python (default: LORA_STUDIO_SDSCRIPTS_PYTHON or Settings)")
    parser.add_argument("--tokenizer-cache", help="the tokenizer cache folder passed to sd-scripts")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.cli._training_common import backend_paths, print_problems, validation_context
    from services.errors import ValidationError
    from services.training.emit import EmitOptions, emit_run_folder
    from services.training.project import Project

    project = Project.load(args.project)
    sd_scripts, python, tokenizers = backend_paths(args)
    try:
        run = emit_run_folder(project, args.out, EmitOptions(sd_scripts_dir=sd_scripts, python=python,
                                                             tokenizer_cache_dir=tokenizers,
                                                             validation=validation_context(python)))
    except ValidationError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        print_problems([p for p in exc.problems if p.is_error], stream=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"folder": str(run.folder), "config": str(run.config_path), "dataset": str(run.dataset_path),
                          "argv": list(run.argv), "cwd": str(run.cwd) if run.cwd else None, "env": dict(run.env),
                          "secret_env_names": list(run.secret_env_names),
                          "total_steps": run.steps.total_steps if run.steps else None}, indent=2))
        return 0
    print_problems([p for p in run.problems if p.severity.value == "warning"])
    print(f"Run folder: {run.folder}")
    print(f"  config:  {run.config_path}")
    print(f"  dataset: {run.dataset_path}")
    if run.steps is not None:
        print(f"  steps:   {run.steps.summary}")
    if not sd_scripts:
        print("  note: no sd-scripts folder is set; the command names the script relative to it.")
    if run.tokenizers is not None and run.tokenizers.missing:
        print(f"  note: the tokenizer cache ({run.tokenizers.folder}) lacks {', '.join(run.tokenizers.missing)}; "
              "sd-scripts downloads it on a run with network access.")
    print("Command:")
    print(run.command_path.read_text(encoding="utf-8"))
    return 0
