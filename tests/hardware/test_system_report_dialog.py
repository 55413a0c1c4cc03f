"""Help > System report: shown in two steps, copied as Markdown or JSON, cancelled on close."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from importlib.metadata import version

import pytest
from PySide6.QtGui import QGuiApplication

from services.hardware import backend_facts as bf
from services.hardware.qt import report_worker
from services.hardware.qt.report_worker import ReportWorker
from services.paths import app_dirs
from services.qt.session import Session
from services.settings import Settings
from tests.hardware.test_report import CUDA_PROBE
from widgets.system_report.dialog import SystemReportDialog


@pytest.fixture
def session(qapp):
    session = Session(Settings(), None, app_dirs())
    yield session
    session.deleteLater()


def dialog_with(qtbot, session, probe):
    dialog = SystemReportDialog(session, worker_factory=lambda: ReportWorker(session.settings, session.dirs,
                                                                             backend_python="/rt/python",
                                                                             probe=probe))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_report_appears_in_two_steps_and_copies_as_markdown_and_json(qtbot, session):
    calls = []

    def probe(python, cancel):
        calls.append(python)
        return bf.parse_probe(json.dumps(CUDA_PROBE))

    dialog = dialog_with(qtbot, session, probe)
    assert not dialog.copy_markdown_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.complete, timeout=30000)
    assert calls == ["/rt/python"]
    text = dialog.view.toPlainText()
    assert "LoRA Studio system report" in text and "CUDA 12.8: NVIDIA GeForce RTX 4090 (24.0 GB)" in text
    assert dialog.status.text().startswith("Complete.")
    assert not dialog.busy.isVisible()
    dialog.copy_markdown_button.click()
    clipboard = QGuiApplication.clipboard().text()
    assert clipboard == dialog.markdown() and clipboard.startswith("## LoRA Studio system report")
    assert "- **Training device:** CUDA 12.8: NVIDIA GeForce RTX 4090 (24.0 GB)" in clipboard
    assert dialog.status.text() == "Copied as Markdown."
    dialog.copy_json_button.click()
    copied = json.loads(QGuiApplication.clipboard().text())
    assert copied["backend"]["status"] == "probed" and copied["hardware"]["cpu"]["logical_cores"] >= 1
    dialog.refresh_button.click()
    qtbot.waitUntil(lambda: len(calls) == 2 and dialog.complete, timeout=30000)
    dialog.close()


def test_closing_cancels_a_slow_probe(qtbot, session):
    started = []

    def slow_probe(python, cancel):
        started.append(time.monotonic())
        cancel.wait(120)
        return bf.BackendFacts(fatal="cancelled")

    dialog = dialog_with(qtbot, session, slow_probe)
    qtbot.waitUntil(lambda: bool(started) and dialog.copy_markdown_button.isEnabled(), timeout=30000)
    assert "Being probed" in dialog.view.toPlainText() and dialog.busy.isVisible()
    worker = dialog.worker
    t0 = time.monotonic()
    dialog.close()
    assert time.monotonic() - t0 < 5 and not worker.isRunning()
    assert not dialog.complete


def test_cancel_kills_a_real_probe_and_its_children(monkeypatch):
    started = []

    class RecordingPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(bf.subprocess, "Popen", RecordingPopen)
    # A probe that is surely still running when the cancel comes, with a child of its own (the real
    # probe can finish in under 1.5 s on a warm machine, and then there is nothing to cancel).
    slow = ("import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)")
    monkeypatch.setattr(bf, "probe_command", lambda python: [str(python), "-c", slow])
    cancel = threading.Event()
    timer = threading.Timer(1.5, cancel.set)
    timer.start()
    t0 = time.monotonic()
    facts = bf.run_probe(sys.executable, cancel=cancel)
    timer.join()
    assert facts.fatal == "cancelled" and time.monotonic() - t0 < 15
    (probe,) = started
    if os.name == "posix":  # the probe ran in its own process group: nothing of it is left
        deadline = time.monotonic() + 10  # killed children take a moment to be reaped
        while time.monotonic() < deadline:
            try:
                os.killpg(probe.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("processes of the cancelled probe are still running")


def test_the_report_leaves_a_shown_gpu_dock_where_it_is(app_parts, qtbot, monkeypatch):
    """Shown GPU dock tabbed behind another: opening the report neither raises nor hides it."""
    monkeypatch.setattr(report_worker.ReportWorker, "start", lambda self: None)  # test double: no probe
    window = app_parts.window
    window.show()
    qtbot.waitExposed(window)
    gpu_dock, training_dock = window.docks["gpu"], window.docks["training"]
    window.tabifyDockWidget(gpu_dock, training_dock)
    training_dock.raise_()
    # a dock behind a tab is moved out of sight (Qt keeps it "visible"): nothing of it shows
    qtbot.waitUntil(lambda: gpu_dock.visibleRegion().isEmpty())
    window.actions_by_id["help.system_report"].trigger()
    assert window.report_dialog is not None and window.report_dialog.isVisible()
    qtbot.wait(50)
    assert gpu_dock.visibleRegion().isEmpty() and gpu_dock.toggleViewAction().isChecked()  # still behind
    assert not training_dock.visibleRegion().isEmpty()
    window.report_dialog.close()


def test_a_failure_is_shown_not_raised(qtbot, session, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report_worker, "collect_local", broken)
    dialog = dialog_with(qtbot, session, lambda python, cancel: bf.BackendFacts())
    qtbot.waitUntil(lambda: "disk on fire" in dialog.status.text(), timeout=30000)
    assert dialog.status.text() == "The system report could not be collected: disk on fire"
    assert dialog.refresh_button.isEnabled() and not dialog.copy_markdown_button.isEnabled()
    dialog.close()


def test_help_menu_opens_the_report_of_this_machine(app_parts, qtbot):
    window = app_parts.window
    window.show()
    qtbot.waitExposed(window)
    gpu_dock = window.docks["gpu"]
    gpu_dock.close()
    action = window.actions_by_id["help.system_report"]
    assert action in window.menus["Help"].actions() and action.text() == "&System report…"
    action.trigger()
    dialog = window.report_dialog
    assert dialog is not None and dialog.isVisible()
    assert not gpu_dock.isVisible()  # the report is not the GPU monitor's: its dock stays closed
    action.trigger()
    assert window.report_dialog is dialog  # one dialog, brought forward
    assert not gpu_dock.isVisible()
    qtbot.waitUntil(lambda: dialog.complete, timeout=120000)
    markdown = dialog.markdown()
    assert f"torch:** {version('torch')}" in markdown
    assert "### Backend runtime dependencies" in markdown and "### Free disk space" in markdown
    window.close()
    assert window.report_dialog is None or not window.report_dialog.isVisible()
