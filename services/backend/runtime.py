"""Where the training backend is and what it is: interpreter, sd-scripts folder, commit, state.

The *backend runtime* is the Python interpreter that has the ML stack (torch, sd-scripts'
requirements, LoRA Studio's worker modules) plus the sd-scripts folder that trains. It is either

- **managed**: installed by the backend setup under ``app_dirs().data / "backend"`` (a venv,
  the sd-scripts checkout, the accelerate configuration, the tokenizer cache), or
- **external**: an interpreter and an sd-scripts folder the user pointed to in the settings
  (``[backend] python`` / ``sd_scripts_dir``), for example a kohya_ss installation.

``locate()`` answers from the file system alone (no subprocess, a few stat calls), so it is
cheap enough for the GUI thread, the preflight and the CLI. Running the interpreter to see what
it can do is ``services.backend.verify``'s job.

State:
  ``"found"``    usable: interpreter and sd-scripts exist, the commit is the pinned one (or the
                 user accepted this other commit), a managed install is complete;
  ``"version"``  it exists but sd-scripts is at another commit than the pinned one (or its commit
                 cannot be read) and the user has not accepted it;
  ``"missing"``  no interpreter, no sd-scripts folder, or a managed install that did not finish.
``problems`` says why, in words for a person.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.paths import app_dirs, repo_root

LOCK_FILE = "sd-scripts.lock"
ENGINE_MARKER = ".lora-studio-engine.json"  # written into an sd-scripts folder installed from an archive
STEP_IDS = ("venv", "torch", "engine", "requirements", "workers", "accelerate", "tokenizers")
# A file every sd-scripts checkout has; its absence means the folder is not sd-scripts.
ENGINE_PROBE_FILE = "train_network.py"

NOT_INSTALLED = "no backend is installed yet"
# accepted_commit for a folder whose commit cannot be read (a plain copy without .git, e.g. a
# development checkout of the engine): the user takes responsibility for what it is.
ACCEPT_UNKNOWN = "unknown"
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


# --- the pinned engine ---------------------------------------------------------------------

@dataclass(frozen=True)
class EngineLock:
    """What vendor/sd-scripts.lock pins: the upstream repository and the commit."""

    repository: str
    commit: str
    date: str = ""
    branch: str = ""
    summary: str = ""

    @property
    def short(self) -> str:
        return self.commit[:8]


def lock_path() -> Path:
    """vendor/sd-scripts.lock, or the file ``LORA_STUDIO_ENGINE_LOCK`` names (a developer trying a
    newer engine commit before changing the shipped lock; the tests)."""
    override = os.environ.get("LORA_STUDIO_ENGINE_LOCK", "").strip()
    return Path(override) if override else repo_root() / "vendor" / LOCK_FILE


def read_lock(path: Path | None = None) -> EngineLock:
    import tomlkit

    from services.errors import BackendError

    path = Path(path) if path else lock_path()
    try:
        raw = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
        table = raw["sd-scripts"]
        commit = str(table["commit"]).strip().lower()
        repository = str(table["repository"]).strip()
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise BackendError(f"The engine lock file {path} cannot be read ({exc}).",
                           "Reinstall LoRA Studio; the lock file ships with it.") from exc
    if not _SHA.match(commit) or not repository:
        raise BackendError(f"The engine lock file {path} names no valid commit ({commit!r}).",
                           "Reinstall LoRA Studio; the lock file ships with it.")
    return EngineLock(repository=repository, commit=commit, date=str(table.get("date", "")),
                      branch=str(table.get("branch", "")), summary=str(table.get("summary", "")))


@functools.lru_cache(maxsize=8)
def _read_lock_cached(path: str, mtime_ns: int) -> EngineLock:
    return read_lock(Path(path))


def pinned() -> EngineLock:
    """The engine this LoRA Studio pins (read again only when the lock file changes)."""
    path = lock_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return read_lock(path)  # raises the clear error
    return _read_lock_cached(str(path), mtime)


# --- the managed runtime's folders ---------------------------------------------------------

def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@dataclass(frozen=True)
class RuntimeLayout:
    """The folders of the managed runtime (nothing here needs to exist)."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> Path:
        return venv_python(self.venv)

    @property
    def sd_scripts(self) -> Path:
        return self.root / "sd-scripts"

    @property
    def state(self) -> Path:
        """One JSON marker per install step (``<step>.json``), written when the step starts and
        again when it is done; a step is done only when its marker says so."""
        return self.root / "state"

    @property
    def tokenizers(self) -> Path:
        return self.root / "tokenizers"

    @property
    def accelerate_config(self) -> Path:
        return self.root / "accelerate" / "default_config.yaml"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    def marker(self, step: str) -> Path:
        return self.state / f"{step}.json"


