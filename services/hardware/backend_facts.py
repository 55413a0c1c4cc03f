"""What the backend runtime can do, as its own interpreter reports it (the GUI never imports torch).

``workers.env_probe`` (issue 10, docs/backend-api.md) runs in the runtime's interpreter and prints
one JSON object; ``parse_probe`` reads the fields the system report needs into ``BackendFacts``,
tolerating any missing field (an older probe, a probe that crashed half-way). ``run_probe`` starts
it; it blocks for seconds (importing torch), so the GUI calls it from a worker thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.backend.proc import clean_env, kill_tree
from services.paths import repo_root

PROBE_TIMEOUT_S = 300.0
ACCELERATORS = ("cuda", "rocm", "xpu", "mps")
_LABELS = {"cuda": "CUDA", "rocm": "ROCm", "xpu": "Intel XPU", "mps": "Apple MPS"}


@dataclass(frozen=True)
class TorchDevice:
    kind: str  # cuda, rocm, xpu, mps
    index: int
    name: str
    total_memory: int | None = None
    capability: str = ""


@dataclass(frozen=True)
class Accelerator:
    kind: str
    build: str | None  # the version torch was built for ("12.8"), "yes" when only a flag, None = not built
    available: bool
    devices: tuple[TorchDevice, ...] = ()


@dataclass
class BackendFacts:
    python_version: str | None = None
    python_executable: str | None = None
    implementation: str | None = None
    sys_platform: str | None = None
    machine: str | None = None
    torch_installed: bool | None = None
    torch_version: str | None = None
    torch_build: str | None = None  # cpu, cuda, rocm, xpu, mps
    torch_error: str | None = None
    compute_ok: bool | None = None
    compute_device: str | None = None
    compute_error: str | None = None
    accelerators: dict[str, Accelerator] = field(default_factory=dict)
    bitsandbytes_installed: bool | None = None
    bitsandbytes_version: str | None = None
    bitsandbytes_usable: bool | None = None
    bitsandbytes_error: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    fatal: str | None = None  # the probe could not run at all
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def gpu_devices(self) -> list[TorchDevice]:
        return [d for a in self.accelerators.values() if a.available for d in a.devices]

    def device_summary(self) -> str:
        """What training will run on, in one sentence."""
        if self.fatal:
            return f"unknown (the probe failed: {self.fatal})"
        if not self.torch_installed:
            return "nothing: torch cannot be imported" + (f" ({self.torch_error})" if self.torch_error else "")
        usable = [a for a in self.accelerators.values() if a.available]
        if usable:
            parts = []
            for accelerator in usable:
                build = f" {accelerator.build}" if accelerator.build and accelerator.build != "yes" else ""
                names = ", ".join(f"{d.name}" + (f" ({d.total_memory / 1024 ** 3:.1f} GB)" if d.total_memory else "")
                                  for d in accelerator.devices) or "a device"
                parts.append(f"{_LABELS[accelerator.kind]}{build}: {names}")
            return "; ".join(parts)
        built = [a for a in self.accelerators.values() if a.build and a.kind != "mps"]
        if built:
            kinds = " and ".join(f"{_LABELS[a.kind]}{f' {a.build}' if a.build != 'yes' else ''}" for a in built)
            return f"CPU only: torch is built for {kinds} but sees no GPU (driver missing or too old?)"
        return "CPU only: this torch build has no GPU support"

    def bitsandbytes_summary(self) -> str:
        if self.bitsandbytes_usable:
            return f"usable (bitsandbytes {self.bitsandbytes_version})"
        if self.bitsandbytes_installed is False and not self.bitsandbytes_version:
            return "not installed (8-bit optimizers such as AdamW8bit are unavailable)"
        if self.bitsandbytes_usable is None:
            return "unknown"
        why = f": {self.bitsandbytes_error}" if self.bitsandbytes_error else ""
        return f"installed ({self.bitsandbytes_version or 'unknown version'}) but not usable{why}"

    def as_dict(self) -> dict:
        return {
            "python": {"version": self.python_version, "executable": self.python_executable,
                       "implementation": self.implementation, "sys_platform": self.sys_platform,
                       "machine": self.machine},
            "torch": {"installed": self.torch_installed, "version": self.torch_version, "build": self.torch_build,
                      "error": self.torch_error,
                      "compute": {"ok": self.compute_ok, "device": self.compute_device, "error": self.compute_error},
                      "accelerators": {k: {"build": a.build, "available": a.available,
                                           "devices": [d.__dict__ for d in a.devices]}
                                       for k, a in self.accelerators.items()}},
            "devices": self.device_summary(),
            "bitsandbytes": {"installed": self.bitsandbytes_installed, "version": self.bitsandbytes_version,
                             "usable": self.bitsandbytes_usable, "error": self.bitsandbytes_error,
                             "summary": self.bitsandbytes_summary()},
            "package_count": len(self.packages),
            "fatal": self.fatal,
        }


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _str(value) -> str | None:
    return None if value is None else str(value)


def _bool(value) -> bool | None:
    return value if isinstance(value, bool) else None


def parse_probe(text: str) -> BackendFacts:
    """The probe's JSON (the last non-empty line of its stdout) into facts; never raises."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return BackendFacts(fatal="the probe printed nothing")
    try:
        data = json.loads(lines[-1])
    except ValueError as exc:
        return BackendFacts(fatal=f"the probe's output is not JSON ({exc})")
    if not isinstance(data, dict):
        return BackendFacts(fatal="the probe's output is not a JSON object")
    python, torch, bnb = _dict(data.get("python")), _dict(data.get("torch")), _dict(data.get("bitsandbytes"))
    accelerators = {}
    for kind in ACCELERATORS:
        section = _dict(torch.get(kind))
        if not section:
            continue
        build = section.get("build")
        build = "yes" if build is True else (None if build in (False, None, "") else str(build))
        devices = tuple(TorchDevice(kind, int(d.get("index", i)), str(d.get("name", f"{kind}:{i}")),
                                    d.get("total_memory") if isinstance(d.get("total_memory"), int) else None,
                                    str(d.get("capability", "") or ""))
                        for i, d in enumerate(section.get("devices") or []) if isinstance(d, dict))
        accelerators[kind] = Accelerator(kind, build, bool(section.get("available")), devices)
    compute = _dict(torch.get("compute"))
    packages = {str(k): str(v) for k, v in _dict(data.get("packages")).items()}
    return BackendFacts(
        python_version=_str(python.get("version")), python_executable=_str(python.get("executable")),
        implementation=_str(python.get("implementation")), sys_platform=_str(python.get("sys_platform")),
        machine=_str(python.get("machine")),
        torch_installed=_bool(torch.get("installed")), torch_version=_str(torch.get("version")),
        torch_build=_str(torch.get("build")), torch_error=_str(torch.get("error")),
        compute_ok=_bool(compute.get("ok")), compute_device=_str(compute.get("device")),
        compute_error=_str(compute.get("error")), accelerators=accelerators,
        bitsandbytes_installed=_bool(bnb.get("installed")), bitsandbytes_version=_str(bnb.get("version")),
        bitsandbytes_usable=_bool(bnb.get("usable")), bitsandbytes_error=_str(bnb.get("error")),
        packages=packages, fatal=_str(data.get("fatal")), raw=data)


