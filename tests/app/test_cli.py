import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.__main__ import check_python

ROOT = Path(__file__).resolve().parents[2]


def run_app(*args, env_extra=None, timeout=120, python=sys.executable):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    return subprocess.run([python, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("version,ok", [((3, 9, 0), False), ((3, 10, 0), True), ((3, 13, 5), True),
                                        ((3, 14, 0), False), ((2, 7, 18), False)])
def test_python_range(version, ok):
    message = check_python(version)
    assert (message is None) == ok
    if not ok:
        assert "3.10 to 3.13" in message


def test_unsupported_interpreter_is_refused_with_a_clear_message():
    old = Path("/root/.pyenv/versions/3.9.18/bin/python")
    if not old.exists():
        pytest.skip("no Python 3.9 on this machine")
    proc = run_app("--version", python=str(old))
    assert proc.returncode == 2
    assert "needs Python 3.10 to 3.13" in proc.stderr and "this is Python 3.9" in proc.stderr


def test_version_comes_from_pyproject():
    import re

    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    proc = run_app("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"LoRA Studio {version}"


def test_self_test_passes_and_reports_json(lora_home):
    proc = run_app("--self-test", env_extra={"LORA_STUDIO_HOME": str(lora_home)}, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True
    assert set(summary["checks"]["themes"]) == {"dark", "light", "minimal", "cyberpunk", "system"}
    assert summary["checks"]["torch_imported"] is False
    assert summary["checks"]["demo_opened"] is True


def test_gui_process_does_not_import_the_ml_stack(lora_home):
    code = ("import sys, app.application as a; p = a.build(console_log=False, open_initial=False, "
            "process_hooks=False); p.window.show(); p.app.processEvents(); "
            "bad = [m for m in ('torch', 'transformers', 'diffusers', 'onnxruntime', 'accelerate') "
            "if m in sys.modules]; print(bad)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LORA_STUDIO_HOME=str(lora_home))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
