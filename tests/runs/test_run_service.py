"""The QThread streaming service: events arrive on the GUI thread in batches, the GUI thread is never
blocked (stop returns at once), failures and stops end cleanly, and quitting leaves nothing behind."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QThread

from services.errors import UserInputError
from services.runs import events as ev
from services.runs.qt.run_service import RunService
from tests.runs.conftest import launch_for, make_run


def collect(service: RunService) -> list:
    received: list = []

    def on_batch(batch):
        assert QThread.currentThread() is service.thread()  # delivered on the GUI thread
        received.extend(batch)

    service.events.connect(on_batch)
    return received


def test_a_run_streams_to_the_gui_thread_and_finishes(qtbot, tmp_path):
    run = make_run(tmp_path / "run", max_train_steps=8)
    service = RunService()
    received = collect(service)
    with qtbot.waitSignal(service.finished, timeout=20000) as finished:
        service.start(launch_for(run, tmp_path))
        assert service.is_running()
    assert finished.args[0].state == "succeeded"
    assert not service.is_running()
    assert isinstance(received[0], ev.Started) and isinstance(received[-1], ev.Ended)
    assert [e.step for e in received if isinstance(e, ev.Loss)] == list(range(1, 9))


def test_only_one_run_at_a_time_and_stop_does_not_block(qtbot, tmp_path):
    run = make_run(tmp_path / "run", "hang_ignore_term", max_train_steps=8)
    service = RunService()
    received = collect(service)
    service.start(launch_for(run, tmp_path))
    with pytest.raises(UserInputError):
        service.start(launch_for(run, tmp_path))
    qtbot.waitUntil(lambda: any(isinstance(e, ev.Step) and e.step >= 1 for e in received), timeout=15000)
    assert service.pid > 0
    with qtbot.waitSignal(service.finished, timeout=8000) as finished:
        began = time.monotonic()
        service.stop()
        assert time.monotonic() - began < 0.05  # the GUI thread does not wait for the tree
    assert finished.args[0].state == "stopped"
    assert any(isinstance(e, ev.Stopping) for e in received)


def test_shutdown_stops_the_tree_and_waits(qtbot, tmp_path):
    run = make_run(tmp_path / "run", "hang", max_train_steps=8)
    service = RunService()
    received = collect(service)
    service.start(launch_for(run, tmp_path))
    qtbot.waitUntil(lambda: any(isinstance(e, ev.Step) for e in received), timeout=15000)
    service.shutdown()
    qtbot.waitUntil(lambda: not service.is_running(), timeout=5000)
    assert service.last_outcome.state == "stopped"
