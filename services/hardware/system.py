"""CPU and RAM through psutil, and the processes of a training run (the launched one and its children)."""

from __future__ import annotations

import platform
from pathlib import Path

import psutil

from services.hardware.model import CpuInfo, SystemReading


def cpu_name() -> str:
    """The processor's marketing name: /proc/cpuinfo on Linux, the platform's answer elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_info() -> CpuInfo:
    frequency = None
    try:
        freq = psutil.cpu_freq()
        frequency = float(freq.max or freq.current) if freq else None
    except (OSError, NotImplementedError, AttributeError):
        pass
    return CpuInfo(cpu_name(), psutil.cpu_count(logical=False), psutil.cpu_count(logical=True), frequency or None,
                   int(psutil.virtual_memory().total), int(psutil.swap_memory().total))


def process_tree(pid: int) -> set[int]:
    """The process and every descendant still running: ``accelerate launch`` starts the trainer as
    a child, and a multi-GPU run has one child per GPU. Empty when ``pid`` is gone."""
    try:
        root = psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return set()
    try:
        return {root.pid, *(child.pid for child in root.children(recursive=True))}
    except (psutil.Error, OSError):  # a child vanished mid-walk: the root is still worth watching
        return {root.pid}


class SystemSampler:
    """Readings of the whole machine, plus the memory and CPU of the watched processes. Keeps the
    psutil Process objects between calls: CPU percentages are measured from one call to the next."""

    def __init__(self) -> None:
        self._processes: dict[int, psutil.Process] = {}
        self._last_times = psutil.cpu_times()

    def _cpu_percent(self) -> float:
        # Measured here from psutil.cpu_times() deltas rather than with psutil.cpu_percent(), which
        # keys its state by threading.current_thread() and so registers a phantom Python thread
        # when called from a QThread.
        now = psutil.cpu_times()
        before, self._last_times = self._last_times, now
        idle_fields = ("idle", "iowait")
        idle = sum(getattr(now, f, 0.0) - getattr(before, f, 0.0) for f in idle_fields)
        total = sum(now) - sum(before)
        # guest time is already counted in user time on Linux
        total -= sum(getattr(now, f, 0.0) - getattr(before, f, 0.0) for f in ("guest", "guest_nice"))
        if total <= 0:
            return 0.0
        return max(0.0, min(100.0, 100.0 * (total - idle) / total))

    def read(self, watched_pids: frozenset[int] = frozenset()) -> SystemReading:
        memory = psutil.virtual_memory()
        rss, cpu = self._watched(watched_pids)
        return SystemReading(
            cpu_percent=self._cpu_percent(), memory_used=int(memory.total - memory.available),
            memory_total=int(memory.total), memory_available=int(memory.available),
            swap_used=int(psutil.swap_memory().used), process_memory=rss, process_cpu_percent=cpu)

    def _watched(self, pids: frozenset[int]) -> tuple[int | None, float | None]:
        for gone in set(self._processes) - pids:
            del self._processes[gone]
        if not pids:
            return None, None
        rss = 0
        cpu = 0.0
        alive = False
        for pid in pids:
            process = self._processes.get(pid)
            try:
                if process is None:
                    process = self._processes[pid] = psutil.Process(pid)
                    process.cpu_percent(None)
                with process.oneshot():
                    rss += process.memory_info().rss
                    cpu += process.cpu_percent(None)
                alive = True
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._processes.pop(pid, None)
        return (rss, cpu) if alive else (None, None)
