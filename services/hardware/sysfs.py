"""Reading the Linux kernel's GPU files: DRM cards in sysfs, hwmon sensors, per-process fdinfo.

Everything takes a ``root`` (``/`` on a real system) so the tests can build a fake tree of the
same shape in a temporary folder. Nothing here raises for a missing or unreadable file: the
kernel exposes different files per driver and version, so absence is normal and means None.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from services.hardware.model import AMD, INTEL, NVIDIA

VENDOR_IDS = {"0x10de": NVIDIA, "0x1002": AMD, "0x8086": INTEL}
_CARD = re.compile(r"^card(\d+)$")
_PCI_IDS = ("usr/share/hwdata/pci.ids", "usr/share/misc/pci.ids", "usr/share/pci.ids")


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def read_int(path: Path) -> int | None:
    text = read_text(path)
    if not text:
        return None
    try:
        return int(text.split()[0], 0)
    except ValueError:
        return None


@dataclass(frozen=True)
class DrmCard:
    number: int
    path: Path  # .../sys/class/drm/cardN
    device: Path  # .../cardN/device (the PCI device)
    vendor_id: str  # "0x1002"
    device_id: str  # "0x73bf"
    driver: str  # "amdgpu", "i915", "xe", "nvidia", ...
    pci_slot: str  # "0000:03:00.0"

    @property
    def vendor(self) -> str:
        return VENDOR_IDS.get(self.vendor_id, self.vendor_id)

    def hwmon(self) -> Path | None:
        """The first hwmon folder of the device (amdgpu, i915 and xe each register one)."""
        base = self.device / "hwmon"
        try:
            entries = sorted(p for p in base.iterdir() if p.name.startswith("hwmon"))
        except OSError:
            return None
        return entries[0] if entries else None


def _uevent(device: Path) -> dict[str, str]:
    text = read_text(device / "uevent") or ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _driver_of(device: Path) -> str:
    link = device / "driver"
    try:
        return Path(os.readlink(link)).name
    except OSError:
        return _uevent(device).get("DRIVER", "")


def _slot_of(device: Path) -> str:
    slot = _uevent(device).get("PCI_SLOT_NAME", "")
    if slot:
        return slot.lower()
    try:
        return device.resolve().name.lower()
    except OSError:
        return ""


def drm_cards(root: Path = Path("/"), vendor: str | None = None) -> list[DrmCard]:
    """The DRM cards (not connectors, not render nodes) whose device is a PCI device with a vendor
    id, optionally only those of one vendor (NVIDIA, AMD, Intel)."""
    base = Path(root) / "sys" / "class" / "drm"
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    cards = []
    for entry in entries:
        match = _CARD.match(entry.name)
        if not match:
            continue
        device = entry / "device"
        vendor_id = (read_text(device / "vendor") or "").lower()
        if not vendor_id:
            continue
        card = DrmCard(int(match.group(1)), entry, device, vendor_id, (read_text(device / "device") or "").lower(),
                       _driver_of(device), _slot_of(device))
        if vendor is None or card.vendor == vendor:
            cards.append(card)
    return sorted(cards, key=lambda c: c.number)


def pci_display_devices(root: Path = Path("/")) -> list[dict]:
    """Every display-class PCI device (class 0x03xxxx), with or without a driver: a GPU on the bus
    that no driver reports is worth a sentence ("install the driver")."""
    base = Path(root) / "sys" / "bus" / "pci" / "devices"
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return []
    found = []
    for device in entries:
        if not (read_text(device / "class") or "").lower().startswith("0x03"):
            continue
        vendor_id = (read_text(device / "vendor") or "").lower()
        device_id = (read_text(device / "device") or "").lower()
        found.append({"pci_slot": device.name.lower(), "vendor": VENDOR_IDS.get(vendor_id, vendor_id),
                      "vendor_id": vendor_id, "device_id": device_id, "driver": _driver_of(device),
                      "name": pci_device_name(vendor_id, device_id, root) or ""})
    return found


def pci_device_name(vendor_id: str, device_id: str, root: Path = Path("/")) -> str | None:
    """The marketing name from the system's pci.ids database (hwdata), when it is installed."""
    return _pci_names(str(root), vendor_id.lower().removeprefix("0x")).get(device_id.lower().removeprefix("0x"))


