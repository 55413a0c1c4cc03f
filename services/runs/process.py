"""Starting the engine as a process tree of its own, and ending all of it.

``accelerate launch`` starts the training script as a child, which starts data-loader workers;
killing only the first process would leave the others training (and holding the GPU). So the
engine starts in a new session / process group on POSIX and inside a job object on Windows, and
``ProcessTree.terminate()`` ends every member: a polite signal first (SIGTERM to the group; on
Windows CTRL_BREAK to the group), then, after a grace period, a kill of everything still there --
the group, each descendant found by psutil (a child may have left the group), and the job.
The whole stop takes at most ``grace_s + kill_wait_s`` (5 seconds by default).

If LoRA Studio itself dies (a crash, SIGKILL), nothing above runs. On Windows the job object's
KILL_ON_JOB_CLOSE ends the tree when the handle closes with the process. On POSIX a tiny guard
(``/bin/sh``, in a session of its own) waits on a pipe whose only writer is LoRA Studio: when
LoRA Studio goes, the pipe reaches end-of-file and the guard ends the engine's process group
(SIGTERM, then SIGKILL after the same grace). A normal end writes "release" to the pipe first.
Why not prctl(PR_SET_PDEATHSIG): it reaches only the direct child (``accelerate launch``, which
does not pass the signal on to the training script it started, so the process holding the GPU
would still be orphaned); it fires when the *thread* that started the child exits; it needs a
preexec_fn, which is unsafe in a process with threads; and it does not exist on macOS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

import psutil

from services.runs import winjob

log = logging.getLogger(__name__)

POLITE_GRACE_S = 3.0
KILL_WAIT_S = 1.5

# $1: the engine's process group. End of file on stdin (LoRA Studio died) ends that group; a line
# (LoRA Studio releasing the guard) ends the guard alone. Polls with `kill -0` so that it exits as
# soon as the group is gone, and kills what is left after the grace.
_GUARD_SCRIPT = (
    'if read -r _line; then exit 0; fi\n'
    'kill -TERM "-$1" 2>/dev/null || exit 0\n'
    'i=0\n'
    'while [ "$i" -lt "$2" ] && kill -0 "-$1" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done\n'
    'kill -KILL "-$1" 2>/dev/null\n'
    'exit 0\n')


def _start_guard(pgid: int) -> subprocess.Popen | None:
    """The process that ends group ``pgid`` when this process dies (see the module's doc)."""
    try:
        return subprocess.Popen(["/bin/sh", "-c", _GUARD_SCRIPT, "lora-studio-engine-guard", str(pgid),
                                 str(int(POLITE_GRACE_S * 10))],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # its own session: no terminal signal reaches it
    except OSError as exc:
        log.warning("could not start the engine's guard (%s); a crash of LoRA Studio would leave it running", exc)
        return None


class ProcessTree:
    def __init__(self, popen: subprocess.Popen, job: winjob.JobObject | None = None,
                 guard: subprocess.Popen | None = None) -> None:
        self.popen = popen
        self.pid = popen.pid
        self._job = job
        self._guard = guard
        self._known: dict[int, psutil.Process] = {}
        try:
            self._root = psutil.Process(popen.pid)
        except psutil.Error:
            self._root = None
        self._remember()

    @classmethod
    def start(cls, argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> ProcessTree:
        """Start ``argv`` with stdout and stderr merged into one pipe (the order a terminal shows)."""
        kwargs: dict = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = (subprocess.CREATE_NEW_PROCESS_GROUP
                                       | getattr(subprocess, "CREATE_NO_WINDOW", 0))
        else:
            kwargs["start_new_session"] = True
        popen = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0, **kwargs)
        job = None
        if winjob.available():
            try:
                job = winjob.JobObject()
                job.assign(popen)
            except OSError as exc:  # e.g. nested jobs on old Windows: fall back to psutil alone
                log.warning("could not put the engine in a job object (%s); stopping relies on psutil", exc)
                job = None
        guard = _start_guard(popen.pid) if sys.platform != "win32" else None
        return cls(popen, job, guard)

    @property
    def stdout(self):
        return self.popen.stdout

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    # --- membership -----------------------------------------------------------------------
    def _remember(self) -> list[psutil.Process]:
        """Every live member we can see now; remembered, so a child whose parent died (and which
        was re-parented away from the tree) is still ours to end."""
        if self._root is not None:
            with contextlib.suppress(psutil.Error):
                if self._root.is_running():
                    self._known.setdefault(self._root.pid, self._root)
                for child in self._root.children(recursive=True):
                    self._known.setdefault(child.pid, child)
        for proc in list(self._known.values()):
            with contextlib.suppress(psutil.Error):
                for child in proc.children(recursive=True):
                    self._known.setdefault(child.pid, child)
        alive = []
        for pid, proc in list(self._known.items()):
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
                    continue
            except psutil.Error:
                pass
            del self._known[pid]
        return alive

    def members(self) -> list[psutil.Process]:
        return self._remember()

    def refresh(self) -> None:
        """Called now and then while the run goes, so that the tree is known before it is needed."""
        self._remember()

    # --- ending -----------------------------------------------------------------------------
    def terminate(self, grace_s: float = POLITE_GRACE_S, kill_wait_s: float = KILL_WAIT_S) -> bool:
        """End the whole tree: polite signal, wait up to ``grace_s``, kill what is left. True when
        nothing of the tree remains."""
        started = time.monotonic()
        members = self._remember()
        self._polite(members)
        deadline = started + grace_s
        while time.monotonic() < deadline:
            members = self._remember()
            if not members:
                break
            psutil.wait_procs(members, timeout=min(0.1, max(0.0, deadline - time.monotonic())))
        members = self._remember()
        if members:
            log.info("engine did not stop within %.1f s; killing %d process(es)", grace_s, len(members))
            self._kill(members)
            psutil.wait_procs(members, timeout=kill_wait_s)
        self._reap_root(timeout=max(0.1, started + grace_s + kill_wait_s - time.monotonic()))
        remaining = self._remember()
        if remaining:
            log.error("processes of the engine survived a kill: %s", [p.pid for p in remaining])
        return not remaining

    def kill_leftovers(self) -> bool:
        """The root has exited; end anything it left behind (a worker that outlived it)."""
        members = self._remember()
        if members:
            log.info("the engine left %d process(es) behind; ending them", len(members))
            self._polite(members)
            _gone, alive = psutil.wait_procs(members, timeout=1.0)
            if alive:
                self._kill(alive)
                psutil.wait_procs(alive, timeout=KILL_WAIT_S)
        return not self._remember()

    def _polite(self, members: list[psutil.Process]) -> None:
        if sys.platform == "win32":
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.CTRL_BREAK_EVENT)
            return
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGTERM)
        for proc in members:  # members that left the group (a new session of their own)
            with contextlib.suppress(psutil.Error, OSError):
                if os.getpgid(proc.pid) != self.pid:
                    proc.terminate()

    def _kill(self, members: list[psutil.Process]) -> None:
        if self._job is not None:
            self._job.terminate()
        elif sys.platform != "win32":
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        for proc in members:
            with contextlib.suppress(psutil.Error):
                proc.kill()

    def _reap_root(self, timeout: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)

    def close(self) -> None:
        if self.popen.stdout is not None:
            with contextlib.suppress(OSError):
                self.popen.stdout.close()
        if self._job is not None:
            self._job.close()
            self._job = None
        self._release_guard()

    def _release_guard(self) -> None:
        guard, self._guard = self._guard, None
        if guard is None:
            return
        with contextlib.suppress(OSError, ValueError):
            guard.stdin.write(b"release\n")
            guard.stdin.close()
        try:
            guard.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            guard.kill()
            guard.wait()
