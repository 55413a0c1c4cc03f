"""The quick parts of packaging: names and versions, desktop-entry quoting, host-library policy,
ELF reading, icons, and that the spec and CI files say what they must. (The builds are in
test_installers.py, marked slow.)"""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

from buildlib import desktop, elf, hostlibs, project  # noqa: E402


def _pyproject_version() -> str:
    return re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M).group(1)


def test_one_version_number_names_every_artifact():
    version = project.version()
    assert version == _pyproject_version()
    assert project.setup_exe_name(version) == f"LoRA-Studio-Setup-{version}.exe"
    assert version in project.deb_name(version) and version in project.run_name(version)


@pytest.mark.parametrize("pep440,debian", [("0.1.0", "0.1.0"), ("1.2.0rc1", "1.2.0~rc1"), ("1.0.0a2", "1.0.0~a2"),
                                           ("2.0.0.dev3", "2.0.0~~dev3"), ("1.0+abc", "1.0+local.abc"),
                                           ("1.0rc1.dev2", "1.0~rc1~dev2"), ("1.0.post1", "1.0+post1")])
def test_debian_versions_sort_pre_releases_first(pep440, debian):
    assert project.debian_version(pep440) == debian


def test_debian_versions_order_like_pep440():
    import shutil
    import subprocess

    if shutil.which("dpkg") is None:
        pytest.skip("dpkg is not installed")
    ordered = ["1.0.dev1", "1.0a1", "1.0b2", "1.0rc1.dev1", "1.0rc1", "1.0", "1.0.post1", "1.1"]
    for lower, higher in itertools.pairwise(ordered):
        a, b = project.debian_version(lower), project.debian_version(higher)
        assert subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0, (a, b)


def test_windows_file_version_has_four_numbers():
    assert project.windows_file_version("0.1.0") == (0, 1, 0, 0)
    assert project.windows_file_version("1.2rc1") == (1, 2, 0, 0)
    assert project.windows_file_version("3") == (3, 0, 0, 0)


@pytest.mark.parametrize("path,expected", [
    ("/opt/lora-studio/lora-studio", "/opt/lora-studio/lora-studio"),
    ("/home/a b/x", '"/home/a b/x"'),
    ('/home/we"ird$/x', '"/home/we\\\\"ird\\\\$/x"'),
    ("/home/100%/x", '"/home/100%%/x"'),
])
def test_desktop_exec_is_quoted_as_the_specification_asks(path, expected):
    assert desktop.exec_quote(path) == expected


def test_desktop_entry_from_the_template():
    entry = desktop.desktop_entry("/opt/lora-studio/lora-studio")
    assert entry.startswith("[Desktop Entry]\n")
    assert "Exec=/opt/lora-studio/lora-studio\n" in entry and "Icon=lora-studio\n" in entry
    assert "@" not in entry


@pytest.mark.parametrize("soname,package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"), ("libxcb.so.1", "libxcb1"), ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libglib-2.0.so.0", "libglib2.0-0t64 | libglib2.0-0"), ("libQt6Core.so.6", None), ("libssl.so.3", None),
])
def test_host_libraries_map_to_debian_packages(soname, package):
    assert hostlibs.host_package(soname) == package


def test_bundles_leave_out_host_libraries_and_unused_qt_plugins_only():
    assert hostlibs.leave_out("libstdc++.so.6")
    assert hostlibs.leave_out("libxcb-icccm.so.4")
    assert hostlibs.leave_out("PySide6/Qt/plugins/platformthemes/libqgtk3.so")
    assert hostlibs.leave_out("PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so")
    assert not hostlibs.leave_out("PySide6/Qt/plugins/platforms/libqxcb.so")
    assert not hostlibs.leave_out("PySide6/Qt/plugins/platforms/libqwayland.so")
    assert not hostlibs.leave_out("PySide6/Qt/plugins/platforms/libqoffscreen.so")
    assert not hostlibs.leave_out("libxcb-9065bb12.so.1.1.0")  # a wheel's own (renamed) copy stays
    assert not hostlibs.leave_out("libQt6Core.so.6")
    assert hostlibs.libstdcxx_requirement(30) == "libstdc++6 (>= 12)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF files are Linux's")
def test_elf_reader_finds_what_a_library_needs():
    import _ctypes

    path = Path(_ctypes.__file__)
    needed = elf.needed(path)
    assert any(n.startswith("libc.so") for n in needed) or any(n.startswith("libffi") for n in needed)
    assert all(v[0] == 2 for v in elf.symbol_versions(path, "GLIBC"))
    assert not elf.is_elf(ROOT / "pyproject.toml")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF files are Linux's")
def test_elf_reader_spots_a_library_the_loader_would_refuse(tmp_path):
    """What strip does to a patchelf-ed library: a loadable segment whose offset and address no
    longer agree modulo its alignment (numpy's OpenBLAS: "address/offset not page-aligned")."""
    import _ctypes
    import struct

    good = Path(_ctypes.__file__)
    assert elf.loadable(good)
    data = bytearray(good.read_bytes())
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type, _flags, p_offset = struct.unpack_from("<IIQ", data, at)
        (p_align,) = struct.unpack_from("<Q", data, at + 48)
        if p_type == 1 and p_align > 1 and p_offset:  # a PT_LOAD past the first: shift its offset
            struct.pack_into("<Q", data, at + 8, p_offset + 8)
            break
    broken = tmp_path / "broken.so"
    broken.write_bytes(bytes(data))
    assert not elf.loadable(broken)


def test_icons_are_rendered_at_every_size_and_in_the_ico():
    from PIL import Image

    icons = ROOT / "resources" / "icons"
    for size in desktop.PNG_SIZES:
        with Image.open(icons / f"lora-studio-{size}.png") as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    with Image.open(icons / "lora-studio.ico") as ico:
        assert {16, 32, 48, 256} <= {w for w, _h in ico.ico.sizes()}
    svg = (icons / "lora-studio.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and 'viewBox="0 0 256 256"' in svg


def test_main_window_has_the_app_icon(app_parts):
    icon = app_parts.window.windowIcon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 32, 256} <= sizes


def test_spec_excludes_the_ml_stack_and_derives_lazy_modules():
    spec = (ROOT / "packaging" / "lora_studio.spec").read_text(encoding="utf-8")
    assert "FORBIDDEN_MODULES" in spec and "excludes=excludes" in spec
    assert "app\" / \"docks.py\"" in spec and "collect_submodules" in spec
    for name in ("torch", "transformers", "onnxruntime", "accelerate", "diffusers"):
        assert name in project.FORBIDDEN_MODULES


def test_ci_workflows_build_the_installers_on_windows_and_linux():
    workflows = ROOT / ".github" / "workflows"
    text = "\n".join(p.read_text(encoding="utf-8") for p in workflows.glob("*.yml"))
    assert "windows-" in text and "ubuntu-" in text
    assert "packaging/build.py" in text and ".ci/run" in text
    assert "upload-artifact" in text
