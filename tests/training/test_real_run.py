"""A real 4-step CPU LoRA run of sd-scripts on the tiny SD1 model, from a project through the emitted
run folder and its exact command. Skipped without a fetched sd-scripts; one real run at a time on
this machine (the /tmp/sd-run.lock file lock)."""

from __future__ import annotations

import subprocess

from services.training.detect import detect_model
from services.training.emit import EmitOptions, emit_run_folder
from services.training.families import Family, Mode
from services.training.project import Project, Subset
from tests.support.real_engine import BACKEND_PYTHON, REAL_RUN_MARKS, SD_SCRIPTS
from tests.support.tiny_sd1 import build_tiny_sd1, tokenizer_cache, write_tiny_dataset

pytestmark = REAL_RUN_MARKS


def test_four_step_lora_run_on_the_tiny_sd1_model(tmp_path, run_lock):
    model = build_tiny_sd1(python=BACKEND_PYTHON)
    detected = detect_model(model)
    assert (detected.kind, detected.family) == ("diffusers", Family.SD1)

    project = Project.new("tiny lora", family=Family.SD1, mode=Mode.LORA, model_path=str(model))
    project.add_subset(Subset(str(write_tiny_dataset(tmp_path / "5_mychar")), num_repeats=5, class_tokens="mychar"))
    project.set_values({"resolution": 64, "enable_bucket": False, "max_train_steps": 4, "mixed_precision": "no",
                        "max_data_loader_n_workers": 0, "network_dim": 4, "network_alpha": 1.0, "seed": 1,
                        "accelerate.num_cpu_threads_per_process": 1, "save_precision": "float"})
    project.save(tmp_path / "tiny.lsproj.toml")
    run = emit_run_folder(Project.load(tmp_path / "tiny.lsproj.toml"), tmp_path / "run",
                          EmitOptions(sd_scripts_dir=SD_SCRIPTS, python=BACKEND_PYTHON,
                                      tokenizer_cache_dir=tokenizer_cache(tmp_path / "tokenizers")))
    assert run.steps.total_steps == 4
    env = run.launch_environment()
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(list(run.argv), cwd=run.cwd, env=env, capture_output=True, text=True, timeout=3000)
    (run.folder / "run.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "4/4" in proc.stderr
    result = run.output_dir / "tiny lora.safetensors"
    assert result.is_file(), list(run.output_dir.iterdir())
    lora = detect_model(result)
    assert (lora.kind, lora.family) == ("lora", Family.SD1)
