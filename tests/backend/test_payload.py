"""The worker payload: what goes in (workers + Qt-free services), its version and fingerprint,
and how a worker is started in each kind of runtime."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from services.backend import payload
from services.paths import repo_root


def test_the_payload_holds_the_workers_and_the_qt_free_services():
    names = set(payload.source_files())
    assert "workers/env_probe.py" in names and "workers/__init__.py" in names
    assert "services/backend/runtime.py" in names and "services/errors.py" in names
    assert "services/backend/torch_builds.toml" in names
    assert not any("/qt/" in name or name.startswith(("app/", "widgets/", "tests/")) for name in names)


def test_the_wheel_carries_its_manifest_and_requirements_and_is_reproducible(tmp_path):
    first = payload.build_wheel(tmp_path / "a")
    second = payload.build_wheel(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    info, requirements = payload.read_wheel(first, "source")
    assert info == payload.expected()
    assert info.version == f"{info.app_version}+{info.fingerprint[:12]}"
    assert any(r.startswith("transformers") for r in requirements)
    assert not any(r.lower().startswith(("pyside6", "superqt", "pyqtgraph")) for r in requirements)
    with zipfile.ZipFile(first) as archive:
        manifest = json.loads(archive.read("workers/_payload.json"))
        assert manifest["fingerprint"] == info.fingerprint and manifest["name"] == "lora-studio-workers"


def test_a_changed_file_changes_the_fingerprint(tmp_path):
    import shutil

    root = tmp_path / "tree"
    for package in ("workers", "services"):
        shutil.copytree(repo_root() / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(repo_root() / "pyproject.toml", root / "pyproject.toml")
    before = payload.build_wheel(tmp_path / "a", root)
    (root / "workers" / "env_probe.py").write_text("# changed\n", encoding="utf-8")
    after = payload.build_wheel(tmp_path / "b", root)
    assert payload.read_wheel(before)[0].fingerprint != payload.read_wheel(after)[0].fingerprint
    (root / "services" / "qt").mkdir(exist_ok=True)
    (root / "services" / "qt" / "extra.py").write_text("# Qt adapters never travel\n", encoding="utf-8")
    again = payload.build_wheel(tmp_path / "c", root)
    assert payload.read_wheel(again)[0].fingerprint == payload.read_wheel(after)[0].fingerprint


def test_the_unpacked_payload_runs_the_probe_in_another_interpreter(tmp_path):
    folder = payload.extracted_dir(tmp_path / "payload", tmp_path / "work")
    assert (folder / "workers" / "env_probe.py").is_file() and not list(folder.glob("*.dist-info"))
    assert payload.extracted_dir(tmp_path / "payload", tmp_path / "work") == folder   # reused
    proc = subprocess.run([sys.executable, "-m", "workers.env_probe", "--in-process", "--probe", "torchvision"],
                          capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(folder)}, timeout=120)
    assert json.loads(proc.stdout)["meta"]["seconds"] >= 0


def test_a_damaged_payload_is_a_clear_error(tmp_path):
    from services.errors import BackendError

    bad = tmp_path / "lora_studio_workers-0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(BackendError, match="damaged"):
        payload.read_wheel(bad)


def test_worker_commands_in_a_source_checkout_use_the_tree(tmp_path):
    from services.backend.runtime import locate
    from services.backend.worker_launch import worker_command
    from services.settings import BackendSettings

    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    rt = locate(BackendSettings(python=str(python), sd_scripts_dir=str(tmp_path)))
    argv, env = worker_command(rt, "env_probe", "--in-process")
    assert argv == [str(python), "-m", "workers.env_probe", "--in-process"]
    assert env["PYTHONPATH"] == str(repo_root())


def test_a_frozen_gui_refuses_a_managed_runtime_with_other_workers(tmp_path, monkeypatch, lora_home):
    from services.backend import worker_launch
    from services.backend.runtime import locate, managed_layout
    from services.errors import BackendError

    layout = managed_layout()
    layout.state.mkdir(parents=True)
    layout.marker("workers").write_text(json.dumps({"status": "done", "details": {"version": "0.0.1+old"}}))
    layout.python.parent.mkdir(parents=True)
    layout.python.write_text("")
    monkeypatch.setattr(payload, "is_frozen", lambda: True)
    monkeypatch.setattr(payload, "expected", lambda: payload.PayloadInfo("0.2.0+new", "f" * 64, "0.2.0", "bundle"))
    with pytest.raises(BackendError) as info:
        worker_launch.worker_command(locate(), "env_probe")
    assert "0.0.1+old" in info.value.message and "0.2.0+new" in info.value.message and "Repair" in info.value.hint
