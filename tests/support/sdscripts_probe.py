"""Run inside the sd-scripts backend Python: feed emitted run folders to the engine's own parsers.

    python sdscripts_probe.py SD_SCRIPTS_DIR CASES.json  -> prints one JSON object per case

Each case is {"script": "train_network.py", "config": path, "dataset": path, "launch_args": [...]}
(the accelerate flags and script arguments after ``-m accelerate.commands.launch``). For each, the script's
own ``setup_parser()`` parses ``--config_file``/``--dataset_config`` exactly as a launch would (via
``read_config_from_file``); because sd-scripts does not type-check config files, every key is then
checked against the parser's actions (known dest, value type, choices). The dataset config goes
through the engine's ``ConfigSanitizer`` and ``BlueprintGenerator`` with the script's flags, and the
datasets are built (``generate_dataset_group_by_blueprint``), which reads the subset folders.

Standalone on purpose: it imports nothing from LoRA Studio (the backend runtime may not have it).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import sys
import traceback

SANITIZER_FLAGS = {  # (support_dreambooth, support_finetuning, support_dropout); controlnet = masked_loss
    "fine_tune.py": (False, True, True),
    "train_db.py": (True, False, True),
}


def _check_value(action, key, value):
    problems = []
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            problems.append(f"{key}: a flag, got {value!r}")
        return problems
    items = value if action.nargs in ("*", "+") else [value]
    if action.nargs in ("*", "+") and not isinstance(value, list):
        problems.append(f"{key}: expects a list, got {value!r}")
        return problems
    for item in items:
        t = action.type
        if t is int and (not isinstance(item, int) or isinstance(item, bool)):
            problems.append(f"{key}: expects int, got {item!r}")
        elif t is float and (not isinstance(item, (int, float)) or isinstance(item, bool)):
            problems.append(f"{key}: expects float, got {item!r}")
        elif t is str and not isinstance(item, str):
            problems.append(f"{key}: expects str, got {item!r}")
        elif t is not None and t not in (int, float, str):
            try:
                t(str(item))
            except Exception as exc:  # the engine's own converter refuses it
                problems.append(f"{key}: {t.__name__} refuses {item!r}: {exc}")
        if action.choices is not None and item not in action.choices:
            problems.append(f"{key}: {item!r} is not one of {list(action.choices)}")
    return problems


def probe(case):
    import toml
    from library import config_util, strategy_base, strategy_sd, train_util

    script = case["script"]
    module = importlib.import_module(script[:-3].replace("/", "."))
    parser = module.setup_parser()
    actions = {a.dest: a for a in parser._actions}
    result = {"script": script, "config": case["config"], "problems": []}
    raw = toml.load(case["config"])
    flat = {}
    for name, section in raw.items():
        if isinstance(section, dict):
            flat.update(section)
        else:
            flat[name] = section
    for key, value in flat.items():
        action = actions.get(key)
        if action is None:
            result["problems"].append(f"{key}: not an argument of {script}")
            continue
        result["problems"] += _check_value(action, key, value)
    argv = ["--config_file", case["config"], "--dataset_config", case["dataset"]]
    sys.argv = [script, *argv]  # read_config_from_file parses sys.argv again, as a real launch does
    with contextlib.redirect_stdout(io.StringIO()):
        args = parser.parse_args(argv)
        args = train_util.read_config_from_file(args, parser)
    result["parsed"] = {k: v for k, v in vars(args).items() if k in flat and not isinstance(v, (bytes,))}
    dreambooth, finetuning, dropout = SANITIZER_FLAGS.get(script, (True, True, True))
    sanitizer = config_util.ConfigSanitizer(dreambooth, finetuning, bool(getattr(args, "masked_loss", False)), dropout)
    # the engine sets a latents caching strategy before building datasets; fine-tuning datasets need one
    if strategy_base.LatentsCachingStrategy.get_strategy() is None:
        strategy_base.LatentsCachingStrategy.set_strategy(
            strategy_sd.SdSdxlLatentsCachingStrategy(True, False, 1, False))
    user_config = config_util.load_user_config(case["dataset"])
    blueprint = config_util.BlueprintGenerator(sanitizer).generate(user_config, args)
    train_group, _ = config_util.generate_dataset_group_by_blueprint(blueprint.dataset_group)
    if case.get("launch_args"):
        # the accelerate launch flags, through accelerate's own parser (argparse exits on an unknown flag)
        from accelerate.commands.launch import launch_command_parser

        with contextlib.redirect_stderr(io.StringIO()) as err:
            try:
                launch = launch_command_parser().parse_args(case["launch_args"])
            except SystemExit:
                result["problems"].append("accelerate launch refuses: " + err.getvalue().strip()[-500:])
                launch = None
        if launch is not None:
            result["launch"] = {"mixed_precision": launch.mixed_precision, "num_processes": launch.num_processes,
                                "multi_gpu": launch.multi_gpu, "script": launch.training_script,
                                "script_args": launch.training_script_args}
    result["images"] = int(train_group.num_train_images)
    result["reg_images"] = int(train_group.num_reg_images)
    result["dataset_kinds"] = [type(d).__name__ for d in train_group.datasets]
    return result


def main() -> int:
    sd_scripts, cases_file = sys.argv[1], sys.argv[2]
    os.chdir(sd_scripts)
    sys.path.insert(0, sd_scripts)
    with open(cases_file, encoding="utf-8") as fh:
        cases = json.load(fh)
    for case in cases:
        try:
            result = probe(case)
        except BaseException as exc:  # SystemExit from argparse included: report, go on with the next
            result = {"script": case["script"], "config": case["config"],
                      "problems": [f"{type(exc).__name__}: {exc}"], "traceback": traceback.format_exc()[-3000:]}
        print("PROBE " + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
