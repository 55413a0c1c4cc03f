"""Does the engine accept this run? Checked by the engine itself, without training.

    <backend python> -m workers.run_check --sd-scripts DIR --script train_network.py -- <script args>

Runs in the backend runtime (it imports sd-scripts, hence torch): builds the script's own argument
parser, parses the run's arguments and reads its ``--config_file`` exactly as the script's main does,
runs the engine's own argument checks, then checks what the engine does not (it takes config-file
values without looking at them): every key must be an argument of this script, of the type and
among the choices that argument declares. The ``--dataset_config`` goes through the engine's own
schema (voluptuous), with the same options the script uses. Prints ONE JSON object on stdout:

    {"ok": bool, "script": str, "errors": [{"where", "message"}], "warnings": [str],
     "dataset": {"ok": bool, "error": str|null}, "import_error": str|null, "missing_module": str|null,
     "seconds": float}

Standard library only at module level; the engine's modules are imported inside.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import sys
import time
import traceback

# What each script passes to the engine's ConfigSanitizer: (dreambooth, finetuning, controlnet, dropout);
# None for controlnet means "the value of --masked_loss".
SANITIZER = {
    "train_network.py": (True, True, None, True), "sdxl_train_network.py": (True, True, None, True),
    "flux_train_network.py": (True, True, None, True), "sd3_train_network.py": (True, True, None, True),
    "train_db.py": (True, False, None, True), "fine_tune.py": (False, True, False, True),
    "sdxl_train.py": (True, True, None, True), "flux_train.py": (True, True, None, True),
    "sd3_train.py": (True, True, None, True),
}


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.messages.append(record.getMessage())


def _type_problem(action: argparse.Action, value) -> str | None:
    """Why ``value`` (taken from the config file, unconverted) does not suit ``action``."""
    const_actions = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction)
    if isinstance(action, const_actions):
        return None if isinstance(value, bool) else f"is {value!r}; the engine expects true or false"
    many = action.nargs in ("*", "+") or (isinstance(action.nargs, int) and action.nargs >= 1)
    values = value if isinstance(value, list) else [value]
    if many and not isinstance(value, list):
        return f"is {value!r}; the engine expects a list"
    if not many and isinstance(value, list):
        return "is a list; the engine expects one value"
    expected = action.type
    for item in values:
        if expected is int and (not isinstance(item, int) or isinstance(item, bool)):
            return f"is {item!r}; the engine expects a whole number"
        if expected is float and (not isinstance(item, (int, float)) or isinstance(item, bool)):
            return f"is {item!r}; the engine expects a number"
        if expected is str and not isinstance(item, str):
            return f"is {item!r}; the engine expects text"
        if action.choices is not None and item not in action.choices:
            return f"is {item!r}; the engine accepts {', '.join(map(repr, action.choices))}"
    return None


def _flatten(config: dict) -> dict:
    flat: dict = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def check(sd_scripts: str, script: str, script_args: list[str]) -> dict:
    started = time.perf_counter()
    result: dict = {"ok": False, "script": script, "errors": [], "warnings": [], "dataset": None,
                    "import_error": None, "missing_module": None}
    os.chdir(sd_scripts)
    if sd_scripts not in sys.path:
        sys.path.insert(0, sd_scripts)
    try:
        name = "_lora_studio_check_" + os.path.splitext(os.path.basename(script))[0]
        spec = importlib.util.spec_from_file_location(name, os.path.join(sd_scripts, script))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        from library import config_util, train_util
    except BaseException as exc:
        result["import_error"] = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ModuleNotFoundError):
            result["missing_module"] = exc.name
        result["traceback_tail"] = traceback.format_exc(limit=-3)[-1500:]
        result["seconds"] = round(time.perf_counter() - started, 2)
        return result

    captured = _Warnings()
    logging.getLogger().addHandler(captured)
    errors = result["errors"]
    args = None
    try:
        parser = module.setup_parser()
        sys.argv = [script, *script_args]  # read_config_from_file parses sys.argv again
        args = parser.parse_args(script_args)
        train_util.verify_command_line_training_args(args)
        args = train_util.read_config_from_file(args, parser)
        train_util.verify_training_args(args)
        train_util.prepare_dataset_args(args, script != "train_db.py")
    except SystemExit as exc:
        errors.append({"where": "arguments", "message": f"the engine's argument parser refused the run "
                                                       f"(exit {exc.code}); see its message above"})
    except BaseException as exc:
        errors.append({"where": "arguments", "message": f"{type(exc).__name__}: {exc}"})

    config_file = None
    if "--config_file" in script_args:
        config_file = script_args[script_args.index("--config_file") + 1]
    if config_file:
        try:
            import toml

            with open(config_file, encoding="utf-8") as fh:
                flat = _flatten(toml.load(fh))
            actions = {a.dest: a for a in parser._actions}
            for key, value in flat.items():
                action = actions.get(key)
                if action is None:
                    errors.append({"where": key, "message": f"is not an argument of {script}: the engine would "
                                                            f"ignore it silently"})
                    continue
                problem = _type_problem(action, value)
                if problem:
                    errors.append({"where": key, "message": problem})
        except BaseException as exc:
            errors.append({"where": "config_file", "message": f"{type(exc).__name__}: {exc}"})

    dataset_config = getattr(args, "dataset_config", None) if args is not None else None
    if dataset_config:
        try:
            flags = list(SANITIZER.get(os.path.basename(script), (True, True, None, True)))
            if flags[2] is None:
                flags[2] = bool(getattr(args, "masked_loss", False))
            user_config = config_util.load_user_config(dataset_config)
            config_util.ConfigSanitizer(*flags).sanitize_user_config(user_config)
            result["dataset"] = {"ok": True, "error": None}
        except BaseException as exc:
            result["dataset"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    logging.getLogger().removeHandler(captured)
    result["warnings"] = captured.messages
    result["ok"] = not errors and (result["dataset"] is None or result["dataset"]["ok"])
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="workers.run_check")
    parser.add_argument("--sd-scripts", required=True)
    parser.add_argument("--script", required=True)
    options = parser.parse_args(argv)
    # The engine prints while it loads; keep stdout for the one JSON object.
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        result = check(os.path.abspath(options.sd_scripts), options.script, script_args)
    except BaseException as exc:  # never die without an answer
        result = {"ok": False, "errors": [{"where": "check", "message": f"{type(exc).__name__}: {exc}"}]}
    finally:
        sys.stdout.flush()
        os.dup2(real_stdout, 1)
        os.close(real_stdout)
    with os.fdopen(os.dup(1), "w", encoding="utf-8") as out:
        out.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
