"""What every bundle must satisfy before an installer is made from it (and what the tests assert).

- none of the ML stack (project.FORBIDDEN_MODULES), neither as files nor inside the PYZ archive;
- within the size budget;
- on Linux, every library a bundled file needs is either in the bundle or a known host library
  (hostlibs.HOST), so the .deb's Depends is complete, and every bundled ELF file is one the
  dynamic loader accepts;
- ``--self-test`` passes from the bundle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from buildlib import elf, hostlibs, payload, project


class BundleError(RuntimeError):
    pass


def size_mb(root: Path) -> float:
    """Bytes of the regular files under root (symbolic links count as nothing), in MiB."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return total / 2**20


def archive_modules(bundle: Path) -> set[str]:
    """The Python modules frozen into the executable's PYZ archive."""
    from PyInstaller.archive.readers import CArchiveReader

    names: set[str] = set()
    exe = project.bundle_executable(bundle)
    archive = CArchiveReader(str(exe))
    for entry in archive.toc:
        if entry.endswith(".pyz"):
            names |= set(archive.open_embedded_archive(entry).toc)
    return names


def forbidden_content(bundle: Path) -> list[str]:
    """Evidence of the ML stack in the bundle: packages, dist-info or .libs folders named after it at the
    top of the bundle, shared libraries named after it anywhere, modules in the PYZ archive."""
    forbidden = set(project.FORBIDDEN_MODULES)
    found = []
    tops = [p for root in (bundle, bundle / "_internal") if root.is_dir() for p in root.iterdir()]
    for path in tops:
        stem = path.name.lower().split(".")[0].split("-")[0]
        if stem in forbidden:
            found.append(str(path.relative_to(bundle)))
    for path in bundle.rglob("lib*"):
        name = path.name.lower()
        if any(name.startswith(f"lib{m}") and (".so" in name or name.endswith(".dll")) for m in forbidden):
            found.append(str(path.relative_to(bundle)))
    found += sorted(f"PYZ:{m}" for m in archive_modules(bundle) if m.split(".")[0] in forbidden)
    return found


@dataclass
class HostNeeds:
    """What the bundled ELF files ask of the host system."""

    sonames: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # soname -> users
    unresolved: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    glibc: tuple[int, ...] = (2, 17)
    glibcxx: tuple[int, ...] = (3, 4)

    def debian_depends(self) -> list[str]:
        depends = {f"libc6 (>= {'.'.join(map(str, self.glibc))})"}
        for soname in self.sonames:
            package = hostlibs.host_package(soname)
            if package == "libstdc++6":
                package = hostlibs.libstdcxx_requirement(self.glibcxx[2] if len(self.glibcxx) > 2 else 0)
            if package:
                depends.add(package)
        return sorted(depends)

    def packages_by_soname(self) -> dict[str, str]:
        return {s: hostlibs.host_package(s) for s in sorted(self.sonames) if hostlibs.host_package(s)}


def host_needs(bundle: Path) -> HostNeeds:
    """Read every ELF file of a Linux bundle: which libraries come from the host, which are missing."""
    present = {p.name for p in bundle.rglob("*")}
    needs = HostNeeds()
    glibc, glibcxx = {needs.glibc}, {needs.glibcxx}
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file() or not elf.is_elf(path):
            continue
        user = str(path.relative_to(bundle))
        for soname in elf.needed(path):
            if soname in present:
                continue
            if hostlibs.is_host(soname):
                needs.sonames[soname].add(user)
            else:
                needs.unresolved[soname].add(user)
        glibc |= elf.symbol_versions(path, "GLIBC")
        glibcxx |= elf.symbol_versions(path, "GLIBCXX")
    needs.glibc, needs.glibcxx = max(glibc), max(glibcxx)
    return needs


def run_self_test(bundle: Path, timeout: float = 180) -> dict:
    """Run ``--self-test`` from a bundle (or an installed copy) in a throw-away home."""
    with tempfile.TemporaryDirectory(prefix="lora-studio-selftest-") as home:
        env = dict(os.environ, LORA_STUDIO_HOME=home, QT_QPA_PLATFORM="offscreen",
                   QT_LOGGING_RULES="qt.qpa.*=false", XDG_CACHE_HOME=str(Path(home) / "cache"))
        env.pop("PYTHONPATH", None)  # the bundle must stand on its own
        proc = subprocess.run([str(project.bundle_executable(bundle)), "--self-test"], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=home)
    try:
        summary = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise BundleError(f"--self-test printed no JSON (exit {proc.returncode}):\n"
                          f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}") from None
    if proc.returncode != 0 or not summary.get("ok"):
        raise BundleError(f"--self-test failed (exit {proc.returncode}): {json.dumps(summary)[:3000]}\n"
                          f"{proc.stderr[-2000:]}")
    return summary


def check_bundle(bundle: Path, *, self_test: bool = True) -> dict:
    """All the checks; raises BundleError listing every problem. Returns facts for the build report."""
    problems = []
    forbidden = forbidden_content(bundle)
    if forbidden:
        problems.append("the ML stack is in the bundle (it belongs in the backend runtime): "
                        + ", ".join(forbidden[:20]))
    size = size_mb(bundle)
    if size > project.SIZE_BUDGET_MB:
        problems.append(f"the bundle is {size:.0f} MiB, over the {project.SIZE_BUDGET_MB} MiB budget")
    facts: dict = {"bundle_mib": round(size, 1)}
    if payload.payload_expected():
        wheels = [p.name for p in bundle.rglob("payload/*.whl")]
        if len(wheels) != 1:
            problems.append(f"expected one worker payload wheel in the bundle's payload/, found {wheels}")
        facts["payload"] = wheels
    if sys.platform.startswith("linux"):
        needs = host_needs(bundle)
        if needs.unresolved:
            listing = "; ".join(f"{s} (needed by {', '.join(sorted(u)[:3])})" for s, u in
                                sorted(needs.unresolved.items()))
            problems.append("libraries neither bundled nor known host libraries (add them to "
                            f"packaging/buildlib/hostlibs.py or stop leaving them out): {listing}")
        facts["depends"] = needs.debian_depends()
        broken = [str(p.relative_to(bundle)) for p in bundle.rglob("*")
                  if p.is_file() and not p.is_symlink() and elf.is_elf(p) and not elf.loadable(p)]
        if broken:
            problems.append("libraries the dynamic loader would refuse (a strip of a patchelf-ed library?): "
                            + ", ".join(broken[:10]))
    if problems:
        raise BundleError("the bundle fails its checks:\n- " + "\n- ".join(problems))
    if self_test:
        summary = run_self_test(bundle)
        facts["self_test_seconds"] = summary.get("seconds")
        facts["version"] = summary.get("version")
    return facts