@functools.lru_cache(maxsize=16)
def _pci_names(root: str, vendor_hex: str) -> dict[str, str]:
    for relative in _PCI_IDS:
        path = Path(root) / relative
        try:
            handle = path.open(encoding="utf-8", errors="replace")
        except OSError:
            continue
        names: dict[str, str] = {}
        with handle:
            inside = False
            for line in handle:
                if not line.strip() or line.startswith("#"):
                    continue
                if not line.startswith("\t"):
                    if inside:
                        break
                    inside = line[:4].lower() == vendor_hex
                elif inside and not line.startswith("\t\t"):
                    device, _, name = line.strip().partition(" ")
                    names[device.lower()] = name.strip()
        return names
    return {}


# --- hwmon -------------------------------------------------------------------------------------

def hwmon_temperature(hwmon: Path | None, preferred_labels: tuple[str, ...] = ()) -> float | None:
    """Degrees Celsius from ``temp*_input`` (millidegrees): the first sensor whose label is in
    ``preferred_labels`` (in that order), else the lowest-numbered one."""
    if hwmon is None:
        return None
    try:
        inputs = sorted(hwmon.glob("temp*_input"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
    except OSError:
        return None
    labelled = {(read_text(p.with_name(p.name.replace("_input", "_label"))) or "").lower(): p for p in inputs}
    for label in preferred_labels:
        if label in labelled:
            value = read_int(labelled[label])
            if value is not None:
                return value / 1000
    for path in inputs:
        value = read_int(path)
        if value is not None:
            return value / 1000
    return None


def hwmon_watts(hwmon: Path | None, *names: str) -> float | None:
    """Watts from the first of the given microwatt files that exists and is not 0 (0 means
    "disabled" for limits and "no reading" for averages)."""
    if hwmon is None:
        return None
    for name in names:
        value = read_int(hwmon / name)
        if value:
            return value / 1_000_000
    return None


# --- per-process GPU memory from DRM fdinfo ------------------------------------------------------

_SIZE = re.compile(r"^(\d+)\s*(KiB|MiB|GiB)?$")
_UNITS = {None: 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}


def _size(text: str) -> int | None:
    match = _SIZE.match(text.strip())
    return int(match.group(1)) * _UNITS[match.group(2)] if match else None


def process_gpu_memory(pid: int, pci_slot: str, root: Path = Path("/"),
                       regions: tuple[str, ...] = ("vram", "local")) -> int | None:
    """Device memory a process holds on one GPU, from the DRM fdinfo files the kernel publishes
    (amdgpu, i915 and xe do): ``drm-resident-<region>`` (standard keys), else the amdgpu-specific
    ``drm-memory-vram``. Open file descriptions shared by several fds are counted once, by their
    ``drm-client-id``. None when the process has no client on that GPU or cannot be read."""
    proc = Path(root) / "proc" / str(pid)
    try:
        fds = list((proc / "fd").iterdir())
    except OSError:
        return None
    seen: set[str] = set()
    total: int | None = None
    for fd in fds:
        try:
            if not os.readlink(fd).startswith("/dev/dri/"):
                continue
        except OSError:
            continue
        info = _fdinfo(proc / "fdinfo" / fd.name)
        if info.get("drm-pdev", "").lower() != pci_slot or info.get("drm-client-id") in seen:
            continue
        seen.add(info.get("drm-client-id", fd.name))
        resident = [_size(v) for k, v in info.items()
                    if k.startswith("drm-resident-") and k[len("drm-resident-"):].startswith(regions)]
        legacy = [_size(v) for k, v in info.items() if k == "drm-memory-vram"]
        values = [v for v in (resident or legacy) if v is not None]
        if values:
            total = (total or 0) + sum(values)
    return total


def _fdinfo(path: Path) -> dict[str, str]:
    text = read_text(path) or ""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info
