"""The dependency checker against this interpreter's real packages and crafted requirement sets."""

from __future__ import annotations

import sys
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement

from services.hardware import dependency_check as dc
from services.hardware.requirements import project_requirements, requirements_file

PACKAGING = version("packaging")
PSUTIL = version("psutil")
MAJOR = int(PACKAGING.split(".")[0])


def statuses(report: dc.DependencyReport) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_real_installed_packages_against_every_operator():
    report = dc.check_current_environment([
        f"packaging=={PACKAGING}",
        f"packaging>={MAJOR}",
        f"packaging<{MAJOR + 1}",
        f"packaging!={MAJOR}.999.999",
        f"packaging~={MAJOR}.0",
    ], environment="tests")
    assert [c.status for c in report.checks] == [dc.OK] * 5
    assert all(c.installed == PACKAGING for c in report.checks)
    assert report.ok and report.fix_commands() == []
    assert report.summary() == "all 5 requirements satisfied"


def test_each_operator_can_also_fail_against_a_real_package():
    report = dc.check_current_environment([
        "packaging==0.1",
        f"packaging>={MAJOR + 1}",
        f"packaging<{MAJOR}",
        f"packaging!={PACKAGING}",
        f"packaging~={MAJOR + 1}.0",
    ])
    assert [c.status for c in report.checks] == [dc.MISMATCH] * 5
    assert not report.ok and len(report.mismatched) == 5
    assert f"packaging {PACKAGING} is installed but ==0.1 is needed" == report.checks[0].describe()


@pytest.mark.parametrize("written", ["PSUTIL", "PsUtil>=1", "psutil", "Send2Trash", "send2trash",
                                     "send_2trash".replace("_2", "2"), "PySide6_Essentials",
                                     "pyside6.essentials", "PYSIDE6-ESSENTIALS>=6"])
def test_names_are_compared_in_canonical_form(written):
    report = dc.check_current_environment([written])
    assert report.checks[0].status == dc.OK, report.checks[0]


def test_missing_package_is_reported_with_the_command_that_installs_it():
    report = dc.check_current_environment(["no-such-package-lora-studio>=1.2", f"psutil>={PSUTIL}"],
                                          environment="tests")
    assert statuses(report) == {"no-such-package-lora-studio": dc.MISSING, "psutil": dc.OK}
    assert [c.name for c in report.missing] == ["no-such-package-lora-studio"]
    (command,) = report.fix_commands()
    assert command.startswith(sys.executable) or command.startswith(f"'{sys.executable}'")
    assert "-m pip install 'no-such-package-lora-studio>=1.2'" in command
    assert "is not installed (needs >=1.2)" in report.checks[0].describe()


def test_crafted_installed_versions_cover_local_prerelease_and_invalid_versions():
    installed = {"Torch": "2.13.0+cu128", "numpy": "2.1.0rc1", "weird": "not a version", "tomlkit": "0.13.2"}
    report = dc.check(["torch==2.13.0", "numpy>=2", "weird>=1", "tomlkit~=0.12.0", "weird"], installed,
                      python="/opt/rt/bin/python")
    assert [c.status for c in report.checks] == [dc.OK, dc.OK, dc.UNPARSEABLE, dc.MISMATCH, dc.OK]
    assert "invalid version 'not a version'" in report.checks[2].describe()
    assert report.fix_commands() == ["/opt/rt/bin/python -m pip install 'weird>=1' 'tomlkit~=0.12.0'"]


def test_markers_are_evaluated_for_the_interpreter_being_checked():
    reqs = ['pywin32>=300; sys_platform == "win32"', 'tomli>=2; python_version < "3.11"']
    linux_311 = dc.marker_environment_for("3.11.7", sys_platform="linux")
    windows_310 = dc.marker_environment_for("3.10.11", sys_platform="win32")
    on_linux = dc.check(reqs, {}, marker_environment=linux_311)
    on_windows = dc.check(reqs, {"tomli": "2.0.1"}, marker_environment=windows_310, python=r"C:\rt\python.exe")
    assert [c.status for c in on_linux.checks] == [dc.NOT_APPLICABLE, dc.NOT_APPLICABLE]
    assert on_linux.ok
    assert [c.status for c in on_windows.checks] == [dc.MISSING, dc.OK]
    # The marker is not part of what pip is asked to install; Windows gets its own quoting.
    assert on_windows.fix_commands() == [r'C:\rt\python.exe -m pip install "pywin32>=300"']


