"""A run folder: everything about one training run, in one place, readable without the app.

    <run>/
      project.toml      snapshot of the project the run was made from (training-core)
      config.toml       the engine's --config_file
      dataset.toml      the engine's --dataset_config
      launch.json       how to start it: script, accelerate options, arguments, extra environment
      command.txt       the same as a command line a person can read (never holds a secret)
      train.log         everything the engine printed, as it printed it (secrets redacted)
      status.json       state, attempts, exit codes, diagnosis, progress summary
      output/           checkpoints, states and samples (wherever output_dir points)

The runner's input is a run folder; whatever writes it (training-core's emission, a test) only has
to provide the two configs and the launch plan.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomlkit

from services.atomic import atomic_write_text
from services.errors import FileAccessError, FileFormatError

CONFIG, DATASET, PLAN, STATUS, LOG, COMMAND, PROJECT = (
    "config.toml", "dataset.toml", "launch.json", "status.json", "train.log", "command.txt", "project.lsproj.toml")
COMMAND_JSON = "command.json"  # written by training-core's emission: {"argv", "cwd", "env", "script", ...}

# States of a run.
CREATED, QUEUED, RUNNING, SUCCEEDED, FAILED, STOPPED = "created", "queued", "running", "succeeded", "failed", "stopped"
FINAL_STATES = (SUCCEEDED, FAILED, STOPPED)

_SAMPLE_NAME = re.compile(r"(?:^|_)(e?)(\d{6})_(\d{2})_(\d{14})(?:_\d+)?\.png$")
_STATE_DIR = re.compile(r"-(?:(\d{6})|step(\d{8}))?-?state$")
CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")


@dataclass
class LaunchPlan:
    """How to start the engine for this run, independent of the machine: the backend's Python and
    sd-scripts folder are filled in at launch (a run folder made on a laptop runs on a GPU box)."""

    script: str = "train_network.py"       # relative to the sd-scripts folder (or absolute)
    script_args: list[str] = field(default_factory=list)
    accelerate_args: list[str] = field(default_factory=list)
    launcher: str = "accelerate"           # "accelerate", or "python" for a single process without it
    env: dict[str, str] = field(default_factory=dict)  # extra, non-secret variables

    @classmethod
    def from_command(cls, raw: dict) -> LaunchPlan:
        """The plan of an emitted run folder's command.json: its exact argv taken apart, so that the
        backend's Python and sd-scripts folder are the ones of the machine that launches it."""
        if not isinstance(raw, dict) or not isinstance(raw.get("argv"), list) \
                or not all(isinstance(a, str) for a in raw["argv"]) or len(raw["argv"]) < 2:
            raise FileFormatError("The run's command.json has no command (argv).")
        argv = list(raw["argv"])
        script = raw.get("script") if isinstance(raw.get("script"), str) else ""
        env = raw.get("env") if isinstance(raw.get("env"), dict) else {}
        env = {k: v for k, v in env.items() if isinstance(k, str) and isinstance(v, str)}
        accelerate = argv[1:3] == ["-m", "accelerate.commands.launch"]
        rest = argv[3:] if accelerate else argv[1:]
        index = next((i for i, a in enumerate(rest) if script and (a == script or a.replace("\\", "/")
                                                                   .endswith("/" + script))), None)
        if index is None:
            index = next((i for i, a in enumerate(rest) if a.endswith(".py")), None)
        if index is None:
            raise FileFormatError("The run's command.json does not name a training script.")
        plan = cls(script=script or Path(rest[index]).name, script_args=rest[index + 1:],
                   accelerate_args=rest[:index] if accelerate else [],
                   launcher="accelerate" if accelerate else "python", env=env)
        if not accelerate and not script:
            plan.script = rest[index]
        return plan

    @classmethod
    def from_dict(cls, raw: dict) -> LaunchPlan:
        if not isinstance(raw, dict):
            raise FileFormatError("The launch plan is not a JSON object.")
        plan = cls()
        for name in ("script", "launcher"):
            if name in raw:
                if not isinstance(raw[name], str):
                    raise FileFormatError(f"The launch plan's {name!r} is not text.")
                setattr(plan, name, raw[name])
        for name in ("script_args", "accelerate_args"):
            if name in raw:
                value = raw[name]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise FileFormatError(f"The launch plan's {name!r} is not a list of text.")
                setattr(plan, name, list(value))
        if "env" in raw:
            env = raw["env"]
            if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
                raise FileFormatError("The launch plan's 'env' is not a table of text.")
            plan.env = dict(env)
        if plan.launcher not in ("accelerate", "python"):
            raise FileFormatError(f"Unknown launcher {plan.launcher!r} in the launch plan.")
        return plan


