"""What an installation will do: the choices, where packages come from, and the disk space needed.

An ``InstallPlan`` is plain data (saved as ``state/plan.json`` in the runtime), so Repair and
Update reuse the choices the user made, and the wizard can show the plan before anything runs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from services.backend.runtime import EngineLock, RuntimeLayout, pinned
from services.backend.torch_choice import TorchChoice, build_table

FAMILIES = ("sd1", "sd2", "sdxl", "sd3", "flux")
DEFAULT_FAMILIES = ("sd1", "sdxl")


@dataclass(frozen=True)
class WheelSource:
    """Where pip looks. Empty: pip's own configuration (PyPI, or the user's mirror)."""

    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def pip_args(self) -> list[str]:
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        elif self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args

    def describe(self) -> str:
        if self.no_index:
            return "local wheels in " + ", ".join(self.find_links)
        parts = [self.index_url or "pip's configured index", *self.extra_index_urls]
        return ", ".join(parts) + "".join(f" and {link}" for link in self.find_links)

    @classmethod
    def from_text(cls, text: str, only_local: bool = False) -> WheelSource | None:
        """What a person types: a folder of wheels or an index URL; empty = the default (None),
        or no index at all when ``only_local``."""
        text = text.strip()
        if not text:
            return cls(no_index=True) if only_local else None
        folder = Path(text).expanduser()
        if folder.is_dir():
            return cls(find_links=(str(folder),), no_index=only_local)
        return cls(index_url=text)

    @classmethod
    def from_dict(cls, data: dict) -> WheelSource:
        return cls(index_url=data.get("index_url", ""), extra_index_urls=tuple(data.get("extra_index_urls", ())),
                   find_links=tuple(data.get("find_links", ())), no_index=bool(data.get("no_index", False)))


@dataclass(frozen=True)
class EngineSource:
    """sd-scripts: a git repository (URL or local path) or an archive (.tar.gz/.zip, URL or path)."""

    repository: str
    commit: str
    custom: bool = False   # the user chose this source (a mirror, a fork): Update keeps it

    @property
    def kind(self) -> str:
        lowered = self.repository.lower()
        return "archive" if lowered.endswith((".tar.gz", ".tgz", ".zip", ".tar")) else "git"

    @classmethod
    def from_lock(cls, lock: EngineLock) -> EngineSource:
        return cls(repository=lock.repository, commit=lock.commit)


@dataclass(frozen=True)
class DiskEstimate:
    download_gb: float
    installed_gb: float
    free_gb: float | None      # None: the free space could not be read
    folder: str

    @property
    def needed_gb(self) -> float:
        return self.installed_gb + self.download_gb  # pip keeps the downloads while installing

    @property
    def enough(self) -> bool:
        return self.free_gb is None or self.free_gb >= self.needed_gb

    def text(self) -> str:
        line = (f"about {self.download_gb:.1f} GB to download, {self.installed_gb:.1f} GB on disk "
                f"in {self.folder}")
        if self.free_gb is not None:
            line += f" ({self.free_gb:.0f} GB free)"
        return line


@dataclass(frozen=True)
class InstallPlan:
    base_python: str                 # the interpreter that creates the venv
    base_python_version: str
    torch: TorchChoice
    engine: EngineSource
    families: tuple[str, ...] = DEFAULT_FAMILIES
    bitsandbytes: bool = True        # the user wants 8-bit optimizers: verification requires it to work
    torch_source: WheelSource | None = None   # None: the torch build's own index
    packages_source: WheelSource = field(default_factory=WheelSource)

    @property
    def effective_torch_source(self) -> WheelSource:
        if self.torch_source is not None:
            return self.torch_source
        return WheelSource(index_url=self.torch.index_url or "")

    def with_lock(self, lock: EngineLock) -> InstallPlan:
        """The same choices, with the engine the lock file now pins (Update)."""
        if self.engine.commit == lock.commit:
            return self
        custom = self.engine.custom and self.engine.kind == "git"   # an archive holds one commit only
        repository = self.engine.repository if custom else lock.repository
        return replace(self, engine=EngineSource(repository, lock.commit, custom))

    def disk_estimate(self, root: Path) -> DiskEstimate:
        table = build_table()
        download = self.torch.download_gb + table.common_download_gb
        installed = self.torch.installed_gb + table.common_installed_gb
        probe = Path(root)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        try:
            free = shutil.disk_usage(probe).free / 1024 ** 3
        except OSError:
            free = None
        return DiskEstimate(download, installed, free, str(root))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["torch"] = self.torch.as_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> InstallPlan:
        torch_source = data.get("torch_source")
        return cls(base_python=data["base_python"], base_python_version=data.get("base_python_version", ""),
                   torch=TorchChoice.from_dict(data["torch"]),
                   engine=EngineSource(data["engine"]["repository"], data["engine"]["commit"],
                                       bool(data["engine"].get("custom", False))),
                   families=tuple(f for f in data.get("families", DEFAULT_FAMILIES) if f in FAMILIES),
                   bitsandbytes=bool(data.get("bitsandbytes", True)),
                   torch_source=WheelSource.from_dict(torch_source) if torch_source else None,
                   packages_source=WheelSource.from_dict(data.get("packages_source") or {}))


def plan_path(layout: RuntimeLayout) -> Path:
    return layout.state / "plan.json"


def save_plan(layout: RuntimeLayout, plan: InstallPlan) -> None:
    from services.atomic import atomic_write_text

    layout.state.mkdir(parents=True, exist_ok=True)
    atomic_write_text(plan_path(layout), json.dumps(plan.as_dict(), indent=1))


def load_plan(layout: RuntimeLayout) -> InstallPlan | None:
    try:
        return InstallPlan.from_dict(json.loads(plan_path(layout).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def assemble_plan(python, facts, *, torch_override: str = "auto", families: tuple[str, ...] = DEFAULT_FAMILIES,
                  bitsandbytes: bool | None = None, engine_source: str = "", torch_source: WheelSource | None = None,
                  packages_source: WheelSource | None = None, lock: EngineLock | None = None) -> InstallPlan:
    """A plan from what was already detected (a PythonCandidate and HardwareFacts): no I/O but the
    lock file, so the wizard can re-plan on the GUI thread as the user changes a choice."""
    from services.backend.torch_choice import choose_torch
    from services.errors import UserInputError

    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise UserInputError(f"Unknown model family {unknown[0]!r}.", "Choose from: " + ", ".join(FAMILIES) + ".")
    choice = choose_torch(facts, torch_override)
    lock = lock or pinned()
    return InstallPlan(
        base_python=python.path, base_python_version=python.version, torch=choice,
        engine=EngineSource(engine_source or lock.repository, lock.commit, custom=bool(engine_source)),
        families=tuple(families),
        bitsandbytes=choice.kind in ("cuda", "cpu") if bitsandbytes is None else bitsandbytes,
        torch_source=torch_source, packages_source=packages_source or WheelSource())


def make_plan(*, python: str = "", torch_override: str = "auto", families: tuple[str, ...] = DEFAULT_FAMILIES,
              bitsandbytes: bool | None = None, engine_source: str = "", torch_source: WheelSource | None = None,
              packages_source: WheelSource | None = None, facts=None, lock: EngineLock | None = None) -> InstallPlan:
    """Detect what is needed (blocking: runs interpreters and the hardware detection)."""
    from services.backend.pythons import choose_python, find_pythons, inspect_python, no_python_hint
    from services.backend.torch_choice import detect_facts
    from services.errors import BackendError, UserInputError

    if python:
        candidate = inspect_python(python)
        if not candidate.usable:
            raise UserInputError(f"The Python {python} cannot hold the backend: it {candidate.problem}.",
                                 no_python_hint())
    else:
        candidate = choose_python(find_pythons())
        if candidate is None:
            raise BackendError("No suitable Python (3.10 to 3.13 with venv) was found on this computer.",
                               no_python_hint())
    return assemble_plan(candidate, facts if facts is not None else detect_facts(), torch_override=torch_override,
                         families=families, bitsandbytes=bitsandbytes, engine_source=engine_source,
                         torch_source=torch_source, packages_source=packages_source, lock=lock)
