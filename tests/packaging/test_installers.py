"""The installers, built for real and installed into temporary places (slow: CI runs them).

One PyInstaller build per session (light compression, ``--fast``) feeds every test: the bundle's
checks, the .deb unpacked and installed with dpkg into a temporary root, the .run installed into
a temporary HOME (with a space in its path) and uninstalled, the NSIS script compiled. A test whose
tool is missing (dpkg-deb, makeself, makensis) is skipped and says which; scripts/setup.sh test
installs them all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

from buildlib import checks, elf, payload, project  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="the Linux installers are built on Linux (Windows: the CI's Windows job)")]

SELF_TEST_TIMEOUT = 180


def _tool(name: str) -> bool:
    return shutil.which(name) is not None


def _version() -> str:
    return re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M).group(1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """dist folder of one build of everything this machine can build."""
    pytest.importorskip("PyInstaller", reason="PyInstaller is not installed (the `test` extra has it)")
    base = tmp_path_factory.mktemp("packaging")
    targets = ["bundle"] + [t for t, tool in (("deb", "dpkg-deb"), ("run", "makeself"), ("nsis-check", "makensis"))
                            if _tool(tool)]
    env = {k: v for k, v in os.environ.items() if k != "LORA_STUDIO_HOME"}
    proc = subprocess.run([sys.executable, str(PACKAGING / "build.py"), *targets, "--fast", "--skip-self-test",
                           "--dist", str(base / "dist"), "--work", str(base / "work")],
                          capture_output=True, text=True, timeout=840, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    report = json.loads((base / "dist" / "build-report.json").read_text())
    return {"dist": base / "dist", "work": base / "work", "report": report,
            "bundle": base / "dist" / project.BUNDLE_NAME, "log": proc.stdout}


def _self_test(executable: Path, home: Path, env_extra: dict | None = None) -> dict:
    env = dict(os.environ, LORA_STUDIO_HOME=str(home), QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(executable), "--self-test"], capture_output=True, text=True,
                          timeout=SELF_TEST_TIMEOUT, env=env, cwd=home.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True and summary["version"] == _version()
    assert summary["checks"]["torch_imported"] is False
    return summary


# --- the bundle ---------------------------------------------------------------------------------

def test_bundle_contains_no_ml_stack(built):
    for name in ("torch", "transformers", "onnxruntime", "accelerate", "diffusers"):
        assert name in project.FORBIDDEN_MODULES
    internal = built["bundle"] / "_internal"
    assert not [p for p in internal.iterdir() if p.name.split(".")[0].split("-")[0] in {"torch", "transformers"}]
    modules = checks.archive_modules(built["bundle"])
    assert "app.main_window" in modules  # the archive was read
    assert not {m for m in modules if m.split(".")[0] in project.FORBIDDEN_MODULES}
    assert checks.forbidden_content(built["bundle"]) == []


def test_bundle_is_within_the_size_budget(built):
    size = checks.size_mb(built["bundle"])
    assert 40 < size <= project.SIZE_BUDGET_MB == 250, f"{size:.0f} MiB"


def test_bundle_freezes_every_module_of_the_gui(built):
    """Dock widgets (named as strings in app/docks.py) and CLI commands (found by pkgutil) are
    imported by name at run time; the spec must have found them all."""
    import pkgutil

    import app
    import services
    import widgets
    from app.docks import CENTRAL, DOCKS

    modules = checks.archive_modules(built["bundle"])
    for spec in (CENTRAL, *(d.factory for d in DOCKS)):
        assert spec.partition(":")[0] in modules, spec
    for package in (app, widgets, services):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            assert info.name in modules, info.name


def test_bundle_carries_resources_metadata_and_the_worker_payload(built):
    internal = built["bundle"] / "_internal"
    for source in (ROOT / "resources").rglob("*"):
        if source.is_file():
            assert (internal / source.relative_to(ROOT)).is_file(), source
    if (ROOT / "profiles").is_dir():
        for source in (ROOT / "profiles").rglob("*.toml"):
            assert (internal / source.relative_to(ROOT)).is_file(), source
    for source in (ROOT / "vendor").glob("*"):
        if source.is_file():  # the engine's lock file, read by the backend set-up
            assert (internal / "vendor" / source.name).is_file(), source
    assert (internal / "licenses" / "PySide6_Essentials").is_dir()
    metadata = (internal / f"lora_studio-{_version()}.dist-info" / "METADATA").read_text()
    assert f"Version: {_version()}" in metadata
    if not payload.payload_expected():
        return  # this tree has no services/backend/payload.py yet: nothing for the backend runtime to ship
    wheels = list((internal / "payload").glob("*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as archive:
        names = set(archive.namelist())
    assert "workers/__init__.py" in names and not any("/qt/" in n for n in names)


def test_bundle_answers_version_and_help_without_the_source_tree(built, tmp_path):
    exe = project.bundle_executable(built["bundle"])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                             env=env)
    assert version.stdout.strip() == f"LoRA Studio {_version()}"
    from app.cli import commands

    help_text = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                               env=env).stdout
    for name in commands():
        assert name in help_text, f"sub-command {name} missing from the frozen --help"


def test_bundle_finds_the_engine_lock_and_its_worker_payload(built, tmp_path):
    """The backend set-up reads vendor/'s lock file and the bundled payload from inside the bundle."""
    from app.cli import commands

    if "backend" not in commands() or not payload.payload_expected():
        pytest.skip("this tree has no backend command or worker payload yet")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["LORA_STUDIO_HOME"] = str(tmp_path / "home")
    proc = subprocess.run([str(project.bundle_executable(built["bundle"])), "backend", "info", "--json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    info = json.loads(proc.stdout)
    lock = (ROOT / "vendor" / "sd-scripts.lock").read_text(encoding="utf-8")
    assert info["runtime"]["pinned_commit"] and info["runtime"]["pinned_commit"] in lock


def test_every_library_the_bundle_needs_is_bundled_or_a_declared_dependency(built):
    needs = checks.host_needs(built["bundle"])
    assert dict(needs.unresolved) == {}
    elf_files = [p for p in built["bundle"].rglob("*") if p.is_file() and not p.is_symlink() and elf.is_elf(p)]
    assert len(elf_files) > 50 and all(elf.loadable(p) for p in elf_files)  # nothing stripped into uselessness
    depends = needs.debian_depends()
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0", "libegl1"):
        assert package in depends
    assert any(d.startswith("libc6 (>= 2.") for d in depends)
    # host libraries are not carried: a private libstdc++ or libxcb breaks on other distributions
    assert not list((built["bundle"] / "_internal").glob("libstdc++.so*"))
    assert not list((built["bundle"] / "_internal").glob("libxcb-icccm.so*"))


# --- the .deb -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deb_file(built):
    if not _tool("dpkg-deb"):
        pytest.skip("dpkg-deb is not installed (part of dpkg; Debian/Ubuntu only)")
    path = built["dist"] / project.deb_name(_version())
    assert path.is_file(), built["log"]
    return path


def test_deb_unpacked_into_a_temporary_root_passes_the_self_test(deb_file, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb_file), str(root)], check=True, timeout=120)
    fields = subprocess.run(["dpkg-deb", "-f", str(deb_file)], capture_output=True, text=True, check=True).stdout
    assert f"Package: {project.SLUG}" in fields and f"Version: {project.debian_version(_version())}" in fields
    assert "libxcb-cursor0" in fields and f"Architecture: {project.deb_architecture()}" in fields

    assert os.readlink(root / "usr/bin/lora-studio") == "/opt/lora-studio/lora-studio"
    entry = (root / "usr/share/applications/lora-studio.desktop").read_text()
    assert "Exec=/opt/lora-studio/lora-studio\n" in entry and "Icon=lora-studio\n" in entry
    if _tool("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(root / "usr/share/applications/lora-studio.desktop")],
                               capture_output=True, text=True)
        assert check.returncode == 0 and "error" not in check.stdout, check.stdout
    for size in (16, 32, 48, 128, 256, 512):
        assert (root / f"usr/share/icons/hicolor/{size}x{size}/apps/lora-studio.png").is_file()
    assert (root / "usr/share/icons/hicolor/scalable/apps/lora-studio.svg").is_file()

    _self_test(root / "opt/lora-studio/lora-studio", tmp_path / "home")


