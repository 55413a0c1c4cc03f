"""Which torch build to install for this machine: hardware facts in, one build (and why) out.

``choose_torch`` is a pure function of ``HardwareFacts`` and the build table in
torch_builds.toml, so every hardware case is a unit test. ``detect_facts`` fills the facts from
the hardware area's detection (NVML, amdsmi, sysfs), plus, on Windows, the display adapters
Windows lists (the only place an AMD or Intel GPU shows there). The user can override the choice
(``override="cpu"``, ``"cu126"``, ``"rocm"``, ...); an override that does not fit the hardware is
installed anyway, with a warning that says what will not work.
"""

from __future__ import annotations

import functools
import json
import logging
import platform
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.errors import UserInputError

log = logging.getLogger(__name__)

BUILDS_FILE = Path(__file__).with_name("torch_builds.toml")
KINDS = ("cuda", "rocm", "xpu", "cpu", "mps")
GIB = 1024 ** 3


def _version(text: str) -> tuple[int, ...]:
    """"570.86.10" -> (570, 86, 10); "12.8" -> (12, 8); "" -> ()."""
    return tuple(int(p) for p in re.findall(r"\d+", text or "")[:4])


# --- facts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GpuFacts:
    vendor: str                    # "nvidia" | "amd" | "intel" | "apple"
    name: str = ""
    driver_version: str = ""       # "570.86.10" (NVIDIA), "" when unknown
    driver_cuda: str = ""          # the highest CUDA version the driver supports ("12.8"), NVIDIA
    compute_capability: str = ""   # "8.6", NVIDIA
    memory_bytes: int | None = None
    device_id: str = ""            # PCI device id, "0x56a0"
    has_driver: bool = True        # False: seen on the PCI bus, no driver reports it


@dataclass(frozen=True)
class HardwareFacts:
    system: str                    # "linux" | "windows" | "darwin"
    machine: str = "x86_64"
    gpus: tuple[GpuFacts, ...] = ()
    notes: tuple[str, ...] = ()    # what detection could not do, for the wizard to show

    def as_dict(self) -> dict:
        return asdict(self)


# --- the build table -----------------------------------------------------------------------

@dataclass(frozen=True)
class CudaBuild:
    variant: str
    cuda: str
    min_driver_linux: str
    min_driver_windows: str
    min_capability: str
    max_capability: str
    auto: bool
    download_gb: float
    installed_gb: float

    def driver_ok(self, gpu: GpuFacts, system: str) -> bool | None:
        """True/False when known, None when neither the driver's CUDA nor its version is known."""
        if gpu.driver_cuda:
            return _version(gpu.driver_cuda) >= _version(self.cuda)
        if gpu.driver_version:
            needed = self.min_driver_windows if system == "windows" else self.min_driver_linux
            return _version(gpu.driver_version) >= _version(needed)
        return None

    def capability_ok(self, gpu: GpuFacts) -> bool | None:
        if not gpu.compute_capability:
            return None
        cc = _version(gpu.compute_capability)
        return _version(self.min_capability) <= cc <= _version(self.max_capability)


@dataclass(frozen=True)
class BuildTable:
    torch: str
    torchvision: str
    index_base: str
    common_download_gb: float
    common_installed_gb: float
    cuda: tuple[CudaBuild, ...]
    other: dict  # kind -> {"variant", "download_gb", "installed_gb", ...}

    def xpu_device(self, device_id: str) -> bool:
        if not device_id:
            return False
        value = int(device_id, 16)
        for span in self.other["xpu"].get("device_ids", []):
            lo, _, hi = span.partition("-")
            if int(lo, 16) <= value <= int(hi or lo, 16):
                return True
        return False


@functools.cache
def build_table(path: Path = BUILDS_FILE) -> BuildTable:
    import tomlkit

    raw = tomlkit.parse(Path(path).read_text(encoding="utf-8")).unwrap()
    cuda = tuple(CudaBuild(variant=c["variant"], cuda=c["cuda"], min_driver_linux=c["min_driver_linux"],
                           min_driver_windows=c["min_driver_windows"], min_capability=c["min_capability"],
                           max_capability=c["max_capability"], auto=bool(c.get("auto", True)),
                           download_gb=float(c["download_gb"]), installed_gb=float(c["installed_gb"]))
                 for c in raw["cuda"])
    return BuildTable(torch=raw["torch"], torchvision=raw["torchvision"], index_base=raw["index_base"].rstrip("/"),
                      common_download_gb=float(raw["common"]["download_gb"]),
                      common_installed_gb=float(raw["common"]["installed_gb"]), cuda=cuda,
                      other={k: raw[k] for k in ("rocm", "xpu", "cpu", "mps")})


