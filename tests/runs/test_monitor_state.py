"""The monitor's state folded from events: the same for the GUI and the terminal."""

from __future__ import annotations

import math

from services.runs import events as ev
from services.runs.monitor_state import MonitorState, format_duration, format_rate
from services.runs.parser import parse_text
from tests.runs.conftest import TRANSCRIPTS, read_transcript


def test_a_transcript_folds_into_the_final_picture():
    _, events = parse_text(read_transcript(TRANSCRIPTS[0]))
    state = MonitorState()
    state.apply([ev.Started(123, "cmd", "/run"), *events, ev.Ended("succeeded", 0, None)])
    assert state.state == "succeeded" and state.step == 4 and state.total_steps == 4 and state.fraction == 1.0
    assert state.loss_steps == [1, 2, 3, 4] and state.loss_values == [1.09, 1.05, 1.09, 1.08]
    assert state.loss_smoothed[0] == 1.09 and 1.05 < state.loss_smoothed[-1] < 1.09
    assert state.epoch == 1 and state.total_epochs == 1
    assert len(state.checkpoints) == 1 and state.phase == ev.FINISHED
    assert any("regularization" in w for w in state.warnings)
    assert state.remaining_s == 0 and not state.running and state.pid == 0


def test_a_second_loss_for_a_step_replaces_the_first_and_a_restart_drops_the_future():
    state = MonitorState()
    state.apply([ev.Loss(1, 1.0), ev.Loss(2, 0.9), ev.Loss(2, 0.8), ev.Loss(3, 0.7)])
    assert state.loss_steps == [1, 2, 3] and state.loss_values == [1.0, 0.8, 0.7]
    state.apply([ev.Loss(2, 0.85)])  # resumed from an earlier state
    assert state.loss_steps == [1, 2] and state.loss_values == [1.0, 0.85]
    assert math.isclose(state.loss_smoothed[-1], 0.9 * 1.0 + 0.1 * 0.85)


def test_nan_does_not_poison_the_smoothed_curve():
    state = MonitorState()
    state.apply([ev.Loss(1, 1.0), ev.Loss(2, float("nan")), ev.Loss(3, 0.5)])
    assert math.isnan(state.loss_values[1]) and state.loss_smoothed[1] == 1.0
    assert math.isclose(state.loss_smoothed[2], 0.95)


def test_samples_by_step_checkpoints_removed_and_stops():
    state = MonitorState()
    state.apply([ev.Started(1, "c", "/r"),
                 ev.SampleImage("/s/a_000004_01_x.png", 4, None, 1, "b"),
                 ev.SampleImage("/s/a_000004_00_x.png", 4, None, 0, "a"),
                 ev.SampleImage("/s/a_000004_00_x.png", 4, None, 0, "a"),
                 ev.SampleImage("/s/e.png", None, 2, 0, "a"), ev.SampleImage("/s/c.png", 8, None, 0, "a"),
                 ev.CheckpointSaved("/o/x-1.safetensors", 1), ev.CheckpointSaved("/o/x-2.safetensors", 2),
                 ev.CheckpointRemoved("/o/x-1.safetensors"), ev.Stalled(600), ev.Stopping("user")])
    assert [s.prompt for s in state.samples[4]] == ["a", "b"]
    assert state.sample_steps() == [8, 4, -2]
    assert [c.path for c in state.checkpoints] == ["/o/x-2.safetensors"]
    assert state.stalled_s == 600 and state.state == "stopping" and state.running
    state.apply([ev.Ended("stopped", None, None)])
    assert state.state == "stopped" and state.remaining_s is None


def test_formats():
    assert format_duration(3725) == "1:02:05" and format_duration(65) == "1:05" and format_duration(None) == "–"
    assert format_rate(2.5) == "2.50 it/s" and format_rate(0.25) == "4.00 s/it" and format_rate(None) == "–"
