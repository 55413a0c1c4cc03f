"""How much VRAM a training run can count on: detected, or stated by the user when none is detected.

Used by the memory-profile suggestion and the training preflight. Detection wins when it found a
GPU with a known memory size (the largest one: that is the one a single-GPU run should use); when
it found none (no driver, an Intel GPU whose size the driver does not publish, a machine being
prepared for a GPU it does not have yet), the user's own figure (``settings.hardware.stated_vram_gb``,
set from the GPU monitor panel) is used, and said to be stated.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.hardware.model import GIB, GpuInfo, HardwareSnapshot

DETECTED = "detected"
STATED = "stated"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class VramAvailability:
    gb: float | None  # GiB, None when unknown
    source: str  # DETECTED, STATED or UNKNOWN
    device: str  # the GPU's name ("" when not detected)
    message: str  # one sentence for the preflight and the profile suggestion

    @property
    def known(self) -> bool:
        return self.gb is not None

    def as_dict(self) -> dict:
        return {"gb": self.gb, "source": self.source, "device": self.device, "message": self.message}


def vram_available(gpus: list[GpuInfo] | HardwareSnapshot | None, stated_gb: float = 0.0) -> VramAvailability:
    """The VRAM to plan with. ``gpus``: detected GPUs (or a snapshot); ``stated_gb``: the user's
    figure, 0 when not given (pass ``settings.hardware.stated_vram_gb``)."""
    if isinstance(gpus, HardwareSnapshot):
        gpus = gpus.gpus
    sized = [g for g in gpus or [] if g.memory_total]
    if sized:
        best = max(sized, key=lambda g: g.memory_total or 0)
        gb = round((best.memory_total or 0) / GIB, 1)
        more = f" (the largest of {len(sized)} GPUs)" if len(sized) > 1 else ""
        return VramAvailability(gb, DETECTED, best.name, f"{best.name}: {gb:g} GB of VRAM detected{more}.")
    if stated_gb and stated_gb > 0:
        return VramAvailability(float(stated_gb), STATED, "",
                                f"{stated_gb:g} GB of VRAM, as you stated it (no GPU memory was detected).")
    if gpus:
        return VramAvailability(None, UNKNOWN, gpus[0].name,
                                f"{gpus[0].name}: its driver does not report the memory size; "
                                "state it in the GPU monitor panel.")
    return VramAvailability(None, UNKNOWN, "", "No GPU detected; to plan for a GPU, state its VRAM in the "
                                               "GPU monitor panel.")


def detected_or_stated_vram(settings, snapshot: HardwareSnapshot | None = None) -> VramAvailability:
    """The same, from the app's settings; detects the hardware when no snapshot is given (blocking:
    call it from a worker, as the preflight does)."""
    if snapshot is None:
        from services.hardware.monitor import detect_hardware

        snapshot = detect_hardware()
    hardware = getattr(settings, "hardware", settings)
    return vram_available(snapshot, float(getattr(hardware, "stated_vram_gb", 0.0) or 0.0))
