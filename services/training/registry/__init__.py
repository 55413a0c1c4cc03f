"""The parameter registry: every training parameter, declared once, as data.

    from services.training.registry import registry, Selection
    reg = registry()
    for group in reg.groups():
        for param in reg.applicable(Selection(Family.SDXL, Mode.LORA, "lora"), values, group=group): ...

See docs/training-core-api.md for the whole API. The declarations are the ``decl_*`` modules.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from services.training.families import Family, Mode
from services.training.registry import (
    decl_accelerate,
    decl_advanced,
    decl_dataset,
    decl_logging,
    decl_lycoris,
    decl_memory,
    decl_model,
    decl_network,
    decl_optimizer,
    decl_sampling,
    decl_saving,
    decl_training,
)
from services.training.registry.spec import (
    GROUP_ORDER,
    LIST_TYPES,
    PATH_TYPES,
    UNSET,
    Condition,
    Group,
    Parameter,
    ParamType,
    Selection,
    Target,
)

__all__ = [
    "GROUP_ORDER", "LIST_TYPES", "PATH_TYPES", "UNSET", "Condition", "Group", "ParamType", "Parameter",
    "Registry", "Selection", "Target", "registry",
]

_DECLARATIONS = (decl_model, decl_dataset, decl_network, decl_lycoris, decl_optimizer, decl_training,
                 decl_memory, decl_sampling, decl_saving, decl_logging, decl_accelerate, decl_advanced)


class Registry:
    """An immutable, ordered collection of parameters (group order, then declaration order)."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        params = list(parameters)
        by_key: dict[str, Parameter] = {}
        for param in params:
            if param.key in by_key:
                raise ValueError(f"parameter {param.key!r} is declared twice")
            if param.type is ParamType.CHOICE and not param.choices:
                raise ValueError(f"choice parameter {param.key!r} has no choices")
            by_key[param.key] = param
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        self._params: tuple[Parameter, ...] = tuple(
            sorted(params, key=lambda p: order[p.group]))  # sorted() is stable: declaration order stays
        self._by_key = by_key

    # --- lookup -------------------------------------------------------------------------------
    def parameters(self) -> tuple[Parameter, ...]:
        return self._params

    def get(self, key: str) -> Parameter:
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"unknown training parameter {key!r}") from None

    def find(self, key: str) -> Parameter | None:
        return self._by_key.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def groups(self) -> tuple[Group, ...]:
        return GROUP_ORDER

    def in_group(self, group: Group) -> tuple[Parameter, ...]:
        return tuple(p for p in self._params if p.group is group)

    def with_target(self, target: Target) -> tuple[Parameter, ...]:
        return tuple(p for p in self._params if target in p.targets)

    # --- what applies ------------------------------------------------------------------------
    def applicable(self, selection: Selection, values: Mapping[str, Any] | None = None, *,
                   group: Group | None = None) -> list[Parameter]:
        """The parameters that apply to this family/mode/algorithm/optimizer/scheduler (and, given
        ``values``, whose conditions hold), in display order."""
        return [p for p in self._params
                if (group is None or p.group is group) and p.applies(selection, values)]

    def defaults(self, family: Family, mode: Mode) -> dict[str, Any]:
        """Our default of every parameter for this family and mode (None = not set)."""
        return {p.key: p.default_for(Family(family), Mode(mode)) for p in self._params}


@functools.cache
def registry() -> Registry:
    return Registry(p for module in _DECLARATIONS for p in module.PARAMETERS)
