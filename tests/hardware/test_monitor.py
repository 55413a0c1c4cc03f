"""Detection and sampling: providers isolated from each other, this machine as it is, VRAM to plan with."""

from __future__ import annotations

import os
import subprocess
import sys

from services.hardware.model import GIB, GpuInfo, HardwareSnapshot, no_gpu_message
from services.hardware.monitor import HardwareMonitor, detect_hardware
from services.hardware.system import SystemSampler, process_tree
from services.hardware.vram import DETECTED, STATED, UNKNOWN, detected_or_stated_vram, vram_available
from services.settings import Settings
from tests.hardware import fake_sysfs as fs
from tests.hardware.doubles import ScriptedGpuProvider


def test_this_machine_has_no_gpu_and_says_so_but_knows_cpu_and_ram():
    snapshot = detect_hardware()
    if snapshot.gpus:  # pragma: no cover - a machine with a GPU
        assert snapshot.summary().startswith(f"{len(snapshot.gpus)} GPU")
        return
    assert snapshot.summary().startswith("No GPU detected.")
    assert {p.name for p in snapshot.providers} == {"nvml", "amdsmi", "amdgpu-sysfs", "intel-sysfs"}
    assert not any(p.available for p in snapshot.providers)
    assert snapshot.cpu.logical_cores >= 1 and snapshot.cpu.memory_total > 256 * 1024 ** 2
    assert snapshot.cpu.name
    data = snapshot.as_dict()
    assert data["gpus"] == [] and data["cpu"]["memory_total"] == snapshot.cpu.memory_total


def test_one_failing_provider_never_breaks_another(tmp_path):
    broken_open = ScriptedGpuProvider(name="broken", fail_open=True)
    broken_read = ScriptedGpuProvider(name="flaky", fail_read_after=1)
    good = ScriptedGpuProvider(2, name="good")
    monitor = HardwareMonitor([broken_open, broken_read, good], root=tmp_path)
    snapshot = monitor.open()
    statuses = {s.name: s for s in snapshot.providers}
    assert not statuses["broken"].available and "scripted open failure" in statuses["broken"].message
    # flaky claims the GPU on bus 01 first; good keeps only its GPU on bus 02.
    assert [g.key for g in snapshot.gpus] == ["flaky:0", "good:1"]
    first = monitor.sample()
    assert [r.key for r in first.gpus] == ["flaky:0", "good:1"] and first.errors == ()
    second = monitor.sample()
    assert [r.key for r in second.gpus] == ["good:1"]
    assert second.errors == ("flaky: scripted read failure",)
    assert second.system is not None and second.system.memory_total > 0
    monitor.close()
    assert broken_read.closed == 1 and good.closed == 1


def test_the_same_gpu_seen_by_two_providers_is_kept_by_the_first(tmp_path):
    first = ScriptedGpuProvider(1, name="amdsmi-like")
    second = ScriptedGpuProvider(1, name="sysfs-like")
    monitor = HardwareMonitor([first, second], root=tmp_path)
    snapshot = monitor.open()
    assert [g.key for g in snapshot.gpus] == ["amdsmi-like:0"]
    assert "already read by an earlier provider" in snapshot.providers[1].message
    assert second.closed == 1  # the redundant provider is released at once
    monitor.close()


def test_watched_process_is_expanded_to_its_children():
    provider = ScriptedGpuProvider(1)
    monitor = HardwareMonitor([provider], expand_pids=lambda pid: {pid, pid + 1})
    monitor.open()
    sample = monitor.sample(watched_pid=300)
    assert sample.watched_pids == frozenset({300, 301})
    assert provider.watched_seen[-1] == frozenset({300, 301})
    assert sample.gpus[0].memory_of(set(sample.watched_pids)) == 6 * GIB * 2
    assert monitor.sample(watched_pid=0).watched_pids == frozenset()
    monitor.close()