def test_deb_installs_and_removes_cleanly_with_dpkg(deb_file, tmp_path):
    """dpkg itself, with its own database in a temporary root: everything it unpacked goes on removal."""
    if not _tool("dpkg"):
        pytest.skip("dpkg is not installed")
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    (root / "var/lib/dpkg/status").touch()
    dpkg = ["dpkg", f"--root={root}", "--force-depends", "--force-not-root", "--log=/dev/null"]
    for action in (["-i", str(deb_file)], ["-r", project.SLUG], ["-P", project.SLUG]):
        proc = subprocess.run(dpkg + action, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        if action[0] == "-i":
            assert (root / "opt/lora-studio/lora-studio").is_file()
            assert (root / "usr/share/applications/lora-studio.desktop").is_file()
    left = [p for p in root.rglob("*") if not p.relative_to(root).as_posix().startswith("var")]
    assert left == []
    control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb_file)], capture_output=True, check=True).stdout
    assert b"postinst" not in control and b"postrm" not in control  # nothing done that dpkg cannot undo


def test_deb_depends_name_real_packages(deb_file):
    """Every alternative group of Depends names a package this distribution knows."""
    if not _tool("apt-cache"):
        pytest.skip("apt-cache is not installed")
    known = set(subprocess.run(["apt-cache", "pkgnames"], capture_output=True, text=True, timeout=120).stdout.split())
    if len(known) < 1000:
        pytest.skip("apt's package lists are not downloaded here (apt-get update)")
    depends = subprocess.run(["dpkg-deb", "-f", str(deb_file), "Depends"], capture_output=True, text=True,
                             check=True).stdout
    for group in depends.split(","):
        names = [alt.strip().split(" ")[0] for alt in group.split("|")]
        assert any(name in known for name in names), group