# --- the choice ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TorchChoice:
    kind: str                      # "cuda" | "rocm" | "xpu" | "cpu" | "mps"
    variant: str                   # "cu128", "rocm7.1", "xpu", "cpu", "default" (PyPI)
    torch: str                     # "2.13.0"
    torchvision: str               # "0.28.0"
    index_url: str | None          # None: PyPI's own wheels
    reason: str                    # one sentence: why this build
    warnings: tuple[str, ...] = ()
    download_gb: float = 0.0       # torch alone; the plan adds the rest
    installed_gb: float = 0.0
    override: str = "auto"

    @property
    def packages(self) -> tuple[str, ...]:
        return (f"torch=={self.torch}", f"torchvision=={self.torchvision}")

    @property
    def expected_device(self) -> str:
        """What verification expects torch to see: "cuda", "rocm", "xpu", "mps" or "cpu"."""
        return self.kind

    @property
    def label(self) -> str:
        names = {"cuda": "NVIDIA CUDA", "rocm": "AMD ROCm", "xpu": "Intel XPU", "cpu": "CPU", "mps": "Apple Metal"}
        variant = "" if self.variant in ("cpu", "xpu", "default") else f", {self.variant}"
        return f"torch {self.torch} ({names[self.kind]}{variant})"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TorchChoice:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        fields["warnings"] = tuple(fields.get("warnings", ()))
        return cls(**fields)


@dataclass
class _Draft:
    kind: str
    variant: str
    reason: str
    warnings: list[str] = field(default_factory=list)


def _index(table: BuildTable, variant: str, kind: str) -> str | None:
    return None if kind == "mps" else f"{table.index_base}/{variant}"


def _sizes(table: BuildTable, kind: str, variant: str) -> tuple[float, float]:
    if kind == "cuda":
        build = next(b for b in table.cuda if b.variant == variant)
        return build.download_gb, build.installed_gb
    entry = table.other[kind]
    return float(entry["download_gb"]), float(entry["installed_gb"])


def _nvidia_driver_text(gpu: GpuFacts) -> str:
    if gpu.driver_cuda:
        return f"driver {gpu.driver_version or '?'} (supports CUDA up to {gpu.driver_cuda})"
    return f"driver {gpu.driver_version}" if gpu.driver_version else "no driver"


def _choose_cuda(table: BuildTable, gpus: list[GpuFacts], system: str, variant: str | None) -> _Draft:
    main = max(gpus, key=lambda g: g.memory_bytes or 0) if gpus else GpuFacts("nvidia")
    names = ", ".join(g.name or "NVIDIA GPU" for g in gpus)
    if variant:
        build = next((b for b in table.cuda if b.variant == variant), None)
        if build is None:
            raise UserInputError(f"There is no CUDA build {variant!r} of torch {table.torch}.",
                                 "Choose one of: " + ", ".join(b.variant for b in table.cuda) + ".")
        draft = _Draft("cuda", build.variant, f"{build.variant} as requested")
        if gpus:
            if build.driver_ok(main, system) is False:
                draft.warnings.append(f"The NVIDIA {_nvidia_driver_text(main)} is too old for CUDA {build.cuda}; "
                                      "torch will not see the GPU until the driver is updated.")
            if any(build.capability_ok(g) is False for g in gpus):
                draft.warnings.append(f"The {build.variant} wheels carry no code for {names} "
                                      f"(compute capability {main.compute_capability}).")
        else:
            draft.warnings.append("No NVIDIA GPU was detected; this build will run on the CPU only.")
        return draft

    auto = [b for b in table.cuda if b.auto]
    if not any(g.has_driver for g in gpus):
        build = auto[0]
        needed = build.min_driver_windows if system == "windows" else build.min_driver_linux
        return _Draft("cuda", build.variant, f"{names} found, with no NVIDIA driver loaded",
                      [f"Install the NVIDIA driver ({needed} or newer), then run Verify: "
                       "until then torch sees no GPU."])
    for build in auto:
        if all(build.capability_ok(g) is not False for g in gpus) and build.driver_ok(main, system) is not False:
            return _Draft("cuda", build.variant,
                          f"{names} with {_nvidia_driver_text(main)}: CUDA {build.cuda} fits")
    # Nothing fits every GPU: fit the main one, say what does not work.
    for build in auto:
        if build.capability_ok(main) is not False and build.driver_ok(main, system) is not False:
            return _Draft("cuda", build.variant,
                          f"{main.name} with {_nvidia_driver_text(main)}: CUDA {build.cuda} fits",
                          [f"CUDA {build.cuda} does not support every GPU here ({names}); "
                           f"training should use the {main.name}."])
    fitting = [b for b in auto if b.capability_ok(main) is not False] or auto
    build = min(fitting, key=lambda b: _version(b.cuda))
    needed = build.min_driver_windows if system == "windows" else build.min_driver_linux
    return _Draft("cuda", build.variant, f"{main.name}: CUDA {build.cuda} is the oldest build that supports it",
                  [f"The NVIDIA {_nvidia_driver_text(main)} is too old for torch {table.torch}'s CUDA builds; "
                   f"update the driver to {needed} or newer, then run Verify."])


