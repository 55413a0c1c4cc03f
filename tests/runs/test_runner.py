"""The runner against the fake trainer (a test double replaying the real transcripts): a good run,
every failure path, stop, hang, children, secrets, resume -- and never a process left behind."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from services.runs import diagnosis as dg
from services.runs import events as ev
from services.runs.run_folder import FAILED, STOPPED, SUCCEEDED
from services.runs.runner import Runner
from tests.runs.conftest import launch_for, make_run


class Collector:
    def __init__(self) -> None:
        self.batches: list[list] = []

    def __call__(self, batch: list) -> None:
        self.batches.append(batch)

    @property
    def events(self) -> list:
        return [e for b in self.batches for e in b]

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def run_it(run, tmp_path, **runner_kwargs):
    sink = Collector()
    runner = Runner(launch_for(run, tmp_path), sink, **runner_kwargs)
    outcome = runner.run()
    return runner, outcome, sink


def test_a_good_run_streams_progress_samples_checkpoints_and_keeps_the_log(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a photo of mychar --n blurry\nmychar in a garden\n", encoding="utf-8")
    run = make_run(tmp_path / "run", max_train_steps=12, save_every_n_steps=5, sample_every_n_steps=4,
                   sample_prompts=str(prompts))
    _runner, outcome, sink = run_it(run, tmp_path)

    assert outcome.state == SUCCEEDED and outcome.exit_code == 0 and outcome.diagnosis is None
    assert isinstance(sink.events[0], ev.Started)
    assert isinstance(sink.events[-1], ev.Ended) and sink.events[-1].state == SUCCEEDED
    assert [s.step for s in sink.of(ev.Step)][-1] == 12
    assert {loss.step for loss in sink.of(ev.Loss)} == set(range(1, 13))
    saved = [Path(c.path).name for c in sink.of(ev.CheckpointSaved)]
    assert saved == ["fake-step00000005.safetensors", "fake-step00000010.safetensors", "fake.safetensors"]
    samples = sink.of(ev.SampleImage)
    assert [(s.step, s.index, s.prompt) for s in samples] == [
        (step, i, p) for step in (4, 8, 12) for i, p in enumerate(["a photo of mychar", "mychar in a garden"])]
    assert all(Path(s.path).is_file() for s in samples)
    assert sink.of(ev.Phase)[-1].name == ev.FINISHED

    log_text = run.log_path.read_text(encoding="utf-8")
    assert "load tokenizer from cache:" in log_text and "saving checkpoint:" in log_text
    assert b"\r" in run.log_path.read_bytes()  # the raw output, redraws included
    status = run.status()
    assert status.state == SUCCEEDED and status.exit_code == 0 and status.step == 12
    assert len(status.attempts) == 1 and status.attempts[0].state == SUCCEEDED
    assert status.last_loss == outcome.last_loss
    assert len(status.checkpoints) == 3
    # Events came in batches, not one signal per line.
    assert len(sink.batches) < len(sink.events) / 5


@pytest.mark.parametrize(("scenario", "kind", "words"), [
    ("oom", dg.CUDA_OOM, "memory"),
    ("missing_module", dg.MISSING_MODULE, "bitsandbytes"),
    ("missing_file", dg.MISSING_FILE, "/models/missing.safetensors"),
    ("schema_error", dg.DATASET_SCHEMA, "general ▸ bogus_key"),
    ("tokenizer_offline", dg.TOKENIZER_OFFLINE, "tokenizer"),
    ("crash", dg.UNKNOWN, "RuntimeError: the fake trainer crashed on purpose"),
])
def test_failures_are_explained_never_a_bare_exit_code(tmp_path, scenario, kind, words):
    run = make_run(tmp_path / "run", scenario)
    _runner, outcome, sink = run_it(run, tmp_path)
    assert outcome.state == FAILED and outcome.exit_code == 1
    diagnosis = outcome.diagnosis
    assert diagnosis.kind == kind
    assert words in diagnosis.text() or words in " ".join(diagnosis.lines)
    assert "CalledProcessError" not in diagnosis.message
    assert diagnosis.hint
    ended = sink.events[-1]
    assert isinstance(ended, ev.Ended) and ended.diagnosis is diagnosis
    assert run.status().diagnosis["kind"] == kind


def test_nan_loss_finishes_with_a_warning(tmp_path):
    run = make_run(tmp_path / "run", "nan", max_train_steps=6)
    _runner, outcome, sink = run_it(run, tmp_path)
    assert outcome.state == SUCCEEDED
    assert outcome.diagnosis.kind == dg.NAN_LOSS and outcome.diagnosis.severity == "warning"
    assert any("nan" in w.message for w in sink.of(ev.Warning_))


def _stop_after(runner: Runner, sink: Collector, condition, timeout: float = 20.0):
    import threading

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(sink):
                break
            time.sleep(0.02)
        runner.stop()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


@pytest.mark.parametrize("scenario", ["hang", "hang_ignore_term"])
def test_a_hung_engine_is_reported_and_stopped_within_five_seconds(tmp_path, scenario):
    run = make_run(tmp_path / "run", scenario, max_train_steps=10)
    sink = Collector()
    runner = Runner(launch_for(run, tmp_path), sink, stall_after_s=0.5)
    watcher = _stop_after(runner, sink, lambda s: s.of(ev.Stalled))
    outcome = runner.run()
    watcher.join()
    assert sink.of(ev.Stalled)
    assert outcome.state == STOPPED and outcome.diagnosis is None
    assert runner.stop_took_s < 5.0
    if scenario == "hang":
        assert runner.stop_took_s < 2.5  # it took the polite signal
    assert not psutil.pid_exists(runner.tree.pid) or psutil.Process(runner.tree.pid).status() == psutil.STATUS_ZOMBIE
    assert run.status().state == STOPPED


def test_stop_ends_the_whole_tree_children_and_grandchildren_included(tmp_path):
    pidfile = tmp_path / "pids.json"
    run = make_run(tmp_path / "run", "children", max_train_steps=400,
                   env={"FAKE_TRAINER_PIDFILE": str(pidfile), "FAKE_TRAINER_STEP_SECONDS": "0.05"})
    sink = Collector()
    runner = Runner(launch_for(run, tmp_path), sink)
    watcher = _stop_after(runner, sink, lambda s: len(s.of(ev.Loss)) >= 3)
    outcome = runner.run()
    watcher.join()
    pids = json.loads(pidfile.read_text())
    everyone = [pids["trainer"], *pids["children"]]
    assert len(everyone) == 3
    assert outcome.state == STOPPED
    assert runner.stop_took_s < 5.0
    for pid in everyone:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid


def test_stop_before_the_engine_starts(tmp_path):
    run = make_run(tmp_path / "run")
    sink = Collector()
    runner = Runner(launch_for(run, tmp_path), sink)
    runner.stop()
    outcome = runner.run()
    assert outcome.state == STOPPED and runner.tree is None


def test_a_backend_python_that_does_not_exist_is_explained(tmp_path):
    run = make_run(tmp_path / "run")
    launch = launch_for(run, tmp_path)
    launch.argv[0] = str(tmp_path / "no-such-python")
    outcome = Runner(launch, Collector()).run()
    assert outcome.state == FAILED and outcome.diagnosis.kind == dg.LAUNCH_FAILED
    assert "not found" in outcome.diagnosis.title


def test_secrets_reach_the_engine_through_the_environment_only_and_never_the_log(tmp_path, monkeypatch):
    secret = "hf_SECRETtoken123456"
    monkeypatch.setenv("HF_TOKEN", secret)
    run = make_run(tmp_path / "run", "leak_secret", env={"HF_TOKEN": "from-the-plan-is-ignored"})
    _runner, outcome, sink = run_it(run, tmp_path)
    assert outcome.state == SUCCEEDED
    log_text = run.log_path.read_text(encoding="utf-8")
    assert "token in use: ***" in log_text
    assert secret not in log_text and "from-the-plan" not in log_text
    assert all(secret not in e.text for e in sink.of(ev.LogLine))
    for path in run.path.iterdir():
        if path.is_file():
            assert secret not in path.read_text(encoding="utf-8", errors="replace")


def test_resume_continues_from_the_last_saved_state(tmp_path):
    run = make_run(tmp_path / "run", max_train_steps=30, save_every_n_steps=5, save_state=True,
                   env={"FAKE_TRAINER_STEP_SECONDS": "0.03"})
    sink = Collector()
    runner = Runner(launch_for(run, tmp_path), sink)
    watcher = _stop_after(runner, sink, lambda s: any(e.number == 10 for e in s.of(ev.StateSaved)))
    first = runner.run()
    watcher.join()
    assert first.state == STOPPED
    state = run.latest_state()
    saved_step = run.states()[-1][0]
    assert state is not None and saved_step >= 10 and state.name == f"fake-step{saved_step:08d}-state"

    again = Collector()
    second = Runner(launch_for(run, tmp_path, resume_from=state), again).run()
    assert second.state == SUCCEEDED
    assert again.of(ev.Resumed) == [ev.Resumed(str(state))]
    steps = [s.step for s in again.of(ev.Step)]
    assert steps[0] == saved_step and steps[-1] == 30
    status = run.status()
    assert [a.state for a in status.attempts] == [STOPPED, SUCCEEDED]
    assert status.attempts[1].resumed_from == str(state)
    assert run.log_path.read_text(encoding="utf-8").count("===== LoRA Studio: attempt") == 2