# --- the .run -----------------------------------------------------------------------------------

def test_run_installs_into_the_home_with_a_desktop_entry_and_uninstalls(built, tmp_path):
    if not _tool("makeself"):
        pytest.skip("makeself is not installed (apt-get install makeself)")
    run = built["dist"] / project.run_name(_version())
    home = tmp_path / "home with space"
    user_data = home / ".local/share/lora-studio/datasets/mine.txt"  # where the app keeps the user's data
    user_data.parent.mkdir(parents=True)
    user_data.write_text("the user's")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_") and k not in ("LORA_STUDIO_HOME",
                                                                                         "PYTHONPATH")}
    env["HOME"] = str(home)
    for attempt in (1, 2):  # the second run replaces the first install (an upgrade)
        proc = subprocess.run(["sh", str(run), "--nox11", "--quiet"], capture_output=True, text=True, timeout=300,
                              env=env, cwd=tmp_path)
        assert proc.returncode == 0, f"attempt {attempt}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"

    app_dir = home / ".local/opt/lora-studio"
    exe = app_dir / "lora-studio"
    entry = (home / ".local/share/applications/lora-studio.desktop").read_text()
    assert f'Exec="{exe}"\n' in entry and f"TryExec={exe}\n" in entry and "Icon=lora-studio\n" in entry
    if _tool("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(home / ".local/share/applications/lora-studio.desktop")],
                               capture_output=True, text=True)
        assert check.returncode == 0 and "error" not in check.stdout, check.stdout
    assert (home / ".local/share/icons/hicolor/256x256/apps/lora-studio.png").is_file()
    assert os.readlink(home / ".local/bin/lora-studio") == str(exe)
    _self_test(home / ".local/bin/lora-studio", tmp_path / "app-home")

    proc = subprocess.run([str(app_dir / "uninstall.sh")], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not app_dir.exists()
    left = sorted(p.relative_to(home).as_posix() for p in home.rglob("*") if not p.is_dir())
    assert left == [".local/share/lora-studio/datasets/mine.txt"]  # only the user's own file
    assert user_data.read_text() == "the user's"


# --- Windows ------------------------------------------------------------------------------------

def test_nsis_script_compiles(built):
    if not _tool("makensis"):
        pytest.skip("makensis is not installed (apt-get install nsis); the Windows CI job compiles it too")
    output = built["work"] / "nsis-check" / f"compile-check-{project.setup_exe_name(_version())}"
    assert output.read_bytes()[:2] == b"MZ"
    assert built["report"]["artifacts"]["nsis-check"]["mib"] < 5


def test_build_report_gives_sizes_and_times(built):
    report = built["report"]
    assert report["version"] == _version()
    for name in ("bundle", "checks"):
        assert report["artifacts"][name]["seconds"] > 0
    assert report["artifacts"]["bundle"]["mib"] <= project.SIZE_BUDGET_MB
    if _tool("dpkg-deb"):
        assert Path(report["artifacts"]["deb"]["path"]).name == project.deb_name(_version())
    if _tool("makeself"):
        assert Path(report["artifacts"]["run"]["path"]).name == project.run_name(_version())