def choose_torch(facts: HardwareFacts, override: str = "auto", *, table: BuildTable | None = None) -> TorchChoice:
    table = table or build_table()
    override = (override or "auto").strip().lower()
    nvidia = [g for g in facts.gpus if g.vendor == "nvidia"]
    amd = [g for g in facts.gpus if g.vendor == "amd"]
    intel = [g for g in facts.gpus if g.vendor == "intel"]
    arc = [g for g in intel if table.xpu_device(g.device_id) or "arc" in g.name.lower()]
    amd_discrete = [g for g in amd if g.memory_bytes is None or g.memory_bytes >= 2 * GIB]
    cuda_variants = {b.variant for b in table.cuda}

    if override not in ("auto", *KINDS, *cuda_variants):
        raise UserInputError(f"Unknown torch build {override!r}.",
                             "Choose auto, cpu, cuda, " + ", ".join(sorted(cuda_variants)) + ", rocm, xpu or mps.")
    if override == "cuda" or override in cuda_variants:
        draft = _choose_cuda(table, nvidia, facts.system, None if override == "cuda" else override)
        if override == "cuda" and not nvidia:
            draft.warnings.append("No NVIDIA GPU was detected; this build will run on the CPU only.")
        if override == "cuda":
            draft.reason += " (CUDA requested)"
    elif override == "rocm":
        draft = _Draft("rocm", table.other["rocm"]["variant"], "ROCm requested")
        if facts.system != "linux":
            raise UserInputError("PyTorch's ROCm builds run on Linux only.",
                                 "On this system choose the CPU build (or auto).")
        if not amd:
            draft.warnings.append("No AMD GPU was detected; this build will run on the CPU only.")
    elif override == "xpu":
        draft = _Draft("xpu", "xpu", "XPU requested")
        if not arc:
            draft.warnings.append("No Intel Arc GPU was detected; this build will run on the CPU only.")
    elif override == "mps":
        if facts.system != "darwin":
            raise UserInputError("The Metal (MPS) build exists on macOS only.", "Choose auto or cpu.")
        draft = _Draft("mps", "default", "Metal requested")
    elif override == "cpu":
        draft = _Draft("cpu", "cpu", "the CPU build was requested")
        if facts.system == "darwin":
            draft = _Draft("mps", "default", "macOS: PyPI's torch (CPU, and Metal on Apple silicon)")
    # --- automatic ---
    elif facts.system == "darwin":
        draft = _Draft("mps", "default", "macOS: PyPI's torch, with Metal on Apple silicon")
    elif nvidia:
        draft = _choose_cuda(table, nvidia, facts.system, None)
    elif amd_discrete and facts.system == "linux":
        names = ", ".join(g.name or "AMD GPU" for g in amd_discrete)
        draft = _Draft("rocm", table.other["rocm"]["variant"], f"{names} on Linux: the ROCm build",
                       ["ROCm supports the Radeon RX 6000/7000/9000 and Instinct series; on other AMD GPUs "
                        "torch may not see the GPU (verification will say so)."]
                       + ([] if all(g.has_driver for g in amd_discrete)
                          else ["The amdgpu driver does not report this GPU; load it, then run Verify."]))
    elif arc:
        names = ", ".join(g.name or f"Intel GPU {g.device_id}" for g in arc)
        draft = _Draft("xpu", "xpu", f"{names}: the XPU build")
    else:
        draft = _Draft("cpu", "cpu", "no GPU that torch can train on was detected: the CPU build")
        if amd_discrete:
            draft.warnings.append("An AMD GPU was found, but PyTorch's ROCm builds run on Linux only; "
                                  "on this system training runs on the CPU (very slowly).")
        elif intel or amd:
            draft.warnings.append("The integrated GPU found is not one torch can train on; training runs on the CPU.")
        else:
            draft.warnings.append("Training on the CPU works for small tests only; a real LoRA needs a GPU.")

    download, installed = _sizes(table, draft.kind, draft.variant)
    return TorchChoice(kind=draft.kind, variant=draft.variant, torch=table.torch, torchvision=table.torchvision,
                       index_url=_index(table, draft.variant, draft.kind), reason=draft.reason,
                       warnings=tuple(draft.warnings), download_gb=download, installed_gb=installed,
                       override=override)


