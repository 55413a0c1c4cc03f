"""NVIDIA GPUs through NVML (the nvidia-ml-py package, which loads the driver's own library).

NVML comes with the NVIDIA driver on Linux and Windows; without the driver, ``nvmlInit`` raises
"library not found", which here is the ordinary answer "no NVIDIA GPU", not an error.
"""

from __future__ import annotations

import logging

from services.hardware.model import NVIDIA, GpuInfo, GpuReading, ProcessMemory, ProviderStatus
from services.hardware.provider import optional

log = logging.getLogger(__name__)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class NvmlProvider:
    name = "nvml"
    vendor = NVIDIA

    def __init__(self, nvml=None) -> None:
        # ``nvml`` is the pynvml module; None imports the real one when opened.
        self._nvml = nvml
        self._handles: list = []
        self._devices: list[GpuInfo] = []
        self._initialised = False

    # --- lifecycle -------------------------------------------------------------------------
    def open(self) -> ProviderStatus:
        if self._nvml is None:
            try:
                import pynvml
            except ImportError:
                return ProviderStatus(self.name, self.vendor, False,
                                      "nvidia-ml-py is not installed, so NVIDIA GPUs cannot be seen.")
            self._nvml = pynvml
        nvml = self._nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            return ProviderStatus(self.name, self.vendor, False, self._init_failure(exc))
        self._initialised = True
        try:
            count = nvml.nvmlDeviceGetCount()
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except nvml.NVMLError as exc:
            self.close()
            return ProviderStatus(self.name, self.vendor, False, f"NVML started but cannot list GPUs: {exc}")
        driver = _text(optional(nvml.nvmlSystemGetDriverVersion, default=""))
        cuda = optional(nvml.nvmlSystemGetCudaDriverVersion, default=None)
        cuda_text = f"{cuda // 1000}.{(cuda % 1000) // 10}" if isinstance(cuda, int) and cuda > 0 else ""
        self._devices = [self._describe(i, h, driver, cuda_text) for i, h in enumerate(self._handles)]
        message = (f"NVIDIA driver {driver}" + (f", CUDA {cuda_text}" if cuda_text else "")
                   + f": {count} GPU{'s' if count != 1 else ''}") if count else \
            f"NVIDIA driver {driver} is loaded but reports no GPU."
        return ProviderStatus(self.name, self.vendor, True, message, count)

    def _init_failure(self, exc) -> str:
        nvml = self._nvml
        if isinstance(exc, getattr(nvml, "NVMLError_LibraryNotFound", ())):
            return "No NVIDIA driver: the NVML library was not found."
        if isinstance(exc, getattr(nvml, "NVMLError_DriverNotLoaded", ())):
            return "The NVIDIA driver is installed but not loaded (a reboot usually fixes this)."
        if isinstance(exc, getattr(nvml, "NVMLError_NoPermission", ())):
            return "The NVIDIA driver refused access to NVML (no permission)."
        if isinstance(exc, getattr(nvml, "NVMLError_LibRmVersionMismatch", ())):
            return ("The NVIDIA driver library and kernel module have different versions "
                    "(a driver update is half-installed; reboot).")
        return f"NVML could not start: {exc}"

    def close(self) -> None:
        if self._initialised:
            self._initialised = False
            optional(self._nvml.nvmlShutdown)
        self._handles = []

    # --- facts -----------------------------------------------------------------------------
    def _describe(self, index: int, handle, driver: str, cuda: str) -> GpuInfo:
        nvml = self._nvml
        name = _text(optional(nvml.nvmlDeviceGetName, handle, default=f"NVIDIA GPU {index}"))
        memory = optional(nvml.nvmlDeviceGetMemoryInfo, handle)
        capability = optional(nvml.nvmlDeviceGetCudaComputeCapability, handle)
        pci = optional(nvml.nvmlDeviceGetPciInfo, handle)
        limit = optional(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
        unavailable = tuple(label for label, query, arg in (
            ("utilisation", nvml.nvmlDeviceGetUtilizationRates, ()),
            ("temperature", nvml.nvmlDeviceGetTemperature, (nvml.NVML_TEMPERATURE_GPU,)),
            ("power", nvml.nvmlDeviceGetPowerUsage, ()),
        ) if optional(query, handle, *arg) is None)
        return GpuInfo(
            key=f"nvml:{index}", vendor=NVIDIA, index=index, name=name, provider=self.name,
            memory_total=int(memory.total) if memory is not None else None,
            driver=f"nvidia {driver}".strip(), cuda_version=cuda,
            compute_capability=f"{capability[0]}.{capability[1]}" if capability else "",
            pci_bus=_text(pci.busId).lower() if pci is not None else "",
            uuid=_text(optional(nvml.nvmlDeviceGetUUID, handle, default="")),
            power_limit_w=limit / 1000 if isinstance(limit, (int, float)) else None,
            unavailable=unavailable)

    def devices(self) -> list[GpuInfo]:
        return list(self._devices)

    # --- readings --------------------------------------------------------------------------
    def read(self, watched_pids: frozenset[int] = frozenset()) -> list[GpuReading]:
        return [self._read_one(info, handle) for info, handle in zip(self._devices, self._handles)]

    def _read_one(self, info: GpuInfo, handle) -> GpuReading:
        nvml = self._nvml
        memory = optional(nvml.nvmlDeviceGetMemoryInfo, handle)
        rates = optional(nvml.nvmlDeviceGetUtilizationRates, handle)
        temperature = optional(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        power = optional(nvml.nvmlDeviceGetPowerUsage, handle)  # milliwatts
        limit = optional(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
        return GpuReading(
            key=info.key,
            utilisation=float(rates.gpu) if rates is not None else None,
            memory_used=int(memory.used) if memory is not None else None,
            memory_total=int(memory.total) if memory is not None else info.memory_total,
            temperature_c=float(temperature) if temperature is not None else None,
            power_w=power / 1000 if power is not None else None,
            power_limit_w=limit / 1000 if limit is not None else info.power_limit_w,
            clock_graphics_mhz=optional(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_GRAPHICS),
            clock_memory_mhz=optional(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_MEM),
            processes=self._processes(handle))

    def _processes(self, handle) -> tuple[ProcessMemory, ...]:
        nvml = self._nvml
        by_pid: dict[int, int | None] = {}
        # Training is a compute process; a graphics list is kept too (some drivers file a process
        # using both under graphics only). A pid in both keeps its larger figure.
        for query in (nvml.nvmlDeviceGetComputeRunningProcesses, nvml.nvmlDeviceGetGraphicsRunningProcesses):
            for process in optional(query, handle, default=[]) or []:
                used = getattr(process, "usedGpuMemory", None)
                previous = by_pid.get(process.pid)
                if process.pid not in by_pid or (used is not None and (previous is None or used > previous)):
                    by_pid[process.pid] = int(used) if used is not None else None
        return tuple(ProcessMemory(pid, used) for pid, used in sorted(by_pid.items()))
