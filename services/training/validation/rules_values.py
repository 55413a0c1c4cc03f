"""Each value on its own: known key, type, range, choice, applicability, existing paths, argument syntax."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator

from services.training.project import MODEL_PATH_KEY
from services.training.registry import ParamType, Target
from services.training.validation.context import RuleContext
from services.training.validation.problems import Problem, error, info, warning
from services.training.value_types import range_problem, type_problem
from services.training.values import Origin

_INPUT_PATHS = (ParamType.FILE, ParamType.DIR, ParamType.PATH)


def check_values(c: RuleContext) -> Iterator[Problem]:
    r = c.resolved
    for key, layer in r.unknown.items():
        yield warning(key, f"{key} is not a parameter LoRA Studio knows (set by the {layer.origin.label}); it is "
                           "ignored.", "Remove it, or use the extra network/optimizer arguments for module options.")
    sel = r.selection()
    for param in c.registry.parameters():
        key = param.key
        value = r[key]
        if value is None:
            continue
        problem = type_problem(param, value)
        if problem:
            c.bad.add(key)
            yield error(key, f"{c.label(key)} {problem}.", _type_hint(param))
            continue
        problem = range_problem(param, value)
        if problem:
            c.bad.add(key)
            yield error(key, f"{c.label(key)} {problem}.", "Enter a value in the allowed range.")
            continue
        if param.type is ParamType.CHOICE and not param.open_choices:
            allowed = param.choices_for(c.family, c.mode)
            if value not in allowed:
                c.bad.add(key)
                yield error(key, f"{c.label(key)} cannot be {value!r} for this training mode.",
                            "Choose one of: " + ", ".join(str(a) for a in allowed) + ".")
                continue
        reason = param.why_not(sel, r)
        if reason is None:
            c.applicable.add(key)
        elif r.origin(key) is Origin.USER and value != param.default_for(c.family, c.mode) \
                and key != "network_algorithm":
            yield info(key, f"{c.label(key)} is set but has no effect here: {reason}.",
                       "It is kept in the project and simply not passed to the engine.")
    yield from _check_paths(c)
    yield from _check_argument_lists(c)


def _type_hint(param) -> str:
    if param.type is ParamType.FLOAT:
        return "Write a number without quotes, for example 0.0001 or 1e-4."
    if param.type in (ParamType.INT, ParamType.INT_OR_FLOAT):
        return "Write a whole number without quotes."
    if param.type is ParamType.BOOL:
        return "Write true or false without quotes."
    if param.type is ParamType.CHOICE:
        return "Choose one of the listed values."
    return "Change the value to the expected kind."


def _check_paths(c: RuleContext) -> Iterator[Problem]:
    if not c.options.check_paths:
        return
    for key in sorted(c.applicable):
        param = c.registry.get(key)
        if key == MODEL_PATH_KEY or not param.must_exist:
            continue
        values = c.v(key)
        if param.type is ParamType.FILE_LIST:
            paths = values or []
        elif param.type in _INPUT_PATHS:
            paths = [values] if values else []
        else:
            continue
        for raw in paths:
            path = c.absolute(raw)
            if not os.path.exists(path):
                yield error(key, f"{c.label(key)}: {path} does not exist.", "Choose the file again, or clear the "
                                                                            "field.")
            elif param.type is ParamType.DIR and not os.path.isdir(path):
                yield error(key, f"{c.label(key)}: {path} is a file, not a folder.", "Choose a folder.")
            elif param.type is ParamType.FILE and os.path.isdir(path):
                yield error(key, f"{c.label(key)}: {path} is a folder, not a file.", "Choose a file.")
            elif not os.access(path, os.R_OK):
                yield error(key, f"{c.label(key)}: {path} cannot be read.", "Check the file's permissions.")
    for key in ("output_dir", "logging_dir"):
        value = c.v(key)
        if value:
            folder = c.absolute(value)
            existing = folder
            while existing and not os.path.exists(existing):
                existing = os.path.dirname(existing)
            if existing and (not os.path.isdir(existing) or not os.access(existing, os.W_OK)):
                yield error(key, f"{c.label(key)}: {folder} cannot be written to.", "Choose a folder you can "
                                                                                    "write to.")


def _check_argument_lists(c: RuleContext) -> Iterator[Problem]:
    for param in c.registry.parameters():
        if param.type is not ParamType.KV_LIST or param.key not in c.applicable:
            continue
        for item in c.v(param.key) or []:
            name, _, value = item.partition("=")
            if not name.strip():
                yield error(param.key, f"{c.label(param.key)}: {item!r} has no name before '='.",
                            "Write name=value.")
            elif param.target in (Target.OPTIMIZER_ARGS, Target.SCHEDULER_ARGS):
                try:
                    ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    yield error(param.key, f"{c.label(param.key)}: the value of {name} ({value!r}) is not a Python "
                                           "literal, so sd-scripts cannot read it.",
                                "Quote text ('cosine'), and write numbers, True/False or tuples like (0.9,0.99).")
