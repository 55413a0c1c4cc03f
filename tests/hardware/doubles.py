"""TEST DOUBLES for hardware this machine does not have. Nothing here is used by the product.

- ``ScriptedGpuProvider``: a GPU provider whose readings follow a deterministic script (smooth
  waves), for the monitor dock and the sampler.
- ``FakeNvml``: stands in for the ``pynvml`` module (same function names and signatures, the real
  pynvml exception classes) so the NVML provider's mapping can be checked without an NVIDIA GPU.
- ``FakeAmdSmi``: likewise for ROCm's ``amdsmi`` module (ROCm 6 answer shapes).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pynvml

from services.hardware.model import GIB, NVIDIA, GpuInfo, GpuReading, ProcessMemory, ProviderStatus


class ScriptedGpuProvider:
    """TEST DOUBLE: ``gpus`` GPUs whose utilisation, VRAM, temperature and power move in smooth
    waves, one step per ``read``. A watched pid is reported as using ``run_vram`` bytes on GPU 0."""

    vendor = NVIDIA

    def __init__(self, count: int = 1, *, name: str = "scripted", memory_gb: float = 24.0,
                 run_vram: int = 6 * GIB, fail_open: bool = False, fail_read_after: int | None = None,
                 first_bus: int = 1) -> None:
        self.name = name
        self.first_bus = first_bus
        self.count = count
        self.memory = int(memory_gb * GIB)
        self.run_vram = run_vram
        self.fail_open = fail_open
        self.fail_read_after = fail_read_after
        self.tick = 0
        self.opened = False
        self.closed = 0
        self.watched_seen: list[frozenset[int]] = []

    def open(self) -> ProviderStatus:
        if self.fail_open:
            raise RuntimeError("scripted open failure")
        self.opened = True
        return ProviderStatus(self.name, self.vendor, True, f"scripted: {self.count} GPUs", self.count)

    def devices(self) -> list[GpuInfo]:
        return [GpuInfo(key=f"{self.name}:{i}", vendor=self.vendor, index=i, name=f"Scripted GPU {i}",
                        provider=self.name, memory_total=self.memory, driver="scripted 1.0", cuda_version="12.4",
                        compute_capability="8.9", pci_bus=f"0000:{i + self.first_bus:02x}:00.0",
                        power_limit_w=300.0)
                for i in range(self.count)]

    def reading(self, i: int, tick: int, watched: frozenset[int]) -> GpuReading:
        phase = tick / 6 + i
        processes = tuple(ProcessMemory(pid, self.run_vram) for pid in sorted(watched)) if i == 0 else ()
        return GpuReading(
            key=f"{self.name}:{i}", utilisation=round(50 + 45 * math.sin(phase), 1),
            memory_used=int(self.memory * (0.2 + 0.15 * math.sin(phase / 2))) + self.run_vram * len(processes),
            memory_total=self.memory,
            temperature_c=round(60 + 15 * math.sin(phase / 3), 1), power_w=round(180 + 100 * math.sin(phase), 1),
            power_limit_w=300.0, clock_graphics_mhz=2100, clock_memory_mhz=10500, processes=processes)

    def read(self, watched_pids: frozenset[int] = frozenset()) -> list[GpuReading]:
        if self.fail_read_after is not None and self.tick >= self.fail_read_after:
            raise RuntimeError("scripted read failure")
        self.watched_seen.append(watched_pids)
        readings = [self.reading(i, self.tick, watched_pids) for i in range(self.count)]
        self.tick += 1
        return readings

    def close(self) -> None:
        self.closed += 1


class FakeNvml:
    """TEST DOUBLE for the pynvml module: one or more GPUs described by dicts; a value given as an
    exception class is raised by the matching query (as a real driver does for unsupported ones)."""

    NVMLError = pynvml.NVMLError
    NVMLError_LibraryNotFound = pynvml.NVMLError_LibraryNotFound
    NVMLError_DriverNotLoaded = pynvml.NVMLError_DriverNotLoaded
    NVMLError_NoPermission = pynvml.NVMLError_NoPermission
    NVMLError_LibRmVersionMismatch = pynvml.NVMLError_LibRmVersionMismatch
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_CLOCK_GRAPHICS = pynvml.NVML_CLOCK_GRAPHICS
    NVML_CLOCK_MEM = pynvml.NVML_CLOCK_MEM

    def __init__(self, gpus: list[dict], *, init_error: type[Exception] | None = None,
                 driver: str = "550.54.14", cuda: int = 12040) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.driver = driver
        self.cuda = cuda
        self.initialised = 0
        self.shutdowns = 0

    def _value(self, handle: int, key: str):
        value = self.gpus[handle][key]
        if isinstance(value, type) and issubclass(value, Exception):
            raise value()
        return value

    def nvmlInit(self):
        if self.init_error is not None:
            raise self.init_error()
        self.initialised += 1

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlSystemGetDriverVersion(self):
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self):
        return self.cuda

    def nvmlDeviceGetName(self, h):
        return self._value(h, "name")

    def nvmlDeviceGetUUID(self, h):
        return self._value(h, "uuid")

    def nvmlDeviceGetMemoryInfo(self, h):
        total, used = self._value(h, "memory")
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=self._value(h, "util"), memory=0)

    def nvmlDeviceGetTemperature(self, h, sensor):
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return self._value(h, "temp")

    def nvmlDeviceGetPowerUsage(self, h):
        return self._value(h, "power_mw")

    def nvmlDeviceGetEnforcedPowerLimit(self, h):
        return self._value(h, "limit_mw")

    def nvmlDeviceGetClockInfo(self, h, clock):
        return self._value(h, "clocks")[clock]

    def nvmlDeviceGetCudaComputeCapability(self, h):
        return self._value(h, "capability")

    def nvmlDeviceGetPciInfo(self, h):
        return SimpleNamespace(busId=self._value(h, "bus").encode())

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in self._value(h, "compute")]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h):
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in self._value(h, "graphics")]


def nvml_gpu(**overrides) -> dict:
    """A plausible RTX 4090 for FakeNvml, with any query overridden."""
    gpu = {"name": "NVIDIA GeForce RTX 4090", "uuid": "GPU-1234", "memory": (24 * GIB, 3 * GIB), "util": 87,
           "temp": 71, "power_mw": 312_500, "limit_mw": 450_000,
           "clocks": {pynvml.NVML_CLOCK_GRAPHICS: 2520, pynvml.NVML_CLOCK_MEM: 10501},
           "capability": (8, 9), "bus": "00000000:01:00.0", "compute": [(4242, 2 * GIB)], "graphics": []}
    gpu.update(overrides)
    return gpu


class AmdSmiLibraryException(Exception):
    pass


class FakeAmdSmi:
    """TEST DOUBLE for ROCm's amdsmi module, with ROCm 6 answer shapes ("N/A" for what is missing)."""

    AmdSmiLibraryException = AmdSmiLibraryException
    AmdSmiInitFlags = SimpleNamespace(INIT_AMD_GPUS=2)
    AmdSmiMemoryType = SimpleNamespace(VRAM=0, VIS_VRAM=1, GTT=2)
    AmdSmiTemperatureType = SimpleNamespace(EDGE=0, HOTSPOT=1, JUNCTION=1, VRAM=2)
    AmdSmiTemperatureMetric = SimpleNamespace(CURRENT=0)
    AmdSmiClkType = SimpleNamespace(GFX=0, MEM=4)

    def __init__(self, *, edge_temp="N/A", fail_init: bool = False) -> None:
        self.edge_temp = edge_temp
        self.fail_init = fail_init
        self.shut = 0

    def amdsmi_init(self, flags=None):
        if self.fail_init:
            raise AmdSmiLibraryException("AMDSMI_STATUS_INIT_ERROR")

    def amdsmi_shut_down(self):
        self.shut += 1

    def amdsmi_get_processor_handles(self):
        return ["h0"]

    def amdsmi_get_gpu_asic_info(self, h):
        return {"market_name": "AMD Radeon RX 7900 XTX", "vendor_id": "0x1002"}

    def amdsmi_get_gpu_driver_info(self, h):
        return {"driver_name": "amdgpu", "driver_version": "6.7.0"}

    def amdsmi_get_gpu_device_bdf(self, h):
        return "0000:03:00.0"

    def amdsmi_get_gpu_device_uuid(self, h):
        return "ff00-1234"

    def amdsmi_get_gpu_memory_total(self, h, kind):
        return 24 * GIB if kind == 0 else 256 * 1024 ** 2

    def amdsmi_get_gpu_memory_usage(self, h, kind):
        return 5 * GIB

    def amdsmi_get_gpu_activity(self, h):
        return {"gfx_activity": 64, "umc_activity": 20, "mm_activity": "N/A"}

    def amdsmi_get_power_info(self, h):
        return {"current_socket_power": "N/A", "average_socket_power": 245, "power_limit": 355}

    def amdsmi_get_temp_metric(self, h, kind, metric):
        if kind == 0:
            if self.edge_temp == "raise":
                raise AmdSmiLibraryException("AMDSMI_STATUS_NOT_SUPPORTED")
            return self.edge_temp
        return 78

    def amdsmi_get_clock_info(self, h, kind):
        return {"clk": 2400 if kind == 0 else 1250, "min_clk": 500, "max_clk": 2500}

    def amdsmi_get_gpu_process_list(self, h):
        return [{"name": "python3", "pid": 777, "mem": 4 * GIB,
                 "memory_usage": {"gtt_mem": 1024, "cpu_mem": 2048, "vram_mem": 4 * GIB}}]
