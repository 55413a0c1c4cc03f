"""The system report: this machine and both environments, as one JSON-ready dict.

``collect_local`` is quick (well under a second: platform facts, hardware detection, the GUI's
dependency check, free disk space); ``collect_backend`` runs the probe in the backend runtime's
interpreter and takes seconds. ``collect`` does both. Rendering (Markdown, plain text) is in
``services.hardware.report_render``. Nothing here touches Qt; the dialog runs these in a worker.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import platform
import shutil
import sys
from pathlib import Path

from services.backend.payload import runtime_requirements
from services.backend.runtime import locate
from services.backend.worker_launch import probe_pythonpath
from services.hardware import dependency_check as dc
from services.hardware.backend_facts import BackendFacts, run_probe
from services.hardware.monitor import detect_hardware
from services.hardware.requirements import project_requirements, requirements_file
from services.hardware.vram import vram_available

log = logging.getLogger(__name__)

REPORT_VERSION = 1
# Packages whose builds depend on the hardware: pip alone would choose wrongly (a CUDA torch on a
# CPU machine, several GB), so the backend setup installs and repairs them.
HARDWARE_BUILDS = ("torch", "torchvision", "xformers", "bitsandbytes")
REPAIR_COMMAND = "lora-studio backend repair"
KEY_BACKEND_PACKAGES = ("torch", "torchvision", "xformers", "accelerate", "transformers", "diffusers",
                        "bitsandbytes", "safetensors", "huggingface-hub", "numpy", "onnxruntime", "open-clip-torch")


# --- the parts ----------------------------------------------------------------------------------

def os_facts() -> dict:
    description = platform.platform()
    distribution = ""
    if sys.platform.startswith("linux"):
        try:
            distribution = platform.freedesktop_os_release().get("PRETTY_NAME", "")
        except OSError:
            pass
    elif sys.platform == "win32":
        release, version, _csd, _ptype = platform.win32_ver()
        distribution = f"Windows {release} ({version})"
    elif sys.platform == "darwin":
        distribution = f"macOS {platform.mac_ver()[0]}"
    return {"system": platform.system(), "release": platform.release(), "machine": platform.machine(),
            "distribution": distribution, "description": description}


def python_facts() -> dict:
    from services.version import python_supported, supported_python_text

    return {"version": platform.python_version(), "implementation": platform.python_implementation(),
            "executable": sys.executable, "supported": python_supported(),
            "supported_range": supported_python_text()}


def app_facts() -> dict:
    from services.version import app_version

    frozen = bool(getattr(sys, "frozen", False))
    return {"name": "LoRA Studio", "version": app_version(), "frozen": frozen,
            "install": "installed build" if frozen else "source checkout"}


def gui_dependencies() -> dc.DependencyReport:
    return dc.check_current_environment(project_requirements(), environment="LoRA Studio (GUI)")


def _free_space(path: Path) -> dict:
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent  # a folder not created yet: the disk it will be created on
    try:
        usage = shutil.disk_usage(probe)
        return {"free_bytes": usage.free, "total_bytes": usage.total}
    except OSError as exc:
        return {"free_bytes": None, "total_bytes": None, "error": str(exc)}


def disk_facts(settings, dirs) -> list[dict]:
    """Free space where LoRA Studio writes big files: training output and the caches."""
    backend = settings.backend
    try:
        tokenizer_cache = locate(settings).tokenizer_cache_dir
    except Exception as exc:  # a broken lock file must not cost the whole report
        log.warning("backend runtime could not be located: %r", exc)
        tokenizer_cache = Path(backend.tokenizer_cache_dir) if backend.tokenizer_cache_dir else None
    hf_home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    hf_cache = Path(os.environ.get("HF_HUB_CACHE") or hf_home / "hub")
    folders = [
        ("training output", Path(backend.runs_dir) if backend.runs_dir else Path(dirs.data) / "runs"),
        ("LoRA Studio cache", Path(dirs.cache)),
        ("tokenizer cache", tokenizer_cache),
        ("captioning models", Path(settings.captioning.models_dir) if settings.captioning.models_dir else None),
        ("Hugging Face cache", hf_cache),
    ]
    rows = []
    for label, path in folders:
        if path is None:
            continue
        path = Path(path).expanduser()
        rows.append({"label": label, "path": str(path), "exists": path.exists(), **_free_space(path)})
    return rows


# --- the backend runtime ----------------------------------------------------------------------------

def backend_target(settings, explicit: str | None = None) -> dict:
    """Which interpreter to probe, and why: the one given, else the located runtime's, else (in a
    source checkout without a runtime) this interpreter, which is where the workers run then."""
    runtime = None
    try:
        runtime = locate(settings)
    except Exception as exc:
        log.warning("backend runtime could not be located: %r", exc)
    target = {"runtime": runtime.as_dict() if runtime else None,
              "runtime_summary": runtime.summary() if runtime else "Training backend: unknown",
              "python": None, "chosen_by": ""}
    if explicit:
        target.update(python=str(explicit), chosen_by="given on the command line")
    elif runtime is not None and runtime.python and Path(runtime.python).is_file():
        target.update(python=str(runtime.python), chosen_by=f"the {runtime.kind} backend runtime")
        try:
            target["pythonpath"] = probe_pythonpath(runtime)  # where its worker modules are
        except Exception as exc:
            log.warning("the worker modules for %s could not be prepared: %r", runtime.python, exc)
    elif not getattr(sys, "frozen", False):
        target.update(python=sys.executable,
                      chosen_by="no backend runtime is installed; in a source checkout the workers run "
                                "in the GUI's own interpreter")
    return target


def backend_requirements(sd_scripts_dir: str | Path | None) -> list[str]:
    """What the backend runtime must hold: sd-scripts' own requirements (from its checkout, when
    there is one) and what LoRA Studio's workers need there (the backend's list; the same the
    backend's verification checks)."""
    lines: list[str] = []
    if sd_scripts_dir:
        lines += requirements_file(Path(sd_scripts_dir) / "requirements.txt")
    try:
        return lines + runtime_requirements()
    except Exception as exc:  # a frozen build without pyproject.toml: its metadata answers
        log.warning("the workers' requirements could not be read: %r", exc)
        return lines + project_requirements("ml")


