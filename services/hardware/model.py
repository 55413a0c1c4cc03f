"""What hardware detection produces: plain, JSON-ready values (no Qt, no driver objects).

Units are fixed so that every provider and every view agree: memory in bytes, utilisation in
percent (0-100), temperature in degrees Celsius, power in watts, clocks in MHz. A value a driver
does not offer is ``None`` (shown as "not available", never as 0).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

NVIDIA = "NVIDIA"
AMD = "AMD"
INTEL = "Intel"

GIB = 1024 ** 3


@dataclass(frozen=True)
class ProcessMemory:
    """One process's use of one GPU's memory."""
    pid: int
    used_bytes: int | None  # None: the driver does not say (NVML without permission, for example)
    name: str = ""


@dataclass(frozen=True)
class GpuInfo:
    """The facts of one GPU that do not change while the app runs."""
    key: str  # stable id across samples: "<provider>:<index or bus id>"
    vendor: str  # NVIDIA, AMD, Intel
    index: int  # the provider's own index (NVML's, amdsmi's, the DRM card number for sysfs)
    name: str
    provider: str  # which provider reads it ("nvml", "amdsmi", "amdgpu-sysfs", "intel-sysfs")
    memory_total: int | None = None
    driver: str = ""  # the driver's name and/or version
    cuda_version: str = ""  # the highest CUDA version the driver supports (NVIDIA)
    compute_capability: str = ""  # "8.6" (NVIDIA)
    pci_bus: str = ""
    uuid: str = ""
    power_limit_w: float | None = None
    unavailable: tuple[str, ...] = ()  # readings this provider cannot give for this GPU, said plainly

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["unavailable"] = list(self.unavailable)
        return data


@dataclass(frozen=True)
class GpuReading:
    """One moment of one GPU."""
    key: str
    utilisation: float | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    clock_graphics_mhz: int | None = None
    clock_memory_mhz: int | None = None
    processes: tuple[ProcessMemory, ...] = ()

    def memory_of(self, pids: set[int]) -> int | None:
        """Bytes used by the given processes on this GPU; None when none of them is listed or the
        driver does not say how much they use."""
        known = [p.used_bytes for p in self.processes if p.pid in pids and p.used_bytes is not None]
        return sum(known) if known else None

    def runs_on(self, pids: set[int]) -> bool:
        """Whether any of the processes holds memory on this GPU (even an unknown amount)."""
        return any(p.pid in pids for p in self.processes)

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["processes"] = [dataclasses.asdict(p) for p in self.processes]
        return data


@dataclass(frozen=True)
class CpuInfo:
    name: str
    physical_cores: int | None
    logical_cores: int | None
    max_frequency_mhz: float | None
    memory_total: int
    swap_total: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SystemReading:
    cpu_percent: float  # of all cores together, 0-100
    memory_used: int
    memory_total: int
    memory_available: int
    swap_used: int
    process_memory: int | None = None  # resident memory of the watched (training) processes
    process_cpu_percent: float | None = None  # of one core, like top: 200 = two cores busy

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ProviderStatus:
    """Whether a provider could run here, and in a sentence why not."""
    name: str
    vendor: str
    available: bool
    message: str
    gpu_count: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Sample:
    """One tick of the monitor: every GPU's reading, the system's, and the watched processes."""
    time: float  # time.monotonic()
    system: SystemReading | None
    gpus: tuple[GpuReading, ...] = ()
    watched_pids: frozenset[int] = frozenset()
    errors: tuple[str, ...] = ()  # a provider that failed this tick, in a sentence


@dataclass
class HardwareSnapshot:
    """The result of detection: what is there, and what each provider said."""
    cpu: CpuInfo | None
    gpus: list[GpuInfo] = field(default_factory=list)
    providers: list[ProviderStatus] = field(default_factory=list)
    pci_display_devices: list[dict] = field(default_factory=list)  # what the bus shows, driver or not
    readings: list[GpuReading] = field(default_factory=list)  # one reading taken at detection

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)

    def summary(self) -> str:
        """One sentence for the monitor and the report."""
        if self.gpus:
            names = ", ".join(g.name for g in self.gpus)
            return f"{len(self.gpus)} GPU{'s' if len(self.gpus) > 1 else ''}: {names}"
        return no_gpu_message(self.pci_display_devices)

    def as_dict(self) -> dict:
        return {"summary": self.summary(), "cpu": self.cpu.as_dict() if self.cpu else None,
                "gpus": [g.as_dict() for g in self.gpus], "providers": [p.as_dict() for p in self.providers],
                "pci_display_devices": list(self.pci_display_devices),
                "readings": [r.as_dict() for r in self.readings]}


def no_gpu_message(pci_display_devices: list[dict]) -> str:
    """No GPU is a normal state; say so, and say when a GPU is on the bus but no driver shows it."""
    unseen = [d for d in pci_display_devices if d.get("vendor") in (NVIDIA, AMD, INTEL)]
    if unseen:
        names = ", ".join(f"{d['vendor']} {d.get('device_id', '')}".strip() for d in unseen)
        return (f"No usable GPU: the PCI bus shows {names}, but no driver reports it. Install or load "
                "the GPU driver to train on it; until then training runs on the CPU.")
    return "No GPU detected. Training will run on the CPU, which is very slow but works for small tests."
