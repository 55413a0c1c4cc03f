"""Builders of fake sysfs / procfs trees in a temporary folder, shaped like the kernel's, for the
sysfs providers (a test fixture: the providers read these files exactly as they read /sys)."""

from __future__ import annotations

import os
from pathlib import Path

GIB = 1024 ** 3


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def pci_device(root: Path, slot: str, vendor: str, device: str, *, driver: str = "", klass: str = "0x030000") -> Path:
    """/sys/bus/pci/devices/<slot> with its class, ids and (optionally) a driver link."""
    base = root / "sys" / "bus" / "pci" / "devices" / slot
    write(base / "class", klass)
    write(base / "vendor", vendor)
    write(base / "device", device)
    if driver:
        target = root / "sys" / "bus" / "pci" / "drivers" / driver
        target.mkdir(parents=True, exist_ok=True)
        os.symlink(target, base / "driver")
        write(base / "uevent", f"DRIVER={driver}\nPCI_SLOT_NAME={slot}")
    return base


def drm_card(root: Path, number: int, slot: str, vendor: str, device: str, driver: str) -> tuple[Path, Path]:
    """/sys/class/drm/cardN -> the PCI device (symlinked as the kernel does), plus the connector
    and render-node entries that must be ignored. Returns (card folder, device folder)."""
    device_dir = pci_device(root, slot, vendor, device, driver=driver)
    drm = root / "sys" / "class" / "drm"
    card = drm / f"card{number}"
    card.mkdir(parents=True, exist_ok=True)
    os.symlink(device_dir, card / "device")
    (drm / f"card{number}-DP-1").mkdir(exist_ok=True)
    (drm / f"renderD{128 + number}").mkdir(exist_ok=True)
    return card, device_dir


def amdgpu_card(root: Path, number: int = 0, slot: str = "0000:03:00.0", *, vram_total: int = 16 * GIB,
                vram_used: int = 3 * GIB, busy: int = 42, product_name: str | None = None) -> tuple[Path, Path]:
    card, device = drm_card(root, number, slot, "0x1002", "0x73bf", "amdgpu")
    write(device / "mem_info_vram_total", str(vram_total))
    write(device / "mem_info_vram_used", str(vram_used))
    write(device / "gpu_busy_percent", str(busy))
    write(device / "unique_id", "0123456789abcdef")
    if product_name:
        write(device / "product_name", product_name)
    hwmon = device / "hwmon" / "hwmon4"
    write(hwmon / "name", "amdgpu")
    write(hwmon / "temp1_input", "54000")
    write(hwmon / "temp1_label", "edge")
    write(hwmon / "temp2_input", "61000")
    write(hwmon / "temp2_label", "junction")
    write(hwmon / "power1_average", "187000000")
    write(hwmon / "power1_cap", "255000000")
    write(hwmon / "freq1_input", "2250000000")
    write(hwmon / "freq1_label", "sclk")
    write(hwmon / "freq2_input", "1000000000")
    return card, device


def xe_card(root: Path, number: int = 1, slot: str = "0000:08:00.0", *,
            energy_uj: int = 1_000_000) -> tuple[Path, Path]:
    card, device = drm_card(root, number, slot, "0x8086", "0xe20b", "xe")
    write(device / "tile0" / "physical_vram_size_bytes", str(12 * GIB))
    write(device / "tile0" / "gt0" / "freq0" / "act_freq", "2850")
    hwmon = device / "hwmon" / "hwmon7"
    write(hwmon / "name", "xe")
    write(hwmon / "energy1_input", str(energy_uj))
    write(hwmon / "power1_max", "190000000")
    write(hwmon / "temp2_input", "48000")
    write(hwmon / "temp2_label", "pkg")
    return card, device


def i915_integrated_card(root: Path, number: int = 2, slot: str = "0000:00:02.0") -> tuple[Path, Path]:
    card, device = drm_card(root, number, slot, "0x8086", "0x46a6", "i915")
    write(card / "gt_act_freq_mhz", "1300")
    return card, device


def drm_client(root: Path, pid: int, fd: int, slot: str, client_id: int, lines: dict[str, str],
               target: str = "/dev/dri/renderD128") -> None:
    """/proc/<pid>/fd/<fd> -> a DRM node, and its fdinfo with the given drm-* keys."""
    fd_dir = root / "proc" / str(pid) / "fd"
    fd_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(target, fd_dir / str(fd))
    body = {"pos": "0", "flags": "02100002", "drm-driver": "amdgpu", "drm-pdev": slot,
            "drm-client-id": str(client_id), **lines}
    write(root / "proc" / str(pid) / "fdinfo" / str(fd), "\n".join(f"{k}:\t{v}" for k, v in body.items()))


def other_fd(root: Path, pid: int, fd: int, target: str) -> None:
    fd_dir = root / "proc" / str(pid) / "fd"
    fd_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(target, fd_dir / str(fd))
    write(root / "proc" / str(pid) / "fdinfo" / str(fd), "pos:\t0\nflags:\t02\ndrm-pdev:\t0000:03:00.0")


def pci_ids(root: Path) -> None:
    write(root / "usr" / "share" / "hwdata" / "pci.ids", "\n".join([
        "# a fragment of the pci.ids format",
        "1002  Advanced Micro Devices, Inc. [AMD/ATI]",
        "\t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]",
        "\t\t1002 0e3a  Radeon RX 6900 XT",
        "8086  Intel Corporation",
        "\te20b  Battlemage G21 [Arc B580]",
        "10de  NVIDIA Corporation",
        "\t2684  AD102 [GeForce RTX 4090]",
    ]))
