"""The Training monitor dock with the fake trainer (a test double): a run shown live (progress, loss
chart, samples, checkpoints, log), a failure explained, Stop, Resume, the queue and history views,
the preflight report, and the log view's search and bounded memory."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QDialog

from services.paths import app_dirs
from services.qt.session import Session
from services.runs import events as ev
from services.runs.qt.models import HistoryModel, QueueModel
from services.settings import Settings
from tests.runs.conftest import make_run
from widgets.training_monitor.dock import TrainingMonitor
from widgets.training_monitor.log_view import LogView


@pytest.fixture
def session(qapp, tmp_path):
    settings = Settings()
    sd = tmp_path / "sd-scripts"
    sd.mkdir()
    (sd / "train_network.py").write_text("# stand-in folder: the runs name the fake trainer\n")
    settings.backend.python = sys.executable
    settings.backend.sd_scripts_dir = str(sd)
    settings.backend.runs_dir = str(tmp_path / "runs")
    return Session(settings, None, app_dirs())


@pytest.fixture
def monitor(qtbot, session):
    dock = TrainingMonitor(session)
    qtbot.addWidget(dock)
    dock.resize(1100, 520)
    yield dock
    dock.shutdown()


def prompts_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("a photo of mychar\nmychar in a garden\n", encoding="utf-8")
    return str(path)


def test_construction_is_cheap_and_the_chart_waits_for_a_loss(monitor):
    assert not monitor._built and monitor.chart is None
    monitor.show()
    # Built, but pyqtgraph (half a second to import) waits until there is a loss to draw.
    assert monitor._built and monitor.chart is None
    assert not monitor.loss_hint.isHidden()
    assert "Backend:" in monitor.status.backend_label.text()


def test_a_run_is_shown_live_and_ends_with_everything_in_place(monitor, qtbot, tmp_path):
    monitor.show()
    run = make_run(tmp_path / "runs" / "a", max_train_steps=24, sample_every_n_steps=8,
                   sample_prompts=prompts_file(tmp_path), save_every_n_steps=10,
                   env={"FAKE_TRAINER_STEP_SECONDS": "0.02"})
    pids = []
    monitor.session.training_process_changed.connect(pids.append)
    monitor.start_run(run)
    # made as the run is launched, not when its first loss arrives among streaming lines
    assert monitor.chart is not None and monitor.chart.points == 0
    assert monitor.buttons["stop"].isEnabled() and not monitor.buttons["start"].isEnabled()
    qtbot.waitUntil(lambda: monitor.state.state == "succeeded", timeout=30000)
    qtbot.waitUntil(lambda: not monitor.controller.is_running(), timeout=5000)
    monitor.refresh()
    monitor._draw_chart(force=True)
    assert monitor.status.state_label.text() == "Finished"
    assert monitor.status.steps_bar.value() == 24 and monitor.status.steps_bar.maximum() == 24
    assert "loss" in monitor.status.stats_label.text()
    assert monitor.chart.points == 24
    assert monitor.samples.image_count == 6
    assert monitor.samples.steps.count() == 3 and monitor.samples.steps.item(0).text().startswith("Step 24")
    assert monitor.samples.images.count() == 2
    assert monitor.samples.images.item(0).text() == "a photo of mychar"
    assert monitor.checkpoints.tree.topLevelItemCount() == 3
    assert len(monitor.log_view.lines) > 50
    assert monitor.log_view.text.blockCount() <= 1  # a hidden log view draws nothing...
    monitor.tabs.setCurrentIndex(monitor.tabs.indexOf(monitor.pages["Log"]))
    assert monitor.log_view.text.blockCount() > 50  # ...until it is shown
    assert "saving checkpoint" in monitor.log_view.text.toPlainText()
    assert pids[0] > 0 and pids[-1] == 0
    assert not monitor.status.banner.isVisible()


def test_a_failure_is_explained_in_the_banner(monitor, qtbot, tmp_path):
    monitor.show()
    monitor.start_run(make_run(tmp_path / "runs" / "oom", "oom"))
    qtbot.waitUntil(lambda: monitor.state.state == "failed", timeout=20000)
    monitor.refresh()
    assert monitor.status.banner.isVisible()
    text = monitor.status.banner_label.text()
    assert "ran out of memory" in text and "What to do" in text
    assert monitor.status.state_label.text() == "Failed"
    qtbot.waitUntil(lambda: monitor.tabs.tabText(monitor.tabs.currentIndex()) == "Log", timeout=5000)


def test_stop_then_resume_continues_the_curve(monitor, qtbot, tmp_path):
    monitor.show()
    run = make_run(tmp_path / "runs" / "r", max_train_steps=40, save_every_n_steps=5, save_state=True,
                   env={"FAKE_TRAINER_STEP_SECONDS": "0.03"})
    monitor.start_run(run)
    qtbot.waitUntil(lambda: monitor.state.states_saved >= 2, timeout=20000)
    monitor.stop()
    qtbot.waitUntil(lambda: monitor.state.state == "stopped", timeout=8000)
    qtbot.waitUntil(lambda: not monitor.controller.is_running(), timeout=5000)
    monitor.refresh()
    assert monitor.buttons["resume"].isEnabled()
    assert "resumable" in monitor.status.phase_label.text()
    monitor.resume()
    qtbot.waitUntil(lambda: monitor.state.state == "succeeded", timeout=30000)
    assert monitor.state.loss_steps[0] == 1 and monitor.state.loss_steps[-1] == 40
    assert monitor.state.attempt == 2


def test_history_and_queue_views(monitor, qtbot, tmp_path, qtmodeltester):
    monitor.show()
    done = make_run(tmp_path / "runs" / "20260101-000000-done", max_train_steps=4)
    monitor.start_run(done)
    qtbot.waitUntil(lambda: not monitor.controller.is_running() and monitor.state.state == "succeeded",
                    timeout=20000)
    monitor.show_history()
    qtbot.waitUntil(lambda: monitor.history.model.rowCount() == 1, timeout=5000)
    qtmodeltester.check(monitor.history.model)
    model = monitor.history.model
    assert model.data(model.index(0, 1)) == "Succeeded" and model.data(model.index(0, 4)) == "4/4"
    monitor.history.table.selectRow(0)
    monitor.history.reopen_requested.emit(monitor.history.selected_run())
    qtbot.waitUntil(lambda: len(monitor.state.loss_steps) == 4 and monitor.state.state == "succeeded",
                    timeout=5000)

    waiting = [make_run(tmp_path / "runs" / f"q{i}", max_train_steps=4) for i in range(2)]
    for run in waiting:
        monitor.controller.enqueue(run, run.path.name)
    queue_model = monitor.queue_view.model
    assert queue_model.rowCount() == 2
    qtmodeltester.check(queue_model)
    monitor.queue_view.table.selectRow(1)
    monitor.queue_view.up_button.click()
    assert [e.name for e in monitor.controller.queue.pending()] == ["q1", "q0"]
    assert queue_model.setData(queue_model.index(0, 0), "renamed")
    assert monitor.controller.queue.entries[0].name == "renamed"
    monitor.queue_view.run_button.click()
    qtbot.waitUntil(lambda: all(e.state == "succeeded" for e in monitor.controller.queue.entries), timeout=40000)
    qtbot.waitUntil(lambda: not monitor.controller.queue_active, timeout=5000)
    assert monitor.queue_view.run_button.text() == "Run queue"


def test_start_without_a_project_or_run_says_what_to_do(monitor):
    errors = []
    monitor.session.error_reported.connect(errors.append)
    monitor.buttons["start"].click()
    assert errors and "no run" in errors[0].message.lower()


def test_preflight_of_a_shown_run_shows_the_report(monitor, qtbot, tmp_path):
    monitor.show()
    monitor.run = make_run(tmp_path / "runs" / "p")
    monitor.preflight()
    qtbot.waitUntil(lambda: monitor.preflight_dialog is not None and monitor.preflight_dialog.isVisible(),
                    timeout=30000)
    dialog = monitor.preflight_dialog
    assert dialog.tree.topLevelItemCount() >= 6
    titles = [dialog.tree.topLevelItem(i).text(1) for i in range(dialog.tree.topLevelItemCount())]
    assert "Training backend" in titles and "Video memory (estimate)" in titles
    # The stand-in backend has no readable commit: it blocks, and it can be accepted.
    assert not dialog.start_button.isEnabled()
    assert dialog.accept_button.isVisibleTo(dialog)
    dialog.done(QDialog.DialogCode.Rejected)


def test_log_view_search_filter_and_bounded_memory(qtbot):
    view = LogView(max_lines=1000)
    qtbot.addWidget(view)
    view.show()
    view.append([ev.LogLine(f"line {i}", ev.INFO) for i in range(3000)])
    view.append([ev.LogLine("Traceback (most recent call last):", ev.ERROR), ev.LogLine("careful", ev.WARNING)])
    assert view.text.blockCount() <= 1000 and len(view.lines) == 1000
    assert view.text.toPlainText().splitlines()[-2].startswith("✖ Traceback")
    view.search.setText("line 2999")
    assert view.find_next()
    view.only_matching.setChecked(True)
    assert view.text.toPlainText().strip() == "line 2999"
    view.only_matching.setChecked(False)
    view.problems_only.setChecked(True)
    assert view.text.toPlainText().splitlines() == ["✖ Traceback (most recent call last):", "⚠ careful"]
    view.search.setText("no such text")
    assert not view.find_next()


def test_models_alone_pass_the_model_tester(qtmodeltester):
    qtmodeltester.check(QueueModel())
    qtmodeltester.check(HistoryModel())


def test_the_chart_is_drawn_when_its_tab_comes_back(monitor, qtbot, tmp_path):
    monitor.show()
    run = make_run(tmp_path / "runs" / "c", max_train_steps=12)
    monitor.start_run(run)
    monitor.tabs.setCurrentIndex(monitor.tabs.indexOf(monitor.pages["Log"]))
    qtbot.waitUntil(lambda: monitor.state.state == "succeeded", timeout=20000)
    monitor.refresh()
    assert monitor.chart is None or monitor.chart.points < 12  # not drawn while hidden
    monitor.tabs.setCurrentIndex(monitor.tabs.indexOf(monitor.pages["Loss"]))
    assert monitor.chart.points == 12
