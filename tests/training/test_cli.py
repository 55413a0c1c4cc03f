"""The headless commands: detect, validate, emit, import (exit 1 with the problems listed on errors)."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from services.training.families import Family, Mode
from tests.support.model_headers import lora_tensors, sdxl_tensors, write_safetensors_header
from tests.training.combos import make_project


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch):
    monkeypatch.delenv("LORA_STUDIO_SDSCRIPTS", raising=False)
    monkeypatch.delenv("LORA_STUDIO_SDSCRIPTS_PYTHON", raising=False)


def test_detect(tmp_path, capsys):
    model = write_safetensors_header(tmp_path / "m.safetensors", sdxl_tensors())
    assert main(["detect", str(model)]) == 0
    out = capsys.readouterr().out
    assert "SDXL (base)" in out and "fp16" in out
    assert main(["detect", str(model), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["family"] == "sdxl" and data["usable_as_base"] is True
    lora = write_safetensors_header(tmp_path / "l.safetensors", lora_tensors())
    assert main(["detect", str(lora)]) == 0 and "not a base model" in capsys.readouterr().out
    (tmp_path / "x.ckpt").write_bytes(b"\x80\x02")
    assert main(["detect", str(tmp_path / "x.ckpt")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "pickle" in err and "hint:" in err


def test_validate_and_emit(tmp_path, capsys):
    project = make_project(tmp_path / "src", Family.SDXL, Mode.LORA)
    path = project.save(tmp_path / "p.lsproj.toml")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Steps: 200 steps" in out and "Ready to launch" in out
    run_dir = tmp_path / "run"
    assert main(["emit", str(path), "--out", str(run_dir), "--sd-scripts", "/opt/sd", "--python", "/opt/py"]) == 0
    out = capsys.readouterr().out
    assert "accelerate.commands.launch" in out and (run_dir / "config.toml").is_file()
    assert main(["emit", str(path), "--out", str(tmp_path / "run2"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["argv"][-4:] == ["--config_file", data["config"], "--dataset_config", data["dataset"]]
    assert data["total_steps"] == 200


def test_errors_exit_1_with_the_problems_listed(tmp_path, capsys):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_value("learning_rate", "1e-4")
    project.set_value("max_train_epochs", None)
    path = project.save(tmp_path / "p.lsproj.toml")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "learning_rate" in out and "max_train_epochs" in out and "2 error(s)" in out
    assert main(["validate", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert main(["emit", str(path), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "learning_rate" in err and not (tmp_path / "run").exists()
    (tmp_path / "bad.toml").write_text("schema_version = 9\n", encoding="utf-8")
    assert main(["validate", str(tmp_path / "bad.toml")]) == 1
    assert "newer LoRA Studio" in capsys.readouterr().err


def test_import(tmp_path, capsys):
    config = tmp_path / "k.json"
    config.write_text(json.dumps({"LoRA_type": "LyCORIS/LoHa", "sdxl": True, "network_dim": 16, "bogus": 1,
                                  "huggingface_token": "hf_zzz"}), encoding="utf-8")
    out_path = tmp_path / "k.lsproj.toml"
    assert main(["import", str(config), "--out", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "bogus" in out and "Project written" in out
    text = out_path.read_text(encoding="utf-8")
    assert 'network_algorithm = "lycoris.loha"' in text and "hf_zzz" not in text
    assert main(["import", str(config), "--out", str(out_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["import", str(config), "--out", str(out_path), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tool"] == "kohya_ss GUI"
