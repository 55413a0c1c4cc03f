"""The GPU providers: NVML's real code path on this machine, the mapping of each provider's answers,
the sysfs providers against fake sysfs trees built here."""

from __future__ import annotations

import pynvml
import pytest

from services.hardware import sysfs
from services.hardware.amd import AmdgpuSysfsProvider, AmdSmiProvider
from services.hardware.intel import NO_UTILISATION, IntelSysfsProvider
from services.hardware.model import AMD, GIB, INTEL, NVIDIA
from services.hardware.nvidia import NvmlProvider
from tests.hardware import fake_sysfs as fs
from tests.hardware.doubles import FakeAmdSmi, FakeNvml, nvml_gpu


def _nvml_loads() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


# --- NVML ------------------------------------------------------------------------------------

def test_nvml_real_library_on_this_machine():
    """The real pynvml, no double: here (no NVIDIA driver) "library not found" is a normal answer."""
    provider = NvmlProvider()
    status = provider.open()
    try:
        if _nvml_loads():  # a machine with an NVIDIA driver
            assert status.available and status.vendor == NVIDIA
            assert len(provider.devices()) == status.gpu_count
            assert all(r.memory_total for r in provider.read())
        else:
            assert not status.available
            assert status.message == "No NVIDIA driver: the NVML library was not found."
            assert provider.devices() == [] and provider.read() == []
    finally:
        provider.close()
        provider.close()  # twice is harmless


@pytest.mark.parametrize(("error", "expected"), [
    (pynvml.NVMLError_LibraryNotFound, "No NVIDIA driver"),
    (pynvml.NVMLError_DriverNotLoaded, "installed but not loaded"),
    (pynvml.NVMLError_NoPermission, "no permission"),
    (pynvml.NVMLError_LibRmVersionMismatch, "half-installed"),
    (pynvml.NVMLError_Unknown, "NVML could not start"),
])
def test_nvml_start_failures_are_explained(error, expected):
    fake = FakeNvml([nvml_gpu()], init_error=error)
    provider = NvmlProvider(fake)
    status = provider.open()
    assert not status.available and expected in status.message
    provider.close()
    assert fake.shutdowns == 0  # never shut down what did not start


def test_nvml_maps_every_reading_and_unit():
    fake = FakeNvml([nvml_gpu(), nvml_gpu(name=b"NVIDIA RTX A6000", bus="00000000:41:00.0",
                                          compute=[], graphics=[(99, None)])])
    provider = NvmlProvider(fake)
    status = provider.open()
    assert status.available and status.gpu_count == 2
    assert status.message == "NVIDIA driver 550.54.14, CUDA 12.4: 2 GPUs"
    first, second = provider.devices()
    assert (first.name, first.memory_total, first.compute_capability, first.cuda_version) == \
        ("NVIDIA GeForce RTX 4090", 24 * GIB, "8.9", "12.4")
    assert first.driver == "nvidia 550.54.14" and first.power_limit_w == 450.0
    assert first.pci_bus == "00000000:01:00.0" and first.uuid == "GPU-1234" and first.unavailable == ()
    assert second.name == "NVIDIA RTX A6000"  # bytes from older bindings are decoded
    reading, other = provider.read(frozenset({4242}))
    assert reading.utilisation == 87.0 and reading.temperature_c == 71.0
    assert reading.memory_used == 3 * GIB and reading.memory_total == 24 * GIB
    assert reading.power_w == 312.5 and reading.power_limit_w == 450.0
    assert (reading.clock_graphics_mhz, reading.clock_memory_mhz) == (2520, 10501)
    assert reading.memory_of({4242}) == 2 * GIB and reading.memory_of({1}) is None
    # A process whose memory the driver does not give (Windows WDDM) is listed with None.
    assert [(p.pid, p.used_bytes) for p in other.processes] == [(99, None)]
    assert other.memory_of({99}) is None
    provider.close()
    assert fake.shutdowns == 1


def test_nvml_unsupported_queries_become_none_not_failures():
    unsupported = pynvml.NVMLError_NotSupported
    fake = FakeNvml([nvml_gpu(temp=unsupported, power_mw=unsupported, util=unsupported, limit_mw=unsupported,
                              capability=unsupported, compute=unsupported,
                              graphics=[(5, 100), (5, 300)])], cuda=0)
    provider = NvmlProvider(fake)
    assert provider.open().message == "NVIDIA driver 550.54.14: 1 GPU"
    (info,) = provider.devices()
    assert info.unavailable == ("utilisation", "temperature", "power")
    assert info.compute_capability == "" and info.cuda_version == "" and info.power_limit_w is None
    (reading,) = provider.read()
    assert reading.temperature_c is None and reading.power_w is None and reading.utilisation is None
    assert reading.memory_used == 3 * GIB
    assert [(p.pid, p.used_bytes) for p in reading.processes] == [(5, 300)]  # the larger figure is kept
    provider.close()


