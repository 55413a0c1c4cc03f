"""Finding a Python that can create the backend runtime's virtual environment.

The runtime needs CPython 3.10–3.13 with ``venv`` and ``ensurepip`` (Debian and Ubuntu ship
those separately, as ``python3.X-venv``). Candidates: the one the user named, the Windows ``py``
launcher's list, versioned names on PATH, the usual install folders, and, in a source checkout,
the interpreter running LoRA Studio. Each is asked for its version by running it (blocking, a
fraction of a second each: never on the GUI thread).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from services.backend.proc import clean_env, run_capture
from services.version import SUPPORTED_PYTHON, supported_python_text

# sd-scripts is tested on 3.10; 3.11 is what LoRA Studio is tested with; both are preferred.
PREFERENCE = ((3, 11), (3, 10), (3, 12), (3, 13))
_PROBE = ("import sys, venv, ensurepip; print('%d.%d.%d' % sys.version_info[:3]); "
          "print(sys.implementation.name); print(sys.executable)")


@dataclass(frozen=True)
class PythonCandidate:
    path: str
    version: str = ""          # "3.11.7"
    problem: str = ""          # why it cannot be used ("" = usable)

    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def minor(self) -> tuple[int, int]:
        parts = [int(p) for p in self.version.split(".")[:2] if p.isdigit()]
        return (parts[0], parts[1]) if len(parts) == 2 else (0, 0)


def inspect_python(path: str | os.PathLike) -> PythonCandidate:
    path = str(path)
    try:
        proc = run_capture([path, "-I", "-c", _PROBE], timeout=30, env=clean_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return PythonCandidate(path, problem=f"cannot be run ({exc})")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or len(lines) < 3:
        if "ensurepip" in proc.stderr or "venv" in proc.stderr:
            version = run_capture([path, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  timeout=30).stdout.strip()
            hint = f" (on Debian or Ubuntu: sudo apt install python{version}-venv)" if version else ""
            return PythonCandidate(path, version, f"has no venv/ensurepip module{hint}")
        return PythonCandidate(path, problem=f"did not answer ({(proc.stderr or proc.stdout).strip()[-200:]})")
    version, implementation, executable = lines[0], lines[1], lines[2]
    candidate = PythonCandidate(executable or path, version)
    if implementation != "cpython":
        return PythonCandidate(candidate.path, version, f"is {implementation}, not CPython")
    if not SUPPORTED_PYTHON[0] <= candidate.minor <= SUPPORTED_PYTHON[1]:
        return PythonCandidate(candidate.path, version, f"is Python {version}; {supported_python_text()} is needed")
    return candidate


def _candidate_paths() -> list[str]:
    paths: list[str] = []
    if os.name == "nt" and shutil.which("py"):
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            listing = run_capture(["py", "-0p"], timeout=20).stdout
            for line in listing.splitlines():
                token = line.strip().split()[-1] if line.strip() else ""
                if token.lower().endswith("python.exe"):
                    paths.append(token)
    for major, minor in PREFERENCE:
        for name in (f"python{major}.{minor}", f"python{major}{minor}"):
            found = shutil.which(name)
            if found:
                paths.append(found)
    if os.name == "nt":
        local = Path(os.environ.get("LOCALAPPDATA", "")) / "Programs" / "Python"
        for major, minor in PREFERENCE:
            paths.append(str(local / f"Python{major}{minor}" / "python.exe"))
            paths.append(str(Path(os.environ.get("PROGRAMFILES", r"C:\Program Files")) / f"Python{major}{minor}"
                             / "python.exe"))
    else:
        for major, minor in PREFERENCE:
            paths.append(f"/usr/bin/python{major}.{minor}")
            paths.append(f"/usr/local/bin/python{major}.{minor}")
            paths.append(f"/opt/homebrew/bin/python{major}.{minor}")
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            paths.append(found)
    if not getattr(sys, "frozen", False):  # a source checkout: the interpreter running us is a candidate
        paths.append(getattr(sys, "_base_executable", "") or sys.executable)
    unique: list[str] = []
    for path in paths:
        if path and os.path.isfile(path) and path not in unique:
            unique.append(path)
    return unique


def find_pythons(extra: list[str] | None = None) -> list[PythonCandidate]:
    """Every candidate found, inspected; duplicates (the same interpreter by two names) once."""
    seen: set[str] = set()
    found: list[PythonCandidate] = []
    for path in [*(extra or []), *_candidate_paths()]:
        candidate = inspect_python(path)
        key = os.path.realpath(candidate.path) if candidate.usable else path
        if key in seen:
            continue
        seen.add(key)
        found.append(candidate)
    return found


def choose_python(candidates: list[PythonCandidate]) -> PythonCandidate | None:
    usable = [c for c in candidates if c.usable]
    if not usable:
        return None
    rank = {minor: i for i, minor in enumerate(PREFERENCE)}
    return min(usable, key=lambda c: rank.get(c.minor, len(rank)))


def no_python_hint() -> str:
    if os.name == "nt":
        return ("Install Python 3.11 (64-bit) from https://www.python.org/downloads/windows/, "
                "then choose it here or run the setup again.")
    if sys.platform == "darwin":
        return "Install Python 3.11 (https://www.python.org/downloads/macos/ or `brew install python@3.11`)."
    return ("Install Python 3.11 with venv support (Debian/Ubuntu: sudo apt install python3.11 python3.11-venv; "
            "Fedora: sudo dnf install python3.11), then run the setup again.")
