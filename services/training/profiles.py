"""Training and memory profiles: TOML data files in ``profiles/`` (built in) and in the user's data
folder (saved from the app), listed, loaded, compared and saved here.

A profile file::

    [profile]
    kind = "training"            # or "memory"
    name = "Character"
    families = ["sdxl"]
    modes = ["lora"]             # optional: the modes it is meant for (default: all)
    vram_gb = [12, 16]           # memory profiles: the VRAM range it is made for
    description = "When to use it and why its values."

    [values]                     # registry keys; network_args etc. as sub-tables
    learning_rate = 1e-4
    [values.network_args]
    conv_dim = 8
    [mode.dreambooth.values]     # optional overrides for one mode
    learning_rate = 1e-6
    [why]                        # optional: one line per value, shown beside it
    learning_rate = "..."

Ids: ``<family>/<name>`` for built-in profiles (the file's path below profiles/<kind>/), and
``user/<name>`` for the user's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import tomlkit

from services.atomic import atomic_write_text
from services.errors import FileFormatError, UserInputError
from services.paths import app_dirs, profiles_dir
from services.training.families import ALL_FAMILIES, ALL_MODES, Family, Mode
from services.training.registry import Registry, registry
from services.training.value_types import range_problem, type_problem
from services.training.values import Origin, flatten, nest, resolve

USER_PREFIX = "user/"


class ProfileKind(str, Enum):
    TRAINING = "training"
    MEMORY = "memory"

    @property
    def origin(self) -> Origin:
        return Origin.TRAINING_PROFILE if self is ProfileKind.TRAINING else Origin.MEMORY_PROFILE


@dataclass(frozen=True)
class Profile:
    id: str
    kind: ProfileKind
    name: str
    description: str = ""
    families: frozenset = ALL_FAMILIES
    modes: frozenset = ALL_MODES
    values: Mapping[str, Any] = field(default_factory=dict)            # flat registry keys
    mode_values: Mapping[Mode, Mapping[str, Any]] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)
    vram_gb: tuple[float, float] | None = None
    path: Path | None = None

    @property
    def builtin(self) -> bool:
        return not self.id.startswith(USER_PREFIX)

    def applies_to(self, family: Family | None = None, mode: Mode | None = None) -> bool:
        return (family is None or Family(family) in self.families) and (mode is None or Mode(mode) in self.modes)

    def values_for(self, mode: Mode | None) -> dict[str, Any]:
        merged = dict(self.values)
        if mode is not None:
            merged.update(self.mode_values.get(Mode(mode), {}))
        return merged

    def problems(self, reg: Registry | None = None) -> list[str]:
        """Keys the registry does not know and values of the wrong type or out of range."""
        reg = reg or registry()
        out = []
        tables = [("values", self.values)] + [(f"mode.{m.value}.values", v) for m, v in self.mode_values.items()]
        for where, values in tables:
            for key, value in values.items():
                param = reg.find(key)
                if param is None:
                    out.append(f"{where}.{key}: not a known parameter")
                    continue
                problem = type_problem(param, value) or range_problem(param, value)
                if problem:
                    out.append(f"{where}.{key}: {problem}")
        return out


def parse_profile(text: str, profile_id: str, kind: ProfileKind | None = None, path: Path | None = None) -> Profile:
    """A profile from TOML text; raises FileFormatError with the reason."""
    where = str(path or profile_id)
    try:
        doc = tomlkit.parse(text).unwrap()
    except Exception as exc:  # tomlkit raises several parse error types
        raise FileFormatError(f"The profile {where} is not valid TOML: {exc}",
                              "Fix the file in a text editor or delete it.") from None
    head = doc.get("profile", {})
    if not isinstance(head, dict):
        raise FileFormatError(f"The profile {where} has no [profile] table.", "Add [profile] with kind and name.")
    try:
        found_kind = ProfileKind(head.get("kind", kind.value if kind else ""))
        families = frozenset(Family(f) for f in head.get("families", [f.value for f in Family]))
        modes = frozenset(Mode(m) for m in head.get("modes", [m.value for m in Mode]))
        mode_values = {Mode(m): flatten(t.get("values", {})) for m, t in doc.get("mode", {}).items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise FileFormatError(f"The profile {where} has an invalid [profile] entry: {exc}",
                              "kind is training or memory; families and modes use the names in the "
                              "built-in profiles.") from None
    if kind is not None and found_kind is not kind:
        raise FileFormatError(f"The profile {where} is a {found_kind.value} profile, not a {kind.value} one.")
    values = doc.get("values", {})
    if not isinstance(values, dict):
        raise FileFormatError(f"The profile {where}: [values] must be a table.")
    vram = head.get("vram_gb")
    return Profile(
        id=profile_id, kind=found_kind, name=str(head.get("name") or profile_id),
        description=str(head.get("description", "")).strip(), families=families, modes=modes,
        values=flatten(values), mode_values=mode_values,
        why={str(k): str(v) for k, v in flatten(doc.get("why", {})).items()},
        vram_gb=(float(vram[0]), float(vram[1])) if isinstance(vram, list) and len(vram) == 2 else None,
        path=path)


class ProfileLibrary:
    """The built-in profiles (``profiles/``) and the user's own (data folder ``profiles/``)."""

    def __init__(self, builtin_dir: Path | None = None, user_dir: Path | None = None) -> None:
        self.builtin_dir = Path(builtin_dir) if builtin_dir else profiles_dir()
        self.user_dir = Path(user_dir) if user_dir else app_dirs().data / "profiles"
        self._cache: dict[tuple[ProfileKind, str], Profile] | None = None
        self.load_errors: list[str] = []

    def _load_all(self) -> dict[tuple[ProfileKind, str], Profile]:
        if self._cache is None:
            found: dict[tuple[ProfileKind, str], Profile] = {}
            self.load_errors = []
            for kind in ProfileKind:
                for root, prefix in ((self.builtin_dir / kind.value, ""), (self.user_dir / kind.value, USER_PREFIX)):
                    if not root.is_dir():
                        continue
                    for path in sorted(root.rglob("*.toml")):
                        pid = prefix + path.relative_to(root).with_suffix("").as_posix()
                        try:
                            found[(kind, pid)] = parse_profile(path.read_text(encoding="utf-8"), pid, kind, path)
                        except (OSError, UnicodeDecodeError, FileFormatError) as exc:
                            self.load_errors.append(f"{path}: {exc}")
            self._cache = found
        return self._cache

    def refresh(self) -> None:
        self._cache = None

    def list(self, kind: ProfileKind, family: Family | None = None, mode: Mode | None = None) -> list[Profile]:
        kind = ProfileKind(kind)
        return [p for (k, _), p in self._load_all().items() if k is kind and p.applies_to(family, mode)]

    def get(self, kind: ProfileKind, profile_id: str) -> Profile:
        kind = ProfileKind(kind)
        profile = self._load_all().get((kind, profile_id))
        if profile is None:
            raise UserInputError(f"There is no {kind.value} profile named {profile_id!r}.",
                                 "Choose one of the listed profiles, or save the current values as a profile.")
        return profile

    def find(self, kind: ProfileKind, profile_id: str | None) -> Profile | None:
        if not profile_id:
            return None
        return self._load_all().get((ProfileKind(kind), profile_id))

    def suggest_memory(self, family: Family, vram_gb: float) -> Profile | None:
        """The memory profile of this family made for the given VRAM (the largest tier that fits)."""
        tiers = [p for p in self.list(ProfileKind.MEMORY, family) if p.builtin and p.vram_gb]
        fitting = [p for p in tiers if p.vram_gb[0] <= vram_gb]
        if not fitting:
            return min(tiers, key=lambda p: p.vram_gb[0], default=None)
        return max(fitting, key=lambda p: p.vram_gb[0])

    def save_user(self, kind: ProfileKind, name: str, values: Mapping[str, Any], *,
                  families: list[Family] | None = None, modes: list[Mode] | None = None,
                  description: str = "") -> Profile:
        """Write the user's profile (atomic); an existing one of the same name is replaced."""
        kind = ProfileKind(kind)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        if not slug:
            raise UserInputError("A profile needs a name with at least one letter or digit.")
        doc = tomlkit.document()
        head = tomlkit.table()
        head["kind"] = kind.value
        head["name"] = name
        if families:
            head["families"] = [Family(f).value for f in families]
        if modes:
            head["modes"] = [Mode(m).value for m in modes]
        head["description"] = description
        doc["profile"] = head
        doc["values"] = nest({k: v for k, v in values.items() if v is not None})
        path = self.user_dir / kind.value / f"{slug}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, tomlkit.dumps(doc))
        self.refresh()
        return self.get(kind, USER_PREFIX + slug)


