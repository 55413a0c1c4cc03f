"""From a run folder and the backend runtime to the exact process to start.

* the command: ``<backend python> -m accelerate.commands.launch <accelerate options> <sd-scripts>/<script>
  --config_file … --dataset_config …`` (accelerate carries multi-GPU and multi-node options);
* the working directory: the sd-scripts folder (the engine imports ``networks.lora`` from there);
* the environment: offline (the engine never reaches the Hub behind the user's back), unbuffered
  UTF-8 output (progress arrives as it happens, in any locale), none of the GUI's own Python
  variables (the backend is another interpreter), and secrets passed only here -- never in a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.errors import BackendError
from services.runs.run_folder import LaunchPlan, RunFolder

# Secrets the engine may need; taken from the environment, passed on through the environment only.
SECRET_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY")

# Variables of the GUI's interpreter (or of a frozen bundle) that must not leak into the backend's.
_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__",
            "QT_PLUGIN_PATH", "QML2_IMPORT_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH", "PYTHONNOUSERSITE")

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1"}


@dataclass
class Launch:
    """A run ready to start: the exact argv, environment and folder."""
    argv: list[str]
    env: dict[str, str]
    cwd: str
    run: RunFolder
    resumed_from: str = ""
    secrets: tuple[str, ...] = field(default=(), repr=False)  # values to redact from the log

    def display_command(self) -> str:
        import shlex

        return " ".join(shlex.quote(a) for a in self.argv)


def build_argv(plan: LaunchPlan, python: str, sd_scripts: Path, extra_args: Sequence[str] = ()) -> list[str]:
    script = Path(plan.script)
    script_path = str(script if script.is_absolute() else sd_scripts / script)
    args = [*plan.script_args, *extra_args]
    if plan.launcher == "python":
        return [python, script_path, *args]
    return [python, "-m", "accelerate.commands.launch", *plan.accelerate_args, script_path, *args]


def engine_environment(base: Mapping[str, str], extra: Mapping[str, str] | None = None, *,
                       offline: bool = True) -> tuple[dict[str, str], tuple[str, ...]]:
    """The child's environment, and the secret values in it (to redact from what it prints)."""
    env = {k: v for k, v in base.items() if k not in _DROPPED}
    # A PyInstaller bundle sets LD_LIBRARY_PATH for itself and keeps the user's in *_ORIG.
    for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        original = base.get(f"{name}_ORIG")
        if original is not None:
            env[name] = original
            env.pop(f"{name}_ORIG", None)
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1", "NO_COLOR": "1"})
    if offline:
        env.update(OFFLINE)
    for key, value in (extra or {}).items():
        if key in SECRET_VARIABLES:
            continue  # a plan must never carry a secret; the environment does
        env[key] = value
    from services.training.secrets import secret_environment

    env.update(secret_environment(env))  # from the environment, else the system keyring
    secrets = tuple(v for k in SECRET_VARIABLES if (v := env.get(k)) and len(v) >= 6)
    return env, secrets


def has_arg(args: Sequence[str], name: str) -> bool:
    return any(a == name or a.startswith(name + "=") for a in args)


def resolve_launch(run: RunFolder, *, python: str, sd_scripts_dir: str, tokenizer_cache_dir: str = "",
                   resume_from: Path | None = None, base_env: Mapping[str, str] | None = None,
                   offline: bool = True, accelerate_config: str = "") -> Launch:
    if not python:
        raise BackendError("No training backend is set up: LoRA Studio does not know which Python runs "
                           "sd-scripts.")
    sd_scripts = Path(sd_scripts_dir) if sd_scripts_dir else None
    plan = run.plan()
    if sd_scripts is None and not Path(plan.script).is_absolute():
        raise BackendError("No sd-scripts folder is set for the training backend.")
    cwd = sd_scripts if sd_scripts is not None else Path(plan.script).parent
    if not cwd.is_dir():
        raise BackendError(f"The sd-scripts folder {cwd} does not exist.")
    extra: list[str] = []
    config = run.config()
    if tokenizer_cache_dir and not config.get("tokenizer_cache_dir") and not has_arg(plan.script_args,
                                                                                  "--tokenizer_cache_dir"):
        extra += ["--tokenizer_cache_dir", str(tokenizer_cache_dir)]
    if resume_from is not None:
        extra += ["--resume", str(resume_from)]
    if accelerate_config and plan.launcher == "accelerate" and not has_arg(plan.accelerate_args, "--config_file"):
        plan.accelerate_args = ["--config_file", str(accelerate_config), *plan.accelerate_args]
    env, secrets = engine_environment(os.environ if base_env is None else base_env, plan.env, offline=offline)
    argv = build_argv(plan, python, cwd, extra)
    return Launch(argv, env, str(cwd), run, str(resume_from or ""), secrets)


def launch_from_settings(run: RunFolder, settings, *, resume_from: Path | None = None,
                         base_env: Mapping[str, str] | None = None) -> Launch:
    """The launch through the backend runtime the settings point to (services.backend.runtime)."""
    from services.backend.runtime import locate

    runtime = locate(settings)
    if runtime.state == "missing":
        problems = "; ".join(runtime.problems) or "it is not installed"
        raise BackendError(f"The training backend cannot be used: {problems}.")
    return resolve_launch(run, python=str(runtime.python), sd_scripts_dir=str(runtime.sd_scripts_dir),
                          tokenizer_cache_dir=str(runtime.tokenizer_cache_dir), resume_from=resume_from,
                          base_env=base_env,
                          accelerate_config=str(runtime.accelerate_config) if runtime.accelerate_config else "")
