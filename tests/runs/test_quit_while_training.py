"""Closing the main window while a training run is active asks first: keep it running (the close is
cancelled) or stop it and quit. With nothing running the window closes without a question."""

from __future__ import annotations

import psutil
import pytest
from PySide6.QtWidgets import QMessageBox

from tests.runs.conftest import launch_for, make_run


@pytest.fixture
def answers(monkeypatch):
    """QMessageBox.exec replaced by a test double that clicks the button named in ``answers.reply``
    (and records the question) instead of waiting for a person."""

    class Answers:
        reply = ""
        asked: list[str] = []

    def fake_exec(box):
        Answers.asked.append(box.text())
        button = next(b for b in box.buttons() if b.text() == Answers.reply)
        button.click()
        return 0

    Answers.asked = []
    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return Answers


def _start_long_run(parts, tmp_path, qtbot):
    monitor = parts.window.dock_widget("training")
    controller = monitor.controller
    controller._launch_factory = lambda run, resume: launch_for(run, tmp_path, resume_from=resume)
    run = make_run(tmp_path / "runs" / "long", max_train_steps=2000, env={"FAKE_TRAINER_STEP_SECONDS": "0.05"})
    with qtbot.waitSignal(controller.session.training_process_changed, timeout=20000):
        controller.start(run)
    return controller


def test_keep_running_cancels_the_close_and_the_run_goes_on(app_parts, answers, qtbot, tmp_path):
    window = app_parts.window
    window.show()
    qtbot.waitExposed(window)
    controller = _start_long_run(app_parts, tmp_path, qtbot)
    answers.reply = "Keep running"
    assert not window.close()
    assert answers.asked and "long" in answers.asked[0]
    assert window.isVisible()
    assert controller.is_running() and app_parts.session.training_pid > 0
    with qtbot.waitSignal(controller.run_finished, timeout=20000) as done:
        controller.stop()
    assert done.args[1].state == "stopped"


def test_stop_and_quit_stops_the_run(app_parts, answers, qtbot, tmp_path):
    window = app_parts.window
    window.show()
    qtbot.waitExposed(window)
    controller = _start_long_run(app_parts, tmp_path, qtbot)
    finished = []
    controller.run_finished.connect(lambda run, outcome: finished.append(outcome.state))
    engine = psutil.Process(app_parts.session.training_pid)
    answers.reply = "Stop and quit"
    assert window.close()
    assert len(answers.asked) == 1
    assert not window.isVisible()
    # the close waited for the run to end: the engine is gone before the window is
    assert not engine.is_running() or engine.status() == psutil.STATUS_ZOMBIE
    qtbot.waitUntil(lambda: finished == ["stopped"], timeout=10000)
    assert not controller.is_running()


def test_no_question_when_nothing_runs(app_parts, answers, qtbot):
    window = app_parts.window
    window.show()
    qtbot.waitExposed(window)
    assert window.work_in_progress() == []
    assert window.close()
    assert answers.asked == []
