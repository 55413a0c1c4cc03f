"""Build LoRA Studio's installers: everything this operating system can build, with one command.

    python packaging/build.py                 # Linux: bundle, .deb, .run (+ NSIS script check)
                                              # Windows: bundle, LoRA-Studio-Setup-<version>.exe
    python packaging/build.py bundle deb      # only these
    python packaging/build.py --list          # what this machine can build, and what is missing

Artifacts go to dist/ (``--dist``), PyInstaller's cache to build/packaging/ (``--work``). The
bundle is checked before any installer is made from it (no ML stack, size budget, host libraries,
``--self-test``); a summary with sizes and times is printed and written to dist/build-report.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from buildlib import checks, deb, nsis, project, run_installer
from buildlib.bundle import build_bundle

LINUX = sys.platform.startswith("linux")
WINDOWS = sys.platform == "win32"


def available() -> dict[str, str | None]:
    """target -> None when it can be built here, else why not."""
    try:
        import PyInstaller  # noqa: F401
        pyinstaller = None
    except ImportError:
        pyinstaller = "PyInstaller is not installed (pip install -e '.[packaging]')"
    targets = {"bundle": pyinstaller}
    if LINUX:
        targets["deb"] = None if shutil.which("dpkg-deb") else "dpkg-deb is missing (part of dpkg)"
        targets["run"] = None if shutil.which("makeself") else "makeself is missing (apt-get install makeself)"
        targets["nsis-check"] = None if nsis.find_makensis() else "makensis is missing (apt-get install nsis)"
    if WINDOWS:
        targets["exe"] = None if nsis.find_makensis() else "makensis is missing (choco install nsis)"
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="bundle, deb, run, nsis-check (Linux), exe (Windows); "
                                                   "default: all that this machine can build")
    parser.add_argument("--dist", type=Path, default=project.ROOT / "dist", help="where artifacts go (dist/)")
    parser.add_argument("--work", type=Path, default=project.ROOT / "build" / "packaging",
                        help="PyInstaller's work folder and scratch space (build/packaging/)")
    parser.add_argument("--fast", action="store_true", help="light compression: quick builds for tests")
    parser.add_argument("--reuse-bundle", action="store_true",
                        help="make the installers from the bundle already in --dist (after checking it)")
    parser.add_argument("--skip-self-test", action="store_true", help="do not run --self-test from the bundle")
    parser.add_argument("--list", action="store_true", help="show what can be built here and exit")
    args = parser.parse_args(argv)

    can = available()
    if args.list:
        for target, why_not in can.items():
            print(f"{target:11} {'yes' if why_not is None else 'no: ' + why_not}")
        return 0
    unknown = [t for t in args.targets if t not in can]
    if unknown:
        parser.error(f"unknown or not buildable on {sys.platform}: {', '.join(unknown)} (choose from {', '.join(can)})")
    blocked = [f"{t}: {can[t]}" for t in args.targets if can[t]]
    if blocked:
        print("cannot build " + "; ".join(blocked), file=sys.stderr)
        return 2
    targets = args.targets or [t for t, why_not in can.items() if why_not is None]
    for target, why_not in can.items():
        if not args.targets and why_not:
            print(f"skipping {target}: {why_not}")
    needs_bundle = {"deb", "run", "exe"} & set(targets)
    if needs_bundle and "bundle" not in targets and not args.reuse_bundle:
        targets.insert(0, "bundle")

    version = project.version()
    dist, work = args.dist.resolve(), args.work.resolve()
    bundle = dist / project.BUNDLE_NAME
    report: dict = {"version": version, "platform": sys.platform, "artifacts": {}}
    print(f"LoRA Studio {version}: building {', '.join(targets)}")

    def step(name: str, func):
        started = time.perf_counter()
        result = func()
        seconds = round(time.perf_counter() - started, 1)
        report["artifacts"][name] = {"seconds": seconds}
        if isinstance(result, Path):
            size = checks.size_mb(result) if result.is_dir() else result.stat().st_size / 2**20
            report["artifacts"][name].update(path=str(result), mib=round(size, 1))
            print(f"  {name:11} {size:8.1f} MiB {seconds:7.1f} s  {result}")
        return result

    try:
        if "bundle" in targets:
            step("bundle", lambda: build_bundle(dist, work))
        if "bundle" in targets or needs_bundle:
            if not project.bundle_executable(bundle).is_file():
                raise RuntimeError(f"no bundle in {bundle}: build it first (target 'bundle')")
            facts = step("checks", lambda: checks.check_bundle(bundle, self_test=not args.skip_self_test))
            report["bundle"] = facts
            print(f"  checks      no ML stack, {facts['bundle_mib']} MiB of {project.SIZE_BUDGET_MB} MiB"
                  + ("" if args.skip_self_test else f", self-test passed ({facts.get('self_test_seconds')} s)"))
        if "deb" in targets:
            step("deb", lambda: deb.build_deb(bundle, dist, version, fast=args.fast))
        if "run" in targets:
            step("run", lambda: run_installer.build_run(bundle, dist, version, fast=args.fast))
        if "exe" in targets:
            step("exe", lambda: nsis.build_setup(bundle, dist, version))
        if "nsis-check" in targets:
            step("nsis-check", lambda: nsis.compile_check(work, version))
    except (RuntimeError, checks.BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "build-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
