"""Screenshots of the real window in every theme (run under Xvfb for a real X window):

    xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshots.py --out /tmp/shots [--demo] [--theme dark ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--theme", action="append", help="theme ids (default: all four)")
    parser.add_argument("--demo", action="store_true", help="open the demo dataset first")
    parser.add_argument("--settle", type=float, default=1.5, help="seconds to let workers fill the view")
    args = parser.parse_args()

    from app.application import build
    from services.themes import THEME_IDS

    parts = build(log_level="WARNING", console_log=True, restore_layout=False, open_initial=False)
    window, app = parts.window, parts.app
    window.resize(1440, 900)
    window.show()
    if args.demo:
        window.open_demo()
    args.out.mkdir(parents=True, exist_ok=True)

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    settle(args.settle)
    for theme_id in args.theme or THEME_IDS:
        window.choose_theme(theme_id)
        settle(0.5)
        path = args.out / f"window-{theme_id}.png"
        window.grab().save(str(path))
        print(path)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