def probe_command(python: str | Path) -> list[str]:
    return [str(python), "-m", "workers.env_probe"]


def probe_environment(pythonpath: str | None = None) -> dict[str, str]:
    """The runtime's environment: the user's, minus what would load our interpreter's libraries,
    plus where the worker modules are (``pythonpath``; by default the source tree in a checkout,
    nothing in a frozen build, whose managed runtime has them installed)."""
    env = clean_env()
    if pythonpath is None and not getattr(sys, "frozen", False):
        pythonpath = str(repo_root())
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


def run_probe(python: str | Path, timeout_s: float = PROBE_TIMEOUT_S, cancel=None,
              pythonpath: str | None = None) -> BackendFacts:
    """Run the probe in ``python``'s interpreter and parse what it says. Blocking (seconds).
    ``cancel``: a ``threading.Event``; when set, the probe is killed and the facts say so.
    ``pythonpath``: where the worker modules are for that interpreter (see probe_environment).

    The quick probe: without ``--sd-scripts`` (whether each training script builds its parser is
    the backend's verification, ``lora-studio backend verify``, and takes much longer)."""
    try:
        # In its own process group: the probe starts children (one per heavy probe) that a
        # cancel must end too.
        process = subprocess.Popen(probe_command(python), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, env=probe_environment(pythonpath), cwd=str(Path.home()),
                                   **_own_process_group())
    except FileNotFoundError:
        return BackendFacts(fatal=f"the interpreter {python} does not exist")
    except OSError as exc:
        return BackendFacts(fatal=f"the interpreter {python} cannot be started ({exc})")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            stdout_bytes, stderr_bytes = process.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            cancelled = cancel is not None and cancel.is_set()
            if cancelled or time.monotonic() > deadline:
                _kill(process)
                return BackendFacts(fatal="cancelled" if cancelled else
                                    f"the probe did not finish within {timeout_s:.0f} s")
    facts = parse_probe(stdout_bytes.decode("utf-8", "replace"))
    if facts.fatal and process.returncode:
        stderr = stderr_bytes.decode("utf-8", "replace").strip().splitlines()
        tail = stderr[-1] if stderr else ""
        if "No module named 'workers'" in tail or "No module named workers" in tail:
            facts.fatal = ("LoRA Studio's worker modules are not installed in this runtime "
                           "(repair the backend in Settings > Training backend)")
        else:
            facts.fatal = f"the probe exited with {process.returncode}" + (f": {tail}" if tail else "")
    return facts


def _own_process_group() -> dict:
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
    return {"start_new_session": True}


def _kill(process: subprocess.Popen) -> None:
    kill_tree(process, grace=1.0)
    try:
        process.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError):
        pass
