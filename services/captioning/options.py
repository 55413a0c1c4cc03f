"""Captioner options declared as data: one declaration drives the dialog, the CLI and validation.

An ``Option`` says what a setting is (kind, default, range, choices), how to show it (label, group,
help) and when it applies (``enabled_when``). The dialog builds its form from these, the command
line builds its flags from them (``--general-threshold``), and both the GUI and the worker check
a job's values with ``coerce`` so a bad value is refused with a clear message before a model loads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.errors import UserInputError

# kinds of option
FLOAT, INT, BOOL, CHOICE, TEXT, TAG_LIST, REPLACEMENTS = (
    "float", "int", "bool", "choice", "text", "tag_list", "replacements")
KINDS = (FLOAT, INT, BOOL, CHOICE, TEXT, TAG_LIST, REPLACEMENTS)

REPLACEMENT_ARROW = "->"


@dataclass(frozen=True)
class Option:
    key: str  # snake_case; the JSON key and, with dashes, the CLI flag
    label: str
    kind: str
    default: Any
    help: str
    group: str = "General"
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    decimals: int = 2
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    # The option matters only while another option has one of these values: (key, (values...)).
    enabled_when: tuple[str, tuple[Any, ...]] | None = None
    # Shown by the spin box at its minimum (e.g. "no limit" for 0).
    special_value_text: str = ""
    placeholder: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.key}: unknown kind {self.kind!r}")
        if self.kind == CHOICE and self.default not in self.choice_values:
            raise ValueError(f"option {self.key}: default {self.default!r} is not one of its choices")

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def is_enabled(self, values: Mapping[str, Any]) -> bool:
        if self.enabled_when is None:
            return True
        other, allowed = self.enabled_when
        return values.get(other) in allowed


def _bad(option: Option, value: Any, why: str) -> UserInputError:
    return UserInputError(f"{option.label}: {value!r} {why}.", option.help)


def parse_tag_list(text: str) -> list[str]:
    """Tags typed as "a, b, c" (or one per line): stripped, empty ones dropped, order kept, no repeats."""
    parts = text.replace("\n", ",").split(",")
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def parse_replacements(text: str) -> list[list[str]]:
    """Replacements typed one per line (or separated by ";") as ``old -> new``."""
    pairs: list[list[str]] = []
    for line in text.replace(";", "\n").splitlines():
        if not line.strip():
            continue
        if REPLACEMENT_ARROW not in line:
            raise ValueError(f"{line.strip()!r} has no '{REPLACEMENT_ARROW}' (write: old tag -> new tag)")
        old, _, new = line.partition(REPLACEMENT_ARROW)
        if not old.strip():
            raise ValueError(f"{line.strip()!r} names no tag to replace")
        pairs.append([old.strip(), new.strip()])
    return pairs


def format_replacements(pairs: Iterable[Iterable[str]]) -> str:
    return "\n".join(f"{old} {REPLACEMENT_ARROW} {new}" for old, new in pairs)


def coerce(option: Option, value: Any) -> Any:
    """``value`` as the option's type, or a UserInputError naming the option and the problem."""
    kind = option.kind
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise _bad(option, value, "is not yes or no")
    if kind in (FLOAT, INT):
        if isinstance(value, bool):
            raise _bad(option, value, "is not a number")
        try:
            number = float(value) if kind == FLOAT else int(str(value).strip()) if isinstance(value, str) else value
        except (TypeError, ValueError):
            raise _bad(option, value, "is not a number") from None
        if kind == INT:
            if isinstance(number, float):
                if not number.is_integer():
                    raise _bad(option, value, "is not a whole number")
                number = int(number)
            if not isinstance(number, int):
                raise _bad(option, value, "is not a whole number")
        elif not math.isfinite(number):
            raise _bad(option, value, "is not a finite number")
        if option.minimum is not None and number < option.minimum:
            raise _bad(option, value, f"is below the minimum {option.minimum:g}")
        if option.maximum is not None and number > option.maximum:
            raise _bad(option, value, f"is above the maximum {option.maximum:g}")
        return number
    if kind == CHOICE:
        text = str(value)
        if text not in option.choice_values:
            raise _bad(option, value, "is not one of " + ", ".join(option.choice_values))
        return text
    if kind == TEXT:
        if not isinstance(value, str):
            raise _bad(option, value, "is not text")
        return value
    if kind == TAG_LIST:
        if isinstance(value, str):
            return parse_tag_list(value)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return parse_tag_list(",".join(value))
        raise _bad(option, value, "is not a list of tags")
    if kind == REPLACEMENTS:
        if isinstance(value, str):
            try:
                return parse_replacements(value)
            except ValueError as exc:
                raise UserInputError(f"{option.label}: {exc}.", option.help) from None
        if isinstance(value, (list, tuple)):
            pairs = []
            for pair in value:
                if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                        or not all(isinstance(p, str) for p in pair) or not pair[0].strip()):
                    raise _bad(option, pair, "is not an 'old -> new' pair")
                pairs.append([pair[0].strip(), pair[1].strip()])
            return pairs
        raise _bad(option, value, "is not a list of replacements")
    raise AssertionError(kind)  # pragma: no cover - __post_init__ refuses unknown kinds


def resolve(options: Iterable[Option], values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every option's value: the given one checked with ``coerce``, the default otherwise.

    Unknown keys are refused: a typo in a job or on the command line must not be ignored silently.
    """
    options = tuple(options)
    values = dict(values or {})
    known = {o.key for o in options}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserInputError(f"Unknown captioner option(s): {', '.join(unknown)}.",
                             "Known options: " + ", ".join(sorted(known)))
    return {o.key: coerce(o, values[o.key]) if o.key in values else coerce(o, o.default) for o in options}


def groups(options: Iterable[Option]) -> list[tuple[str, list[Option]]]:
    """The options grouped by ``group``, groups in order of first appearance."""
    out: dict[str, list[Option]] = {}
    for option in options:
        out.setdefault(option.group, []).append(option)
    return list(out.items())
