"""The output parser on every real transcript, whatever the chunking, and on the formats the
transcripts do not contain (samples, states, resume, tracebacks, NaN, lr, long runs)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.runs import events as ev
from services.runs.parser import LogParser, parse_text
from tests.runs.conftest import CAPTURED, TRANSCRIPTS, read_transcript

EXPECTED = {
    "sd1_lora_accelerate_config.log": {
        "losses": [1.09, 1.05, 1.09, 1.08],
        "checkpoint": "/home/user/lora/runs/sd1/output/tiny_lora_run2.safetensors",
        "model_line": "load Diffusers pretrained models: /home/user/lora/runs/sd1/model",
    },
    "sd1_lora_single_file_cli.log": {
        "losses": [0.956, 1.02, 1.05, 1.07],
        "checkpoint": "/home/user/lora/runs/sd1_single/output/single_lora.safetensors",
        "model_line": "load StableDiffusion checkpoint: /home/user/lora/runs/sd1_single/model.safetensors",
    },
    "sdxl_lora_accelerate_config.log": {
        "losses": [1.03, 1.03, 0.964, 0.987],
        "checkpoint": "/home/user/lora/runs/sdxl/output/tiny_sdxl_lora.safetensors",
        "model_line": "load Diffusers pretrained models: /home/user/lora/runs/sdxl/model, variant=None",
    },
}


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def loss_by_step(events) -> dict[int, float]:
    out: dict[int, float] = {}
    for e in of(events, ev.Loss):
        out[e.step] = e.value  # a later Loss for the same step replaces the earlier one
    return out


def test_there_are_transcripts():
    assert len(TRANSCRIPTS) >= 3


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_transcript_events(path):
    expected = EXPECTED[path.name]
    parser, events = parse_text(read_transcript(path))

    assert of(events, ev.TotalSteps) == [ev.TotalSteps(4)]
    assert of(events, ev.Epoch) == [ev.Epoch(1, 1)]
    losses = loss_by_step(events)
    assert [losses[s] for s in (1, 2, 3, 4)] == expected["losses"]
    steps = of(events, ev.Step)
    assert steps[0].step == 0 and steps[-1].step == 4 and {s.total for s in steps} == {4}
    last = steps[-1]
    assert last.elapsed_s and last.elapsed_s > 0 and last.remaining_s == 0 and last.it_per_s > 0
    assert of(events, ev.CheckpointSaved)[0].path == expected["checkpoint"]
    assert of(events, ev.CheckpointSaved)[0].step == 4
    phases = [p.name for p in of(events, ev.Phase)]
    for phase in (ev.LOADING, ev.CACHING, ev.PREPARING, ev.TRAINING, ev.SAVING, ev.FINISHED):
        assert phase in phases
    order = [phases.index(p) for p in (ev.LOADING, ev.CACHING, ev.PREPARING, ev.TRAINING, ev.FINISHED)]
    assert order == sorted(order)
    assert phases[-1] == ev.FINISHED
    warnings = [w.message for w in of(events, ev.Warning_)]
    assert any("no regularization images" in w for w in warnings)
    assert any("Failed to get git commit hash" in w for w in warnings)
    assert not of(events, ev.Error)
    # Wrapped rich records are joined, paths broken mid-word are whole again.
    texts = [e.text for e in of(events, ev.LogLine)]
    assert expected["model_line"] in texts
    assert "load tokenizer from cache: /home/user/lora/tokenizer_cache/openai_clip-vit-large-patch14" in texts
    assert "found directory /home/user/lora/runs/sd1/train_data/5_mychar contains 8 image files" in texts
    assert "set image size from cache files: 0/8" in texts
    assert "epoch 1/1" in texts
    # Caching latents reports a progress of its own.
    caching = [p for p in of(events, ev.Progress) if p.total == 8 and p.label.startswith("caching")]
    assert caching and caching[-1].n == 8
    assert parser.phase == ev.FINISHED and parser.last_loss == expected["losses"][-1]
    assert parser.lines == read_transcript(path).count("\n")


def test_a_tqdm_redraw_in_the_middle_of_a_line_keeps_only_what_the_terminal_shows():
    _parser, events = parse_text(read_transcript(TRANSCRIPTS[0]))
    progress_lines = [e.text for e in of(events, ev.LogLine) if e.level == ev.PROGRESS]
    # One line per bar as it finally stood, not one per redraw.
    assert sum(1 for t in progress_lines if t.startswith("steps:")) == 3  # 0%, 100%, final redraw
    assert progress_lines[-1].startswith("steps: 100%")


@pytest.mark.parametrize("path", TRANSCRIPTS + CAPTURED, ids=lambda p: p.name)
@pytest.mark.parametrize("size", [1, 3, 17, 256, 4096])
def test_chunking_does_not_change_the_events(path, size):
    text = read_transcript(path)
    _, whole = parse_text(text)
    parser = LogParser()
    events = []
    for i in range(0, len(text), size):
        events += parser.feed(text[i:i + size])
    events += parser.close()
    assert events == whole


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=11_000), max_size=30))
def test_any_split_points_give_the_same_events(cuts):
    text = read_transcript(TRANSCRIPTS[2])
    points = sorted({c % (len(text) + 1) for c in cuts})
    parser = LogParser()
    events, start = [], 0
    for point in [*points, len(text)]:
        events += parser.feed(text[start:point])
        start = point
    events += parser.close()
    assert events == parse_text(text)[1]


def test_flush_reports_a_bar_still_on_screen_without_repeating_it_later():
    parser = LogParser()
    parser.feed("running training / x\n  total optimization steps / y: 10\n")
    assert parser.feed("\rsteps:  10%|█         | 1/10 [00:05<00:45,  5.00s/it, avr_loss=0.5]") == []
    flushed = parser.flush()
    assert of(flushed, ev.Step)[0].step == 1 and of(flushed, ev.Loss) == [ev.Loss(1, 0.5)]
    assert parser.flush() == []
    later = parser.feed("\rsteps:  20%|██        | 2/10 [00:10<00:40,  5.00s/it, avr_loss=0.5]")
    later += parser.flush()
    assert [s.step for s in of(later, ev.Step)] == [2]
    # Stale postfix on update(): no Loss for step 2 until set_postfix redraws it.
    assert of(later, ev.Loss) == []
    later = parser.feed("\rsteps:  20%|██        | 2/10 [00:10<00:40,  5.00s/it, avr_loss=0.4]\n")
    assert of(later, ev.Loss) == [ev.Loss(2, 0.4)]


def test_flush_closes_a_record_that_may_have_no_continuation():
    parser = LogParser()
    out = parser.feed("                    INFO     saving state at step 5           train_util.py:5964\n")
    assert out == []
    flushed = parser.flush()
    assert ev.StateSaved("step", 5) in flushed and ev.Phase(ev.SAVING, "training state") in flushed


def test_a_log_record_written_right_after_a_bar_is_still_a_record():
    parser = LogParser()
    text = ("\rsteps:  40%|████      | 4/10 [00:20<00:30,  5.00s/it, avr_loss=0.7]"
            "                    INFO                                     train_util.py:6393\n"
            "                    INFO     generating sample images at step / train_util.py:6394\n"
            "                             サンプル画像生成 ステップ: 4                          \n"
            "                    INFO     prompt: a photo of mychar, smiling train_util.py:6542\n"
            "                    INFO     prompt: mychar in a garden       train_util.py:6542\n")
    events = parser.feed(text) + parser.close()
    assert of(events, ev.Step)[0].step == 4
    assert of(events, ev.SamplingStarted) == [ev.SamplingStarted(4)]
    assert of(events, ev.SamplePrompt) == [ev.SamplePrompt(4, 0, "a photo of mychar, smiling"),
                                           ev.SamplePrompt(4, 1, "mychar in a garden")]
    assert ev.Phase(ev.SAMPLING) in events
    after = parser.feed("\rsteps:  40%|████      | 4/10 [00:21<00:30,  5.00s/it, avr_loss=0.6]\n")
    assert ev.Phase(ev.TRAINING) in after and ev.Loss(4, 0.6) in after


def test_checkpoints_states_and_removals():
    parser = LogParser()
    text = ("\rsteps:  50%|█████     | 5/10 [00:25<00:25,  5.00s/it, avr_loss=0.7]\n"
            "saving checkpoint: /out/x-step00000005.safetensors\n"
            "removing old checkpoint: /out/x-step00000002.safetensors\n"
            "                    INFO     saving state at epoch 2          train_util.py:5942\n"
            "                    INFO     saving last state.               train_util.py:5991\n")
    events = parser.feed(text) + parser.close()
    assert of(events, ev.CheckpointSaved) == [ev.CheckpointSaved("/out/x-step00000005.safetensors", 5, None)]
    assert of(events, ev.CheckpointRemoved) == [ev.CheckpointRemoved("/out/x-step00000002.safetensors")]
    assert of(events, ev.StateSaved) == [ev.StateSaved("epoch", 2), ev.StateSaved("last", None)]


def test_a_traceback_gives_errors_and_is_kept_for_the_diagnosis():
    parser = LogParser()
    text = ("Traceback (most recent call last):\n"
            '  File "/sd/train_network.py", line 10, in <module>\n'
            "    main()\n"
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n")
    events = parser.feed(text) + parser.close()
    assert of(events, ev.Error) == [ev.Error("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.")]
    levels = [e.level for e in of(events, ev.LogLine)]
    assert levels == [ev.ERROR] * 4
    assert parser.tail_text()[-1].startswith("torch.OutOfMemoryError")


def test_rich_error_records_and_python_warnings():
    text = ("2026-11-23 17:23:37 ERROR    No prompt file / プロンプトファイルがありません: train_util.py:6396\n"
            "                             /x/prompts.txt                                     \n"
            "/venv/lib/python3.11/site-packages/torch/utils/data.py:12: UserWarning: something odd\n"
            "  warnings.warn(\n")
    _, events = parse_text(text)
    errors = [e.message for e in of(events, ev.Error)]
    assert errors == ["No prompt file / プロンプトファイルがありません: /x/prompts.txt"]
    assert [e.message for e in of(events, ev.Warning_)] == [
        "/venv/lib/python3.11/site-packages/torch/utils/data.py:12: UserWarning: something odd"]


def test_a_harmless_startup_line_mentioning_a_module_is_not_an_error():
    _, events = parse_text(read_transcript(TRANSCRIPTS[0]))
    assert not of(events, ev.Error)


def test_nan_loss_is_reported_once():
    text = "".join(f"\rsteps:  {i}0%|          | {i}/10 [00:0{i}<00:10,  1.00s/it, avr_loss={v}]"
                   for i, v in ((1, "0.5"), (2, "nan"), (3, "nan")))
    parser, events = parse_text(text + "\n")
    losses = of(events, ev.Loss)
    assert losses[0] == ev.Loss(1, 0.5) and math.isnan(losses[1].value)
    assert parser.nan_step == 2
    assert len([w for w in of(events, ev.Warning_) if "nan" in w.message]) == 1


def test_learning_rate_and_other_postfix_values():
    text = "\rsteps:  10%|█         | 1/10 [01:02:03<9:18:27, 3723.00s/it, loss=0.25, lr=0.0001, Keys Scaled=3]\n"
    _, events = parse_text(text)
    step = of(events, ev.Step)[0]
    assert step.elapsed_s == 3723 and step.remaining_s == 9 * 3600 + 18 * 60 + 27
    assert step.loss == 0.25 and step.lr == 0.0001 and step.postfix["Keys Scaled"] == 3.0
    assert of(events, ev.LearningRate) == [ev.LearningRate(1, 0.0001)]


def test_bars_without_total_and_unknown_rates():
    _, events = parse_text("\rcaching: 5it [00:01,  4.50it/s]\n\r  0%|          | 0/8 [00:00<?, ?it/s]\n")
    progress = of(events, ev.Progress)
    assert progress[0] == ev.Progress("caching", 5, None, 1.0, None, 4.5)
    assert progress[1].rate is None and progress[1].remaining_s is None


def test_ansi_colour_codes_are_removed():
    _, events = parse_text("\x1b[31mRuntimeError: boom\x1b[0m\n")
    assert of(events, ev.Error) == [ev.Error("RuntimeError: boom")]


def test_resumed_run_reports_steps_of_the_whole_run():
    head = ("  num batches per epoch / x: 5\n  gradient accumulation steps / y = 1\n"
            "  total optimization steps / z: 10\n"
            "                    INFO     resume training from local      train_util.py:4777\n"
            "                             state: /out/x-step00000007-state                    \n"
            "                    INFO     load train state from           train_network.py:967\n"
            "                             /out/x-step00000007-state/train_state.json: \n"
            "                             {'current_epoch': 2, 'current_step': 7}\n")
    # Without skip_until_initial_step the engine restarts at the saved epoch's start (step 5).
    _, events = parse_text(head + "\rsteps:  10%|█         | 1/10 [00:05<00:45,  5.00s/it, avr_loss=0.3]\n")
    assert of(events, ev.Resumed) == [ev.Resumed("/out/x-step00000007-state")]
    step = of(events, ev.Step)[0]
    assert (step.step, step.total) == (6, 10) and step.remaining_s == pytest.approx(20.0)
    assert of(events, ev.Loss) == [ev.Loss(6, 0.3)]
    # With it, exactly the saved steps are skipped and the bar counts what is left.
    skipping = "                    INFO     skipping 7 steps / 7ステップをスキップします train_network.py:1265\n"
    _, events = parse_text(head + skipping + "\rsteps:  33%|███▎      | 1/3 [00:05<00:10,  5.00s/it]\n")
    step = of(events, ev.Step)[0]
    assert (step.step, step.total) == (8, 10)


def test_a_bar_line_thousands_of_redraws_long_stays_cheap():
    parser = LogParser()
    events = []
    for i in range(1, 5001):
        events += parser.feed(f"\rsteps: {i // 50:3d}%|          | {i}/5000 [00:{i % 60:02d}<00:10,  9.00it/s, "
                              f"avr_loss={0.5 + (i % 7) / 100:.3f}]")
        assert len(parser._pending) < 200
    events += parser.close()
    assert len(loss_by_step(events)) > 4000


def test_a_captured_run_with_samples_states_and_nested_bars():
    """Captured from a real 4-step run of LoRA Studio's runner on the tiny SD1 model: sample images
    every 2 steps (tqdm's nested bar with cursor-up codes), checkpoints and states every 2 steps."""
    path = Path(__file__).parent / "captured" / "sd1_lora_samples_states.log"
    parser, events = parse_text(read_transcript(path))
    assert loss_by_step(events).keys() == {1, 2, 3, 4}
    assert of(events, ev.SamplingStarted) == [ev.SamplingStarted(2), ev.SamplingStarted(4)]
    assert [(p.step, p.prompt) for p in of(events, ev.SamplePrompt)] == [(2, "mychar, a red circle"),
                                                                          (4, "mychar, a red circle")]
    assert [s.kind for s in of(events, ev.StateSaved)] == ["step", "step", "last"]
    assert [Path(c.path).name for c in of(events, ev.CheckpointSaved)] == [
        "tiny lora-step00000002.safetensors", "tiny lora-step00000004.safetensors", "tiny lora.safetensors"]
    sampling = [p for p in of(events, ev.Progress) if p.label == ev.PHASE_LABELS[ev.SAMPLING]]
    assert sampling and sampling[-1].n == 2 == sampling[-1].total
    phases = [p.name for p in of(events, ev.Phase)]
    assert phases.count(ev.SAMPLING) == 2 and phases[-1] == ev.FINISHED
    assert not of(events, ev.Error) and parser.phase == ev.FINISHED
    assert all("\x1b" not in e.text for e in of(events, ev.LogLine))