def managed_layout(data_dir: Path | None = None) -> RuntimeLayout:
    return RuntimeLayout((Path(data_dir) if data_dir else app_dirs().data) / "backend")


def step_status(layout: RuntimeLayout, step: str) -> str:
    """"done", "started" (begun and not finished: it will be redone) or "absent"."""
    try:
        data = json.loads(layout.marker(step).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "absent"
    status = data.get("status") if isinstance(data, dict) else None
    return status if status in ("done", "started") else "absent"


# --- reading an sd-scripts folder ----------------------------------------------------------

def _git_dir(folder: Path) -> Path | None:
    dot_git = folder / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():  # a worktree or a submodule (kohya_ss keeps sd-scripts as one)
        try:
            text = dot_git.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if text.startswith("gitdir:"):
            target = Path(text[len("gitdir:"):].strip())
            return target if target.is_absolute() else (folder / target).resolve()
    return None


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():
        try:
            common = (git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
        except OSError:
            pass
    for base in (git_dir, common):
        try:
            value = (base / ref).read_text(encoding="utf-8").strip().lower()
        except OSError:
            continue
        if _SHA.match(value):
            return value
    try:
        packed = (common / "packed-refs").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in packed.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == ref and _SHA.match(parts[0].lower()):
            return parts[0].lower()
    return None


def read_commit(folder: str | os.PathLike) -> tuple[str | None, str]:
    """The commit an sd-scripts folder is at, and where that was read: ``("<sha>", "git")``,
    ``("<sha>", "marker")`` (installed from an archive) or ``(None, "unknown")``."""
    folder = Path(folder)
    git_dir = _git_dir(folder)
    if git_dir is not None:
        try:
            head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            head = ""
        if head.startswith("ref:"):
            sha = _resolve_ref(git_dir, head[4:].strip())
            if sha:
                return sha, "git"
        elif _SHA.match(head.lower()):
            return head.lower(), "git"
    try:
        marker = json.loads((folder / ENGINE_MARKER).read_text(encoding="utf-8"))
        sha = str(marker.get("commit", "")).lower()
        if _SHA.match(sha):
            return sha, "marker"
    except (OSError, ValueError, AttributeError):
        pass
    return None, "unknown"


def python_version_of(python: Path) -> str | None:
    """The version of a venv's interpreter from its pyvenv.cfg, without running it."""
    for cfg in (python.parent.parent / "pyvenv.cfg", python.parent / "pyvenv.cfg"):
        try:
            text = cfg.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        values = {k.strip().lower(): v.strip() for k, v in values.items()}
        version = values.get("version_info") or values.get("version")
        if version:
            return ".".join(version.split(".")[:3])
    return None


# --- the description -----------------------------------------------------------------------

@dataclass(frozen=True)
class BackendRuntime:
    state: str                      # "found" | "version" | "missing"
    kind: str                       # "managed" | "external"
    python: Path | None
    python_version: str | None      # from pyvenv.cfg; None when the interpreter is not a venv
    sd_scripts_dir: Path | None
    commit: str | None
    commit_source: str              # "git" | "marker" | "unknown"
    pinned_commit: str
    accepted_commit: str
    tokenizer_cache_dir: Path
    accelerate_config: Path | None  # None: accelerate's own default applies
    root: Path                      # the managed runtime's folder (whether or not it is in use)
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_pinned(self) -> bool:
        return self.commit is not None and self.commit == self.pinned_commit

    @property
    def usable(self) -> bool:
        return self.state == "found"

    @property
    def managed(self) -> bool:
        return self.kind == "managed"

    def summary(self) -> str:
        """One line for a status bar or the CLI."""
        if self.state == "missing":
            return "Training backend: not installed" + (f" ({self.problems[0]})" if self.problems else "")
        commit = self.commit[:8] if self.commit else "unknown commit"
        accepted = self.accepted_commit and (self.commit == self.accepted_commit or
                                             (self.commit is None and self.accepted_commit == ACCEPT_UNKNOWN))
        pin = "pinned" if self.is_pinned else ("accepted" if accepted else f"pinned is {self.pinned_commit[:8]}")
        py = f"Python {self.python_version}" if self.python_version else str(self.python)
        where = "managed" if self.managed else "external"
        return f"Training backend ({where}): sd-scripts {commit} ({pin}), {py}"

    def as_dict(self) -> dict:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, Path):
                out[key] = str(value)
        out["problems"] = list(self.problems)
        out["is_pinned"] = self.is_pinned
        return out


def managed_settings(settings):
    """The same backend settings with the interpreter and folder cleared: the managed runtime
    (keeps the tokenizer cache the user chose)."""
    from dataclasses import replace

    backend = getattr(settings, "backend", settings)
    if backend is None:
        return None
    return replace(backend, python="", sd_scripts_dir="")


def locate(settings=None, *, data_dir: Path | None = None, lock: EngineLock | None = None) -> BackendRuntime:
    """Describe the backend runtime the settings point to (``BackendSettings`` or the whole
    ``Settings``; None: the managed one). File-system reads only."""
    backend = getattr(settings, "backend", settings)
    python_setting = (getattr(backend, "python", "") or "").strip()
    scripts_setting = (getattr(backend, "sd_scripts_dir", "") or "").strip()
    accepted = (getattr(backend, "accepted_commit", "") or "").strip().lower()
    cache_setting = (getattr(backend, "tokenizer_cache_dir", "") or "").strip()
    lock = lock or pinned()
    layout = managed_layout(data_dir)

    python = Path(python_setting).expanduser() if python_setting else layout.python
    scripts = Path(scripts_setting).expanduser() if scripts_setting else layout.sd_scripts
    managed = not python_setting and not scripts_setting
    problems: list[str] = []

    nothing = False
    if managed:
        states = {step: step_status(layout, step) for step in STEP_IDS}
        nothing = all(s == "absent" for s in states.values()) and not python.exists()
        if nothing:
            problems.append(NOT_INSTALLED)
        else:
            unfinished = [s for s, st in states.items() if st != "done"]
            if unfinished:
                problems.append("the installation did not finish (still to do: " + ", ".join(unfinished) + ")")
    if not nothing and not python.is_file():
        problems.append(f"the interpreter {python} does not exist")
    if not nothing and not (scripts / ENGINE_PROBE_FILE).is_file():
        problems.append(f"{scripts} is not an sd-scripts folder (it has no {ENGINE_PROBE_FILE})")

    commit, source = read_commit(scripts) if scripts.is_dir() else (None, "unknown")
    if problems:
        state = "missing"
    elif commit == lock.commit or (commit is not None and commit == accepted) or \
            (commit is None and accepted == ACCEPT_UNKNOWN):
        state = "found"
    else:
        state = "version"
        problems.append(
            f"sd-scripts is at {commit[:8]}, not at the pinned {lock.short}" if commit
            else f"the commit of {scripts} cannot be read (no .git folder and no {ENGINE_MARKER})")

    return BackendRuntime(
        state=state,
        kind="managed" if managed else "external",
        python=python,
        python_version=python_version_of(python) if python.is_file() else None,
        sd_scripts_dir=scripts,
        commit=commit,
        commit_source=source,
        pinned_commit=lock.commit,
        accepted_commit=accepted,
        tokenizer_cache_dir=Path(cache_setting).expanduser() if cache_setting else layout.tokenizers,
        accelerate_config=layout.accelerate_config if layout.accelerate_config.is_file() else None,
        root=layout.root,
        problems=tuple(problems),
    )