def test_requirements_file_syntax_comments_options_and_urls():
    text = """\
# a comment
accelerate==1.6.0
diffusers[torch]==0.32.1   # trailing comment
bitsandbytes
-e .
--extra-index-url https://example.invalid/simple
this is not a requirement
pkg @ https://example.invalid/pkg-1.0.tar.gz
hashed==1.0 --hash=sha256:abc
"""
    requirements, skipped = dc.parse_requirements(text.splitlines())
    assert [r.name for r in requirements] == ["accelerate", "diffusers", "bitsandbytes", "hashed"]
    assert requirements[1].extras == {"torch"}
    assert [s.line for s in skipped] == ["-e .", "--extra-index-url https://example.invalid/simple",
                                         "this is not a requirement", "pkg @ https://example.invalid/pkg-1.0.tar.gz"]
    report = dc.check(text.splitlines(), {"accelerate": "1.6.0", "diffusers": "0.31.0"}, python="py")
    assert statuses(report) == {"accelerate": dc.OK, "diffusers": dc.MISMATCH, "bitsandbytes": dc.MISSING,
                                "hashed": dc.MISSING}
    assert report.fix_commands() == ["py -m pip install 'diffusers[torch]==0.32.1' bitsandbytes hashed==1.0"]
    assert report.as_dict()["skipped"][0] == {"line": "-e .", "reason": "a pip option, not a package requirement"}


def test_fix_overrides_replace_pip_for_packages_installed_another_way():
    report = dc.check(["torch>=2.4", "einops==0.7.0"], {"torch": "2.1.0"}, python="py",
                      fix_overrides={"Torch": "lora-studio backend repair"})
    assert report.fix_commands() == ["py -m pip install einops==0.7.0", "lora-studio backend repair"]
    assert report.summary() == "1 missing, 1 at the wrong version (of 2)"


def test_windows_commands_quote_every_requirement_and_paths_with_spaces():
    command = dc.pip_install_command(r"C:\Program Files\rt\python.exe", ["a>=1", "b"], platform="win32")
    assert command == r'"C:\Program Files\rt\python.exe" -m pip install "a>=1" "b"'
    assert dc.pip_install_command("/a b/python", ["a<2"], platform="linux") == "'/a b/python' -m pip install 'a<2'"


def test_parsed_requirements_and_duplicate_names_are_all_checked():
    report = dc.check([Requirement("numpy>=1"), Requirement("numpy<2")], {"numpy": "2.0.0"})
    assert [c.status for c in report.checks] == [dc.OK, dc.MISMATCH]


def test_the_gui_environment_satisfies_the_projects_own_requirements():
    requirements = project_requirements()
    assert any(r.startswith("PySide6-Essentials") for r in requirements)
    report = dc.check_current_environment(requirements, environment="LoRA Studio (GUI)")
    assert report.ok, [c.describe() for c in report.problems]
    assert len(report.checks) == len(requirements)
    assert project_requirements("ml") and "transformers" in " ".join(project_requirements("ml"))


def test_requirements_file_reader_tolerates_a_missing_file(tmp_path):
    assert requirements_file(tmp_path / "nope.txt") == []
    (tmp_path / "r.txt").write_text("a==1\n# x\n", encoding="utf-8")
    assert requirements_file(tmp_path / "r.txt") == ["a==1", "# x"]


def test_installed_versions_has_canonical_names_of_real_distributions():
    found = dc.installed_versions()
    assert found["pyside6-essentials"] == version("PySide6-Essentials")
    assert found["send2trash"] == version("Send2Trash")
    assert all(name == name.lower() and "_" not in name for name in found)
