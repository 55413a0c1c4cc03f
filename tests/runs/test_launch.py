"""The command, working folder and environment of a launch; the run folder; the process tree; the
Windows job object's structures (their layout is checked here, the calls only run on Windows)."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from services.errors import BackendError, FileFormatError
from services.runs import winjob
from services.runs.launch import build_argv, engine_environment, resolve_launch
from services.runs.process import ProcessTree
from services.runs.run_folder import LaunchPlan, RunFolder, new_run_folder, parse_sample_name, read_prompts
from tests.runs.conftest import make_run, write_run_config


def test_accelerate_command_from_the_sd_scripts_folder(tmp_path):
    plan = LaunchPlan(script="sdxl_train_network.py", script_args=["--config_file", "/r/config.toml"],
                      accelerate_args=["--multi_gpu", "--num_processes", "2", "--gpu_ids", "0,1"])
    argv = build_argv(plan, "/backend/bin/python", tmp_path / "sd-scripts", ["--resume", "/r/state"])
    assert argv == ["/backend/bin/python", "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                    "2", "--gpu_ids", "0,1", str(tmp_path / "sd-scripts" / "sdxl_train_network.py"),
                    "--config_file", "/r/config.toml", "--resume", "/r/state"]
    single = LaunchPlan(script="train_network.py", launcher="python", script_args=["--x"])
    assert build_argv(single, "py", tmp_path) == ["py", str(tmp_path / "train_network.py"), "--x"]


def test_environment_is_offline_unbuffered_and_free_of_the_guis_python():
    base = {"PATH": "/bin", "PYTHONPATH": "/gui/site", "PYTHONHOME": "/gui", "HF_TOKEN": "hf_abcdefgh",
            "LD_LIBRARY_PATH": "/bundle/lib", "LD_LIBRARY_PATH_ORIG": "/usr/local/cuda/lib64",
            "QT_PLUGIN_PATH": "/gui/qt"}
    env, secrets = engine_environment(base, {"CUDA_VISIBLE_DEVICES": "1", "WANDB_API_KEY": "nope-not-here"})
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1" and env["PYTHONIOENCODING"] == "utf-8"
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env and "QT_PLUGIN_PATH" not in env
    assert env["LD_LIBRARY_PATH"] == "/usr/local/cuda/lib64" and "LD_LIBRARY_PATH_ORIG" not in env
    assert env["CUDA_VISIBLE_DEVICES"] == "1"
    assert env["HF_TOKEN"] == "hf_abcdefgh" and "WANDB_API_KEY" not in env  # secrets from the environment only
    assert secrets == ("hf_abcdefgh",)
    online, _ = engine_environment({}, offline=False)
    assert "HF_HUB_OFFLINE" not in online


def test_resolve_launch_passes_the_tokenizer_cache_and_resume(tmp_path):
    run = make_run(tmp_path / "run")
    sd = tmp_path / "sd-scripts"
    sd.mkdir()
    launch = resolve_launch(run, python=sys.executable, sd_scripts_dir=str(sd), tokenizer_cache_dir="/tok",
                            resume_from=tmp_path / "state", base_env={"PATH": "/bin"})
    assert launch.cwd == str(sd)
    assert launch.argv[-4:] == ["--tokenizer_cache_dir", "/tok", "--resume", str(tmp_path / "state")]
    assert launch.resumed_from == str(tmp_path / "state")
    # A config that names its own cache keeps it.
    write_run_config(run.path, tokenizer_cache_dir="/own")
    assert "--tokenizer_cache_dir" not in resolve_launch(run, python="py", sd_scripts_dir=str(sd)).argv


def test_resolve_launch_without_a_backend_is_a_clear_error(tmp_path):
    run = make_run(tmp_path / "run")
    with pytest.raises(BackendError):
        resolve_launch(run, python="", sd_scripts_dir="")
    plan = run.plan()
    plan.script = "train_network.py"
    run.write_plan(plan)
    with pytest.raises(BackendError):
        resolve_launch(run, python="py", sd_scripts_dir="")
    with pytest.raises(BackendError, match="does not exist"):
        resolve_launch(run, python="py", sd_scripts_dir=str(tmp_path / "missing"))


def test_run_folder_plan_status_states_samples(tmp_path):
    run = make_run(tmp_path / "run", sample_prompts=str(tmp_path / "p.txt"))
    (tmp_path / "p.txt").write_text("# comment\na cat --n dog --w 512\n\nmychar\n", encoding="utf-8")
    assert run.exists() and run.plan().launcher == "python"
    assert (run.path / "command.txt").read_text().startswith("python ")
    assert run.prompts() == {0: "a cat", 1: "mychar"}
    out = run.output_dir()
    (out / "sample").mkdir(parents=True)
    for name in ("fake_000004_01_20260101120000.png", "fake_e000002_00_20260101120000_42.png", "junk.png"):
        (out / "sample" / name).write_bytes(b"x")
    assert [(s.step, s.epoch, s.index) for s in run.samples()] == [(None, 2, 0), (4, None, 1)]
    for step in (5, 10):
        state = out / f"fake-step{step:08d}-state"
        state.mkdir()
        (state / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
    (out / "fake-000001-state").mkdir()
    assert run.latest_state().name == "fake-step00000010-state"
    (out / "fake.safetensors").write_bytes(b"x")
    assert [p.name for p in run.checkpoints()] == ["fake.safetensors"]
    status = run.status()
    assert status.state == "created"
    status.step = 3
    run.write_status(status)
    assert run.status().step == 3


def test_broken_files_in_a_run_folder_are_clear_errors(tmp_path):
    run = make_run(tmp_path / "run")
    run.plan_path.write_text("[1, 2]")
    with pytest.raises(FileFormatError):
        run.plan()
    run.plan_path.write_text('{"script_args": "not a list"}')
    with pytest.raises(FileFormatError):
        run.plan()
    run.plan_path.write_text('{"launcher": "bash"}')
    with pytest.raises(FileFormatError):
        run.plan()
    run.config_path.write_text("this is = = not toml")
    with pytest.raises(FileFormatError):
        run.config()
    run.status_path.write_text("{garbage")
    assert run.status().state == "created"  # a broken status never stops the history from listing it


def test_new_run_folders_are_unique(tmp_path):
    a = new_run_folder(tmp_path, "my lora/v1")
    b = new_run_folder(tmp_path, "my lora/v1")
    assert a.path != b.path and a.path.name.endswith("my_lora_v1")
    assert isinstance(a, RunFolder)


def test_sample_names_and_prompt_files(tmp_path):

    assert parse_sample_name(Path("000010_03_20260101010101.png")).step == 10
    assert parse_sample_name(Path("n_e000001_00_20260101010101.png")).epoch == 1
    assert parse_sample_name(Path("n.png")) is None
    assert read_prompts(tmp_path / "missing.txt") == {}


def test_process_tree_terminates_a_process_that_ignores_sigterm_with_its_children():
    code = ("import signal, subprocess, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(1)'])\n"
            "print('ready', flush=True)\n"
            "while True: time.sleep(1)\n")
    tree = ProcessTree.start([sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin"}, cwd=".")
    assert tree.stdout.readline().strip() == b"ready"
    members = tree.members()
    assert len(members) == 2
    started = time.monotonic()
    assert tree.terminate(grace_s=1.0, kill_wait_s=1.5)
    assert time.monotonic() - started < 3.0
    for proc in members:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    tree.close()


def test_process_tree_runs_in_its_own_group():
    tree = ProcessTree.start([sys.executable, "-c", "import time; time.sleep(30)"], env={}, cwd=".")
    try:
        if sys.platform != "win32":
            import os

            assert os.getpgid(tree.pid) == tree.pid != os.getpgid(0)
    finally:
        assert tree.terminate()
        tree.close()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.01)


def test_job_object_structures_have_the_windows_layout():
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert ctypes.sizeof(winjob.JOBOBJECT_BASIC_LIMIT_INFORMATION) == 64
        assert ctypes.sizeof(winjob.IO_COUNTERS) == 48
        assert ctypes.sizeof(winjob.JOBOBJECT_EXTENDED_LIMIT_INFORMATION) == 144
    assert winjob.available() == (sys.platform == "win32")
    if not winjob.available():
        with pytest.raises(OSError):
            winjob.JobObject()


_GUI_STAND_IN = """\
import sys, time
sys.path.insert(0, sys.argv[1])
from services.runs.process import ProcessTree
engine = ("import subprocess, sys, time\\n"
          "child = subprocess.Popen([sys.executable, '-c', 'import time\\\\nwhile True: time.sleep(1)'])\\n"
          "print(child.pid, flush=True)\\n"
          "while True: time.sleep(1)\\n")
