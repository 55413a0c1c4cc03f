"""Where the requirements come from: LoRA Studio's own declaration, and a requirements file.

``pyproject.toml`` is the single source in a source checkout; an installed LoRA Studio carries the
same list in its distribution metadata. A frozen build (PyInstaller) has neither: its packages
are bundled and cannot drift, so there is nothing to verify and an empty list is the answer.
"""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from services.paths import repo_root

DISTRIBUTION = "lora-studio"


def project_requirements(extra: str | None = None, *, pyproject: Path | None = None) -> list[str]:
    """The GUI's dependencies (``extra=None``) or those of an optional extra (``"ml"``, ``"test"``)."""
    path = pyproject or repo_root() / "pyproject.toml"
    if path.is_file():
        import tomlkit

        project = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap().get("project", {})
        if extra is None:
            return [str(r) for r in project.get("dependencies", [])]
        return [str(r) for r in project.get("optional-dependencies", {}).get(extra, [])]
    return _metadata_requirements(extra)


def _metadata_requirements(extra: str | None) -> list[str]:
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires(DISTRIBUTION) or []
    except PackageNotFoundError:
        return []
    selected = []
    for line in declared:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = requirement.marker
        in_extra = marker is not None and "extra" in str(marker)
        if extra is None and not in_extra:
            selected.append(line)
        elif extra is not None and in_extra and marker.evaluate({"extra": extra}):
            requirement.marker = None  # the extra marker has done its job
            selected.append(str(requirement))
    return selected


def requirements_file(path: Path) -> list[str]:
    """The lines of a requirements file, for :func:`dependency_check.check` (comments, options and
    ``-e .`` are sorted out there). A missing file is an empty list."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
