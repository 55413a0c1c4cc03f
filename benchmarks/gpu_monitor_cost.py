"""What the GPU monitor costs while it is shown: CPU time of the whole process (GUI thread drawing the
charts plus the sampling thread), as a percentage of one core, minus the same window idle with the
monitor hidden (its polling paused). Target: under 1 % of one core at one sample a second.

Scenarios: this machine as it is (on a GPU-less machine: CPU and RAM charts only), and one and two
scripted GPUs (the test double of tests/hardware/doubles.py: four charts per GPU, plus a training
run marked), each with the dock at the size the main window gives it and at a large floating size.
Offscreen rendering (QT_QPA_PLATFORM=offscreen, Qt's raster engine, as on a real desktop without
GPU compositing). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")


def cpu_seconds() -> float:
    return time.process_time()  # every thread of this process


def run_for(app, seconds: float) -> tuple[float, float]:
    """Spin the event loop for ``seconds`` of wall time; (wall, cpu) spent."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    loop.exec()
    return time.perf_counter() - wall0, cpu_seconds() - cpu0


def scenario(app, session, factory, size: tuple[int, int], seconds: float, warmup: float, watch: bool) -> dict:
    from widgets.gpu_monitor.dock import GpuMonitorDock

    dock = GpuMonitorDock(session, monitor_factory=factory, interval_s=1.0)
    dock.resize(*size)
    dock.show()
    if watch:
        session.set_training_process(os.getpid())
    run_for(app, warmup)  # pyqtgraph import, first charts, histories filling
    shown_before = dock.samples_shown
    wall, cpu = run_for(app, seconds)
    samples = dock.samples_shown - shown_before
    dock.hide()
    run_for(app, 0.3)
    idle_wall, idle_cpu = run_for(app, seconds / 2)  # the same widget tree, paused
    dock.shutdown()
    session.set_training_process(0)
    dock.deleteLater()
    run_for(app, 0.2)
    active = 100.0 * cpu / wall
    idle = 100.0 * idle_cpu / idle_wall
    return {"size": list(size), "samples": samples, "cpu_percent_shown": round(active, 3),
            "cpu_percent_hidden": round(idle, 3), "cost_percent_of_one_core": round(max(0.0, active - idle), 3),
            "gpus": len(dock.gpu_cards)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from app.themes import ThemeManager
    from services.hardware.monitor import HardwareMonitor
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import Settings
    from tests.hardware.doubles import ScriptedGpuProvider

    app = QApplication.instance() or QApplication([])
    ThemeManager(app).apply("dark")
    session = Session(Settings(), None, app_dirs())
    small, large = (500, 260), (1100, 700)
    scenarios = {}
    for name, factory, watch in (
            ("this_machine", HardwareMonitor, False),
            ("scripted_1_gpu", lambda: HardwareMonitor([ScriptedGpuProvider(1)]), True),
            ("scripted_2_gpus", lambda: HardwareMonitor([ScriptedGpuProvider(2)]), True)):
        for label, size in (("docked", small), ("large", large)):
            scenarios[f"{name}_{label}"] = scenario(app, session, factory, size, args.seconds, args.warmup, watch)
    worst = max(s["cost_percent_of_one_core"] for s in scenarios.values())
    print(json.dumps({
        "benchmark": "gpu_monitor_cost",
        "interval_s": 1.0,
        "seconds_per_scenario": args.seconds,
        "platform": os.environ["QT_QPA_PLATFORM"],
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "worst_cost_percent_of_one_core": worst,
        "target_percent_of_one_core": 1.0,
        "ok": worst < 1.0,
        "scenarios": scenarios,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
