"""``lora-studio validate PROJECT``: every problem of a project before anything is launched."""

from __future__ import annotations

import json

COMMAND = "validate"
ORDER = 31


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="check a training project and explain the step count",
                            description="Check a project file: model, paths, values, option combinations, "
                                        "dataset and step arithmetic. Exit 1 when there are errors.")
    parser.add_argument("project", help="a LoRA Studio project file (.lsproj.toml)")
    parser.add_argument("--python", help="the backend Python, to check its packages (default: "
                                         "LORA_STUDIO_SDSCRIPTS_PYTHON or Settings)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.cli._training_common import backend_paths, print_problems, validation_context
    from services.training.project import Project
    from services.training.validation import check_project

    project = Project.load(args.project)
    report = check_project(project, validation_context(backend_paths(args)[1]))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0 if report.ok else 1
    for warning in project.load_warnings:
        print(f"note    {warning}")
    print_problems(report.problems)
    if report.steps is not None:
        print("\nSteps: " + report.steps.summary)
        for line in report.steps.lines:
            print(f"  {line}")
    errors = len(report.errors)
    print(f"\n{errors} error(s), {len(report.warnings)} warning(s)."
          + (" Fix the errors before launching." if errors else " Ready to launch."))
    return 0 if report.ok else 1