@dataclass
class Attempt:
    started_at: float
    ended_at: float | None = None
    state: str = RUNNING
    exit_code: int | None = None
    resumed_from: str = ""


@dataclass
class RunStatus:
    state: str = CREATED
    name: str = ""
    created_at: float = field(default_factory=time.time)
    project_file: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    exit_code: int | None = None
    diagnosis: dict | None = None
    step: int = 0
    total_steps: int | None = None
    last_loss: float | None = None
    checkpoints: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: dict) -> RunStatus:
        status = cls()
        for key in ("state", "name", "project_file"):
            if isinstance(raw.get(key), str):
                setattr(status, key, raw[key])
        for key in ("created_at",):
            if isinstance(raw.get(key), (int, float)):
                setattr(status, key, float(raw[key]))
        for key in ("exit_code", "step", "total_steps"):
            if isinstance(raw.get(key), int):
                setattr(status, key, raw[key])
        if isinstance(raw.get("last_loss"), (int, float)):
            status.last_loss = float(raw["last_loss"])
        if isinstance(raw.get("diagnosis"), dict):
            status.diagnosis = raw["diagnosis"]
        if isinstance(raw.get("checkpoints"), list):
            status.checkpoints = [c for c in raw["checkpoints"] if isinstance(c, str)]
        for item in raw.get("attempts") or []:
            if isinstance(item, dict) and isinstance(item.get("started_at"), (int, float)):
                status.attempts.append(Attempt(
                    float(item["started_at"]),
                    float(item["ended_at"]) if isinstance(item.get("ended_at"), (int, float)) else None,
                    item.get("state") if isinstance(item.get("state"), str) else RUNNING,
                    item.get("exit_code") if isinstance(item.get("exit_code"), int) else None,
                    item.get("resumed_from") if isinstance(item.get("resumed_from"), str) else ""))
        return status


@dataclass(frozen=True)
class SampleFile:
    path: Path
    step: int | None
    epoch: int | None
    index: int


def parse_sample_name(path: Path) -> SampleFile | None:
    """The engine names samples ``[name_]<step:06d | e<epoch:06d>>_<prompt:02d>_<time>[_seed].png``."""
    m = _SAMPLE_NAME.search(path.name)
    if m is None:
        return None
    number = int(m.group(2))
    if m.group(1):
        return SampleFile(path, None, number, int(m.group(3)))
    return SampleFile(path, number, None, int(m.group(3)))


