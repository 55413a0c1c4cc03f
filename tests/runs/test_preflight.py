"""Preflight: each check, the VRAM estimate (labelled, with assumptions, with a suggestion), the
engine-check worker's plumbing and its own rules; the real engine's check when sd-scripts is here."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from services.hardware.vram import vram_available
from services.runs import preflight as pf
from services.runs import vram_estimate as ve
from tests.runs.conftest import fill_tokenizers, make_run
from workers import run_check

PINNED = "48d368fa557731ad0488c07304dfeba8c07910eb"


def runtime(state="found", commit=PINNED, tokenizers: Path | None = None, python=sys.executable, sd="/sd",
            accepted=""):
    return SimpleNamespace(state=state, commit=commit, pinned_commit=PINNED, is_pinned=commit == PINNED,
                           accepted_commit=accepted,
                           problems=("the interpreter does not exist",) if state == "missing" else (),
                           python=python, sd_scripts_dir=sd, tokenizer_cache_dir=tokenizers)


def stated(gb):
    return vram_available([], gb)


def test_a_good_run_passes_with_the_estimate_labelled(tmp_path):
    tokens = fill_tokenizers(tmp_path / "tok")
    run = make_run(tmp_path / "run", mixed_precision="fp16", network_dim=8, cache_latents=True)
    report = pf.run_preflight(run, problems=[], runtime=runtime(tokenizers=tokens), vram=stated(24),
                              engine_check=False)
    assert report.ok, report.text()
    by_id = {c.id: c for c in report.checks}
    assert by_id["validation"].status == pf.OK and by_id["backend"].status == pf.OK
    assert by_id["engine"].status == pf.SKIPPED and by_id["tokenizers"].status == pf.OK
    assert by_id["disk"].status == pf.OK and "estimate" in by_id["disk"].message
    vram = by_id["vram"]
    assert vram.status == pf.OK and "(estimate" in vram.message and "24 GB stated" in vram.message
    assert any(d.startswith("Assumptions:") for d in vram.details)
    assert "Video memory (estimate)" in report.text()


def test_validation_errors_block_and_warnings_do_not():
    problems = [{"field": "learning_rate", "message": "must be positive", "severity": "error"},
                SimpleNamespace(field="seed", message="unusual", severity="warning", hint="")]
    check = pf.check_validation(problems)
    assert check.status == pf.ERROR and check.details == ["learning_rate: must be positive"]
    assert pf.check_validation(problems[1:]).status == pf.WARNING
    assert pf.check_validation(None).status == pf.SKIPPED


def test_backend_states():
    assert pf.check_backend(runtime("missing")).status == pf.ERROR
    other = pf.check_backend(runtime("version", commit="a" * 40))
    assert other.status == pf.ERROR and other.action == pf.ACCEPT_COMMIT and "aaaaaaaa" in other.message
    accepted = pf.check_backend(runtime("found", commit="a" * 40))
    assert accepted.status == pf.OK and "accepted" in accepted.message
    assert pf.check_backend(None).status == pf.ERROR
    settings = SimpleNamespace(backend=SimpleNamespace(accepted_commit=""))
    pf.accept_commit(settings, runtime("version", commit="b" * 40))
    assert settings.backend.accepted_commit == "b" * 40
    # A checkout whose commit cannot be read can be accepted as such.
    pf.accept_commit(settings, runtime("version", commit=None))
    assert settings.backend.accepted_commit == pf.UNKNOWN_COMMIT
    assert pf.check_backend(runtime("version", commit=None)).status == pf.ERROR
    assert pf.check_backend(runtime("found", commit=None, accepted=pf.UNKNOWN_COMMIT)).status == pf.OK
    from services.backend.runtime import ACCEPT_UNKNOWN

    assert pf.UNKNOWN_COMMIT == ACCEPT_UNKNOWN


def test_tokenizers_needed_by_each_family(tmp_path):
    from services.backend.tokenizer_cache import fill

    (tmp_path / "openai_clip-vit-large-patch14").mkdir()  # an empty folder is not a tokenizer
    assert pf.check_tokenizers("sd1", tmp_path).status == pf.ERROR
    fill(tmp_path, ["sd1"], hf_cache=tmp_path, offline=True, log_line=lambda _line: None)
    assert pf.check_tokenizers("sd1", tmp_path).status == pf.OK
    sdxl = pf.check_tokenizers("sdxl", tmp_path)
    assert sdxl.status == pf.ERROR and "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k" in sdxl.message
    assert pf.check_tokenizers("flux", None).status == pf.ERROR


def test_disk_space_is_checked_against_what_the_run_writes(tmp_path, monkeypatch):
    settings = ve.Settings_("sdxl", "full")
    needed, how = pf.output_size_estimate(settings, {"save_every_n_epochs": 1, "max_train_epochs": 4,
                                                     "save_state": True})
    assert needed > 5 * 4 * 1024 ** 3 and "5 checkpoint(s)" in how and "training states" in how
    monkeypatch.setattr(pf.shutil, "disk_usage", lambda p: SimpleNamespace(free=1024 ** 3))
    assert pf.check_disk(tmp_path / "not" / "yet", needed, how).status == pf.ERROR
    lora, _ = pf.output_size_estimate(ve.Settings_("sd1", "lora", network_dim=4), {})
    monkeypatch.setattr(pf.shutil, "disk_usage", lambda p: SimpleNamespace(free=100 * 1024 ** 3))
    assert pf.check_disk(tmp_path, lora, "x").status == pf.OK


def test_vram_that_does_not_fit_suggests_memory_settings_and_the_profile():
    settings = ve.Settings_.from_config("flux_train_network.py", {"mixed_precision": "bf16", "network_dim": 16},
                                        {"general": {"resolution": 1024}})
    check = pf.check_vram(settings, stated(12), {8: "Flux 8 GB", 12: "Flux 12 GB", 24: "Flux 24 GB"})
    assert check.status == pf.WARNING and "probably does not fit" in check.message
    assert "blocks_to_swap" in check.hint and "Flux 12 GB" in check.hint and "fits in 12 GB" in check.hint
    unknown = pf.check_vram(settings, vram_available([], 0))
    assert unknown.status == pf.SKIPPED and "state its VRAM" in unknown.hint


def test_vram_estimate_grows_with_what_it_should():
    base = ve.Settings_.from_config("sdxl_train_network.py", {"mixed_precision": "bf16", "network_dim": 16,
                                                              "gradient_checkpointing": True, "cache_latents": True},
                                    {"general": {"resolution": "1024,1024"}})
    small = ve.estimate(base).total_gb
    for change in ({"batch_size": 4}, {"gradient_checkpointing": False}, {"network_dim": 128},
                   {"cache_latents": False}, {"resolution": (1536, 1536)}):
        bigger = ve.Settings_(**{**base.__dict__, **change})
        assert ve.estimate(bigger).total_gb > small, change
    assert ve.estimate(ve.Settings_(**{**base.__dict__, "fp8_base": True})).total_gb < small
    assert ve.family_and_mode("train_network.py", {"v2": True}) == ("sd2", "lora")
    assert ve.resolution_of({"datasets": [{"resolution": [768, 512]}]}, {}) == (768, 512)
    assert ve.resolution_of({}, {"resolution": "640"}) == (640, 640)


def test_the_worker_rules_for_config_values():
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", type=float)
    parser.add_argument("--network_dim", type=int)
    parser.add_argument("--mixed_precision", choices=["no", "fp16", "bf16"])
    parser.add_argument("--network_args", nargs="*", type=str)
    parser.add_argument("--cache_latents", action="store_true")
    actions = {a.dest: a for a in parser._actions}
    assert run_check._type_problem(actions["learning_rate"], "1e-4") == "is '1e-4'; the engine expects a number"
    assert run_check._type_problem(actions["learning_rate"], 1) is None
    assert "whole number" in run_check._type_problem(actions["network_dim"], 8.5)
    assert "accepts" in run_check._type_problem(actions["mixed_precision"], "fp32")
    assert "list" in run_check._type_problem(actions["network_args"], "conv_dim=4")
    assert run_check._type_problem(actions["network_args"], ["conv_dim=4"]) is None
    assert "true or false" in run_check._type_problem(actions["cache_latents"], "yes")


def test_engine_check_plumbing_and_a_backend_missing_a_module(tmp_path):
    sd = tmp_path / "sd-scripts"
    sd.mkdir()
    (sd / "train_network.py").write_text("import module_that_is_not_installed_xyz\n")
    answer = pf.run_engine_check(sys.executable, str(sd), "train_network.py", ["--config_file", "x.toml"],
                                 timeout_s=60)
    assert answer["missing_module"] == "module_that_is_not_installed_xyz"
    checks = pf.checks_from_engine(answer, "train_network.py")
    assert checks[0].status == pf.ERROR and "module_that_is_not_installed_xyz" in checks[0].hint
    slow = tmp_path / "slow-sd-scripts"
    slow.mkdir()
    (slow / "train_network.py").write_text("import time\ntime.sleep(60)\n")
    began = time.monotonic()
    cancelled = pf.run_engine_check(sys.executable, str(slow), "train_network.py", [],
                                    cancel=lambda: time.monotonic() - began > 0.5)
    assert cancelled.get("cancelled") and time.monotonic() - began < 10
    missing = pf.run_engine_check(str(tmp_path / "nope"), str(sd), "train_network.py", [])
    assert "could not be started" in missing["error"]


def test_engine_answers_become_checks():
    answer = {"ok": False, "errors": [{"where": "bogus", "message": "is not an argument"}],
              "dataset": {"ok": False, "error": "MultipleInvalid: extra keys not allowed @ data['general']['x']"}}
    engine, dataset = pf.checks_from_engine(answer, "train_network.py")
    assert engine.status == pf.ERROR and engine.details == ["bogus: is not an argument"]
    assert dataset.status == pf.ERROR and "extra keys" in dataset.message
    good = pf.checks_from_engine({"ok": True, "errors": [], "dataset": {"ok": True}, "seconds": 3.2}, "t.py")
    assert [c.status for c in good] == [pf.OK, pf.OK]
    broken = pf.checks_from_engine({"error": "no answer", "output": "Segmentation fault"}, "t.py")
    assert broken[0].status == pf.ERROR and broken[0].details == ["Segmentation fault"]


SDSCRIPTS = os.environ.get("LORA_STUDIO_SDSCRIPTS")
SDPYTHON = os.environ.get("LORA_STUDIO_SDSCRIPTS_PYTHON")


@pytest.mark.sdscripts
@pytest.mark.slow
@pytest.mark.skipif(not (SDSCRIPTS and SDPYTHON), reason="needs LORA_STUDIO_SDSCRIPTS and _PYTHON")
def test_the_real_engine_checks_a_run(tmp_path):
    run = make_run(tmp_path / "run", network_module="networks.lora", learning_rate="1e-4", bogus_key=1,
                   mixed_precision="fp32", pretrained_model_name_or_path=str(tmp_path / "model"))
    run.dataset_path.write_text('[general]\nresolution = 64\ncolour = 1\n[[datasets]]\n[[datasets.subsets]]\n'
                                f'image_dir = "{tmp_path}"\n', encoding="utf-8")
    plan = run.plan()
    answer = pf.run_engine_check(SDPYTHON, SDSCRIPTS, "train_network.py", plan.script_args)
    checks = {c.id: c for c in pf.checks_from_engine(answer, "train_network.py")}
    details = " ".join(checks["engine"].details)
    assert checks["engine"].status == pf.ERROR
    assert "learning_rate" in details and "bogus_key" in details and "mixed_precision" in details
    assert checks["dataset_schema"].status == pf.ERROR and "colour" in checks["dataset_schema"].message


def test_memory_profile_names_for_the_suggestion_and_the_diagnosis(tmp_path, monkeypatch):
    from services.runs import profiles_info

    profiles = [SimpleNamespace(id=f"sdxl/{gb}gb", name=f"SDXL {gb} GB", vram_gb=(gb, gb + 4), builtin=True)
                for gb in (8, 12, 16)]
    monkeypatch.setattr(profiles_info, "_memory_profiles", lambda family: profiles)
    assert profiles_info.memory_profile_tiers("sdxl") == {8: "SDXL 8 GB", 12: "SDXL 12 GB", 16: "SDXL 16 GB"}
    run = make_run(tmp_path / "run")
    run.project_path.write_text('[training]\nmemory_profile = "sdxl/12gb"\n', encoding="utf-8")
    assert profiles_info.memory_context(run, "sdxl") == ("SDXL 12 GB", "SDXL 8 GB")
    run.project_path.write_text('[training]\nmemory_profile = "sdxl/8gb"\n', encoding="utf-8")
    assert profiles_info.memory_context(run, "sdxl") == ("SDXL 8 GB", "")
    assert profiles_info.memory_context(make_run(tmp_path / "bare"), "sdxl") == ("", "")
