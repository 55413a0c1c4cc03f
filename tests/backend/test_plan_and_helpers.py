"""The plan (saved and reloaded, disk estimate, update to a new lock), Python discovery, the
subprocess runner (cancel ends the whole tree), the installation lock."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from conftest import base_python

from services.backend.plan import EngineSource, InstallPlan, WheelSource, load_plan, make_plan, save_plan
from services.backend.proc import CancelToken, run_streaming
from services.backend.runtime import EngineLock, managed_layout
from services.backend.torch_choice import GpuFacts, HardwareFacts
from services.errors import BackendError, OperationCancelled, UserInputError


def _plan(**kw) -> InstallPlan:
    facts = HardwareFacts("linux", "x86_64", (GpuFacts("nvidia", "RTX", "570.86", "12.8", "8.9", 24 << 30),))
    return make_plan(python=base_python(), facts=facts, **kw)


def test_make_plan_finds_the_python_chooses_torch_and_pins_the_engine():
    plan = _plan()
    assert plan.base_python_version.startswith("3.") and plan.torch.variant == "cu128"
    assert plan.engine.commit == "48d368fa557731ad0488c07304dfeba8c07910eb"
    assert plan.engine.repository == "https://github.com/kohya-ss/sd-scripts" and plan.engine.kind == "git"
    assert plan.bitsandbytes is True and plan.families == ("sd1", "sdxl")
    assert plan.effective_torch_source.pip_args() == ["--index-url", "https://download.pytorch.org/whl/cu128"]
    assert _plan(torch_override="rocm").bitsandbytes is False


def test_a_plan_survives_saving_and_loading(lora_home):
    plan = _plan(families=("sd1", "flux"), torch_source=WheelSource(find_links=("/w",)),
                 packages_source=WheelSource(index_url="https://mirror.example/simple"))
    layout = managed_layout()
    save_plan(layout, plan)
    assert load_plan(layout) == plan
    (layout.state / "plan.json").write_text("{broken", encoding="utf-8")
    assert load_plan(layout) is None


def test_disk_estimate_adds_torch_and_the_rest_and_reads_free_space(tmp_path):
    plan = _plan()
    disk = plan.disk_estimate(tmp_path / "not" / "yet")
    assert disk.installed_gb == pytest.approx(plan.torch.installed_gb + 0.9)
    assert disk.free_gb is not None and disk.free_gb > 0 and "GB free" in disk.text()
    assert disk.enough == (disk.free_gb >= disk.needed_gb)


def test_update_moves_only_the_engine_commit():
    plan = _plan()
    newer = plan.with_lock(EngineLock("https://github.com/kohya-ss/sd-scripts", "a" * 40))
    assert newer.engine == EngineSource(plan.engine.repository, "a" * 40) and newer.torch == plan.torch
    assert plan.with_lock(EngineLock("x", plan.engine.commit)) is plan
    moved = plan.with_lock(EngineLock("https://github.com/new-home/sd-scripts", "b" * 40))
    assert moved.engine.repository == "https://github.com/new-home/sd-scripts"      # upstream moved
    mirror = _plan(engine_source="/srv/mirror/sd-scripts.git")
    assert mirror.engine.custom
    assert mirror.with_lock(EngineLock("https://github.com/x/y", "c" * 40)).engine == \
        EngineSource("/srv/mirror/sd-scripts.git", "c" * 40, True)                # the user's mirror is kept


def test_wheel_sources_become_pip_options():
    assert WheelSource().pip_args() == []
    assert WheelSource(no_index=True, find_links=("/a", "/b")).pip_args() == \
        ["--no-index", "--find-links", "/a", "--find-links", "/b"]
    assert WheelSource(index_url="https://i", extra_index_urls=("https://e",)).pip_args() == \
        ["--index-url", "https://i", "--extra-index-url", "https://e"]


def test_a_bad_python_or_family_is_refused_with_a_hint(tmp_path):
    with pytest.raises(UserInputError) as info:
        make_plan(python=str(tmp_path / "nope"), facts=HardwareFacts("linux"))
    assert "cannot hold the backend" in info.value.message and info.value.hint
    with pytest.raises(UserInputError, match="Unknown model family"):
        make_plan(python=base_python(), facts=HardwareFacts("linux"), families=("sd9",))


def test_python_discovery_finds_a_supported_interpreter_and_explains_the_others(tmp_path):
    from services.backend.pythons import choose_python, find_pythons, inspect_python

    found = find_pythons()
    chosen = choose_python(found)
    assert chosen is not None and chosen.usable and chosen.minor >= (3, 10)
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3.9.18; echo cpython; echo /x/python3.9\n")
    fake.chmod(0o755)
    old = inspect_python(fake)
    assert not old.usable and "3.10 to 3.13 is needed" in old.problem
    assert choose_python([old]) is None


def test_no_python_at_all_is_a_backend_error_with_instructions(monkeypatch):
    from services.backend import pythons

    monkeypatch.setattr(pythons, "find_pythons", lambda extra=None: [])
    with pytest.raises(BackendError) as info:
        make_plan(facts=HardwareFacts("linux"))
    assert "No suitable Python" in info.value.message and "python3.11-venv" in info.value.hint


def test_cancel_ends_the_subprocess_and_its_children_quickly():
    import psutil

    cancel = CancelToken()
    lines: list[str] = []
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              "print('child', child.pid, flush=True)\n"
              "time.sleep(60)\n")
    timer = threading.Timer(1.5, cancel.cancel)
    timer.start()
    began = time.monotonic()
    with pytest.raises(OperationCancelled):
        run_streaming([sys.executable, "-c", script], on_line=lines.append, cancel=cancel)
    timer.join()
    assert time.monotonic() - began < 10
    child = int(next(line for line in lines if line.startswith("child")).split()[1])
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the grandchild survived the cancel"
        time.sleep(0.1)


def test_output_lines_are_streamed_with_carriage_returns_split():
    lines: list[str] = []
    code = run_streaming([sys.executable, "-c", "import sys; sys.stdout.write('a\\rb\\r\\nc\\n'); sys.exit(3)"],
                         on_line=lines.append)
    assert code == 3 and lines[1:] == ["a", "b", "c"]


def test_a_second_installation_is_refused_while_one_runs(tmp_path):
    from services.backend.installer import InstallLock

    with InstallLock(tmp_path), pytest.raises(BackendError, match="Another installation"), InstallLock(tmp_path):
        pass
    with InstallLock(tmp_path):   # released: free again
        pass
