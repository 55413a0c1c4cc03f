"""How to start a worker (``python -m workers.<name>``) in the backend runtime.

Where the ``workers`` package comes from:
- a source checkout: the tree itself, first on ``PYTHONPATH`` (what you edit is what runs);
- a frozen GUI with the managed runtime: the payload installed there (checked against the
  payload this GUI brings: a mismatch is an error with Repair as the fix, never a guess);
- a frozen GUI with an external runtime (kohya_ss's venv, which we never modify): the payload
  unpacked under our data folder, on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
from pathlib import Path

from services.backend import payload
from services.backend.proc import clean_env
from services.backend.runtime import BackendRuntime, managed_layout
from services.errors import BackendError
from services.paths import repo_root


def installed_payload_version(runtime: BackendRuntime) -> str | None:
    """The payload version the workers step installed in the managed runtime (from its marker)."""
    layout = managed_layout(runtime.root.parent)
    try:
        marker = json.loads(layout.marker("workers").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if marker.get("status") != "done":
        return None
    return (marker.get("details") or {}).get("version")


def _extracted(runtime: BackendRuntime) -> Path:
    return payload.extracted_dir(runtime.root / "payload", runtime.root / "downloads" / "payload")


def probe_pythonpath(runtime: BackendRuntime) -> str:
    """The payload copy a probe runs from: never the runtime's installed one, which is what the
    probe checks (and which may be the broken part)."""
    if not payload.is_frozen():
        return str(repo_root())
    return str(_extracted(runtime))


def worker_environment(runtime: BackendRuntime, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = clean_env(extra)
    if not payload.is_frozen():
        env["PYTHONPATH"] = str(repo_root())
        return env
    if runtime.managed:
        expected = payload.expected().version
        installed = installed_payload_version(runtime)
        if installed != expected:
            raise BackendError(
                f"The backend's worker modules are {'version ' + installed if installed else 'not installed'}, "
                f"this LoRA Studio needs {expected}.",
                "Run Repair in Settings > Training backend (or `lora-studio backend repair`).")
        return env
    env["PYTHONPATH"] = str(_extracted(runtime))
    return env


def worker_command(runtime: BackendRuntime, module: str, *args: str,
                   extra_env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """``([python, "-m", "workers.<module>", *args], env)`` for a worker in this runtime."""
    if runtime.python is None or not runtime.python.is_file():
        raise BackendError("The training backend's Python is missing.", BackendError.default_hint)
    name = module if module.startswith("workers.") else f"workers.{module}"
    return [str(runtime.python), "-m", name, *args], worker_environment(runtime, extra_env)
