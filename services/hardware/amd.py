"""AMD GPUs: through amdsmi when ROCm installed it, else through the amdgpu driver's sysfs files.

amdsmi (ROCm's Python binding) and the sysfs files are both Linux-only; on Windows AMD offers no
Python monitoring interface, and both providers say so instead of pretending there is no GPU.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from services.hardware import sysfs
from services.hardware.model import AMD, GpuInfo, GpuReading, ProcessMemory, ProviderStatus
from services.hardware.provider import optional

NOT_LINUX = ("AMD GPUs are read through ROCm's amdsmi or the amdgpu driver's files, which exist only "
             "on Linux; on {system} LoRA Studio cannot monitor an AMD GPU (training on it needs Linux "
             "with ROCm anyway).")


def _number(value) -> float | None:
    """amdsmi answers "N/A" (a string) for what a GPU lacks; anything not a number is None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class AmdSmiProvider:
    name = "amdsmi"
    vendor = AMD

    def __init__(self, amdsmi=None) -> None:
        self._amdsmi = amdsmi  # the amdsmi module; None imports the real one when opened
        self._handles: list = []
        self._devices: list[GpuInfo] = []
        self._initialised = False

    def open(self) -> ProviderStatus:
        if self._amdsmi is None:
            if not sys.platform.startswith("linux"):
                return ProviderStatus(self.name, self.vendor, False, NOT_LINUX.format(system=platform.system()))
            try:
                import amdsmi
            except ImportError:
                return ProviderStatus(self.name, self.vendor, False, "ROCm's amdsmi is not installed; "
                                      "AMD GPUs are read from the amdgpu driver's files instead.")
            except Exception as exc:  # OSError and others when libamd_smi.so cannot be loaded
                return ProviderStatus(self.name, self.vendor, False, f"amdsmi is installed but cannot load its "
                                      f"library ({exc}); the amdgpu driver's files are read instead.")
            self._amdsmi = amdsmi
        smi = self._amdsmi
        try:
            flags = getattr(getattr(smi, "AmdSmiInitFlags", None), "INIT_AMD_GPUS", None)
            smi.amdsmi_init(flags) if flags is not None else smi.amdsmi_init()
            self._initialised = True
            self._handles = list(smi.amdsmi_get_processor_handles())
        except Exception as exc:
            self.close()
            return ProviderStatus(self.name, self.vendor, False, f"amdsmi could not start: {exc}")
        self._devices = [self._describe(i, h) for i, h in enumerate(self._handles)]
        count = len(self._devices)
        message = f"amdsmi: {count} AMD GPU{'s' if count != 1 else ''}" if count else "amdsmi reports no AMD GPU."
        return ProviderStatus(self.name, self.vendor, True, message, count)

    def close(self) -> None:
        if self._initialised:
            self._initialised = False
            optional(self._amdsmi.amdsmi_shut_down)
        self._handles = []

    def devices(self) -> list[GpuInfo]:
        return list(self._devices)

    def _vram(self, handle, what: str) -> int | None:
        smi = self._amdsmi
        memory_type = getattr(getattr(smi, "AmdSmiMemoryType", None), "VRAM", None)
        if memory_type is None:
            return None
        call = smi.amdsmi_get_gpu_memory_total if what == "total" else smi.amdsmi_get_gpu_memory_usage
        value = _number(optional(call, handle, memory_type))  # bytes
        return int(value) if value is not None else None

    def _describe(self, index: int, handle) -> GpuInfo:
        smi = self._amdsmi
        asic = optional(smi.amdsmi_get_gpu_asic_info, handle, default={}) or {}
        driver = optional(smi.amdsmi_get_gpu_driver_info, handle, default={}) or {}
        power = optional(smi.amdsmi_get_power_info, handle, default={}) or {}
        return GpuInfo(
            key=f"amdsmi:{index}", vendor=AMD, index=index,
            name=str(asic.get("market_name") or f"AMD GPU {index}"), provider=self.name,
            memory_total=self._vram(handle, "total"),
            driver=f"{driver.get('driver_name', 'amdgpu')} {driver.get('driver_version', '')}".strip(),
            pci_bus=str(optional(smi.amdsmi_get_gpu_device_bdf, handle, default="") or "").lower(),
            uuid=str(optional(smi.amdsmi_get_gpu_device_uuid, handle, default="") or ""),
            power_limit_w=_watts(power.get("power_limit")))

    def read(self, watched_pids: frozenset[int] = frozenset()) -> list[GpuReading]:
        return [self._read_one(info, handle) for info, handle in zip(self._devices, self._handles)]

    def _read_one(self, info: GpuInfo, handle) -> GpuReading:
        smi = self._amdsmi
        activity = optional(smi.amdsmi_get_gpu_activity, handle, default={}) or {}
        power = optional(smi.amdsmi_get_power_info, handle, default={}) or {}
        temperature = None
        kinds = getattr(smi, "AmdSmiTemperatureType", None)
        metric = getattr(getattr(smi, "AmdSmiTemperatureMetric", None), "CURRENT", None)
        if kinds is not None and metric is not None:
            for kind in ("EDGE", "HOTSPOT", "JUNCTION"):
                if hasattr(kinds, kind):
                    temperature = _celsius(optional(smi.amdsmi_get_temp_metric, handle, getattr(kinds, kind), metric))
                    if temperature is not None:
                        break
        clocks = {}
        clock_types = getattr(smi, "AmdSmiClkType", None)
        for field, kind in (("gfx", "GFX"), ("mem", "MEM")):
            if clock_types is not None and hasattr(clock_types, kind):
                info_ = optional(smi.amdsmi_get_clock_info, handle, getattr(clock_types, kind), default={}) or {}
                clocks[field] = _number(info_.get("clk", info_.get("cur_clk")))
        return GpuReading(
            key=info.key, utilisation=_number(activity.get("gfx_activity")),
            memory_used=self._vram(handle, "used"), memory_total=self._vram(handle, "total") or info.memory_total,
            temperature_c=temperature,
            power_w=_watts(power.get("current_socket_power")) or _watts(power.get("average_socket_power")),
            power_limit_w=_watts(power.get("power_limit")) or info.power_limit_w,
            clock_graphics_mhz=int(clocks["gfx"]) if clocks.get("gfx") else None,
            clock_memory_mhz=int(clocks["mem"]) if clocks.get("mem") else None,
            processes=self._processes(handle))

    def _processes(self, handle) -> tuple[ProcessMemory, ...]:
        smi = self._amdsmi
        found = []
        for item in optional(smi.amdsmi_get_gpu_process_list, handle, default=[]) or []:
            # ROCm 6 returns dicts; ROCm 5 returned handles to look up one by one.
            details = item if isinstance(item, dict) else (
                optional(smi.amdsmi_get_gpu_process_info, handle, item, default={}) or {})
            pid = details.get("pid")
            if not isinstance(pid, int):
                continue
            vram = _number((details.get("memory_usage") or {}).get("vram_mem"))
            found.append(ProcessMemory(pid, int(vram) if vram is not None else None, str(details.get("name", ""))))
        return tuple(found)


