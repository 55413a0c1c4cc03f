"""The training controller: runs one at a time, resume with one action, and the queue that runs its
snapshots one after another (a failure does not stop it unless asked)."""

from __future__ import annotations

import pytest

from services.errors import BackendError, UserInputError
from services.paths import app_dirs
from services.qt.session import Session
from services.runs import events as ev
from services.runs import queue as q
from services.runs.qt.controller import TrainingController
from services.settings import Settings
from tests.runs.conftest import launch_for, make_run


@pytest.fixture
def controller(qapp, tmp_path):
    settings = Settings()
    settings.backend.runs_dir = str(tmp_path / "runs")
    session = Session(settings, None, app_dirs())
    ctl = TrainingController(session, launch_factory=lambda run, resume: launch_for(run, tmp_path,
                                                                                  resume_from=resume))
    yield ctl
    ctl.shutdown()


def test_start_reports_the_training_process_to_the_session(controller, qtbot, tmp_path):
    pids = []
    controller.session.training_process_changed.connect(pids.append)
    run = make_run(tmp_path / "runs" / "a", max_train_steps=4)
    with qtbot.waitSignal(controller.run_finished, timeout=20000) as done:
        controller.start(run)
        with pytest.raises(UserInputError):
            controller.start(run)
    assert done.args[0] == run and done.args[1].state == "succeeded"
    assert len(pids) == 2 and pids[0] > 0 and pids[1] == 0


def test_resume_needs_a_saved_state_and_then_takes_one_action(controller, qtbot, tmp_path):
    run = make_run(tmp_path / "runs" / "a", max_train_steps=20, save_every_n_steps=5, save_state=True,
                   env={"FAKE_TRAINER_STEP_SECONDS": "0.03"})
    with pytest.raises(UserInputError, match="no saved training state"):
        controller.resume(run)
    seen = []
    controller.events.connect(seen.extend)
    with qtbot.waitSignal(controller.run_finished, timeout=20000) as done:
        controller.start(run)
        qtbot.waitUntil(lambda: any(isinstance(e, ev.StateSaved) for e in seen), timeout=15000)
        controller.stop()
    assert done.args[1].state == "stopped"
    seen.clear()
    with qtbot.waitSignal(controller.run_finished, timeout=20000) as done:
        controller.resume(run)
    assert done.args[1].state == "succeeded"
    assert any(isinstance(e, ev.Resumed) for e in seen)
    assert len(run.status().attempts) == 2


def test_the_queue_runs_in_order_and_goes_on_after_a_failure(controller, qtbot, tmp_path):
    runs = [make_run(tmp_path / "runs" / name, scenario, max_train_steps=4)
            for name, scenario in (("a", "ok"), ("b", "crash"), ("c", "ok"))]
    for run in runs:
        controller.enqueue(run)
    order = []
    controller.run_started.connect(lambda run: order.append(run.path.name))
    controller.start_queue()
    qtbot.waitUntil(lambda: not controller.queue_active and not controller.is_running(), timeout=40000)
    assert order == ["a", "b", "c"]
    assert [e.state for e in controller.queue.entries] == [q.SUCCEEDED, q.FAILED, q.SUCCEEDED]


def test_the_queue_stops_after_a_failure_when_asked(controller, qtbot, tmp_path):
    for name, scenario in (("a", "crash"), ("b", "ok")):
        controller.enqueue(make_run(tmp_path / "runs" / name, scenario, max_train_steps=4))
    controller.queue.set_stop_on_failure(True)
    controller.start_queue()
    qtbot.waitUntil(lambda: not controller.queue_active and not controller.is_running(), timeout=30000)
    assert [e.state for e in controller.queue.entries] == [q.FAILED, q.PENDING]


def test_a_queued_run_that_cannot_start_is_a_failure_and_the_queue_goes_on(qapp, qtbot, tmp_path):
    settings = Settings()
    settings.backend.runs_dir = str(tmp_path / "runs")
    session = Session(settings, None, app_dirs())
    errors = []
    session.error_reported.connect(errors.append)
    bad = make_run(tmp_path / "runs" / "bad")
    good = make_run(tmp_path / "runs" / "good", max_train_steps=4)

    def factory(run, resume):
        if run == bad:
            raise BackendError("no backend for this one")
        return launch_for(run, tmp_path)

    controller = TrainingController(session, launch_factory=factory)
    controller.enqueue(bad)
    controller.enqueue(good)
    controller.start_queue()
    qtbot.waitUntil(lambda: not controller.queue_active and not controller.is_running(), timeout=30000)
    assert [e.state for e in controller.queue.entries] == [q.FAILED, q.SUCCEEDED]
    assert isinstance(errors[0], BackendError)
    controller.shutdown()


def test_without_a_backend_the_launch_is_refused_clearly(qapp, tmp_path):
    settings = Settings()
    settings.backend.python = str(tmp_path / "nowhere" / "python")
    settings.backend.sd_scripts_dir = str(tmp_path / "nowhere")
    session = Session(settings, None, app_dirs())
    controller = TrainingController(session)
    with pytest.raises(BackendError, match="cannot be used"):
        controller.start(make_run(tmp_path / "run"))
    controller.shutdown()
