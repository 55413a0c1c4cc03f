"""Failure diagnosis on the tails of failed runs (written in the formats Python, torch and voluptuous
use) and on the real transcripts (which end well and must not be diagnosed)."""

from __future__ import annotations

import pytest

from services.runs import diagnosis as dg
from services.runs.diagnosis import Diagnosis, RunContext, diagnose
from services.runs.parser import parse_text
from tests.runs.conftest import TRANSCRIPTS, read_transcript

WRAPPER = ["Traceback (most recent call last):",
           '  File "/venv/bin/accelerate", line 8, in <module>',
           "subprocess.CalledProcessError: Command '['python', 'train_network.py']' returned non-zero exit status 1."]


def tail(*lines: str) -> list[str]:
    return ["Traceback (most recent call last):", '  File "/sd/train_network.py", line 1, in <module>', *lines,
            *WRAPPER]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_a_clean_run_has_no_diagnosis(path):
    parser, _ = parse_text(read_transcript(path))
    assert diagnose(parser.tail_text(), 0, nan_step=parser.nan_step) is None


def test_the_harmless_kernels_line_is_not_a_missing_module():
    parser, _ = parse_text(read_transcript(TRANSCRIPTS[0]))
    lines = [*parser.tail_text()[:3], *tail("RuntimeError: something else")]
    result = diagnose(lines, 1)
    assert result.kind == dg.UNKNOWN and result.message == "RuntimeError: something else"


def test_cuda_oom_suggests_the_next_lower_memory_profile():
    ctx = RunContext(family="sdxl", memory_profile="12 GB", lower_memory_profile="8 GB", gradient_checkpointing=True,
                     mixed_precision="bf16")
    result = diagnose(tail("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB."), 1, ctx=ctx)
    assert result.kind == dg.CUDA_OOM
    assert "8 GB" in result.hint and "12 GB" in result.hint
    assert "Tried to allocate" in result.lines[0]


def test_cuda_oom_on_flux_suggests_swapping_more_blocks():
    ctx = RunContext.from_config({"blocks_to_swap": 10, "gradient_checkpointing": False, "ae": "/m/ae.sft"})
    result = diagnose(tail("RuntimeError: CUDA out of memory."), 1, ctx=ctx)
    assert result.kind == dg.CUDA_OOM
    assert "blocks_to_swap = 18" in result.hint and "gradient_checkpointing" in result.hint


def test_missing_module_names_the_package_and_the_command():
    result = diagnose(tail("ModuleNotFoundError: No module named 'lycoris.kohya'"), 1,
                      ctx=RunContext(python="/opt/backend/bin/python"))
    assert result.kind == dg.MISSING_MODULE
    assert "lycoris" in result.title
    assert '"/opt/backend/bin/python" -m pip install lycoris-lora' in result.hint


def test_missing_file_shows_the_path():
    result = diagnose(tail("FileNotFoundError: [Errno 2] No such file or directory: '/data/model.safetensors'"), 1)
    assert result.kind == dg.MISSING_FILE and "/data/model.safetensors" in result.message


def test_dataset_schema_error_names_the_key():
    line = "voluptuous.error.MultipleInvalid: extra keys not allowed @ data['datasets'][0]['subsets'][0]['colour']"
    result = diagnose(tail(line), 1)
    assert result.kind == dg.DATASET_SCHEMA
    assert "datasets ▸ 0 ▸ subsets ▸ 0 ▸ colour" in result.message and "extra keys not allowed" in result.message


def test_offline_tokenizer_is_recognised_and_named():
    lines = ["                    INFO     Using v1 tokenizer",
             "load tokenizer from openai/clip-vit-large-patch14",
             *tail("TypeError: expected str, bytes or os.PathLike object, not NoneType")]
    result = diagnose(lines, 1)
    assert result.kind == dg.TOKENIZER_OFFLINE and "openai/clip-vit-large-patch14" in result.title
    assert "cache" in result.hint


def test_nan_during_a_failing_run_and_after_a_finished_one():
    result = diagnose(["steps: 5/10"], 0, nan_step=3, ctx=RunContext(family="sdxl", mixed_precision="fp16"))
    assert result.kind == dg.NAN_LOSS and result.severity == "warning"
    assert "no_half_vae" in result.hint and "bf16" in result.hint
    assert diagnose(tail("RuntimeError: boom"), 1, nan_step=3).kind == dg.NAN_LOSS


def test_killed_by_the_system_is_explained_as_memory():
    result = diagnose(["steps:  10%|█ | 1/10"], -9)
    assert result.kind == dg.KILLED and "RAM" in result.message
    assert diagnose(["x"], 3221225477).kind == dg.KILLED


def test_otherwise_the_last_meaningful_lines_never_a_bare_code():
    result = diagnose(tail("ValueError: unsupported value for lr_scheduler"), 1, phase="preparing")
    assert result.kind == dg.UNKNOWN
    assert result.message == "ValueError: unsupported value for lr_scheduler"
    assert "preparing" in result.title and "exit code 1" in result.title
    assert not any("CalledProcessError" in line for line in result.lines)
    # No traceback at all: the last lines that look like errors.
    result = diagnose(["loading...", "error: the config is not readable", "bye"], 2)
    assert result.message == "error: the config is not readable"
    result = diagnose([], 5)
    assert result.message and "5" in result.title


def test_diagnosis_round_trips_through_a_dict():
    original = diagnose(tail("RuntimeError: CUDA out of memory."), 1)
    assert Diagnosis.from_dict(original.as_dict()) == original
    assert Diagnosis.from_dict({}).kind == dg.UNKNOWN


def test_launch_failures():
    assert dg.launch_failure(FileNotFoundError(2, "x"), ["/nope/python"]).kind == dg.LAUNCH_FAILED
    assert "permissions" in dg.launch_failure(PermissionError(13, "x"), ["/p"]).hint
