"""DEV ONLY (lives in tests/, never shipped): the real window with the Training monitor streaming the
fake trainer (a test double replaying a real transcript), for looking at it and taking screenshots.

    xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb \\
        /work/main/.venv/bin/python tests/support/demo_monitor.py --out /work/screens/runner
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--at-step", type=int, default=260, help="take the screenshots around this step")
    parser.add_argument("--scenario", default="ok")
    parser.add_argument("--theme", action="append")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lora-demo-"))
    os.environ["LORA_STUDIO_HOME"] = str(home)

    from app.application import build
    from tests.runs.conftest import make_run

    parts = build(log_level="WARNING", console_log=True, restore_layout=False, open_initial=False)
    window, app, session = parts.window, parts.app, parts.session
    sd = home / "sd-scripts"
    sd.mkdir()
    (sd / "train_network.py").write_text("# stand-in: the demo's run folder names the fake trainer\n")
    session.settings.backend.python = sys.executable
    session.settings.backend.sd_scripts_dir = str(sd)
    prompts = home / "prompts.txt"
    prompts.write_text("a portrait of mychar, smiling --n blurry\nmychar in a garden, watercolour\n"
                       "mychar riding a bicycle\nclose-up of mychar, studio light\n", encoding="utf-8")
    runs = home / "data" / "runs"
    run = make_run(runs / "20261123-190000-mychar-v1", args.scenario, max_train_steps=args.steps,
                   sample_every_n_steps=50, sample_prompts=str(prompts), save_every_n_steps=100, save_state=True,
                   env={"FAKE_TRAINER_STEP_SECONDS": "0.03", "FAKE_TRAINER_FAIL_AT_STEP": str(args.at_step)})
    window.resize(1440, 900)
    window.show()
    dock = window.dock_widget("training")
    window.docks["training"].raise_()
    from PySide6.QtCore import Qt

    window.resizeDocks([window.docks["training"]], [430], Qt.Orientation.Vertical)
    args.out.mkdir(parents=True, exist_ok=True)

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    settle(0.5)
    dock.start_run(run)
    deadline = time.monotonic() + 120
    while not dock.state.running and time.monotonic() < deadline:
        settle(0.05)
    while dock.state.step < args.at_step and dock.state.running and time.monotonic() < deadline:
        settle(0.05)
    paused = dock.state.pid if dock.state.running else 0
    if paused:  # freeze the engine so that every screenshot shows the same moment of the run
        try:
            os.kill(paused, signal.SIGSTOP)
        except ProcessLookupError:
            paused = 0
    if args.scenario != "ok":
        while dock.state.running and time.monotonic() < deadline:
            settle(0.05)
    settle(0.4)
    for theme in args.theme or ["dark", "light"]:
        window.choose_theme(theme)
        settle(0.3)
        for tab in ("Loss", "Samples", "Log", "Checkpoints"):
            dock.tabs.setCurrentIndex(dock.tabs.indexOf(dock.pages[tab]))
            settle(0.5)
            window.grab().save(str(args.out / f"window-{theme}-{tab.lower()}.png"))
            window.docks["training"].grab().save(str(args.out / f"monitor-{theme}-{tab.lower()}.png"))
            print(args.out / f"monitor-{theme}-{tab.lower()}.png", "step", dock.state.step)
    if paused:
        try:
            os.kill(paused, signal.SIGCONT)
        except ProcessLookupError:
            pass
    dock.stop()
    while dock.controller.is_running():
        settle(0.05)
    for tab in ("History", "Queue"):
        dock.tabs.setCurrentIndex(dock.tabs.indexOf(dock.pages[tab]))
        settle(0.6)
        window.docks["training"].grab().save(str(args.out / f"monitor-{args.theme[-1] if args.theme else 'light'}"
                                                            f"-{tab.lower()}.png"))
    dock.preflight()  # the shown run, checked again: the report dialog
    deadline = time.monotonic() + 60
    while (dock.preflight_dialog is None or not dock.preflight_dialog.isVisible()) and time.monotonic() < deadline:
        settle(0.1)
    if dock.preflight_dialog is not None:
        settle(0.3)
        dock.preflight_dialog.grab().save(str(args.out / "preflight-dialog.png"))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