def _watts(value) -> float | None:
    # amdsmi has answered in W (ROCm 6) and in microwatts (earlier); no GPU draws 5 kW.
    number = _number(value)
    if not number:
        return None
    return number / 1_000_000 if number > 5000 else number


def _celsius(value) -> float | None:
    # Degrees in ROCm 6, millidegrees in earlier bindings; no GPU runs at 1000 °C.
    number = _number(value)
    if number is None:
        return None
    return number / 1000 if number > 1000 else number


class AmdgpuSysfsProvider:
    """The amdgpu kernel driver's own files: enough for everything the monitor shows."""

    name = "amdgpu-sysfs"
    vendor = AMD

    def __init__(self, root: Path = Path("/")) -> None:
        self.root = Path(root)
        self._cards: list[sysfs.DrmCard] = []
        self._devices: list[GpuInfo] = []

    def open(self) -> ProviderStatus:
        if self.root == Path("/") and not sys.platform.startswith("linux"):
            return ProviderStatus(self.name, self.vendor, False, NOT_LINUX.format(system=platform.system()))
        self._cards = [c for c in sysfs.drm_cards(self.root, AMD) if c.driver == "amdgpu"]
        self._devices = [self._describe(c) for c in self._cards]
        count = len(self._devices)
        if not count:
            return ProviderStatus(self.name, self.vendor, False, "No AMD GPU with the amdgpu driver.")
        return ProviderStatus(self.name, self.vendor, True,
                              f"amdgpu driver: {count} GPU{'s' if count != 1 else ''}", count)

    def close(self) -> None:
        self._cards = []

    def devices(self) -> list[GpuInfo]:
        return list(self._devices)

    def _describe(self, card: sysfs.DrmCard) -> GpuInfo:
        name = (sysfs.read_text(card.device / "product_name")
                or sysfs.pci_device_name(card.vendor_id, card.device_id, self.root)
                or f"AMD GPU (PCI device {card.device_id})")
        version = sysfs.read_text(self.root / "sys" / "module" / "amdgpu" / "version") or \
            (f"kernel {platform.release()}" if self.root == Path("/") else "")
        hwmon = card.hwmon()
        unavailable = tuple(label for label, present in (
            ("utilisation", (card.device / "gpu_busy_percent").exists()),
            ("temperature", sysfs.hwmon_temperature(hwmon) is not None),
            ("power", sysfs.hwmon_watts(hwmon, "power1_average", "power1_input") is not None),
        ) if not present)
        return GpuInfo(
            key=f"amdgpu:{card.pci_slot or card.number}", vendor=AMD, index=card.number, name=name,
            provider=self.name, memory_total=sysfs.read_int(card.device / "mem_info_vram_total"),
            driver=f"amdgpu {version}".strip(), pci_bus=card.pci_slot,
            uuid=sysfs.read_text(card.device / "unique_id") or "",
            power_limit_w=sysfs.hwmon_watts(hwmon, "power1_cap"), unavailable=unavailable)

    def read(self, watched_pids: frozenset[int] = frozenset()) -> list[GpuReading]:
        return [self._read_one(info, card, watched_pids) for info, card in zip(self._devices, self._cards)]

    def _read_one(self, info: GpuInfo, card: sysfs.DrmCard, watched_pids: frozenset[int]) -> GpuReading:
        hwmon = card.hwmon()
        busy = sysfs.read_int(card.device / "gpu_busy_percent")
        sclk = sysfs.read_int(hwmon / "freq1_input") if hwmon else None  # Hz
        mclk = sysfs.read_int(hwmon / "freq2_input") if hwmon else None
        processes = []
        for pid in sorted(watched_pids):
            used = sysfs.process_gpu_memory(pid, card.pci_slot, self.root)
            if used is not None:
                processes.append(ProcessMemory(pid, used))
        return GpuReading(
            key=info.key, utilisation=float(busy) if busy is not None else None,
            memory_used=sysfs.read_int(card.device / "mem_info_vram_used"),
            memory_total=sysfs.read_int(card.device / "mem_info_vram_total") or info.memory_total,
            temperature_c=sysfs.hwmon_temperature(hwmon, ("edge", "junction")),
            power_w=sysfs.hwmon_watts(hwmon, "power1_average", "power1_input"),
            power_limit_w=sysfs.hwmon_watts(hwmon, "power1_cap") or info.power_limit_w,
            clock_graphics_mhz=sclk // 1_000_000 if sclk else None,
            clock_memory_mhz=mclk // 1_000_000 if mclk else None,
            processes=tuple(processes))
