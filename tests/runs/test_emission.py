"""From a training-core project to a run folder: emitted for the backend in the settings, checked,
and read back by the runner; validation errors stop it with nothing left behind."""

from __future__ import annotations

import sys

from services.runs import preflight as pf
from services.runs.emission import emit_project, preflight_project, prepare_run
from services.runs.history import list_runs
from services.settings import Settings
from services.training.families import Family, Mode
from services.training.project import Project, Subset
from tests.support.model_headers import sd1_tensors, write_safetensors_header


def settings_for(tmp_path) -> Settings:
    settings = Settings()
    sd = tmp_path / "sd-scripts"
    sd.mkdir()
    (sd / "train_network.py").write_text("# stand-in\n")
    settings.backend.python = sys.executable
    settings.backend.sd_scripts_dir = str(sd)
    settings.backend.accepted_commit = pf.UNKNOWN_COMMIT
    settings.backend.runs_dir = str(tmp_path / "runs")
    return settings


def project_for(tmp_path) -> Project:
    model = tmp_path / "model.safetensors"
    write_safetensors_header(model, sd1_tensors())
    images = tmp_path / "5_mychar"
    images.mkdir(exist_ok=True)
    for i in range(3):
        (images / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (images / f"{i}.txt").write_text("mychar", encoding="utf-8")
    project = Project.new("my lora", family=Family.SD1, mode=Mode.LORA, model_path=str(model))
    project.add_subset(Subset(str(images), num_repeats=5, class_tokens="mychar"))
    project.set_values({"max_train_steps": 10, "resolution": 512, "mixed_precision": "fp16"})
    return project


def test_a_project_becomes_a_run_folder_the_runner_reads(tmp_path):
    settings = settings_for(tmp_path)
    run, problems = emit_project(project_for(tmp_path), settings)
    assert run.path.parent == tmp_path / "runs" and run.exists()
    plan = run.plan()  # from training-core's command.json
    assert plan.script == "train_network.py" and plan.launcher == "accelerate"
    assert plan.script_args[:2] == ["--config_file", str(run.config_path)]
    assert "--mixed_precision" in plan.accelerate_args
    assert run.status().name == "my lora" and run.output_dir().is_dir()
    assert [s.run for s in list_runs(tmp_path / "runs")] == [run]
    assert isinstance(problems, list)


def test_prepare_checks_without_the_engine_and_preflight_leaves_nothing(tmp_path):
    settings = settings_for(tmp_path)
    run, report = prepare_run(project_for(tmp_path), settings, engine_check=False)
    checks = {c.id: c for c in report.checks}
    assert run is not None and checks["validation"].status in (pf.OK, pf.WARNING)
    assert checks["backend"].status == pf.OK  # an unreadable commit, accepted
    assert checks["tokenizers"].status == pf.OK  # the emission wrote CLIP's from the bundled vocabulary
    before = list((tmp_path / "runs").iterdir())
    report = preflight_project(project_for(tmp_path), settings)
    assert report.get("validation") is not None
    assert list((tmp_path / "runs").iterdir()) == before


def test_validation_errors_stop_before_any_folder(tmp_path):
    settings = settings_for(tmp_path)
    project = Project.new("broken", family=Family.SD1, mode=Mode.LORA, model_path=str(tmp_path / "missing.safetensors"))
    run, report = prepare_run(project, settings)
    assert run is None and not report.ok
    assert report.checks[0].id == "validation" and report.checks[0].status == pf.ERROR
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    report = preflight_project(project, settings)
    assert report.checks[0].status == pf.ERROR and report.get("engine").status == pf.SKIPPED