tree = ProcessTree.start([sys.executable, "-c", engine], env={"PATH": "/usr/bin:/bin"}, cwd=".")
print(tree.pid, tree.stdout.readline().decode().strip(), flush=True)
while True:
    time.sleep(1)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="Windows ends the tree through the job object")
def test_the_engine_tree_dies_with_lora_studio(tmp_path):
    """SIGKILL the process that started the engine (a stand-in for a crashed GUI, launching through
    the real ProcessTree.start): the engine and the worker it started are gone within seconds."""
    import os
    import signal

    from tests.runs.conftest import _living_children

    root = str(Path(__file__).resolve().parents[2])
    gui = subprocess.Popen([sys.executable, "-c", _GUI_STAND_IN, root], stdout=subprocess.PIPE, text=True)
    try:
        engine_pid, worker_pid = (int(p) for p in gui.stdout.readline().split())
        engine, worker = psutil.Process(engine_pid), psutil.Process(worker_pid)
        assert os.getpgid(engine_pid) == engine_pid == os.getpgid(worker_pid)  # its own group, as before
        os.kill(gui.pid, signal.SIGKILL)
        gui.wait(5)

        def gone(proc: psutil.Process) -> bool:
            try:
                return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
            except psutil.Error:
                return True

        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline and not (gone(engine) and gone(worker)):
            _living_children(psutil.Process())  # reap the orphans the test's subreaper adopted
            time.sleep(0.05)
        assert gone(engine) and gone(worker)
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.wait()
        gui.stdout.close()


def test_a_normal_end_releases_the_guard_without_touching_the_group():
    tree = ProcessTree.start([sys.executable, "-c", "print('hi')"], env={}, cwd=".")
    guard = tree._guard
    assert tree.wait(10) == 0
    if sys.platform != "win32":
        assert guard is not None and guard.poll() is None  # it watches while the engine is ours
    tree.close()
    if guard is not None:
        assert guard.poll() == 0  # released: it ended itself, and was reaped
