r"""A small TOML writer for the generated sd-scripts files.

sd-scripts reads its configs with the old ``toml`` package (0.10.2), which misreads valid TOML in
places: it splits strings inside arrays at some commas, mishandles escaped double quotes, treats a
string starting with two quotes as a multi-line one, and rejects mixed-type arrays. This writer
escapes double quotes and control characters as ``\uXXXX`` (which every TOML reader decodes alike),
also commas inside array strings where the engine would split them, writes finite numbers and
homogeneous arrays only, and ``dumps_checked`` reads the result back with the engine's own parser
and refuses (``ValueError``) anything that would not come back unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_UNICODE_ESCAPED = frozenset('"')
_ARRAY_ESCAPED = frozenset('",')


def quote(text: str, escaped: frozenset = _UNICODE_ESCAPED) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch in escaped or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def key(name: str) -> str:
    if _BARE_KEY.match(name):
        return name
    if any(ch in _ARRAY_ESCAPED or ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
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
        return "[" + ", ".join(_array_string(i) if isinstance(i, str) else value(i) for i in items) + "]"
    raise ValueError(f"{type(v).__name__} values cannot be written to TOML")


def _array_string(text: str) -> str:
    """Commas stay readable (``down_lr_weight=1,1,1``) unless the engine's parser would split there."""
    plain = quote(text)
    if "," in text and not _engine_reads(f"a = [{plain}, {plain}]", [text, text]):
        return quote(text, _ARRAY_ESCAPED)
    return plain


def _engine_reads(text: str, want: Any) -> bool:
    try:
        import toml
    except ImportError:  # pragma: no cover - a dependency; be conservative without it
        return False
    try:
        return toml.loads(text)["a"] == want
    except Exception:  # the engine's parser fails in assorted ways on what it misreads
        return False


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


def dumps_checked(doc: Mapping[str, Any], *, header: str = "") -> str:
    """``dumps``, then read back with sd-scripts' TOML parser: ValueError unless every value survives."""
    text = dumps(doc, header=header)
    try:
        import toml  # the engine's parser (sd-scripts pins toml 0.10.2)
    except ImportError:  # pragma: no cover - a dependency; without it the escaping above still applies
        return text
    try:
        back = toml.loads(text)
    except Exception as exc:  # toml raises assorted errors on what it cannot read
        raise ValueError(f"sd-scripts' TOML reader cannot read the generated file: {exc}") from None
    problem = _first_difference(_plain(doc), back, "")
    if problem:
        raise ValueError(problem)
    return text


def _plain(doc: Any) -> Any:
    if isinstance(doc, Mapping):
        return {k: _plain(v) for k, v in doc.items() if v is not None}
    if isinstance(doc, (list, tuple)):
        return [_plain(v) for v in doc]
    return doc


def _first_difference(want: Any, got: Any, where: str) -> str | None:
    if isinstance(want, dict) and isinstance(got, dict):
        for k, v in want.items():
            if k not in got:
                return f"{where}{k} would be lost by sd-scripts' TOML reader"
            problem = _first_difference(v, got[k], f"{where}{k}.")
            if problem:
                return problem
        return None
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got)):
            problem = _first_difference(a, b, f"{where}[{i}].")
            if problem:
                return problem
        return None
    if want == got and type(want) is type(got):
        return None
    return f"{where.rstrip('.')} = {want!r} would be read by sd-scripts as {got!r}"
