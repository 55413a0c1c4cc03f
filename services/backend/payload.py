"""LoRA Studio's own code for the backend runtime: the worker payload.

The captioning and probe workers run in the backend runtime's interpreter, not in the GUI's; a
frozen GUI cannot lend its code to another interpreter. So the workers travel as a wheel,
``lora-studio-workers``, holding the top-level ``workers`` package and the Qt-free part of
``services`` (the domain modules the workers import; every ``qt`` subpackage is left out).

- In a source checkout the wheel is built from the tree on demand (``ensure_wheel``).
- A frozen build ships it prebuilt in ``<bundle>/payload/`` (``build_wheel`` at packaging time).
- The managed runtime gets it pip-installed (``--no-deps``; its requirements are installed with
  sd-scripts' in one resolution). An external runtime (kohya_ss's venv) is never modified: the
  wheel is unpacked under our data folder and put on ``PYTHONPATH`` (``extracted_dir``).

Version: ``<app version>+<fingerprint>``, where the fingerprint is a hash of every file in the
payload. The GUI knows the fingerprint it expects (``expected``); the runtime's installed one is in
the install step's marker and, authoritative, in the installed distribution (``workers/_payload.json``,
and ``lora_studio_payload.json`` in its dist-info, which ``workers.env_probe`` reports). Any
difference is a mismatch, reported as such and fixed by Repair; nothing guesses compatibility.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from services.errors import BackendError
from services.paths import repo_root
from services.version import app_version

DIST_NAME = "lora-studio-workers"
MANIFEST_IN_PACKAGE = "workers/_payload.json"
MANIFEST_IN_DIST_INFO = "lora_studio_payload.json"
REQUIREMENTS_IN_DIST_INFO = "lora_studio_requirements.txt"
BUNDLE_FOLDER = "payload"
PACKAGES = ("workers", "services")
DATA_SUFFIXES = (".py", ".toml", ".json", ".txt")
# GUI dependencies the workers never need (Qt and the widgets built on it).
GUI_ONLY = {"pyside6-essentials", "pyside6", "superqt", "pyqtgraph"}


@dataclass(frozen=True)
class PayloadInfo:
    version: str          # "0.1.0+1a2b3c4d5e6f"
    fingerprint: str      # sha256 of the payload's files (hex)
    app_version: str
    origin: str           # "source" (built from this checkout) or "bundle" (shipped prebuilt)

    def manifest(self) -> dict:
        return {"name": DIST_NAME, **asdict(self)}


def _skip(rel: Path) -> bool:
    return "qt" in rel.parts or "__pycache__" in rel.parts or rel.name == "_payload.json"


def source_files(root: Path | None = None) -> dict[str, Path]:
    """archive path -> file, for every payload file in a source tree."""
    root = Path(root) if root else repo_root()
    found: dict[str, Path] = {}
    for package in PACKAGES:
        base = root / package
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and path.suffix in DATA_SUFFIXES and not _skip(rel):
                found[rel.as_posix()] = path
    return found


def fingerprint_of(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def runtime_requirements(root: Path | None = None) -> list[str]:
    """What the workers need besides the payload: the ``ml`` extra and the GUI's non-Qt
    dependencies (the services domain modules import some of them), from pyproject.toml."""
    from packaging.requirements import Requirement

    from services.hardware.requirements import project_requirements

    pyproject = (Path(root) if root else repo_root()) / "pyproject.toml"
    lines = project_requirements(pyproject=pyproject) + project_requirements("ml", pyproject=pyproject)
    return [line for line in lines if Requirement(line).name.lower() not in GUI_ONLY]


def _source_info(root: Path) -> tuple[PayloadInfo, dict[str, bytes]]:
    files = {name: path.read_bytes() for name, path in source_files(root).items()}
    fp = fingerprint_of(files)
    version = app_version()
    return PayloadInfo(version=f"{version}+{fp[:12]}", fingerprint=fp, app_version=version, origin="source"), files


def build_wheel(out_dir: Path, root: Path | None = None) -> Path:
    """Build the payload wheel from a source tree (packaging calls this for the bundle)."""
    from services.backend.wheels import wheel_name, write_wheel

    root = Path(root) if root else repo_root()
    info, files = _source_info(root)
    target = Path(out_dir) / wheel_name(DIST_NAME, info.version)
    if target.is_file():
        return target
    manifest = json.dumps(info.manifest(), indent=1).encode("utf-8")
    requirements = runtime_requirements(root)
    return write_wheel(out_dir, DIST_NAME, info.version, {**files, MANIFEST_IN_PACKAGE: manifest},
                       requires=requirements, requires_python=">=3.10",
                       summary="LoRA Studio's worker modules for the backend runtime",
                       dist_info_files={MANIFEST_IN_DIST_INFO: manifest,
                                        REQUIREMENTS_IN_DIST_INFO: ("\n".join(requirements) + "\n").encode()})


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def bundled_wheel() -> Path | None:
    folder = repo_root() / BUNDLE_FOLDER
    wheels = sorted(folder.glob(f"{DIST_NAME.replace('-', '_')}-*.whl")) if folder.is_dir() else []
    return wheels[-1] if wheels else None


def read_wheel(wheel: Path, origin: str = "bundle") -> tuple[PayloadInfo, list[str]]:
    """The manifest and the requirements inside a payload wheel."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            manifest = json.loads(archive.read(MANIFEST_IN_PACKAGE))
            dist_info = next(n.split("/")[0] for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            reqs = archive.read(f"{dist_info}/{REQUIREMENTS_IN_DIST_INFO}").decode("utf-8").split("\n")
    except (OSError, KeyError, ValueError, StopIteration, zipfile.BadZipFile) as exc:
        raise BackendError(f"The worker payload {wheel} is damaged ({exc}).",
                           "Reinstall LoRA Studio; the payload ships with it.") from exc
    info = PayloadInfo(version=manifest["version"], fingerprint=manifest["fingerprint"],
                       app_version=manifest.get("app_version", ""), origin=origin)
    return info, [r for r in reqs if r.strip()]


@functools.lru_cache(maxsize=4)
def _expected_cached(key: tuple) -> PayloadInfo:
    if is_frozen():
        wheel = bundled_wheel()
        if wheel is None:
            raise BackendError("This LoRA Studio was built without its worker payload.",
                               "Reinstall LoRA Studio.")
        return read_wheel(wheel)[0]
    return _source_info(repo_root())[0]


def expected() -> PayloadInfo:
    """The payload this GUI brings (recomputed when a source file changes)."""
    if is_frozen():
        return _expected_cached(("bundle",))
    stamps = tuple((name, path.stat().st_mtime_ns) for name, path in source_files().items())
    return _expected_cached(stamps)


def ensure_wheel(work_dir: Path) -> tuple[Path, PayloadInfo, list[str]]:
    """The payload wheel to install, with its manifest and requirements: the bundled one, or one
    built from this checkout into ``work_dir``."""
    if is_frozen():
        wheel = bundled_wheel()
        if wheel is None:
            raise BackendError("This LoRA Studio was built without its worker payload.", "Reinstall LoRA Studio.")
    else:
        wheel = build_wheel(work_dir)
    info, requirements = read_wheel(wheel, "bundle" if is_frozen() else "source")
    return wheel, info, requirements


def extracted_dir(base: Path, work_dir: Path) -> Path:
    """The payload unpacked under ``base`` (for an external runtime's PYTHONPATH); reused when the
    same version is already there."""
    wheel, info, _ = ensure_wheel(work_dir)
    target = Path(base) / info.version
    if (target / MANIFEST_IN_PACKAGE).is_file():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith(PACKAGES) and ".." not in member.split("/"):
                archive.extract(member, partial)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target
