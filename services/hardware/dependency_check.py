"""Dependency verification: the packages an environment has, against the requirements it needs.

Pure Python (``packaging``), no Qt, no subprocess: the caller hands in the requirements (lines of
a requirements file, ``pyproject`` dependencies, ...) and the installed versions (this process's
from :func:`installed_versions`, or another interpreter's as a ``{name: version}`` mapping from a
probe), and gets back one :class:`PackageCheck` per requirement plus the commands that fix what is
missing or mismatched. Version specifiers follow the packaging library's rules (``==``, ``>=``,
``<``, ``!=``, ``~=``, ``===``, wildcards, local versions such as ``2.13.0+cpu``); names are
compared in their canonical form (PEP 503: case, ``_``, ``.`` and ``-`` do not matter).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.markers import InvalidMarker, default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

OK = "ok"
MISSING = "missing"
MISMATCH = "mismatch"
UNPARSEABLE = "unparseable"  # installed, but its version string is not a valid version
NOT_APPLICABLE = "not-applicable"  # an environment marker excludes it here (e.g. a Windows-only package)
PROBLEMS = (MISSING, MISMATCH, UNPARSEABLE)


@dataclass(frozen=True)
class PackageCheck:
    requirement: str  # as written, without comments
    name: str  # canonical (PEP 503) name
    specifier: str  # "" = any version
    installed: str | None  # the installed version, None when missing
    status: str  # one of OK, MISSING, MISMATCH, UNPARSEABLE, NOT_APPLICABLE
    install: str = ""  # what pip would be asked to install: name, extras, specifier (no marker)

    @property
    def ok(self) -> bool:
        return self.status not in PROBLEMS

    def describe(self) -> str:
        wanted = self.specifier or "any version"
        if self.status == OK:
            return f"{self.name} {self.installed} (needs {wanted})"
        if self.status == MISSING:
            return f"{self.name} is not installed (needs {wanted})"
        if self.status == MISMATCH:
            return f"{self.name} {self.installed} is installed but {wanted} is needed"
        if self.status == UNPARSEABLE:
            return f"{self.name} has an invalid version {self.installed!r} (needs {wanted})"
        return f"{self.name} is not needed on this platform"

    def as_dict(self) -> dict:
        return {"requirement": self.requirement, "name": self.name, "specifier": self.specifier,
                "installed": self.installed, "status": self.status, "install": self.install}


@dataclass(frozen=True)
class SkippedLine:
    line: str
    reason: str

    def as_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason}


@dataclass
class DependencyReport:
    environment: str  # a label for people: "LoRA Studio (GUI)", "backend runtime"
    python: str  # the interpreter the fix commands run
    checks: list[PackageCheck] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    # A package whose fix is not a plain pip install (torch: its build depends on the hardware)
    # maps to the command that fixes it instead.
    fix_overrides: dict[str, str] = field(default_factory=dict)
    platform: str = sys.platform  # of the interpreter checked: it decides how commands are quoted

    @property
    def problems(self) -> list[PackageCheck]:
        return [c for c in self.checks if not c.ok]

    @property
    def missing(self) -> list[PackageCheck]:
        return [c for c in self.checks if c.status == MISSING]

    @property
    def mismatched(self) -> list[PackageCheck]:
        return [c for c in self.checks if c.status in (MISMATCH, UNPARSEABLE)]

    @property
    def ok(self) -> bool:
        return not self.problems

    def fix_commands(self) -> list[str]:
        """The commands that would fix every problem: one pip install for the plain packages, then
        each override once (in the order the problems appear)."""
        plain = [c.install or c.requirement for c in self.problems if c.name not in self.fix_overrides]
        commands = [pip_install_command(self.python, plain, platform=self.platform)] if plain else []
        for check in self.problems:
            override = self.fix_overrides.get(check.name)
            if override and override not in commands:
                commands.append(override)
        return commands

    def summary(self) -> str:
        if not self.checks:
            return "no requirements to check"
        if self.ok:
            return f"all {len(self.checks)} requirements satisfied"
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing")
        if self.mismatched:
            parts.append(f"{len(self.mismatched)} at the wrong version")
        return ", ".join(parts) + f" (of {len(self.checks)})"

    def as_dict(self) -> dict:
        return {"environment": self.environment, "python": self.python, "ok": self.ok,
                "summary": self.summary(), "checks": [c.as_dict() for c in self.checks],
                "skipped": [s.as_dict() for s in self.skipped], "fix_commands": self.fix_commands()}


# --- requirements ---------------------------------------------------------------------------

def parse_requirements(lines: Iterable[str]) -> tuple[list[Requirement], list[SkippedLine]]:
    """Parse requirement lines (a requirements file's or pyproject's). Comments and blank lines are
    dropped; pip options (``-e .``, ``-r other.txt``, ``--extra-index-url``) and lines that are not
    valid requirements are returned as skipped, with the reason, never silently lost."""
    requirements: list[Requirement] = []
    skipped: list[SkippedLine] = []
    for raw in lines:
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            skipped.append(SkippedLine(line, "a pip option, not a package requirement"))
            continue
        line = line.split(" --hash", 1)[0].strip()
        try:
            requirement = Requirement(line)
        except (InvalidRequirement, InvalidSpecifier, InvalidMarker) as exc:
            skipped.append(SkippedLine(line, f"not a valid requirement: {exc}"))
            continue
        if requirement.url:
            skipped.append(SkippedLine(line, "a direct URL reference; its version cannot be compared"))
            continue
        requirements.append(requirement)
    return requirements, skipped


def _strip_comment(line: str) -> str:
    # pip's rule: "#" starts a comment at the line start or after whitespace (not inside a URL).
    if line.lstrip().startswith("#"):
        return ""
    index = line.find(" #")
    return line if index < 0 else line[:index]


# --- installed packages -----------------------------------------------------------------------

def installed_versions() -> dict[str, str]:
    """Canonical name -> version of every distribution this interpreter can import."""
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            found.setdefault(canonicalize_name(name), dist.version)  # the first on sys.path wins
    return found


def normalise_installed(installed: Mapping[str, str]) -> dict[str, str]:
    return {canonicalize_name(name): str(version) for name, version in installed.items()}


# --- checking ----------------------------------------------------------------------------------

def check_requirement(requirement: Requirement, installed: Mapping[str, str],
                      marker_environment: Mapping[str, str] | None = None) -> PackageCheck:
    """``installed`` must have canonical names (see :func:`normalise_installed`)."""
    name = canonicalize_name(requirement.name)
    specifier = str(requirement.specifier)
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""

    def result(installed_version: str | None, status: str) -> PackageCheck:
        return PackageCheck(str(requirement), name, specifier, installed_version, status,
                            f"{requirement.name}{extras}{specifier}")

    if requirement.marker is not None and not requirement.marker.evaluate(
            dict(marker_environment) if marker_environment else None):
        return result(installed.get(name), NOT_APPLICABLE)
    version = installed.get(name)
    if version is None:
        return result(None, MISSING)
    if not specifier:
        return result(version, OK)
    try:
        parsed = Version(version)
    except InvalidVersion:
        return result(version, UNPARSEABLE)
    # An installed pre-release or dev build counts when it is inside the range: the user chose it.
    fits = SpecifierSet(specifier).contains(parsed, prereleases=True)
    return result(version, OK if fits else MISMATCH)


def check(requirements: Iterable[str | Requirement], installed: Mapping[str, str], *,
          environment: str = "this environment", python: str | None = None,
          marker_environment: Mapping[str, str] | None = None,
          fix_overrides: Mapping[str, str] | None = None) -> DependencyReport:
    """Check requirement strings (or parsed requirements) against ``{name: version}``.

    ``marker_environment`` is the PEP 508 environment of the interpreter being checked (see
    :func:`marker_environment_for`); without it the markers are evaluated for this process.
    A package named twice (``numpy>=1`` and ``numpy<2``) is checked against both.
    """
    strings = [r for r in requirements if isinstance(r, str)]
    parsed, skipped = parse_requirements(strings)
    parsed += [r for r in requirements if isinstance(r, Requirement)]
    normal = normalise_installed(installed)
    report = DependencyReport(environment, python or sys.executable, skipped=skipped,
                              fix_overrides={canonicalize_name(k): v for k, v in (fix_overrides or {}).items()},
                              platform=(marker_environment or {}).get("sys_platform", sys.platform))
    for requirement in parsed:
        report.checks.append(check_requirement(requirement, normal, marker_environment))
    return report


def check_current_environment(requirements: Iterable[str], *, environment: str = "this environment",
                              fix_overrides: Mapping[str, str] | None = None) -> DependencyReport:
    return check(requirements, installed_versions(), environment=environment, python=sys.executable,
                 fix_overrides=fix_overrides)


def marker_environment_for(python_version: str, *, sys_platform: str | None = None,
                           platform_machine: str | None = None,
                           implementation: str | None = None) -> dict[str, str]:
    """A PEP 508 marker environment for another interpreter, from the facts a probe reported;
    what is not given is taken from this process (same machine, so mostly the same)."""
    env = dict(default_environment())
    parts = python_version.split(".")
    env["python_full_version"] = python_version
    env["python_version"] = ".".join(parts[:2])
    env["implementation_version"] = python_version
    if sys_platform:
        env["sys_platform"] = sys_platform
    if platform_machine:
        env["platform_machine"] = platform_machine
    if implementation:
        env["implementation_name"] = implementation.lower()
        env["platform_python_implementation"] = implementation
    return env


def pip_install_command(python: str, requirements: Iterable[str], *, platform: str | None = None) -> str:
    """``<python> -m pip install "<req>" ...``, quoted for the shell of ``platform``: POSIX shell
    quoting, or on Windows double quotes around every requirement (``>`` and ``<`` redirect in
    cmd.exe and PowerShell alike) and around a path with spaces."""
    if (platform or sys.platform).startswith("win"):
        exe = f'"{python}"' if " " in python else python
        return " ".join([exe, "-m", "pip", "install", *(f'"{r}"' for r in requirements)])
    return shlex.join([python, "-m", "pip", "install", *requirements])
