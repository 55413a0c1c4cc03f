"""The queue (frozen snapshots; only waiting runs change; persisted; failure policy) and the history
(every run folder listed; a run reopened from its folder alone)."""

from __future__ import annotations

import json

import pytest

from services.errors import UserInputError
from services.runs import events as ev
from services.runs import queue as q
from services.runs.history import list_runs, replay, runs_dir, split_attempts
from services.runs.runner import Runner
from tests.runs.conftest import launch_for, make_run


def test_queue_add_reorder_remove_rename_replace_and_persist(tmp_path):
    runs = [make_run(tmp_path / f"r{i}") for i in range(4)]
    queue = q.RunQueue.in_runs_dir(tmp_path)
    a, b, c, d = (queue.add(run, f"run {i}") for i, run in enumerate(runs))
    assert [e.name for e in queue.pending()] == ["run 0", "run 1", "run 2", "run 3"]
    queue.move(d.id, 0)
    queue.move(a.id, 99)
    assert [e.name for e in queue.pending()] == ["run 3", "run 1", "run 2", "run 0"]
    queue.remove(c.id)
    queue.rename(b.id, "  better name ")
    queue.replace(b.id, runs[2])
    again = q.RunQueue.in_runs_dir(tmp_path)
    assert [(e.name, e.run_dir) for e in again.entries] == [
        ("run 3", str(runs[3].path)), ("better name", str(runs[2].path)), ("run 0", str(runs[0].path))]
    with pytest.raises(UserInputError):
        again.rename(b.id, "   ")


def test_started_runs_cannot_be_changed_and_stay_as_the_record(tmp_path):
    queue = q.RunQueue.in_runs_dir(tmp_path)
    first = queue.add(make_run(tmp_path / "a"))
    second = queue.add(make_run(tmp_path / "b"))
    queue.mark_running(first.id)
    for action in (lambda: queue.remove(first.id), lambda: queue.move(first.id, 1),
                   lambda: queue.rename(first.id, "x"), lambda: queue.replace(first.id, second.run)):
        with pytest.raises(UserInputError, match="already started"):
            action()
    queue.move(second.id, 0)
    assert queue.entries[0] is first  # started entries stay ahead of the waiting ones
    assert queue.next_pending() is second
    queue.mark_done(first.id, q.FAILED)
    assert queue.clear_finished() == 1 and queue.entries == [second]


def test_failure_policy_and_interrupted_runs(tmp_path):
    queue = q.RunQueue.in_runs_dir(tmp_path)
    assert queue.should_continue_after(q.SUCCEEDED) and queue.should_continue_after(q.FAILED)
    assert not queue.should_continue_after(q.STOPPED)
    queue.set_stop_on_failure(True)
    assert not queue.should_continue_after(q.FAILED)
    entry = queue.add(make_run(tmp_path / "a"))
    queue.mark_running(entry.id)
    reopened = q.RunQueue.in_runs_dir(tmp_path)  # the app ended while it ran
    assert reopened.stop_on_failure and reopened.entries[0].state == q.STOPPED
    with pytest.raises(UserInputError):
        reopened.get("nope")


def test_a_broken_queue_file_gives_an_empty_queue(tmp_path):
    (tmp_path / q.QUEUE_FILE).write_text("{not json")
    assert q.RunQueue.in_runs_dir(tmp_path).entries == []
    (tmp_path / q.QUEUE_FILE).write_text(json.dumps({"entries": [{"name": "no folder"}, 3]}))
    assert q.RunQueue.in_runs_dir(tmp_path).entries == []


def test_history_lists_every_run_folder_newest_first(tmp_path):
    first = make_run(tmp_path / "20260101-000000-a")
    second = make_run(tmp_path / "20260102-000000-b")
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "queue.json").write_text("{}")
    status = second.status()
    status.created_at = first.status().created_at + 10
    second.write_status(status)
    listed = list_runs(tmp_path)
    assert [s.run for s in listed] == [second, first]
    assert listed[0].state == "created" and listed[0].started_at is None
    assert list_runs(tmp_path / "missing") == []


def test_runs_dir_comes_from_the_settings_or_the_data_folder(tmp_path):
    from services.settings import Settings

    settings = Settings()
    assert runs_dir(settings).name == "runs"
    settings.backend.runs_dir = str(tmp_path)
    assert runs_dir(settings) == tmp_path


def test_reopening_a_run_rebuilds_what_the_monitor_showed(tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a cat\n", encoding="utf-8")
    run = make_run(tmp_path / "run", max_train_steps=8, sample_every_n_steps=4, sample_prompts=str(prompts))
    Runner(launch_for(run, tmp_path), lambda batch: None).run()
    again = replay(run)
    losses = {e.step for e in again.events if isinstance(e, ev.Loss)}
    assert losses == set(range(1, 9))
    samples = [e for e in again.events if isinstance(e, ev.SampleImage)]
    assert [(s.step, s.prompt) for s in samples] == [(4, "a cat"), (8, "a cat")]
    assert any(isinstance(e, ev.CheckpointSaved) for e in again.events)
    assert isinstance(again.events[-1], ev.Ended) and again.events[-1].state == "succeeded"


def test_a_failed_run_reopens_with_its_diagnosis(tmp_path):
    run = make_run(tmp_path / "run", "oom")
    Runner(launch_for(run, tmp_path), lambda batch: None).run()
    again = replay(run)
    assert again.diagnosis.kind == "cuda_oom"
    assert again.events[-1].diagnosis.kind == "cuda_oom"


def test_attempts_are_parsed_apart():
    assert split_attempts("no header\n") == ["no header\n"]
    parts = split_attempts("===== LoRA Studio: attempt 1 x\na\n===== LoRA Studio: attempt 2 y\nb\n")
    assert len(parts) == 2 and parts[1].startswith("===== LoRA Studio: attempt 2")
