"""Running the install's subprocesses: lines streamed as they come, cancel kills the whole tree.

Each child runs in its own process group (its own console group on Windows) so that Cancel ends
pip and whatever pip started (build backends, git), not just the top process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from services.errors import OperationCancelled

# Variables of ours or of a frozen bundle that must not leak into the runtime's interpreter.
_DROP = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONNOUSERSITE", "__PYVENV_LAUNCHER__", "VIRTUAL_ENV",
         "QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH")


class CancelToken:
    """Set from any thread; long operations poll it and stop at the next chance."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise OperationCancelled()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a runtime subprocess: the user's (proxies, certificates, pip
    configuration stay), minus what would make another interpreter load our code or libraries.
    A PyInstaller bundle changes LD_LIBRARY_PATH and friends and keeps the originals in
    ``<NAME>_ORIG``; those are restored."""
    env = dict(os.environ)
    for name in _DROP:
        env.pop(name, None)
    if getattr(sys, "frozen", False):
        for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "LIBPATH"):
            original = env.pop(f"{name}_ORIG", None)
            if original is not None:
                env[name] = original
            else:
                env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    if extra:
        env.update(extra)
    return env


def _popen_group_kwargs() -> dict:
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
    return {"start_new_session": True}


def kill_tree(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """A polite stop to the whole group, then a kill."""
    if proc.poll() is not None:
        return
    if os.name == "nt":
        with contextlib.suppress(OSError):
            subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True, timeout=15)
    else:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace)


def run_streaming(cmd: Sequence[str | os.PathLike], *, on_line: Callable[[str], None], cwd: Path | None = None,
                  env: dict[str, str] | None = None, cancel: CancelToken | None = None,
                  timeout: float | None = None) -> int:
    """Run ``cmd`` with stdout and stderr merged, calling ``on_line`` for each line (``\\r``
    updates count as lines). Returns the exit code; raises OperationCancelled when cancelled
    (the process tree is gone by then) and TimeoutError after ``timeout`` seconds."""
    on_line("$ " + " ".join(str(c) for c in cmd))
    proc = subprocess.Popen([str(c) for c in cmd], cwd=str(cwd) if cwd else None,
                            env=env if env is not None else clean_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **_popen_group_kwargs())

    def pump() -> None:
        buffer = b""
        stream = proc.stdout
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(4096)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            for line in lines:
                if line.strip():
                    on_line(line.decode("utf-8", "replace").rstrip())
        if buffer.strip():
            on_line(buffer.decode("utf-8", "replace").rstrip())

    reader = threading.Thread(target=pump, name="backend-subprocess-output", daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout if timeout else None
    try:
        while proc.poll() is None:
            if cancel is not None and cancel.cancelled:
                kill_tree(proc)
                raise OperationCancelled()
            if deadline is not None and time.monotonic() > deadline:
                kill_tree(proc)
                raise TimeoutError(f"{Path(str(cmd[0])).name} did not finish within {timeout:.0f} s")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.1)
    except BaseException:
        kill_tree(proc)
        raise
    finally:
        reader.join(timeout=10)
        if proc.stdout:
            proc.stdout.close()
    return proc.returncode


def run_capture(cmd: Sequence[str | os.PathLike], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 60.0) -> subprocess.CompletedProcess:
    """A short command whose output is wanted whole (``git rev-parse``, ``python -c``)."""
    return subprocess.run([str(c) for c in cmd], cwd=str(cwd) if cwd else None,
                          env=env if env is not None else clean_env(), capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=timeout, stdin=subprocess.DEVNULL,
                          **({"creationflags": subprocess.CREATE_NO_WINDOW} if os.name == "nt" else {}))
