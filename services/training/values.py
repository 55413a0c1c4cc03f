"""Value resolution in layers, with the origin of every value.

    registry default  <  training profile  <  memory profile  <  user edit

``resolve`` returns a ``Resolved`` mapping (key -> value) that can also say where each value came
from and which layers set it. Keys are registry keys; the nested tables of a TOML file
(``[values.network_args]``) are flattened to ``network_args.conv_dim`` by ``flatten``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from services.training.families import Family, Mode
from services.training.registry import Registry, Selection, registry

NESTED_TABLES = ("network_args", "optimizer_args", "lr_scheduler_args", "accelerate")


class Origin(str, Enum):
    DEFAULT = "default"
    TRAINING_PROFILE = "training profile"
    MEMORY_PROFILE = "memory profile"
    USER = "user"

    @property
    def label(self) -> str:
        return self.value


@dataclass(frozen=True)
class Layer:
    origin: Origin
    value: Any
    source: str = ""  # e.g. the profile's id


class Resolved(Mapping):
    """The effective value of every registry parameter for one family and mode."""

    def __init__(self, family: Family, mode: Mode, layers: dict[str, list[Layer]],
                 unknown: dict[str, Layer], reg: Registry) -> None:
        self.family = Family(family)
        self.mode = Mode(mode)
        self._layers = layers
        self._values = {key: stack[-1].value for key, stack in layers.items()}
        self.unknown = unknown  # keys a profile or the user set that the registry does not know
        self._registry = reg

    # Mapping
    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def value(self, key: str) -> Any:
        return self._values[key]

    def origin(self, key: str) -> Origin:
        return self._layers[key][-1].origin

    def source(self, key: str) -> str:
        return self._layers[key][-1].source

    def layers(self, key: str) -> list[Layer]:
        """Every layer that gives this parameter a value, lowest first (the default always)."""
        return list(self._layers[key])

    def changed(self) -> dict[str, Any]:
        """Values that are not the registry default (what a profile or the user decided)."""
        return {k: v for k, v in self._values.items() if self.origin(k) is not Origin.DEFAULT}

    def selection(self) -> Selection:
        return Selection.from_values(self.family, self.mode, self._values)

    def applicable(self) -> dict[str, Any]:
        """Only the values of parameters that apply to this family/mode/algorithm/... and whose
        conditions hold."""
        sel = self.selection()
        return {p.key: self._values[p.key] for p in self._registry.applicable(sel, self._values)}

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def resolve(family: Family, mode: Mode, *, training: Mapping[str, Any] | None = None,
            memory: Mapping[str, Any] | None = None, user: Mapping[str, Any] | None = None,
            training_source: str = "", memory_source: str = "", reg: Registry | None = None) -> Resolved:
    """Stack the layers. ``training``/``memory``/``user`` are flat {key: value} mappings (see
    ``flatten``); a None value in the user layer means "not set" and still wins (the user cleared it)."""
    reg = reg or registry()
    family, mode = Family(family), Mode(mode)
    layers: dict[str, list[Layer]] = {
        p.key: [Layer(Origin.DEFAULT, p.default_for(family, mode))] for p in reg.parameters()}
    unknown: dict[str, Layer] = {}
    for origin, values, source in ((Origin.TRAINING_PROFILE, training, training_source),
                                   (Origin.MEMORY_PROFILE, memory, memory_source),
                                   (Origin.USER, user, "")):
        for key, value in (values or {}).items():
            layer = Layer(origin, value, source)
            if key in layers:
                layers[key].append(layer)
            else:
                unknown[key] = layer
    return Resolved(family, mode, layers, unknown, reg)


def flatten(table: Mapping[str, Any]) -> dict[str, Any]:
    """{"network_args": {"conv_dim": 8}, "seed": 1} -> {"network_args.conv_dim": 8, "seed": 1}."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if key in NESTED_TABLES and isinstance(value, Mapping):
            for sub, subvalue in value.items():
                flat[f"{key}.{sub}"] = _plain(subvalue)
        else:
            flat[str(key)] = _plain(value)
    return flat


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of ``flatten``: dotted keys back into sub-tables (for writing TOML)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        head, dot, tail = key.partition(".")
        if dot and head in NESTED_TABLES:
            out.setdefault(head, {})[tail] = value
        else:
            out[key] = value
    return out


def _plain(value: Any) -> Any:
    """tomlkit items to plain Python values."""
    if hasattr(value, "unwrap"):
        return value.unwrap()
    return value
