"""The command line: the GUI by default, headless sub-commands otherwise.

Each sub-command lives in its own module here and is found by discovery: a module with
``COMMAND = "name"`` (and optionally ``ORDER``, for --help) and ``register(subparsers, name)``
(adds its parser, sets ``func``) is a sub-command. It imports services only when it runs, so
``lora-studio --help`` and the GUI start stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def commands() -> dict[str, object]:
    """name -> module of every sub-command module in this package, in --help order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        name = getattr(module, "COMMAND", None)
        if name and hasattr(module, "register"):
            found.append((getattr(module, "ORDER", 100), name, module))
    return {name: module for _, name, module in sorted(found, key=lambda t: (t[0], t[1]))}


def build_parser() -> argparse.ArgumentParser:
    from services.version import app_version

    parser = argparse.ArgumentParser(
        prog="lora-studio",
        description="LoRA Studio: prepare datasets and train LoRAs with kohya-ss/sd-scripts. "
                    "Without a command, the window opens.")
    parser.add_argument("--version", action="version", version=f"LoRA Studio {app_version()}")
    parser.add_argument("--log-level", default="INFO", metavar="LEVEL",
                        help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    parser.add_argument("--demo", action="store_true", help="open the demo dataset")
    parser.add_argument("--self-test", action="store_true",
                        help="build the window offscreen, open the demo, switch every theme, print JSON")
    parser.add_argument("--open", nargs="+", metavar="PATH", default=[],
                        help="dataset folders to open in the window")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in commands().items():
        module.register(sub, name)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from app.cli.self_test import run as run_self_test

        return run_self_test(args)
    if args.command is None:
        from app.application import run_gui

        return run_gui(args)
    from services.errors import LoraStudioError
    from services.logging_setup import setup_logging
    from services.paths import app_dirs

    try:
        setup_logging(app_dirs().logs, args.log_level, console=True)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        return int(args.func(args) or 0)
    except LoraStudioError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
