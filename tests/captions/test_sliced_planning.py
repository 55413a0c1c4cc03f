"""Batch operations are planned on the GUI thread in slices (pure Python over every caption: in a
thread it would hold the GIL against painting), with progress, a busy label and cancel."""

from __future__ import annotations

import threading

import pytest

from services.captions.changes import Entry, plan, plan_steps
from services.captions.operations import AddTags, OpContext
from services.captions.tags import TagFormat
from tests.captions.helpers import make_dataset, open_workspace, wait_idle

COUNT = 300


@pytest.fixture
def ws(tmp_path, session, controller, qtbot):
    root = make_dataset(tmp_path / "data", {f"img{i:03}": f"cat, pose{i % 7}" for i in range(COUNT)}).parent
    workspace = open_workspace(session, root)
    wait_idle(qtbot, controller)
    controller.planner._budget = 0.0  # one step per slice: 300 captions would fit in one slice
    return workspace


def test_plan_steps_is_the_same_plan_in_steps():
    entries = [Entry(i, f"a, b{i % 3}") for i in range(100)] + [Entry("locked", "x", "undecodable")]
    ctx = OpContext(TagFormat(", "))
    steps = plan_steps(AddTags(("sks",), "front"), iter(entries), ctx, every=32)
    counts = []
    while True:
        try:
            counts.append(next(steps))
        except StopIteration as stop:
            stepped = stop.value
            break
    assert counts == [32, 64, 96]
    whole = plan(AddTags(("sks",), "front"), entries, ctx)
    assert stepped.changes == whole.changes and stepped.skipped == whole.skipped
    assert stepped.tag_delta == whole.tag_delta == {"sks": 100}


def test_a_batch_is_planned_in_slices_on_the_gui_thread(qtbot, session, controller, ws, monkeypatch):
    threads_started = []
    real_start = controller.start_task
    monkeypatch.setattr(controller, "start_task", lambda *a, **k: threads_started.append(a[1]) or real_start(*a, **k))
    planned_on = []
    real_plan_steps = plan_steps

    def spy(*a, **k):
        planned_on.append(threading.current_thread() is threading.main_thread())
        return (yield from real_plan_steps(*a, **k))

    monkeypatch.setattr("services.captions.qt.controller.plan_steps", spy)
    busy = []
    controller.busy_changed.connect(busy.append)
    controller.run_operation(AddTags(("sks",), "front"), ws.keys())
    # submit ran the first slice only: the rest waits for the event loop
    assert controller.planner.busy and controller.busy
    wait_idle(qtbot, controller)
    assert planned_on == [True] and "caption-plan" not in threads_started
    assert busy[0] and busy[-1] == ""
    assert all(controller.text_of(k).startswith("sks, ") for k in [it.key for it in ws])


def test_progress_is_reported_while_planning(qtbot, session, controller, ws, monkeypatch):
    from services.captions.qt import tasks_mixin as module

    monkeypatch.setattr(module, "PROGRESS_EVERY", 64)
    seen = []
    controller.progress.connect(lambda done, total: seen.append((done, total)))
    controller.run_operation(AddTags(("sks",), "end"), ws.keys())
    wait_idle(qtbot, controller)
    assert (64, COUNT) in seen and (256, COUNT) in seen


def test_cancel_drops_a_plan_in_progress(qtbot, session, controller, ws):
    controller.run_operation(AddTags(("sks",), "front"), ws.keys())
    assert controller.planner.busy
    controller.cancel_all()
    assert not controller.planner.busy and controller.busy == ""
    wait_idle(qtbot, controller)
    assert session.undo_stack.count() == 0
    assert not any(controller.text_of(k).startswith("sks") for k in [it.key for it in ws])


def test_a_failing_plan_is_reported_and_clears_the_busy_label(qtbot, session, controller, ws, monkeypatch):
    errors = []
    monkeypatch.setattr(session, "report_error", errors.append)

    class Broken(AddTags):
        def apply_counted(self, text, ctx):
            raise ValueError("broken operation")

    controller.run_operation(Broken(("x",), "front"), ws.keys())
    wait_idle(qtbot, controller)
    assert [str(e) for e in errors] == ["broken operation"] and controller.busy == ""
