"""Real 4-step CPU LoRA runs of sd-scripts on the tiny SD1 model (training-core's test double of a
model: the real U-Net, a tiny text encoder and VAE): one through the GUI's controller and streaming
service, one through ``lora-studio train``. Each checks first (the engine's own parser and schema),
streams steps, loss, sample images and checkpoints, and ends with a LoRA file. Skipped without a
fetched sd-scripts; one real run at a time on this machine (/tmp/sd-run.lock)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tomlkit

from services.paths import app_dirs
from services.qt.session import Session
from services.runs import events as ev
from services.runs import preflight as pf
from services.runs.emission import prepare_run
from services.runs.qt.controller import TrainingController
from services.settings import Settings
from services.training.detect import detect_model
from services.training.families import Family, Mode
from services.training.project import Project, Subset
from tests.support.real_engine import BACKEND_PYTHON, REAL_RUN_MARKS, SD_SCRIPTS

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = REAL_RUN_MARKS


def tiny_project(tmp_path: Path) -> Path:
    from tests.support.tiny_sd1 import build_tiny_sd1, write_tiny_dataset

    model = build_tiny_sd1(python=BACKEND_PYTHON)
    project = Project.new("tiny lora", family=Family.SD1, mode=Mode.LORA, model_path=str(model))
    project.add_subset(Subset(str(write_tiny_dataset(tmp_path / "5_mychar")), num_repeats=5, class_tokens="mychar"))
    project.set_values({"resolution": 64, "enable_bucket": False, "max_train_steps": 4, "mixed_precision": "no",
                        "max_data_loader_n_workers": 0, "network_dim": 4, "network_alpha": 1.0, "seed": 1,
                        "accelerate.num_cpu_threads_per_process": 1, "save_precision": "float",
                        "save_every_n_steps": 2, "save_state": True, "sample_every_n_steps": 2,
                        "sample_prompt_text": "mychar, a red circle --w 64 --h 64 --s 2 --d 1"})
    path = tmp_path / "tiny.lsproj.toml"
    project.save(path)
    return path


def backend_settings(tmp_path: Path) -> Settings:
    from tests.support.tiny_sd1 import tokenizer_cache

    settings = Settings()
    settings.backend.python = BACKEND_PYTHON
    settings.backend.sd_scripts_dir = SD_SCRIPTS
    settings.backend.tokenizer_cache_dir = str(tokenizer_cache(tmp_path / "tokenizers"))
    settings.backend.runs_dir = str(tmp_path / "runs")
    return settings


def test_real_run_from_the_gui_service(qtbot, tmp_path, run_lock):
    settings = backend_settings(tmp_path)
    project = Project.load(tiny_project(tmp_path))
    run, report = prepare_run(project, settings)
    checks = {c.id: c for c in report.checks}
    assert checks["engine"].status == pf.OK, report.text()
    assert checks["dataset_schema"].status == pf.OK and checks["tokenizers"].status == pf.OK
    if checks["backend"].status == pf.ERROR:  # a checkout without .git: its commit cannot be read
        assert checks["backend"].action == pf.ACCEPT_COMMIT
        from services.backend.runtime import locate

        pf.accept_commit(settings, locate(settings))
        report = pf.run_preflight(run, settings, engine_check=False)
    assert report.ok, report.text()

    session = Session(settings, None, app_dirs())
    controller = TrainingController(session)
    seen: list = []
    controller.events.connect(seen.extend)
    with qtbot.waitSignal(controller.run_finished, timeout=1_500_000) as finished:
        controller.start(run)
    outcome = finished.args[1]
    controller.shutdown()
    log_tail = run.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
    assert outcome.state == "succeeded", log_tail
    assert {e.step for e in seen if isinstance(e, ev.Loss)} == {1, 2, 3, 4}
    assert [e.total for e in seen if isinstance(e, ev.TotalSteps)] == [4]
    samples = [e for e in seen if isinstance(e, ev.SampleImage)]
    assert sorted(s.step for s in samples) == [2, 4] and samples[0].prompt == "mychar, a red circle"
    assert any(isinstance(e, ev.StateSaved) for e in seen)
    assert run.latest_state() is not None
    lora = run.output_dir() / "tiny lora.safetensors"
    assert lora.is_file()
    assert (detect_model(lora).kind, detect_model(lora).family) == ("lora", Family.SD1)
    assert run.status().state == "succeeded" and run.status().step == 4


def test_real_run_from_the_terminal(tmp_path, run_lock):
    settings = backend_settings(tmp_path)
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    raw = {"schema_version": 2, "backend": {k: getattr(settings.backend, k) for k in
                                            ("python", "sd_scripts_dir", "tokenizer_cache_dir", "runs_dir")}}
    (home / "config" / "settings.toml").write_text(tomlkit.dumps(raw))
    project = tiny_project(tmp_path)
    env = dict(os.environ, LORA_STUDIO_HOME=str(home))
    proc = subprocess.run([sys.executable, "-m", "app", "train", str(project), "--accept-commit"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3000)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "Engine accepts the arguments" in out and "Finished at step 4" in out
    runs = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    lora = runs[0] / "output" / "tiny lora.safetensors"
    assert lora.is_file() and detect_model(lora).kind == "lora"
