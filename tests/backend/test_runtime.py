"""locate(): the managed runtime, an external one (e.g. kohya_ss), commits read from .git or a marker."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from services.backend import runtime
from services.backend.runtime import ENGINE_MARKER, STEP_IDS, EngineLock, locate, read_commit, read_lock
from services.settings import BackendSettings

PINNED = "48d368fa557731ad0488c07304dfeba8c07910eb"
OTHER = "0123456789abcdef0123456789abcdef01234567"


def _engine_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / runtime.ENGINE_PROBE_FILE).write_text("# an sd-scripts stand-in\n", encoding="utf-8")
    return folder


def _venv(folder: Path, version: str = "3.11.7") -> Path:
    python = runtime.venv_python(folder)
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text("", encoding="utf-8")
    (folder / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {version}\n", encoding="utf-8")
    return python


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}).stdout.strip()


def test_the_shipped_lock_names_upstream_and_the_pinned_commit():
    lock = read_lock()
    assert lock.repository == "https://github.com/kohya-ss/sd-scripts"
    assert lock.commit == PINNED
    assert lock.short == PINNED[:8]


@pytest.mark.parametrize("text", ["", "[sd-scripts]\nrepository = 'x'\n",
                                  "[sd-scripts]\nrepository='x'\ncommit='abc'\n", "not toml ["])
def test_a_broken_lock_is_a_clear_backend_error(tmp_path, text):
    from services.errors import BackendError

    path = tmp_path / "sd-scripts.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BackendError) as info:
        read_lock(path)
    assert str(path) in info.value.message and info.value.hint


def test_nothing_installed_is_missing_and_says_so(lora_home):
    rt = locate(BackendSettings())
    assert rt.state == "missing" and rt.kind == "managed" and not rt.usable
    assert rt.problems[0] == "no backend is installed yet"
    assert rt.root == lora_home / "data" / "backend"
    assert rt.tokenizer_cache_dir == rt.root / "tokenizers"
    assert "not installed" in rt.summary()


def test_a_complete_managed_install_at_the_pinned_commit_is_found(lora_home):
    layout = runtime.managed_layout()
    _venv(layout.venv)
    scripts = _engine_folder(layout.sd_scripts)
    (scripts / ENGINE_MARKER).write_text(json.dumps({"commit": PINNED}), encoding="utf-8")
    layout.state.mkdir(parents=True)
    for step in STEP_IDS:
        layout.marker(step).write_text(json.dumps({"status": "done"}), encoding="utf-8")
    layout.accelerate_config.parent.mkdir(parents=True)
    layout.accelerate_config.write_text("compute_environment: LOCAL_MACHINE\n", encoding="utf-8")

    rt = locate()
    assert rt.state == "found", rt.problems
    assert rt.usable and rt.managed and rt.is_pinned
    assert (rt.commit, rt.commit_source) == (PINNED, "marker")
    assert rt.python == layout.python and rt.python_version == "3.11.7"
    assert rt.accelerate_config == layout.accelerate_config
    assert "pinned" in rt.summary() and "3.11.7" in rt.summary()
    assert json.loads(json.dumps(rt.as_dict()))["is_pinned"] is True


def test_a_half_finished_managed_install_is_missing_and_names_what_is_left(lora_home):
    layout = runtime.managed_layout()
    _venv(layout.venv)
    _engine_folder(layout.sd_scripts)
    layout.state.mkdir(parents=True)
    for step in STEP_IDS[:3]:
        layout.marker(step).write_text(json.dumps({"status": "done"}), encoding="utf-8")
    layout.marker("requirements").write_text(json.dumps({"status": "started"}), encoding="utf-8")
    rt = locate()
    assert rt.state == "missing"
    assert "requirements" in rt.problems[0] and "tokenizers" in rt.problems[0] and "venv" not in rt.problems[0]


def test_an_external_checkout_at_another_commit_is_version_until_accepted(tmp_path):
    scripts = _engine_folder(tmp_path / "kohya_ss" / "sd-scripts")
    _git(scripts, "init", "-q")
    _git(scripts, "add", ".")
    _git(scripts, "commit", "-q", "-m", "x")
    head = _git(scripts, "rev-parse", "HEAD")
    python = _venv(tmp_path / "kohya_ss" / "venv", "3.10.11")
    settings = BackendSettings(python=str(python), sd_scripts_dir=str(scripts))

    rt = locate(settings)
    assert rt.kind == "external" and rt.state == "version"
    assert (rt.commit, rt.commit_source) == (head, "git") and not rt.is_pinned
    assert head[:8] in rt.problems[0] and PINNED[:8] in rt.problems[0]

    settings.accepted_commit = head
    rt = locate(settings)
    assert rt.state == "found" and rt.usable and not rt.is_pinned and rt.problems == ()
    assert "accepted" in rt.summary()


def test_an_external_python_that_is_gone_is_missing(tmp_path):
    scripts = _engine_folder(tmp_path / "sd")
    rt = locate(BackendSettings(python=str(tmp_path / "nope" / "python"), sd_scripts_dir=str(scripts)))
    assert rt.state == "missing" and "does not exist" in rt.problems[0]


def test_a_folder_that_is_not_sd_scripts_is_missing(tmp_path):
    python = _venv(tmp_path / "venv")
    (tmp_path / "other").mkdir()
    rt = locate(BackendSettings(python=str(python), sd_scripts_dir=str(tmp_path / "other")))
    assert rt.state == "missing" and "not an sd-scripts folder" in rt.problems[0]


def test_unknown_commit_is_version_with_a_reason_until_accepted(tmp_path):
    scripts = _engine_folder(tmp_path / "sd")     # a plain copy: no .git, no marker
    python = _venv(tmp_path / "venv")
    settings = BackendSettings(python=str(python), sd_scripts_dir=str(scripts))
    rt = locate(settings)
    assert rt.state == "version" and rt.commit is None and "cannot be read" in rt.problems[0]
    settings.accepted_commit = runtime.ACCEPT_UNKNOWN
    rt = locate(settings)
    assert rt.state == "found" and rt.problems == () and "accepted" in rt.summary()


def test_read_commit_follows_packed_refs_detached_heads_and_gitdir_files(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs with: peeled\n{OTHER} refs/heads/main\n",
                                               encoding="utf-8")
    assert read_commit(repo) == (OTHER, "git")

    (repo / ".git" / "HEAD").write_text(PINNED.upper() + "\n", encoding="utf-8")
    assert read_commit(repo) == (PINNED, "git")

    # kohya_ss keeps sd-scripts as a submodule: .git is a file pointing into the parent's modules
    module = tmp_path / "kohya_ss" / ".git" / "modules" / "sd-scripts"
    module.mkdir(parents=True)
    (module / "HEAD").write_text(OTHER + "\n", encoding="utf-8")
    sub = tmp_path / "kohya_ss" / "sd-scripts"
    sub.mkdir()
    (sub / ".git").write_text("gitdir: ../.git/modules/sd-scripts\n", encoding="utf-8")
    assert read_commit(sub) == (OTHER, "git")

    assert read_commit(tmp_path / "nothing") == (None, "unknown")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ENGINE_MARKER).write_text("{not json", encoding="utf-8")
    assert read_commit(broken) == (None, "unknown")


def test_a_custom_lock_and_tokenizer_cache_are_honoured(tmp_path):
    lock = EngineLock(repository="file:///x", commit=OTHER)
    scripts = _engine_folder(tmp_path / "sd")
    (scripts / ENGINE_MARKER).write_text(json.dumps({"commit": OTHER}), encoding="utf-8")
    python = _venv(tmp_path / "venv")
    rt = locate(BackendSettings(python=str(python), sd_scripts_dir=str(scripts),
                                tokenizer_cache_dir=str(tmp_path / "tok")), lock=lock)
    assert rt.state == "found" and rt.is_pinned and rt.tokenizer_cache_dir == tmp_path / "tok"
