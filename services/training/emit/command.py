"""The exact ``accelerate launch`` command of a run and the environment it needs."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Variables every run gets: unbuffered UTF-8 output (the runner streams it), no telemetry.
BASE_ENVIRONMENT = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "PYTHONUTF8": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def accelerate_argv(python: str, script: str, config: Path, dataset: Path, values: Mapping[str, Any]) -> list[str]:
    """[python, -m, accelerate.commands.launch, <launch flags>, <script>, --config_file, ..., --dataset_config, ...]"""
    processes = values.get("accelerate.num_processes") or 1
    machines = values.get("accelerate.num_machines") or 1
    argv = [python, "-m", "accelerate.commands.launch",
            "--num_cpu_threads_per_process", str(values.get("accelerate.num_cpu_threads_per_process") or 1),
            "--mixed_precision", str(values.get("mixed_precision") or "no"),
            "--num_processes", str(processes),
            "--num_machines", str(machines),
            "--dynamo_backend", "no"]
    if values.get("accelerate.multi_gpu") or processes * machines > 1:
        argv.append("--multi_gpu")
    gpu_ids = values.get("accelerate.gpu_ids")
    if gpu_ids:
        argv += ["--gpu_ids", str(gpu_ids).replace(" ", "")]
    if machines > 1:
        argv += ["--machine_rank", str(values.get("accelerate.machine_rank") or 0),
                 "--main_process_ip", str(values.get("accelerate.main_process_ip")),
                 "--main_process_port", str(values.get("accelerate.main_process_port"))]
    argv += [script, "--config_file", str(config), "--dataset_config", str(dataset)]
    return argv


def command_line(argv: list[str]) -> str:
    """The command as one line a person can paste into their shell."""
    if sys.platform == "win32":
        return subprocess.list2cmdline(argv)
    return shlex.join(argv)