def test_nvml_with_driver_but_no_gpu():
    provider = NvmlProvider(FakeNvml([]))
    status = provider.open()
    assert status.available and status.gpu_count == 0 and "reports no GPU" in status.message
    provider.close()


# --- amdsmi ----------------------------------------------------------------------------------

def test_amdsmi_is_absent_here_and_says_the_sysfs_files_are_used():
    status = AmdSmiProvider().open()
    assert not status.available
    assert "amdgpu driver's files" in status.message


def test_amdsmi_maps_rocm6_answers_with_na_values():
    fake = FakeAmdSmi()
    provider = AmdSmiProvider(fake)
    status = provider.open()
    assert status.available and status.gpu_count == 1
    (info,) = provider.devices()
    assert (info.name, info.vendor, info.memory_total, info.pci_bus) == \
        ("AMD Radeon RX 7900 XTX", AMD, 24 * GIB, "0000:03:00.0")
    assert info.driver == "amdgpu 6.7.0" and info.power_limit_w == 355
    (reading,) = provider.read()
    assert reading.utilisation == 64 and reading.memory_used == 5 * GIB
    assert reading.temperature_c == 78  # edge is "N/A": the next sensor answers
    assert reading.power_w == 245  # current is "N/A": the average answers
    assert (reading.clock_graphics_mhz, reading.clock_memory_mhz) == (2400, 1250)
    assert reading.memory_of({777}) == 4 * GIB
    provider.close()
    assert fake.shut == 1


def test_amdsmi_failures_are_isolated():
    assert AmdSmiProvider(FakeAmdSmi(edge_temp="raise")).open().available
    provider = AmdSmiProvider(FakeAmdSmi(edge_temp="raise"))
    provider.open()
    assert provider.read()[0].temperature_c == 78
    failing = AmdSmiProvider(FakeAmdSmi(fail_init=True))
    status = failing.open()
    assert not status.available and "AMDSMI_STATUS_INIT_ERROR" in status.message
    failing.close()


# --- amdgpu sysfs ----------------------------------------------------------------------------

def test_amdgpu_sysfs_reads_a_fake_card(tmp_path):
    fs.amdgpu_card(tmp_path)
    fs.pci_ids(tmp_path)
    provider = AmdgpuSysfsProvider(tmp_path)
    status = provider.open()
    assert status.available and status.gpu_count == 1
    (info,) = provider.devices()
    assert info.name == "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]"  # from pci.ids
    assert info.memory_total == 16 * GIB and info.pci_bus == "0000:03:00.0"
    assert info.power_limit_w == 255.0 and info.uuid == "0123456789abcdef" and info.unavailable == ()
    (reading,) = provider.read()
    assert reading.utilisation == 42.0 and reading.memory_used == 3 * GIB
    assert reading.temperature_c == 54.0 and reading.power_w == 187.0
    assert (reading.clock_graphics_mhz, reading.clock_memory_mhz) == (2250, 1000)
    provider.close()


def test_amdgpu_product_name_wins_and_missing_files_are_none(tmp_path):
    _card, device = fs.amdgpu_card(tmp_path, product_name="AMD Radeon PRO W7900")
    for name in ("gpu_busy_percent", "mem_info_vram_used"):
        (device / name).unlink()
    (device / "hwmon" / "hwmon4" / "power1_average").unlink()
    provider = AmdgpuSysfsProvider(tmp_path)
    provider.open()
    (info,) = provider.devices()
    assert info.name == "AMD Radeon PRO W7900"
    assert info.unavailable == ("utilisation", "power")
    (reading,) = provider.read()
    assert reading.utilisation is None and reading.memory_used is None and reading.power_w is None
    assert reading.memory_total == 16 * GIB and reading.temperature_c == 54.0


def test_amdgpu_per_process_vram_from_fdinfo(tmp_path):
    fs.amdgpu_card(tmp_path)
    slot = "0000:03:00.0"
    # The trainer: two fds on the same DRM client (counted once), one on another client.
    fs.drm_client(tmp_path, 500, 7, slot, 11, {"drm-memory-vram": "1048576 KiB", "drm-memory-gtt": "2048 KiB"})
    fs.drm_client(tmp_path, 500, 8, slot, 11, {"drm-memory-vram": "1048576 KiB"})
    fs.drm_client(tmp_path, 501, 3, slot, 12, {"drm-resident-vram": "512 MiB", "drm-memory-vram": "999 KiB"})
    fs.drm_client(tmp_path, 502, 3, "0000:09:00.0", 13, {"drm-memory-vram": "4 GiB"})  # another GPU
    fs.other_fd(tmp_path, 502, 4, "/home/user/data.bin")
    provider = AmdgpuSysfsProvider(tmp_path)
    provider.open()
    (reading,) = provider.read(frozenset({500, 501, 502, 9999}))
    assert {p.pid: p.used_bytes for p in reading.processes} == {500: GIB, 501: 512 * 1024 ** 2}
    assert reading.memory_of({500, 501}) == GIB + 512 * 1024 ** 2
    assert sysfs.process_gpu_memory(9999, slot, tmp_path) is None