# --- detection -----------------------------------------------------------------------------

def _system() -> str:
    return {"win32": "windows", "darwin": "darwin"}.get(sys.platform, "linux")


def facts_from_snapshot(snapshot, *, system: str | None = None, machine: str | None = None) -> HardwareFacts:
    """The hardware area's HardwareSnapshot (GPUs with drivers, and what the PCI bus shows) as facts."""
    vendors = {"NVIDIA": "nvidia", "AMD": "amd", "Intel": "intel"}
    gpus: list[GpuFacts] = []
    slots = {}
    for device in getattr(snapshot, "pci_display_devices", []) or []:
        slots[str(device.get("pci_slot", "")).lower()] = device
    claimed: set[str] = set()
    for gpu in getattr(snapshot, "gpus", []) or []:
        vendor = vendors.get(gpu.vendor)
        if vendor is None:
            continue
        slot = (gpu.pci_bus or "").lower()
        slot = slot[4:] if len(slot) == 16 and slot.startswith("0000") else slot  # NVML's 8-digit domain
        claimed.add(slot)
        driver = gpu.driver.split()[-1] if gpu.driver and re.search(r"\d", gpu.driver.split()[-1]) else ""
        gpus.append(GpuFacts(vendor=vendor, name=gpu.name, driver_version=driver if vendor == "nvidia" else "",
                             driver_cuda=gpu.cuda_version or "", compute_capability=gpu.compute_capability or "",
                             memory_bytes=gpu.memory_total, device_id=str(slots.get(slot, {}).get("device_id", ""))))
    for slot, device in slots.items():
        vendor = vendors.get(device.get("vendor"))
        if vendor and slot not in claimed and not any(g.vendor == vendor and g.has_driver for g in gpus):
            gpus.append(GpuFacts(vendor=vendor, name=device.get("name") or "", device_id=device.get("device_id", ""),
                                 has_driver=False))
    return HardwareFacts(system=system or _system(), machine=machine or platform.machine().lower(), gpus=tuple(gpus))


def _windows_adapters() -> list[GpuFacts]:
    """AMD and Intel display adapters as Windows lists them (NVML covers NVIDIA)."""
    from services.backend.proc import run_capture

    cmd = ["powershell", "-NoProfile", "-Command",
           "Get-CimInstance Win32_VideoController | Select-Object Name,AdapterRAM,PNPDeviceID | ConvertTo-Json"]
    try:
        out = run_capture(cmd, timeout=20).stdout
        rows = json.loads(out) if out.strip() else []
    except (OSError, ValueError) as exc:
        log.info("could not list the display adapters: %s", exc)
        return []
    found = []
    for row in rows if isinstance(rows, list) else [rows]:
        pnp = str(row.get("PNPDeviceID") or "").upper()
        match = re.search(r"VEN_([0-9A-F]{4}).*DEV_([0-9A-F]{4})", pnp)
        vendor = {"1002": "amd", "8086": "intel"}.get(match.group(1)) if match else None
        if vendor:
            memory = row.get("AdapterRAM")
            found.append(GpuFacts(vendor=vendor, name=str(row.get("Name") or ""),
                                  device_id=f"0x{match.group(2).lower()}",
                                  memory_bytes=int(memory) if isinstance(memory, int) and memory > 0 else None))
    return found


def detect_facts() -> HardwareFacts:
    """Detect the GPUs (blocking: NVML's first start can take a second; not on the GUI thread)."""
    from services.hardware.monitor import detect_hardware

    notes: list[str] = []
    try:
        snapshot = detect_hardware()
        facts = facts_from_snapshot(snapshot)
        notes.extend(p.message for p in snapshot.providers if not p.available and p.vendor == "NVIDIA")
    except Exception as exc:  # detection must never stop the setup: the user can still choose a build
        log.warning("hardware detection failed: %r", exc)
        facts = HardwareFacts(system=_system(), machine=platform.machine().lower())
        notes.append(f"Hardware detection failed ({exc}); choose the build yourself if the choice is wrong.")
    gpus = list(facts.gpus)
    if facts.system == "windows" and not any(g.vendor in ("amd", "intel") for g in gpus):
        gpus.extend(_windows_adapters())
    if facts.system == "darwin" and facts.machine in ("arm64", "aarch64"):
        gpus.append(GpuFacts(vendor="apple", name="Apple silicon GPU"))
    return HardwareFacts(system=facts.system, machine=facts.machine, gpus=tuple(gpus), notes=tuple(notes))
