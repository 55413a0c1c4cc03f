"""``lora-studio train`` in a real subprocess, with the fake trainer (a test double) as the engine:
success, a failure explained, Ctrl+C stopping the whole tree, preflight refusing a broken setup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import tomlkit

from services.backend.runtime import pinned
from tests.runs.conftest import fill_tokenizers, make_run

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def home(tmp_path):
    """A LoRA Studio home whose backend is a stand-in folder pinned at the locked commit."""
    home = tmp_path / "home"
    sd = tmp_path / "sd-scripts"
    sd.mkdir()
    (sd / "train_network.py").write_text("# stand-in; the runs name the fake trainer\n")
    (sd / ".lora-studio-engine.json").write_text(json.dumps({"commit": pinned().commit}))
    tokens = fill_tokenizers(tmp_path / "tokenizers")
    config = home / "config"
    config.mkdir(parents=True)
    settings = {"schema_version": 2, "backend": {"python": sys.executable, "sd_scripts_dir": str(sd),
                                                   "tokenizer_cache_dir": str(tokens),
                                                   "runs_dir": str(tmp_path / "runs")}}
    (config / "settings.toml").write_text(tomlkit.dumps(settings))
    return home


def cli(home: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, LORA_STUDIO_HOME=str(home), COLUMNS="120")
    return subprocess.Popen([sys.executable, "-m", "app", "train", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_train_a_run_folder_in_the_terminal(home, tmp_path):
    run = make_run(tmp_path / "runs" / "a", max_train_steps=12, mixed_precision="fp16")
    proc = cli(home, str(run.path), "--no-engine-check")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "Preflight" in out and "Training backend" in out and "Video memory (estimate)" in out
    assert "Finished at step 12" in out and "fake.safetensors" in out
    assert run.status().state == "succeeded"


def test_a_failure_is_diagnosed_in_the_terminal(home, tmp_path):
    run = make_run(tmp_path / "runs" / "b", "missing_module")
    proc = cli(home, str(run.path), "--no-engine-check")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "missing the Python module “bitsandbytes”" in out and "What to do" in out and "pip install" in out


def test_ctrl_c_stops_the_whole_tree(home, tmp_path):
    pidfile = tmp_path / "pids.json"
    run = make_run(tmp_path / "runs" / "c", "children", max_train_steps=500,
                   env={"FAKE_TRAINER_PIDFILE": str(pidfile), "FAKE_TRAINER_STEP_SECONDS": "0.05"})
    proc = cli(home, str(run.path), "--no-engine-check", "--verbose")
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "epoch 1/1" in line:
            break
    assert pidfile.exists(), "".join(lines)
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, "".join(lines) + out
    assert time.monotonic() - began < 8
    assert "Stopped at step" in out
    pids = json.loads(pidfile.read_text())
    for pid in [pids["trainer"], *pids["children"]]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_preflight_refuses_a_missing_backend(tmp_path):
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.toml").write_text(tomlkit.dumps(
        {"schema_version": 2, "backend": {"python": str(tmp_path / "nope"), "sd_scripts_dir": str(tmp_path)}}))
    run = make_run(tmp_path / "run")
    proc = cli(home, str(run.path), "--preflight-only")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "✖" in out and "Training backend" in out and "cannot start" in out


def test_a_path_that_is_neither_project_nor_run(home, tmp_path):
    proc = cli(home, str(tmp_path / "nothing-here"))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "neither a project file nor a run folder" in out
