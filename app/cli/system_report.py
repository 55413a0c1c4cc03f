"""``lora-studio system-report [--json]``: this machine, the GUI's environment and the backend runtime's."""

from __future__ import annotations

import json
import sys

COMMAND = "system-report"
ORDER = 50


def register(sub, name: str) -> None:
    parser = sub.add_parser(
        name, help="describe this machine, its GPUs and both Python environments (for bug reports)",
        description="Describe the operating system, Python, the GUI's dependencies, each GPU, free disk space, "
                    "and what the training backend's interpreter can do (its torch build, the devices it sees, "
                    "bitsandbytes), with the commands that fix missing or mismatched packages.")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the report as one JSON object")
    form.add_argument("--markdown", action="store_true", help="print the report as Markdown (for a bug report)")
    parser.add_argument("--no-backend", action="store_true",
                        help="skip the backend runtime probe (it starts the runtime's Python and imports torch)")
    parser.add_argument("--backend-python", metavar="PYTHON",
                        help="probe this interpreter instead of the configured backend runtime")
    parser.add_argument("--sd-scripts", metavar="DIR",
                        help="verify the backend against this sd-scripts checkout's requirements.txt")
    parser.set_defaults(func=run)


def run(args) -> int:
    from services.hardware.report import collect
    from services.hardware.report_render import render_markdown, render_text
    from services.paths import app_dirs
    from services.settings import SettingsStore

    dirs = app_dirs()
    settings = SettingsStore(dirs.config).load()
    report = collect(settings, dirs, backend=not args.no_backend, backend_python=args.backend_python,
                     sd_scripts_dir=args.sd_scripts)
    if args.json:
        text = json.dumps(report, indent=2, default=str) + "\n"
    elif args.markdown:
        text = render_markdown(report)
    else:
        text = render_text(report)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0
