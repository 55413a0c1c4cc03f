"""``lora-studio self-test`` / ``--self-test``: the window, offscreen, through every theme."""

from __future__ import annotations

import json
import os
import sys

COMMAND = "self-test"
ORDER = 900


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="build the window offscreen, open the demo, switch every theme")
    parser.set_defaults(func=run)


def run(args) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.self_test import run_self_test

    summary = run_self_test(log_level=getattr(args, "log_level", "INFO"))
    print(json.dumps(summary, indent=2))
    sys.stdout.flush()
    return 0 if summary["ok"] else 1
