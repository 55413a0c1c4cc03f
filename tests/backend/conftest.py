"""Local sources for installing a backend without network: a git repository of the stand-in
engine, a folder of tiny stand-in wheels, the real base interpreter, and pip cut off from this
machine's configuration (its find-links would offer the real torch wheel).

Everything built here from tests/backend/doubles/ is a TEST DOUBLE (see the README there).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOUBLES = Path(__file__).with_name("doubles")
GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.invalid", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(folder: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def base_python() -> str:
    return getattr(sys, "_base_executable", "") or sys.executable


def _files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.py"))}


def build_wheelhouse(folder: Path, *, torch_build: str = "cpu", cuda: str | None = None,
                     extra_requirements: list[str] = ()) -> Path:
    """Stand-in wheels for torch, torchvision, bitsandbytes, voluptuous, and an empty wheel for
    every other requirement of the stand-in engine and of LoRA Studio's worker payload."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    from services.backend.payload import runtime_requirements
    from services.backend.wheels import write_wheel

    folder.mkdir(parents=True, exist_ok=True)
    fake = DOUBLES / "fake_packages"
    torch_files = _files_of(fake)
    torch_files = {k: v for k, v in torch_files.items() if k.startswith("torch/")}
    torch_files["torch/version.py"] = (f'"""TEST DOUBLE of torch.version."""\n__version__ = "2.13.0+{torch_build}"\n'
                                       f"cuda = {cuda!r}\nhip = None\n").encode()
    write_wheel(folder, "torch", f"2.13.0+{torch_build}", torch_files, summary="TEST DOUBLE")
    vision = {k: v for k, v in _files_of(fake).items() if k.startswith("torchvision/")}
    write_wheel(folder, "torchvision", f"0.28.0+{torch_build}", vision, requires=["torch==2.13.0"],
                summary="TEST DOUBLE")
    for name, version in (("bitsandbytes", "0.50.2"), ("voluptuous", "0.15.2")):
        files = {k: v for k, v in _files_of(fake).items() if k.startswith(f"{name}/")}
        write_wheel(folder, name, version, files, summary="TEST DOUBLE")

    lines = (DOUBLES / "fake_engine" / "requirements.txt").read_text().splitlines()
    lines += runtime_requirements() + list(extra_requirements)
    wanted: dict[str, list[Requirement]] = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            wanted.setdefault(req.name.lower().replace("_", "-"), []).append(req)
    for name, reqs in wanted.items():
        if name in ("torch", "torchvision", "bitsandbytes", "voluptuous"):
            continue
        pins = [s.version for r in reqs for s in r.specifier if s.operator == "=="]
        candidates = [*pins, "999999.0"]
        version = next((v for v in candidates if all(r.specifier.contains(Version(v)) for r in reqs)), "999999.0")
        extras = sorted({e for r in reqs for e in r.extras})
        write_wheel(folder, name, version, {}, summary="TEST DOUBLE (empty stand-in)",
                    requires=[f'torch; extra == "{e}"' for e in extras])
    return folder


def make_engine_repo(folder: Path) -> tuple[Path, str]:
    shutil.copytree(DOUBLES / "fake_engine", folder)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "stand-in engine")
    return folder, git(folder, "rev-parse", "HEAD")


def write_lock(path: Path, repository: str, commit: str) -> Path:
    path.write_text(f'[sd-scripts]\nrepository = "{repository}"\ncommit = "{commit}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    return build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture
def engine_repo(tmp_path) -> tuple[Path, str]:
    return make_engine_repo(tmp_path / "engine-repo")


@pytest.fixture(scope="session")
def shared_engine_repo(tmp_path_factory) -> tuple[Path, str]:
    """One repository for the installs of the whole session (tests may add commits, never rewrite)."""
    return make_engine_repo(tmp_path_factory.mktemp("shared") / "engine-repo")


def isolate_pip(monkeypatch, cache: Path) -> None:
    """pip sees no configuration of this machine (its find-links offer the real torch)."""
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_CACHE_DIR", str(cache))


@pytest.fixture
def offline_pip(monkeypatch, tmp_path):
    isolate_pip(monkeypatch, tmp_path / "pip-cache")


@pytest.fixture
def pinned_to(monkeypatch, tmp_path):
    """Point the engine lock at a commit of a test repository."""
    def pin(repository: str, commit: str) -> Path:
        path = write_lock(tmp_path / f"lock-{commit[:8]}.lock", repository, commit)
        monkeypatch.setenv("LORA_STUDIO_ENGINE_LOCK", str(path))
        return path
    return pin


def make_local_plan(repo: Path, commit: str, wheelhouse: Path):
    """An install plan that takes everything from the local stand-ins."""
    from services.backend.plan import EngineSource, InstallPlan, WheelSource
    from services.backend.pythons import inspect_python
    from services.backend.torch_choice import HardwareFacts, choose_torch

    python = inspect_python(base_python())
    assert python.usable, python.problem
    local = WheelSource(no_index=True, find_links=(str(wheelhouse),))
    return InstallPlan(base_python=python.path, base_python_version=python.version,
                       torch=choose_torch(HardwareFacts("linux")), engine=EngineSource(str(repo), commit),
                       families=("sd1", "sdxl"), bitsandbytes=False, torch_source=local, packages_source=local)


@pytest.fixture
def local_plan(shared_engine_repo, wheelhouse, offline_pip, pinned_to):
    repo, commit = shared_engine_repo
    pinned_to(str(repo), commit)
    return make_local_plan(repo, commit, wheelhouse)


@pytest.fixture(scope="session")
def installed_template(tmp_path_factory, shared_engine_repo, wheelhouse):
    """One complete install from the local stand-ins, made once; ``installed`` copies it."""
    from services.backend.installer import Installer

    home = tmp_path_factory.mktemp("template-home")
    repo, commit = shared_engine_repo
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LORA_STUDIO_HOME", str(home))
        isolate_pip(mp, home / "pip-cache")
        mp.setenv("LORA_STUDIO_ENGINE_LOCK", str(write_lock(home / "engine.lock", str(repo), commit)))
        plan = make_local_plan(repo, commit, wheelhouse)
        recorder = Recorder()
        result = Installer(plan, reporter=recorder).run()
    return home, plan, result, recorder


@pytest.fixture
def installed(installed_template, lora_home, offline_pip, pinned_to):
    """A complete managed runtime in this test's home (a copy of the template: a venv used through
    ``python -m`` works from any folder)."""
    home, plan, result, _ = installed_template
    assert result.error is None and result.verification.ok, result.verification and result.verification.text()
    shutil.copytree(home / "data" / "backend", lora_home / "data" / "backend", symlinks=True)
    pinned_to(plan.engine.repository, plan.engine.commit)
    return plan


class Recorder:
    """A Reporter that keeps every event (and can act when a step starts)."""

    def __init__(self, on_start=None) -> None:
        self.events: list[tuple] = []
        self.on_start = on_start

    def step_started(self, step, title):
        self.events.append(("started", step))
        if self.on_start:
            self.on_start(step)

    def step_progress(self, step, fraction, text):
        self.events.append(("progress", step, text))

    def log(self, step, line):
        self.events.append(("log", step, line))

    def step_finished(self, step, outcome, seconds, message):
        self.events.append(("finished", step, outcome))

    def finished(self) -> dict[str, str]:
        return {e[1]: e[2] for e in self.events if e[0] == "finished"}
