"""Headless ``lora-studio dataset scan`` and the dataset dock inside the real window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.dataset.files import write_jpeg, write_truncated_jpeg

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, home):
    env = {"LORA_STUDIO_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "app", "dataset", "scan", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def make_dataset(root: Path) -> Path:
    for i in range(3):
        write_jpeg(root / "10_ohwx dog" / f"d{i}.jpg", (1024, 1024), seed=i)
        (root / "10_ohwx dog" / f"d{i}.caption").write_text("dog", encoding="utf-8")
    write_truncated_jpeg(root / "10_ohwx dog" / "cut.jpg")
    write_jpeg(root / "reg" / "1_dog" / "r.jpg", (1024, 1024), seed=9)
    (root / "reg" / "1_dog" / "notes.jpg").write_text("not an image", encoding="utf-8")
    return root


def test_cli_scan_json(tmp_path, lora_home):
    root = make_dataset(tmp_path / "ds")
    proc = run_cli(root, "--json", home=lora_home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["images"] == 6 and out["caption_extension"] == ".caption"  # guessed: most images have one
    assert out["images_x_repeats"] == 40 and out["reg_images"] == 2
    subsets = {s["name"]: s for s in out["subsets"]}
    assert subsets["ds/10_ohwx dog"]["class_tokens"] == "ohwx dog"
    assert subsets["ds/reg/1_dog"]["regularisation"]
    kinds = {f["kind"]: f for f in out["findings"]}
    assert [Path(p).name for p in kinds["corrupt"]["images"]] == ["cut.jpg"]
    assert [Path(p).name for p in kinds["unreadable"]["images"]] == ["notes.jpg"]
    assert out["buckets"]["histogram"][0]["width"] == 1024


def test_cli_scan_text_and_errors(tmp_path, lora_home):
    root = make_dataset(tmp_path / "ds")
    proc = run_cli(root, "--quick", "--resolution", "512", "--fail-on-errors", home=lora_home)
    assert proc.returncode == 3  # an unreadable image is an error finding
    assert "6 images in 2 folders" in proc.stdout and "Buckets for 512×512" in proc.stdout
    missing = run_cli(tmp_path / "nope", home=lora_home)
    assert missing.returncode == 1 and "error:" in missing.stderr and "hint:" in missing.stderr
    bad = run_cli(root, "--resolution", "big", home=lora_home)
    assert bad.returncode == 1 and "--resolution" in bad.stderr


def test_help_demo_opens_a_workspace_in_the_window(app_parts, qtbot):
    session, window = app_parts.session, app_parts.window
    with qtbot.waitSignal(session.workspace_changed, timeout=30_000):
        window.actions_by_id["help.demo"].trigger()
    ws = session.workspace
    assert ws is not None and len(ws) == 16 and ws.ready
    dock = window.dock_widget("dataset")
    assert dock.model.rowCount() == 16
    # the grid makes the first image current: the central preview shows it
    qtbot.waitUntil(lambda: window.central.canvas.has_image(), timeout=20_000)
    assert session.current_key == dock.model.key_at(0)
    for action in ("dataset.health", "dataset.folder_tools", "dataset.balance", "dataset.refresh",
                   "dataset.problems"):
        assert action in window.actions_by_id
    window.actions_by_id["dataset.problems"].trigger()
    assert dock.filter_bar.text() == "problem:any"
    window.actions_by_id["dataset.health"].trigger()
    dialog = dock._health_dialog
    dialog.run()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=60_000)
    assert dialog.findings.topLevelItemCount() >= 1 and dialog.chart.buckets
    dialog.close()
    window.actions_by_id["dataset.folder_tools"].trigger()
    tools = dock._tools_dialog
    qtbot.waitUntil(lambda: tools.current_runner().plan is not None, timeout=10_000)
    tools.close()


def test_self_test_waits_for_and_gets_the_demo_workspace(lora_home):
    env = dict(os.environ, LORA_STUDIO_HOME=str(lora_home), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "app", "--self-test"], cwd=ROOT, capture_output=True, text=True,
                          timeout=240, env=env)
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert summary["ok"], summary
    assert summary["checks"]["uncaught_exceptions"] == 0
