"""Detection and sampling: every provider opened in isolation, GPUs found once, read on demand.

``HardwareMonitor`` is what the GPU monitor's sampling thread drives (``open`` once, ``sample``
each tick, ``close``); ``detect_hardware()`` is the one-shot form for the system report, the
preflight and the CLI. Both are blocking: call them off the GUI thread.

One provider failing (a missing library, a driver bug, an exception in a reading) never stops the
others: its status says why, the others keep their GPUs. When two providers see the same GPU (amdsmi
and the amdgpu files), the first in the list keeps it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from services.hardware.model import GpuInfo, GpuReading, HardwareSnapshot, ProviderStatus, Sample
from services.hardware.provider import GpuProvider, safe_open
from services.hardware.sysfs import pci_display_devices
from services.hardware.system import SystemSampler, cpu_info, process_tree

log = logging.getLogger(__name__)
TREE_REFRESH_S = 5.0


def default_providers(root: Path = Path("/")) -> list[GpuProvider]:
    """Every provider this platform might have, most capable first per vendor."""
    from services.hardware.amd import AmdgpuSysfsProvider, AmdSmiProvider
    from services.hardware.intel import IntelSysfsProvider
    from services.hardware.nvidia import NvmlProvider

    return [NvmlProvider(), AmdSmiProvider(), AmdgpuSysfsProvider(root), IntelSysfsProvider(root)]


class HardwareMonitor:
    def __init__(self, providers: list[GpuProvider] | None = None, *, root: Path = Path("/"),
                 system: SystemSampler | None = None,
                 expand_pids: Callable[[int], set[int]] = process_tree) -> None:
        self.root = Path(root)
        self._providers = providers if providers is not None else default_providers(self.root)
        self._system = system
        self._expand = expand_pids
        self._active: list[tuple[GpuProvider, set[str]]] = []  # provider, keys of the GPUs it owns
        self.snapshot: HardwareSnapshot | None = None
        self._tree: tuple[int, float, frozenset[int]] = (0, 0.0, frozenset())  # pid, when, its process tree

    def open(self) -> HardwareSnapshot:
        statuses: list[ProviderStatus] = []
        gpus: list[GpuInfo] = []
        claimed: set[str] = set()
        for provider in self._providers:
            status = safe_open(provider)
            owned = []
            if status.available:
                try:
                    found = provider.devices()
                except Exception as exc:
                    found = []
                    status = ProviderStatus(provider.name, provider.vendor, False, f"could not list GPUs: {exc}")
                owned = [g for g in found if not (g.pci_bus and g.pci_bus in claimed)]
                if found and not owned:
                    status = ProviderStatus(provider.name, provider.vendor, True,
                                            status.message + " (already read by an earlier provider)", 0)
            if owned:
                self._active.append((provider, {g.key for g in owned}))
                gpus.extend(owned)
                claimed.update(g.pci_bus for g in owned if g.pci_bus)
            else:
                _close(provider)
            statuses.append(status)
        if self._system is None:
            self._system = SystemSampler()
        try:
            cpu = cpu_info()
        except Exception as exc:  # psutil on an exotic platform
            log.warning("CPU information unavailable: %r", exc)
            cpu = None
        unclaimed = [d for d in pci_display_devices(self.root) if d["pci_slot"] not in claimed]
        self.snapshot = HardwareSnapshot(cpu=cpu, gpus=gpus, providers=statuses, pci_display_devices=unclaimed)
        return self.snapshot

    @property
    def gpus(self) -> list[GpuInfo]:
        return list(self.snapshot.gpus) if self.snapshot else []

    def sample(self, watched_pid: int = 0) -> Sample:
        """One reading of everything. ``watched_pid`` is the training run's process (0: none); its
        descendants are watched too."""
        pids = self._watched_tree(watched_pid)
        readings: list[GpuReading] = []
        errors: list[str] = []
        for provider, keys in self._active:
            try:
                readings.extend(r for r in provider.read(pids) if r.key in keys)
            except Exception as exc:
                log.debug("provider %s failed to read: %r", provider.name, exc)
                errors.append(f"{provider.name}: {exc}")
        system = None
        try:
            system = self._system.read(pids) if self._system else None
        except Exception as exc:
            errors.append(f"system: {exc}")
        return Sample(time.monotonic(), system, tuple(readings), pids, tuple(errors))

    def _watched_tree(self, pid: int) -> frozenset[int]:
        """The watched process and its descendants. Finding descendants walks every process of the
        system (milliseconds), so the tree is refreshed every TREE_REFRESH_S seconds, not every tick:
        a run's children (accelerate's workers) appear once, at its start."""
        if pid <= 0:
            return frozenset()
        known_pid, when, tree = self._tree
        now = time.monotonic()
        if known_pid != pid or now - when >= TREE_REFRESH_S or not tree:
            tree = frozenset(self._expand(pid))
            self._tree = (pid, now, tree)
        return tree

    def close(self) -> None:
        for provider, _keys in self._active:
            _close(provider)
        self._active = []


def _close(provider: GpuProvider) -> None:
    try:
        provider.close()
    except Exception as exc:
        log.debug("provider %s failed to close: %r", provider.name, exc)


def detect_hardware(providers: list[GpuProvider] | None = None, *, root: Path = Path("/")) -> HardwareSnapshot:
    """Open every provider, take one reading of each GPU, close. Blocking (tens of milliseconds
    with a driver; NVML's first start can take a second): not on the GUI thread."""
    monitor = HardwareMonitor(providers, root=root)
    try:
        snapshot = monitor.open()
        snapshot.readings = list(monitor.sample().gpus)
        return snapshot
    finally:
        monitor.close()