def collect_backend(settings, *, python: str | None = None, sd_scripts_dir: str | None = None,
                    probe=run_probe) -> dict:
    """``python``/``sd_scripts_dir``: probe this interpreter / verify against this checkout's
    requirements instead of the located runtime's."""
    target = backend_target(settings, python)
    scripts = sd_scripts_dir or (target["runtime"] or {}).get("sd_scripts_dir")
    target["sd_scripts_dir"] = str(scripts) if scripts else None
    section = {**target, "status": "not-installed", "facts": None, "python_supported": None,
               "dependencies": None, "key_packages": {}}
    if not target["python"]:
        return section
    pythonpath = target.pop("pythonpath", None)
    facts: BackendFacts = probe(target["python"], pythonpath=pythonpath) if pythonpath else probe(target["python"])
    section["status"] = "failed" if facts.fatal else "probed"
    section["facts"] = facts.as_dict()
    if facts.python_version:
        from services.version import python_supported

        parts = tuple(int(p) for p in facts.python_version.split(".")[:2] if p.isdigit())
        section["python_supported"] = python_supported(parts) if len(parts) == 2 else None
    if facts.packages:
        marker = dc.marker_environment_for(facts.python_version or platform.python_version(),
                                           sys_platform=facts.sys_platform, platform_machine=facts.machine,
                                           implementation=facts.implementation)
        report = dc.check(backend_requirements(scripts), facts.packages, environment="backend runtime",
                          python=target["python"], marker_environment=marker,
                          fix_overrides=dict.fromkeys(HARDWARE_BUILDS, REPAIR_COMMAND))
        section["dependencies"] = report.as_dict()
        installed = dc.normalise_installed(facts.packages)
        section["key_packages"] = {name: installed[name] for name in KEY_BACKEND_PACKAGES if name in installed}
    return section


# --- the whole report -------------------------------------------------------------------------------

def collect_local(settings, dirs, *, snapshot=None) -> dict:
    if snapshot is None:
        snapshot = detect_hardware()
    return {
        "report_version": REPORT_VERSION,
        "generated_at": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "app": app_facts(),
        "os": os_facts(),
        "python": python_facts(),
        "gui_dependencies": gui_dependencies().as_dict(),
        "hardware": snapshot.as_dict(),
        "vram": vram_available(snapshot, settings.hardware.stated_vram_gb).as_dict(),
        "disk": disk_facts(settings, dirs),
        "backend": {"status": "pending"},
    }


def collect(settings, dirs, *, backend: bool = True, backend_python: str | None = None,
            sd_scripts_dir: str | None = None, snapshot=None, probe=run_probe) -> dict:
    report = collect_local(settings, dirs, snapshot=snapshot)
    report["backend"] = collect_backend(settings, python=backend_python, sd_scripts_dir=sd_scripts_dir,
                                        probe=probe) if backend else {"status": "skipped"}
    return report
