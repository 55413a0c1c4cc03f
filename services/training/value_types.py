"""Type checks and conversions of parameter values, from the registry's declared types.

``type_problem`` says (in words) why a value does not fit its parameter; the project loader and
validation use it, so a wrong TOML type becomes a clear message instead of a late engine crash.
``from_text`` converts loosely typed input (importers, the command line) into the declared type.
"""

from __future__ import annotations

import math
from typing import Any

from services.training.registry import Parameter, ParamType

_NUMBER = (int, float)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, _NUMBER) and not isinstance(v, bool) and math.isfinite(v)


def type_problem(param: Parameter, value: Any) -> str | None:
    """None when ``value`` has the right type for ``param`` (None always fits: not set)."""
    if value is None:
        return None
    t = param.type
    if t is ParamType.BOOL:
        ok = isinstance(value, bool)
        want = "true or false"
    elif t is ParamType.INT:
        ok = _is_int(value)
        want = "a whole number"
    elif t is ParamType.FLOAT:
        ok = _is_number(value)
        want = "a number"
    elif t is ParamType.INT_OR_FLOAT:
        ok = _is_number(value)
        want = "a number of steps or a fraction below 1"
    elif t in (ParamType.STR, ParamType.TEXT, ParamType.FILE, ParamType.DIR, ParamType.PATH):
        ok = isinstance(value, str)
        want = "text"
    elif t is ParamType.CHOICE:
        kinds = {type(c) for c in param.choices}
        if param.open_choices:
            ok = isinstance(value, str) or value in param.choices
        else:
            ok = value in param.choices and type(value) in kinds
        want = "one of " + ", ".join(str(c) for c in param.choices)
    elif t is ParamType.RESOLUTION:
        ok = (_is_int(value) and value > 0) or (
            isinstance(value, list) and len(value) == 2 and all(_is_int(v) and v > 0 for v in value))
        want = "a size in pixels (1024) or [width, height]"
    elif t is ParamType.FLOAT_PAIR:
        ok = isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
        want = "two numbers [low, high]"
    elif t is ParamType.FLOAT_LIST:
        ok = isinstance(value, list) and all(_is_number(v) for v in value)
        want = "a list of numbers"
    elif t in (ParamType.STR_LIST, ParamType.FILE_LIST):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        want = "a list of text"
    elif t is ParamType.KV_LIST:
        ok = isinstance(value, list) and all(isinstance(v, str) and "=" in v for v in value)
        want = "a list of name=value texts"
    else:  # pragma: no cover - every type is handled above
        ok, want = False, str(t)
    if ok:
        return None
    return f"expects {want}, got {_show(value)}"


def range_problem(param: Parameter, value: Any) -> str | None:
    """None when a number (or each number of a list) is within the declared range."""
    if value is None or (param.minimum is None and param.maximum is None):
        return None
    numbers = value if isinstance(value, list) else [value]
    for number in numbers:
        if not _is_number(number):
            continue
        if param.minimum is not None:
            if param.min_exclusive and number <= param.minimum:
                return f"must be greater than {_fmt(param.minimum)}, is {_fmt(number)}"
            if not param.min_exclusive and number < param.minimum:
                return f"must be at least {_fmt(param.minimum)}, is {_fmt(number)}"
        if param.maximum is not None and number > param.maximum:
            return f"must be at most {_fmt(param.maximum)}, is {_fmt(number)}"
    return None


def normalise(param: Parameter, value: Any) -> Any:
    """The canonical form of an already well-typed value (1.0 for a float given as 1, lists as lists)."""
    if value is None:
        return None
    if param.type is ParamType.FLOAT and _is_int(value):
        return float(value)
    if param.type is ParamType.FLOAT_LIST and isinstance(value, list):
        return [float(v) if _is_int(v) else v for v in value]
    if isinstance(value, tuple):
        return list(value)
    return value


class ConversionError(ValueError):
    pass


def from_text(param: Parameter, raw: Any) -> Any:
    """Convert loose input (strings from a GUI JSON, numbers as text) to the declared type.

    Empty strings become None. Raises ConversionError with a readable reason.
    """
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            return None
    t = param.type
    try:
        if t is ParamType.BOOL:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "yes", "1", "on"):
                return True
            if isinstance(raw, str) and raw.lower() in ("false", "no", "0", "off"):
                return False
            if _is_number(raw):
                return bool(raw)
            raise ConversionError(f"{raw!r} is not true or false")
        if t is ParamType.INT:
            number = float(raw)
            if not number.is_integer():
                raise ConversionError(f"{raw!r} is not a whole number")
            return int(number)
        if t is ParamType.FLOAT:
            return float(raw)
        if t is ParamType.INT_OR_FLOAT:
            if isinstance(raw, str):
                return float(raw) if any(c in raw for c in ".eE") else int(raw)
            return raw if _is_number(raw) else float(raw)
        if t is ParamType.CHOICE:
            for choice in param.choices:
                if str(choice).lower() == str(raw).lower():
                    return choice
            if param.open_choices:
                return str(raw)
            raise ConversionError(f"{raw!r} is not one of {', '.join(str(c) for c in param.choices)}")
        if t is ParamType.RESOLUTION:
            if _is_int(raw):
                return raw
            parts = _split_numbers(raw)
            values = [int(float(x)) for x in parts]
            if len(values) == 1 or (len(values) == 2 and values[0] == values[1]):
                return values[0]
            if len(values) == 2:
                return values
            raise ConversionError(f"{raw!r} is not a resolution")
        if t is ParamType.FLOAT_PAIR:
            values = [float(x) for x in _split_numbers(raw)]
            if len(values) != 2:
                raise ConversionError(f"{raw!r} is not two numbers")
            return values
        if t is ParamType.FLOAT_LIST:
            return [float(x) for x in _split_numbers(raw)]
        if t in (ParamType.STR_LIST, ParamType.FILE_LIST, ParamType.KV_LIST):
            items = raw if isinstance(raw, list) else split_arguments(str(raw))
            items = [str(i) for i in items if str(i).strip()]
            if t is ParamType.KV_LIST:
                bad = [i for i in items if "=" not in i]
                if bad:
                    raise ConversionError(f"{bad[0]!r} is not name=value")
            return items or None
        return str(raw)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConversionError):
            raise
        raise ConversionError(f"{raw!r} is not {t.value.replace('_', ' ')}") from None


def _split_numbers(raw: Any) -> list:
    if isinstance(raw, (list, tuple)):
        return list(raw)
    if _is_number(raw):
        return [raw]
    text = str(raw).strip().strip("[]()")
    return [x for x in text.replace(";", ",").replace(" ", ",").split(",") if x]


def split_arguments(text: str) -> list[str]:
    """Split 'a=1 "b=two words" c=3' the way a shell would (quotes group, no escapes needed)."""
    import shlex

    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _fmt(number: float) -> str:
    return f"{number:g}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
