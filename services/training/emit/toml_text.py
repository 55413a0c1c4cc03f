"""A small TOML writer for the generated sd-scripts files.

sd-scripts reads its configs with the old ``toml`` package (0.10.2), which is stricter than TOML 1.0
in places (no mixed-type arrays); this writer emits only what both it and ``tomllib`` read alike:
basic strings with every special character escaped, finite numbers, homogeneous arrays, tables and
arrays of tables. Anything else raises ``ValueError`` rather than writing a file the engine misreads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def key(name: str) -> str:
    if _BARE_KEY.match(name):
        return name
    if any(ch in _ESCAPES or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        # the engine's parser keeps escapes in quoted keys literally, so such a key would change meaning
        raise ValueError(f"the key {name!r} cannot be written so that sd-scripts reads it back unchanged")
    return quote(name)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v!r} cannot be written to an sd-scripts config")
        text = repr(v)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, Sequence):
        items = list(v)
        kinds = {_kind(i) for i in items}
        if len(kinds) > 1:
            raise ValueError(f"mixed-type array {items!r} cannot be read by sd-scripts' TOML parser")
        return "[" + ", ".join(value(i) for i in items) + "]"
    raise ValueError(f"{type(v).__name__} values cannot be written to TOML")


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return type(v).__name__
    if isinstance(v, str):
        return "str"
    return "array"


def dumps(doc: Mapping[str, Any], *, header: str = "") -> str:
    """``doc``: scalar keys, tables (Mapping) and arrays of tables (list of Mapping), nested any depth."""
    lines: list[str] = []
    if header:
        lines += [f"# {line}" if line else "#" for line in header.splitlines()]
    _table(lines, [], doc)
    return "\n".join(lines).strip() + "\n"


def _table(lines: list[str], path: list[str], table: Mapping[str, Any], *, array: bool = False) -> None:
    scalars = {k: v for k, v in table.items() if not _is_table(v) and not _is_table_array(v) and v is not None}
    if path:
        name = ".".join(key(p) for p in path)
        lines.append("")
        lines.append(f"[[{name}]]" if array else f"[{name}]")
    for k, v in scalars.items():
        lines.append(f"{key(k)} = {value(v)}")
    for k, v in table.items():
        if _is_table(v):
            _table(lines, [*path, k], v)
        elif _is_table_array(v):
            for element in v:
                _table(lines, [*path, k], element, array=True)


def _is_table(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(i, Mapping) for i in v)