# --- comparing and applying ---------------------------------------------------------------

@dataclass(frozen=True)
class ValueChange:
    key: str
    label: str
    old: Any
    new: Any
    old_origin: Origin
    new_origin: Origin


@dataclass(frozen=True)
class ProfileDiff:
    changes: list[ValueChange]        # effective values that change
    kept: list[ValueChange]           # values the profile sets but a user edit keeps (old == new)

    def __bool__(self) -> bool:
        return bool(self.changes)


def profile_diff(family: Family, mode: Mode, *, kind: ProfileKind, new: Profile | None,
                 training: Profile | None, memory: Profile | None, user: Mapping[str, Any],
                 drop_user_keys: bool = False, reg: Registry | None = None) -> ProfileDiff:
    """What would change if ``new`` replaced the current profile of this kind."""
    reg = reg or registry()
    before = _resolve(family, mode, training, memory, user, reg)
    new_training, new_memory = (new, memory) if kind is ProfileKind.TRAINING else (training, new)
    new_user = dict(user)
    if drop_user_keys and new is not None:
        for key in new.values_for(mode):
            new_user.pop(key, None)
    after = _resolve(family, mode, new_training, new_memory, new_user, reg)
    changes, kept = [], []
    for param in reg.parameters():
        key = param.key
        change = ValueChange(key, param.display_label, before[key], after[key], before.origin(key), after.origin(key))
        if before[key] != after[key]:
            changes.append(change)
        elif new is not None and key in new.values_for(mode) and after.origin(key) is Origin.USER:
            kept.append(change)
    return ProfileDiff(changes, kept)


def _resolve(family, mode, training: Profile | None, memory: Profile | None, user, reg):
    return resolve(family, mode, training=training.values_for(mode) if training else None,
                   memory=memory.values_for(mode) if memory else None, user=user,
                   training_source=training.id if training else "", memory_source=memory.id if memory else "",
                   reg=reg)