def test_amdgpu_sysfs_without_amd_cards(tmp_path):
    fs.xe_card(tmp_path)
    status = AmdgpuSysfsProvider(tmp_path).open()
    assert not status.available and status.message == "No AMD GPU with the amdgpu driver."
    assert not AmdgpuSysfsProvider(tmp_path / "nothing").open().available


# --- Intel sysfs -----------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_intel_xe_card_power_from_energy_and_honest_gaps(tmp_path):
    _card, device = fs.xe_card(tmp_path, energy_uj=5_000_000)
    fs.pci_ids(tmp_path)
    clock = Clock()
    provider = IntelSysfsProvider(tmp_path, clock=clock)
    status = provider.open()
    assert status.available and status.message == "xe driver: 1 GPU"
    (info,) = provider.devices()
    assert (info.vendor, info.name, info.memory_total) == (INTEL, "Battlemage G21 [Arc B580]", 12 * GIB)
    assert info.power_limit_w == 190.0 and info.driver == "xe"
    assert NO_UTILISATION in info.unavailable
    (first,) = provider.read()
    assert first.power_w is None  # an energy counter needs two readings
    assert first.utilisation is None and first.memory_used is None  # not published: not invented
    assert first.temperature_c == 48.0 and first.clock_graphics_mhz == 2850 and first.memory_total == 12 * GIB
    clock.now += 2.0
    fs.write(device / "hwmon" / "hwmon7" / "energy1_input", str(5_000_000 + 240_000_000))
    (second,) = provider.read()
    assert second.power_w == pytest.approx(120.0)
    clock.now += 1.0
    fs.write(device / "hwmon" / "hwmon7" / "energy1_input", "10")  # the counter wrapped
    assert provider.read()[0].power_w is None
    provider.close()


def test_intel_integrated_and_process_memory(tmp_path):
    fs.i915_integrated_card(tmp_path)
    fs.drm_client(tmp_path, 42, 5, "0000:00:02.0", 3, {"drm-driver": "i915", "drm-total-local0": "0",
                                                        "drm-resident-local0": "256 MiB",
                                                        "drm-resident-system0": "1 GiB"})
    provider = IntelSysfsProvider(tmp_path)
    provider.open()
    (info,) = provider.devices()
    assert info.memory_total is None and "integrated" in info.name
    assert any(u.startswith("temperature") for u in info.unavailable)
    assert any(u.startswith("power") for u in info.unavailable)
    (reading,) = provider.read(frozenset({42}))
    assert reading.clock_graphics_mhz == 1300 and reading.temperature_c is None
    assert reading.memory_of({42}) == 256 * 1024 ** 2  # local memory only, not system memory


def test_intel_without_cards(tmp_path):
    fs.amdgpu_card(tmp_path)
    status = IntelSysfsProvider(tmp_path).open()
    assert not status.available and "No Intel GPU" in status.message


# --- sysfs helpers ---------------------------------------------------------------------------

def test_drm_cards_ignore_connectors_and_render_nodes(tmp_path):
    fs.amdgpu_card(tmp_path, 0)
    fs.xe_card(tmp_path, 1)
    cards = sysfs.drm_cards(tmp_path)
    assert [(c.number, c.vendor, c.driver, c.pci_slot) for c in cards] == [
        (0, AMD, "amdgpu", "0000:03:00.0"), (1, INTEL, "xe", "0000:08:00.0")]
    assert [c.number for c in sysfs.drm_cards(tmp_path, INTEL)] == [1]
    assert sysfs.drm_cards(tmp_path / "missing") == []


def test_pci_display_devices_include_gpus_without_a_driver(tmp_path):
    fs.pci_device(tmp_path, "0000:01:00.0", "0x10de", "0x2684")  # an NVIDIA GPU, no driver bound
    fs.pci_device(tmp_path, "0000:00:1f.3", "0x8086", "0x7a50", klass="0x040300")  # audio: ignored
    fs.pci_ids(tmp_path)
    (device,) = sysfs.pci_display_devices(tmp_path)
    assert device == {"pci_slot": "0000:01:00.0", "vendor": NVIDIA, "vendor_id": "0x10de", "device_id": "0x2684",
                      "driver": "", "name": "AD102 [GeForce RTX 4090]"}


def test_hwmon_helpers(tmp_path):
    hwmon = tmp_path / "hwmon0"
    fs.write(hwmon / "temp3_input", "70000")
    fs.write(hwmon / "temp10_input", "90000")
    fs.write(hwmon / "temp10_label", "mem")
    fs.write(hwmon / "power1_cap", "0")
    fs.write(hwmon / "power1_max", "not a number")
    assert sysfs.hwmon_temperature(hwmon) == 70.0
    assert sysfs.hwmon_temperature(hwmon, ("mem",)) == 90.0
    assert sysfs.hwmon_watts(hwmon, "power1_cap", "power1_max") is None
    assert sysfs.hwmon_temperature(None) is None and sysfs.hwmon_watts(None, "x") is None
