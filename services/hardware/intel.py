"""Intel GPUs (Arc and the integrated ones) through the i915 / xe drivers' sysfs files, on Linux.

What these drivers publish, and so what this shows: the VRAM size (xe: per tile; i915 only with
Intel's backport driver), the clock, the power (from an energy counter, so from the second reading
on), the temperature (xe on recent kernels), and each process's VRAM (DRM fdinfo). What they do
not publish is a utilisation figure (it needs the kernel's perf counters, as intel_gpu_top uses)
nor the VRAM used by all processes together; the monitor says so instead of showing a number.
Elsewhere (Windows, macOS) Intel offers no monitoring interface this app can use, and it says so.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

from services.hardware import sysfs
from services.hardware.model import INTEL, GpuInfo, GpuReading, ProcessMemory, ProviderStatus

DRIVERS = ("i915", "xe")
NOT_LINUX = ("Intel GPUs are read from the i915/xe driver files, which exist only on Linux; on {system} "
             "LoRA Studio cannot read an Intel GPU's utilisation, memory, temperature or power. "
             "The backend runtime's torch (XPU) still says whether training can use it.")
NO_UTILISATION = "utilisation (the i915/xe drivers publish none outside perf counters)"
NO_MEMORY_USED = "VRAM used by all processes (only each process's own is published)"


class IntelSysfsProvider:
    name = "intel-sysfs"
    vendor = INTEL

    def __init__(self, root: Path = Path("/"), clock=time.monotonic) -> None:
        self.root = Path(root)
        self._clock = clock
        self._cards: list[sysfs.DrmCard] = []
        self._devices: list[GpuInfo] = []
        self._energy: dict[str, tuple[float, int]] = {}  # key -> (time, microjoules) of the last read

    def open(self) -> ProviderStatus:
        if self.root == Path("/") and not sys.platform.startswith("linux"):
            return ProviderStatus(self.name, self.vendor, False, NOT_LINUX.format(system=platform.system()))
        self._cards = [c for c in sysfs.drm_cards(self.root, INTEL) if c.driver in DRIVERS]
        self._devices = [self._describe(c) for c in self._cards]
        count = len(self._devices)
        if not count:
            return ProviderStatus(self.name, self.vendor, False, "No Intel GPU with the i915 or xe driver.")
        return ProviderStatus(self.name, self.vendor, True,
                              f"{'/'.join(sorted({c.driver for c in self._cards}))} driver: "
                              f"{count} GPU{'s' if count != 1 else ''}", count)

    def close(self) -> None:
        self._cards = []
        self._energy.clear()

    def devices(self) -> list[GpuInfo]:
        return list(self._devices)

    def _vram_total(self, card: sysfs.DrmCard) -> int | None:
        if card.driver == "xe":
            tiles = [sysfs.read_int(p) for pattern in ("tile*/physical_vram_size_bytes",
                                                       "tile*/memory/physical_vram_size_bytes")
                     for p in sorted(card.device.glob(pattern))]
            sizes = [t for t in tiles if t]
            return sum(sizes) if sizes else None
        return sysfs.read_int(card.device / "lmem_total_bytes") or sysfs.read_int(card.path / "lmem_total_bytes")

    def _describe(self, card: sysfs.DrmCard) -> GpuInfo:
        total = self._vram_total(card)
        hwmon = card.hwmon()
        name = (sysfs.pci_device_name(card.vendor_id, card.device_id, self.root)
                or f"Intel GPU (PCI device {card.device_id})")
        # Only discrete cards register a hwmon device (their power and energy sensors).
        if total is None and hwmon is None:
            name += " (integrated: shares system memory)"
        unavailable = [NO_UTILISATION, NO_MEMORY_USED]
        if sysfs.hwmon_temperature(hwmon) is None:
            unavailable.append("temperature (not published by this driver/kernel)")
        if hwmon is None or sysfs.read_int(hwmon / "energy1_input") is None:
            unavailable.append("power (no energy counter)")
        return GpuInfo(
            key=f"intel:{card.pci_slot or card.number}", vendor=INTEL, index=card.number, name=name,
            provider=self.name, memory_total=total,
            driver=f"{card.driver} kernel {platform.release()}" if self.root == Path("/") else card.driver,
            pci_bus=card.pci_slot, power_limit_w=sysfs.hwmon_watts(hwmon, "power1_max", "power1_rated_max"),
            unavailable=tuple(unavailable))

    def read(self, watched_pids: frozenset[int] = frozenset()) -> list[GpuReading]:
        return [self._read_one(info, card, watched_pids) for info, card in zip(self._devices, self._cards)]

    def _clock_mhz(self, card: sysfs.DrmCard) -> int | None:
        xe_freq = card.device / "tile0" / "gt0" / "freq0"
        for path in (card.path / "gt_act_freq_mhz", card.path / "gt_cur_freq_mhz",
                     card.path / "gt" / "gt0" / "rps_act_freq_mhz", xe_freq / "act_freq", xe_freq / "cur_freq"):
            value = sysfs.read_int(path)
            if value:
                return value
        return None

    def _power(self, key: str, hwmon: Path | None) -> float | None:
        energy = sysfs.read_int(hwmon / "energy1_input") if hwmon else None  # microjoules
        if energy is None:
            return None
        now = self._clock()
        previous = self._energy.get(key)
        self._energy[key] = (now, energy)
        if previous is None or now <= previous[0] or energy < previous[1]:  # first read, or the counter wrapped
            return None
        return (energy - previous[1]) / 1_000_000 / (now - previous[0])

    def _read_one(self, info: GpuInfo, card: sysfs.DrmCard, watched_pids: frozenset[int]) -> GpuReading:
        hwmon = card.hwmon()
        processes = []
        for pid in sorted(watched_pids):
            used = sysfs.process_gpu_memory(pid, card.pci_slot, self.root)
            if used is not None:
                processes.append(ProcessMemory(pid, used))
        return GpuReading(
            key=info.key, memory_total=info.memory_total,
            temperature_c=sysfs.hwmon_temperature(hwmon, ("pkg", "package")),
            power_w=self._power(info.key, hwmon),
            power_limit_w=sysfs.hwmon_watts(hwmon, "power1_max", "power1_rated_max") or info.power_limit_w,
            clock_graphics_mhz=self._clock_mhz(card), processes=tuple(processes))