def read_prompts(path: Path) -> dict[int, str]:
    """The prompts of a ``--sample_prompts`` text file by index (options after `` --`` dropped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    if path.suffix.lower() != ".txt":
        return {}
    prompts = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {i: p.split(" --", 1)[0].strip() for i, p in enumerate(prompts)}


def flatten_config(raw: dict) -> dict:
    """The engine flattens every table of --config_file into one namespace; so do we."""
    flat: dict = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            flat.update(flatten_config(value))
        else:
            flat[key] = value
    return flat


class RunFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunFolder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    config_path = property(lambda self: self.path / CONFIG)
    dataset_path = property(lambda self: self.path / DATASET)
    plan_path = property(lambda self: self.path / PLAN)
    status_path = property(lambda self: self.path / STATUS)
    log_path = property(lambda self: self.path / LOG)
    project_path = property(lambda self: self.path / PROJECT)

    @property
    def name(self) -> str:
        return self.status().name or self.path.name

    def exists(self) -> bool:
        return self.config_path.is_file() and (self.plan_path.is_file() or (self.path / COMMAND_JSON).is_file())

    # --- configs ----------------------------------------------------------------------------
    def config(self) -> dict:
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise FileAccessError(f"The run's config file {self.config_path} cannot be read: {exc}") from exc
        try:
            return flatten_config(tomlkit.parse(text).unwrap())
        except Exception as exc:  # tomlkit raises several kinds
            raise FileFormatError(f"The run's config file {self.config_path} is not valid TOML: {exc}",
                                  "Emit the run again from its project.") from exc

    def plan(self) -> LaunchPlan:
        """launch.json when present (written by LoRA Studio's runner and tests), else the plan read
        from training-core's command.json."""
        path = self.plan_path if self.plan_path.is_file() or not (self.path / COMMAND_JSON).is_file() \
            else self.path / COMMAND_JSON
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FileAccessError(f"The run's launch plan {path} cannot be read: {exc}") from exc
        except ValueError as exc:
            raise FileFormatError(f"The run's launch plan {path} is not valid JSON: {exc}") from exc
        return LaunchPlan.from_dict(raw) if path == self.plan_path else LaunchPlan.from_command(raw)

    def write_plan(self, plan: LaunchPlan) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.plan_path, json.dumps(asdict(plan), indent=2) + "\n")
        atomic_write_text(self.path / COMMAND, command_line(plan) + "\n")

    def output_dir(self) -> Path | None:
        value = self.config().get("output_dir")
        return Path(value) if isinstance(value, str) and value else None

    def output_name(self) -> str:
        value = self.config().get("output_name")
        return value if isinstance(value, str) and value else "last"

    def samples_dir(self) -> Path | None:
        out = self.output_dir()
        return out / "sample" if out else None

    def prompts(self) -> dict[int, str]:
        value = self.config().get("sample_prompts")
        return read_prompts(Path(value)) if isinstance(value, str) and value else {}

    # --- status -----------------------------------------------------------------------------
    def status(self) -> RunStatus:
        try:
            raw = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return RunStatus(name=self.path.name)
        return RunStatus.from_dict(raw) if isinstance(raw, dict) else RunStatus(name=self.path.name)

    def write_status(self, status: RunStatus) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.status_path, json.dumps(asdict(status), indent=2) + "\n")

    # --- outputs ----------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        out = self.output_dir()
        if out is None or not out.is_dir():
            return []
        return sorted((p for p in out.iterdir() if p.is_file() and p.suffix.lower() in CHECKPOINT_SUFFIXES),
                      key=lambda p: p.stat().st_mtime)

    def samples(self) -> list[SampleFile]:
        folder = self.samples_dir()
        if folder is None or not folder.is_dir():
            return []
        found = [parse_sample_name(p) for p in folder.iterdir() if p.suffix.lower() == ".png"]
        return sorted((s for s in found if s is not None), key=lambda s: (s.step or 0, s.epoch or 0, s.index))

    def states(self) -> list[tuple[int, Path]]:
        """Saved training states as (step, folder), oldest first. The step comes from the state's
        own train_state.json when present, else from its name."""
        out = self.output_dir()
        if out is None or not out.is_dir():
            return []
        found = []
        for folder in out.iterdir():
            if not folder.is_dir() or not folder.name.endswith("state"):
                continue
            step = None
            try:
                data = json.loads((folder / "train_state.json").read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("current_step"), int):
                    step = data["current_step"]
            except (OSError, ValueError):
                pass
            if step is None:
                m = _STATE_DIR.search(folder.name)
                step = int(m.group(2)) if m and m.group(2) else 0
            found.append((step, folder))
        return sorted(found, key=lambda item: (item[0], item[1].stat().st_mtime))

    def latest_state(self) -> Path | None:
        states = self.states()
        return states[-1][1] if states else None


def command_line(plan: LaunchPlan, python: str = "python", sd_scripts: str = "<sd-scripts>") -> str:
    """The launch as one shell line, for people (copy, paste, run by hand)."""
    from services.runs.launch import build_argv

    return " ".join(shlex.quote(a) for a in build_argv(plan, python, Path(sd_scripts)))


def new_run_folder(runs_dir: Path, name: str) -> RunFolder:
    """A fresh, uniquely named folder under ``runs_dir``: ``<YYYYmmdd-HHMMSS>-<name>``."""
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._") or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs_dir.mkdir(parents=True, exist_ok=True)
    for i in range(1000):
        candidate = runs_dir / (f"{stamp}-{safe}" if i == 0 else f"{stamp}-{safe}-{i}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return RunFolder(candidate)
    raise FileAccessError(f"Could not create a run folder in {runs_dir}.")
