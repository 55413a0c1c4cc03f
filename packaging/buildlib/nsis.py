"""The Windows installer, ``LoRA-Studio-Setup-<version>.exe``, compiled by NSIS from windows/installer.nsi.

A Windows bundle can only be made on Windows (the CI's Windows job does it). Elsewhere, when
makensis is installed, ``compile_check`` compiles the same script against a stand-in folder: it
proves the script compiles with the version, icon and paths build.py passes, and its output is
not an installer of LoRA Studio (it is written to the work folder and named as a check).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from buildlib import project

SCRIPT = project.PACKAGING / "windows" / "installer.nsi"


def find_makensis() -> str | None:
    found = shutil.which("makensis")
    if found:
        return found
    if sys.platform == "win32":
        for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
            candidate = Path(base or "C:/", "NSIS", "makensis.exe")
            if candidate.is_file():
                return str(candidate)
    return None


def compile_script(bundle: Path, output: Path, version: str) -> Path:
    makensis = find_makensis()
    if makensis is None:
        raise RuntimeError("makensis is not installed "
                           "(Windows: choco install nsis; Debian/Ubuntu: apt-get install nsis)")
    output.parent.mkdir(parents=True, exist_ok=True)
    file_version = ".".join(str(n) for n in project.windows_file_version(version))
    defines = {"VERSION": version, "FILE_VERSION": file_version, "BUNDLE_DIR": str(bundle.resolve()),
               "OUTFILE": str(output.resolve()), "ICON": str((project.ICONS / f"{project.SLUG}.ico").resolve())}
    flag = "/" if sys.platform == "win32" else "-"
    # WX: a warning fails the build, so a script that compiles here compiles cleanly on Windows too
    command = [makensis, f"{flag}V2", f"{flag}WX", f"{flag}NOCD", *(f"{flag}D{k}={v}" for k, v in defines.items()),
               str(SCRIPT)]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0 or not output.is_file():
        raise RuntimeError(f"makensis failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return output


def build_setup(bundle: Path, out_dir: Path, version: str) -> Path:
    """The real installer, from a Windows bundle."""
    if not (bundle / f"{project.GUI_EXE_WINDOWS}.exe").is_file():
        raise RuntimeError(f"{bundle} is not a Windows bundle (no {project.GUI_EXE_WINDOWS}.exe); "
                           "the installer is built on Windows")
    return compile_script(bundle, out_dir / project.setup_exe_name(version), version)


def compile_check(work_dir: Path, version: str) -> Path:
    """Compile the script against a stand-in of the Windows bundle's layout (not an installer to ship)."""
    stand_in = work_dir / "nsis-stand-in" / project.BUNDLE_NAME
    if stand_in.exists():
        shutil.rmtree(stand_in)
    (stand_in / "_internal").mkdir(parents=True)
    note = b"Stand-in for the Windows bundle: only checks that installer.nsi compiles.\n"
    for name in (f"{project.GUI_EXE_WINDOWS}.exe", f"{project.SLUG}.exe", "_internal/stand-in.txt"):
        (stand_in / name).write_bytes(note)
    output = work_dir / "nsis-check" / f"compile-check-{project.setup_exe_name(version)}"
    return compile_script(stand_in, output, version)
