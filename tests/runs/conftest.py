"""Shared pieces of the runner tests: the real transcripts, the fake trainer (a test double) and a
process-leak check -- no test may leave a process behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil
import pytest

HERE = Path(__file__).resolve().parent
TRANSCRIPTS = sorted((HERE / "transcripts").glob("*.log"))   # the shared transcripts of real runs
CAPTURED = sorted((HERE / "captured").glob("*.log"))         # real runs of LoRA Studio's own runner
FAKE_TRAINER = HERE.parent / "support" / "fake_trainer.py"


def read_transcript(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:  # keep the \r of tqdm
        return fh.read()


def _subreaper(on: bool) -> None:
    """On Linux, while a runner test runs, orphans of our descendants are re-parented to this process
    instead of init, so a process the code under test failed to kill is still found among our
    children. Switched off after each test: other areas' tests expect the usual re-parenting."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1 if on else 0, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _living_children(me: psutil.Process) -> list[psutil.Process]:
    alive = []
    for proc in me.children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(proc.pid, os.WNOHANG)  # an adopted orphan that already ended
                continue
        except (psutil.Error, ChildProcessError, OSError):
            continue
        alive.append(proc)
    return alive


@pytest.fixture(autouse=True)
def no_orphan_processes():
    """Every process a test starts must be gone when it ends (the process-tree guarantee)."""
    me = psutil.Process()
    before = {p.pid for p in _living_children(me)}
    _subreaper(True)
    try:
        yield
        leftover = [p for p in _living_children(me) if p.pid not in before]
        _gone, alive = psutil.wait_procs(leftover, timeout=3)
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass
        assert not alive, f"processes left behind: {[(p.pid, p.name()) for p in alive]}"
    finally:
        _subreaper(False)
        _living_children(me)  # reap what was adopted


def make_run(folder: Path, scenario: str = "ok", env: dict | None = None, **config):
    """A run folder whose launch plan starts the fake trainer (a test double) instead of sd-scripts."""
    from services.runs.run_folder import LaunchPlan, RunFolder

    config_path = write_run_config(folder, **config)
    run = RunFolder(folder)
    plan = LaunchPlan(script=str(FAKE_TRAINER), launcher="python",
                      script_args=["--config_file", str(config_path), "--dataset_config",
                                   str(folder / "dataset.toml")],
                      env={**fake_env(scenario), **(env or {})})
    run.write_plan(plan)
    return run


def launch_for(run, tmp_path: Path | None = None, **kwargs):
    from services.runs.launch import resolve_launch

    sd_scripts = (tmp_path or run.path.parent) / "sd-scripts"
    sd_scripts.mkdir(exist_ok=True)
    return resolve_launch(run, python=PYTHON, sd_scripts_dir=str(sd_scripts), **kwargs)


def fill_tokenizers(folder: Path, family: str = "sd1") -> Path:
    """A tokenizer cache with what the family needs (CLIP's, written from the bundled vocabulary)."""
    from services.backend.tokenizer_cache import fill

    folder.mkdir(parents=True, exist_ok=True)
    fill(folder, [family], hf_cache=folder, offline=True, log_line=lambda _line: None)
    return folder


def write_run_config(folder: Path, **values) -> Path:
    """A minimal engine config the fake trainer reads (the real one comes from training-core)."""
    import tomlkit

    doc = tomlkit.document()
    table = tomlkit.table()
    table["output_dir"] = str(folder / "output")
    table["output_name"] = "fake"
    for key, value in values.items():
        table[key] = value
    doc["training"] = table
    path = folder / "config.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    (folder / "dataset.toml").write_text("[general]\n", encoding="utf-8")
    return path


def fake_env(scenario: str = "ok", **extra) -> dict[str, str]:
    env = {"FAKE_TRAINER_SCENARIO": scenario}
    env.update({f"FAKE_TRAINER_{k.upper()}": str(v) for k, v in extra.items()})
    return env


PYTHON = sys.executable
assert os.path.isfile(FAKE_TRAINER)
