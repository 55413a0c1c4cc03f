"""Using an sd-scripts installation the user already has (kohya_ss's, a manual checkout).

LoRA Studio never modifies such an installation: it checks that the interpreter runs and is
supported and that the folder is sd-scripts, reads its commit, and (through the settings) uses it
as an external runtime. Verification then says what, if anything, does not work there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.backend.pythons import inspect_python
from services.backend.runtime import ENGINE_PROBE_FILE, pinned, read_commit


@dataclass(frozen=True)
class ExistingInstall:
    python: str
    python_version: str
    sd_scripts: str
    commit: str | None
    commit_source: str
    pinned: str
    problem: str = ""

    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def is_pinned(self) -> bool:
        return self.commit == self.pinned

    def lines(self) -> list[str]:
        commit = self.commit or "unknown"
        return [f"Python:     {self.python_version or '?'} ({self.python})",
                f"sd-scripts: {self.sd_scripts} at {commit}"
                + (" (the pinned commit)" if self.is_pinned else f" (LoRA Studio pins {self.pinned[:8]})")]


def suggest_python(sd_scripts: str | Path) -> str:
    """kohya_ss keeps its venv beside sd-scripts: propose that interpreter."""
    folder = Path(sd_scripts).expanduser()
    for base in (folder, folder.parent):
        for rel in ("venv/bin/python", "venv/Scripts/python.exe", ".venv/bin/python", ".venv/Scripts/python.exe"):
            if (base / rel).is_file():
                return str(base / rel)
    return ""


def check_existing(python: str | Path, sd_scripts: str | Path) -> ExistingInstall:
    """Blocking (runs the interpreter once): not on the GUI thread."""
    folder = Path(sd_scripts).expanduser()
    commit, source = read_commit(folder) if folder.is_dir() else (None, "unknown")
    candidate = inspect_python(Path(python).expanduser())
    problem = ""
    if not (folder / ENGINE_PROBE_FILE).is_file():
        problem = f"{folder} is not an sd-scripts folder (it has no {ENGINE_PROBE_FILE})"
    elif not candidate.usable and "venv/ensurepip" not in candidate.problem:
        problem = f"the Python {python} {candidate.problem}"
    return ExistingInstall(python=candidate.path or str(python), python_version=candidate.version,
                           sd_scripts=str(folder.resolve()) if folder.exists() else str(folder), commit=commit,
                           commit_source=source, pinned=pinned().commit, problem=problem)
