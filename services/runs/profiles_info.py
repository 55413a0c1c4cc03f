"""The memory profiles (training-core's library) as the preflight and the diagnosis need them: the
profile made for a GPU's VRAM, and the next one down from the profile a run used."""

from __future__ import annotations

import logging

import tomlkit

from services.runs.run_folder import RunFolder

log = logging.getLogger(__name__)


def _memory_profiles(family: str) -> list:
    try:
        from services.training.families import Family
        from services.training.profiles import ProfileKind, ProfileLibrary

        found = ProfileLibrary().list(ProfileKind.MEMORY, Family(family))
    except Exception as exc:  # no library, an unknown family: no names to offer
        log.debug("memory profiles unavailable: %s", exc)
        return []
    return sorted((p for p in found if p.builtin and p.vram_gb), key=lambda p: p.vram_gb[0])


def memory_profile_tiers(family: str) -> dict[float, str]:
    """{lowest VRAM a profile is made for (GB): its name}."""
    return {p.vram_gb[0]: p.name for p in _memory_profiles(family)}


def memory_context(run: RunFolder, family: str) -> tuple[str, str]:
    """(the memory profile the run's project used, the next lower one), names or ""."""
    try:
        snapshot = tomlkit.parse(run.project_path.read_text(encoding="utf-8")).unwrap()
        used = str((snapshot.get("training") or {}).get("memory_profile") or "")
    except Exception:
        return "", ""
    profiles = _memory_profiles(family)
    index = next((i for i, p in enumerate(profiles) if p.id == used), None)
    if index is None:
        return used, ""
    return profiles[index].name, profiles[index - 1].name if index > 0 else ""
