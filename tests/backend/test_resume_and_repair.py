"""Safe to interrupt, repairable, updatable: cancel and resume, a killed installation detected and
redone, Repair re-running only what is broken, Update moving to a newer pinned commit, and
`backend verify` on a broken external runtime. All from local stand-ins (TEST DOUBLES)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from conftest import Recorder, base_python, git

from services.backend import runtime
from services.backend.installer import Installer, repair, update
from services.backend.proc import CancelToken
from services.backend.steps import STEPS
from services.backend.verify import verify_runtime

ROOT = Path(__file__).resolve().parents[2]


def outcomes(result) -> dict[str, str]:
    return {s.step: s.outcome for s in result.steps}


def test_cancel_during_a_step_then_resume_redoes_only_that_step_and_the_rest(local_plan, lora_home):
    cancel = CancelToken()
    recorder = Recorder(on_start=lambda step: step == "requirements" and cancel.cancel())
    first = Installer(local_plan, reporter=recorder, cancel=cancel).run()
    assert first.cancelled and first.error is None and not first.ok
    assert outcomes(first) == {"venv": "done", "torch": "done", "engine": "done", "requirements": "cancelled"}
    layout = runtime.managed_layout()
    assert runtime.step_status(layout, "requirements") == "started"      # never left looking complete
    rt = runtime.locate()
    assert rt.state == "missing" and "requirements, workers, accelerate, tokenizers" in rt.problems[0]

    report = verify_runtime(plan=local_plan)
    messages = {c.id: c.message for c in report.checks}
    assert messages["step.requirements"] == "interrupted last time: it is redone"
    assert "requirements" in report.repair_steps()

    second = Installer(local_plan, reporter=Recorder()).run()
    assert outcomes(second) == {"venv": "skipped", "torch": "skipped", "engine": "skipped", "requirements": "done",
                                "workers": "done", "accelerate": "done", "tokenizers": "done", "verify": "done"}
    assert second.ok and runtime.locate().state == "found"


def _cli(*args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "app", "backend", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_a_killed_installation_is_reported_precisely_and_repaired(local_plan, lora_home, wheelhouse):
    env = {k: v for k, v in os.environ.items()}
    install = [sys.executable, "-m", "app", "backend", "install", "--python", base_python(), "--torch", "cpu",
               "--torch-find-links", str(wheelhouse), "--find-links", str(wheelhouse), "--no-index",
               "--engine-source", local_plan.engine.repository, "--no-bitsandbytes", "-y"]
    proc = subprocess.Popen(install, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("==> Engine requirements"):
                break
        # like a power cut: the installer and everything it started die at once
        family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        proc.wait(30)
        proc.stdout.close()
    assert any(line.startswith("==> Engine requirements") for line in seen), "".join(seen)
    assert runtime.step_status(runtime.managed_layout(), "requirements") == "started"

    verify = _cli("verify", env=env)
    assert verify.returncode == 1
    assert "[XX] Engine requirements: interrupted last time: it is redone" in verify.stdout, verify.stdout
    assert "Training backend: not installed (the installation did not finish" in verify.stdout

    fixed = _cli("repair", env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "--- venv: already done" in fixed.stdout and "requirements: done in" in fixed.stdout
    info = json.loads(_cli("info", "--json", env=env).stdout)
    assert info["runtime"]["state"] == "found"
    assert [s["status"] for s in info["steps"]] == ["done"] * len(STEPS)
    assert all(s["seconds"] is not None for s in info["steps"])


def test_repair_reruns_only_what_is_broken(installed, lora_home):
    layout = runtime.managed_layout()
    python = str(layout.python)
    subprocess.run([python, "-m", "pip", "uninstall", "-y", "-q", "torch", "lora-studio-workers"], check=True)
    layout.accelerate_config.unlink()

    report = verify_runtime(plan=installed)
    assert not report.ok
    errors = {c.id: c for c in report.errors}
    assert "torch cannot be imported" in errors["torch"].message
    assert errors["workers"].message == "LoRA Studio's worker modules are not installed"
    assert errors["accelerate"].message == "the accelerate configuration is missing"
    assert report.repair_steps() == {"torch", "workers", "accelerate", "tokenizers"}  # tokenizers: moved folder

    result = repair(reporter=Recorder())
    assert outcomes(result) == {"diagnose": "done", "venv": "skipped", "torch": "done", "engine": "skipped",
                                "requirements": "skipped", "workers": "done", "accelerate": "done",
                                "tokenizers": "done", "verify": "done"}
    assert result.ok, result.verification.text()


def test_update_moves_to_a_newer_pinned_commit(installed, lora_home, pinned_to):
    repo = Path(installed.engine.repository)
    clone = repo.parent / "newer-engine"
    shutil.rmtree(clone, ignore_errors=True)
    git(repo.parent, "clone", "-q", str(repo), str(clone))     # a newer upstream, without touching the shared one
    (clone / "requirements.txt").write_text((clone / "requirements.txt").read_text() + "# newer pins\n")
    git(clone, "commit", "-qam", "newer engine")
    newer = git(clone, "rev-parse", "HEAD")
    pinned_to(str(clone), newer)

    rt = runtime.locate()
    assert rt.state == "version" and newer[:8] in rt.problems[0]
    result = update(reporter=Recorder())
    assert outcomes(result) == {"venv": "skipped", "torch": "skipped", "engine": "done", "requirements": "done",
                                "workers": "skipped", "accelerate": "skipped", "tokenizers": "done",
                                "verify": "done"}, result.error
    rt = runtime.locate()
    assert rt.state == "found" and rt.commit == newer and rt.is_pinned
    assert "# newer pins" in (rt.sd_scripts_dir / "requirements.txt").read_text()


def test_verify_says_precisely_what_is_wrong_with_a_broken_external_runtime(engine_repo, tmp_path, lora_home):
    repo, commit = engine_repo
    venv = tmp_path / "their-venv"
    subprocess.run([base_python(), "-m", "venv", "--without-pip", str(venv)], check=True)
    env = dict(os.environ)
    use = _cli("use", "--python", str(runtime.venv_python(venv)), "--sd-scripts", str(repo), "--accept", env=env)
    assert use.returncode == 0, use.stdout + use.stderr
    assert f"sd-scripts: {repo} at {commit}" in use.stdout

    began = time.monotonic()
    verify = _cli("verify", env=env)
    assert verify.returncode == 1
    out = verify.stdout
    assert f"[ok] Backend: sd-scripts {commit[:8]} (accepted)" in out
    assert "[XX] PyTorch: torch cannot be imported: ModuleNotFoundError: No module named 'torch'" in out
    assert "need the module 'torch', which is not installed" in out
    assert "[!!] Packages: 6 of 6 requirements not met: accelerate is not installed (needs ==1.6.0)" in out
    assert "hint: Fix: " in out and "-m pip install" in out
    assert "[--] LoRA Studio workers: not installed into this external environment" in out
    data = json.loads(_cli("verify", "--json", env=env).stdout)
    assert data["ok"] is False and data["runtime"]["kind"] == "external" and data["repair_steps"] == []
    assert time.monotonic() - began < 120

    repaired = _cli("repair", env=env)
    assert repaired.returncode == 1 and "never modifies" in repaired.stderr
