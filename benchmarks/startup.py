"""Start-up time: process start until the main window is shown and painted (offscreen).

Each run is a new process (cold interpreter, warm OS cache), with a LoRA Studio home that holds
the previous session's workspace (the demo dataset), as a returning user's start. Prints one JSON
object: startup_s_median, startup_s_min, runs, rss_mb, torch_imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import sys, resource
from PySide6.QtCore import QTimer
from app.application import build

parts = build(log_level="WARNING", console_log=False, show_crash_dialog=False)

def painted():
    # Let the events queued by the first paint run once, then report.
    def report():
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        heavy = sorted(m for m in ("torch", "transformers", "diffusers", "onnxruntime") if m in sys.modules)
        print("PAINTED", rss_mb, ",".join(heavy), flush=True)
        parts.window.close()
        parts.app.quit()
    QTimer.singleShot(0, report)

parts.window.painted.connect(painted)
parts.window.show()
sys.exit(parts.app.exec())
"""


def one_run(env: dict) -> tuple[float, float, list[str]]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("PAINTED"):
            elapsed = time.perf_counter() - started
            _, rss, heavy = [*line.rstrip("\n").split(" "), ""][:3]
            proc.wait(timeout=60)
            return elapsed, float(rss), [m for m in heavy.split(",") if m]
    proc.wait(timeout=60)
    raise RuntimeError(f"the window never painted: {proc.stderr.read()[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="lora-startup-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LORA_STUDIO_HOME=home,
               QT_LOGGING_RULES="qt.qpa.*=false")
    # As on a user's machine, compiled modules are cached after the first start (a shell that sets
    # this would have every start compile ~130 modules again: +0.2 s, not a cost users pay).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    one_run(env)  # first start: creates the demo dataset, the settings and the bytecode cache; not counted
    times, rss, heavy = [], [], set()
    for _ in range(max(5, args.runs)):
        elapsed, rss_mb, modules = one_run(env)
        times.append(elapsed)
        rss.append(rss_mb)
        heavy.update(modules)
    print(json.dumps({
        "startup_s_median": round(statistics.median(times), 3),
        "startup_s_min": round(min(times), 3),
        "runs": len(times),
        "rss_mb": round(max(rss), 1),
        "torch_imported": "torch" in heavy,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
