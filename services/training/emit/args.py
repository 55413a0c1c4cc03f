"""The "name=value" strings of --network_args, --optimizer_args and --lr_scheduler_args.

Network modules read the value as text (kohya casts it, LyCORIS parses True/False); optimizer and
scheduler arguments are read by sd-scripts with ``ast.literal_eval``, so they are written as Python
literals.
"""

from __future__ import annotations

from typing import Any

from services.training.registry import Parameter


def network_arg(param: Parameter, value: Any) -> str | None:
    """None when nothing should be written (a False that the module would misread as true)."""
    if isinstance(value, bool):
        if param.emit_bool_as == "true_only":
            return f"{param.engine_name}=True" if value else None
        return f"{param.engine_name}={'True' if value else 'False'}"
    if isinstance(value, float):
        return f"{param.engine_name}={value!r}"
    if isinstance(value, list):
        return f"{param.engine_name}={','.join(str(v) for v in value)}"
    return f"{param.engine_name}={value}"


def literal_arg(name: str, value: Any) -> str:
    """name=<Python literal> as ast.literal_eval reads it."""
    return f"{name}={python_literal(value)}"


def python_literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(python_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(str(value))
