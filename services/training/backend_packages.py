"""Which Python distributions the backend runtime has, for validation (bitsandbytes, lycoris-lora, ...).

Asked of the backend interpreter itself in a short subprocess that imports nothing heavy (only
importlib.metadata), so the GUI process never imports the ML stack. Call it off the GUI thread.
"""

from __future__ import annotations

import json
import subprocess

from services.errors import BackendError

_SCRIPT = ("import importlib.metadata as m, json; "
           "print(json.dumps(sorted({(d.metadata['Name'] or '').lower() for d in m.distributions()})))")


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def installed_distributions(python: str, timeout: float = 60) -> frozenset[str]:
    try:
        proc = subprocess.run([python, "-c", _SCRIPT], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendError(f"The backend Python {python} could not be asked for its packages: {exc}.") from None
    if proc.returncode != 0:
        raise BackendError(f"The backend Python {python} failed to list its packages.",
                           details=proc.stderr[-2000:])
    try:
        names = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BackendError(f"The backend Python {python} gave an unreadable package list.") from None
    return frozenset(normalise(n) for n in names if n)


def installed_from_probe(report: dict) -> frozenset[str] | None:
    """The same set from a ``workers.env_probe`` report (its ``packages``: name -> version), when the
    backend has already been probed (Settings > Training backend, preflight); None without it."""
    packages = report.get("packages") if isinstance(report, dict) else None
    if not isinstance(packages, dict):
        return None
    return frozenset(normalise(str(n)) for n in packages)