def test_the_watched_process_tree_is_refreshed_every_few_seconds_not_every_tick(monkeypatch):
    import services.hardware.monitor as monitor_module

    calls = []
    clock = [1000.0]
    monkeypatch.setattr(monitor_module.time, "monotonic", lambda: clock[0])
    monitor = HardwareMonitor([ScriptedGpuProvider(1)], expand_pids=lambda pid: calls.append(pid) or {pid, len(calls)})
    monitor.open()
    for _ in range(4):
        monitor.sample(watched_pid=50)
        clock[0] += 1.0
    assert calls == [50]  # once for four one-second ticks
    clock[0] += monitor_module.TREE_REFRESH_S
    assert monitor.sample(watched_pid=50).watched_pids == frozenset({50, 2})  # refreshed: a new child
    monitor.sample(watched_pid=60)  # another run: at once
    assert calls == [50, 50, 60]
    monitor.close()


def test_real_process_tree_and_system_reading_of_a_child():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree = process_tree(os.getpid())
        assert os.getpid() in tree and child.pid in tree, (tree, child.pid)
        sampler = SystemSampler()
        reading = sampler.read(frozenset({child.pid}))
        assert reading.process_memory > 1024 * 1024, reading
        assert reading.process_cpu_percent is not None, reading
        assert 0 <= reading.cpu_percent <= 100
        assert reading.memory_used + reading.memory_available == reading.memory_total
    finally:
        child.kill()
        child.wait()
    assert process_tree(child.pid) == set()
    assert SystemSampler().read(frozenset({child.pid})).process_memory is None


def test_fake_sysfs_machine_with_two_vendors_and_an_undriven_nvidia(tmp_path):
    from services.hardware.amd import AmdgpuSysfsProvider
    from services.hardware.intel import IntelSysfsProvider

    fs.amdgpu_card(tmp_path)
    fs.xe_card(tmp_path)
    fs.pci_device(tmp_path, "0000:01:00.0", "0x10de", "0x2684")
    snapshot = detect_hardware([AmdgpuSysfsProvider(tmp_path), IntelSysfsProvider(tmp_path)], root=tmp_path)
    assert [g.vendor for g in snapshot.gpus] == ["AMD", "Intel"]
    assert [d["pci_slot"] for d in snapshot.pci_display_devices] == ["0000:01:00.0"]
    assert len(snapshot.readings) == 2 and snapshot.readings[0].utilisation == 42.0
    assert snapshot.summary().startswith("2 GPUs: ")


def test_no_gpu_message_names_a_gpu_without_driver():
    assert "NVIDIA 0x2684" in no_gpu_message([{"vendor": "NVIDIA", "device_id": "0x2684"}])
    assert "Install or load the GPU driver" in no_gpu_message([{"vendor": "NVIDIA", "device_id": "0x2684"}])
    assert no_gpu_message([{"vendor": "0x1234", "device_id": "0x1111"}]).startswith("No GPU detected.")


def _gpu(name: str, memory: int | None) -> GpuInfo:
    return GpuInfo(key=name, vendor="NVIDIA", index=0, name=name, provider="t", memory_total=memory)


def test_vram_detected_wins_and_picks_the_largest():
    vram = vram_available([_gpu("small", 8 * GIB), _gpu("big", 24 * GIB)], stated_gb=12)
    assert (vram.gb, vram.source, vram.device) == (24.0, DETECTED, "big")
    assert "largest of 2 GPUs" in vram.message


def test_vram_stated_when_nothing_is_detected_and_unknown_otherwise():
    stated = vram_available([], stated_gb=12)
    assert (stated.gb, stated.source, stated.known) == (12.0, STATED, True)
    assert "as you stated it" in stated.message
    unsized = vram_available([_gpu("Arc", None)], stated_gb=0)
    assert (unsized.gb, unsized.source, unsized.device) == (None, UNKNOWN, "Arc")
    assert vram_available([_gpu("Arc", None)], stated_gb=16).source == STATED
    nothing = vram_available(None)
    assert not nothing.known and "state its VRAM" in nothing.message


def test_vram_from_settings_and_a_snapshot():
    settings = Settings()
    settings.hardware.stated_vram_gb = 10.0
    empty = HardwareSnapshot(cpu=None)
    assert detected_or_stated_vram(settings, empty).gb == 10.0
    assert detected_or_stated_vram(settings.hardware, HardwareSnapshot(cpu=None, gpus=[_gpu("g", 16 * GIB)])).gb == 16
    real = detected_or_stated_vram(settings)  # detects this machine
    assert real.source in (DETECTED, STATED)
    assert real.as_dict()["gb"] is not None
