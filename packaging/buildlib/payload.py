"""What the bundle carries besides the GUI: its version metadata and the backend's worker payload.

Version: services/version.py reads pyproject.toml in a source tree, and the installed
distribution's metadata otherwise. A frozen app has neither, so the bundle gets a minimal
``lora_studio-<version>.dist-info`` (Name and Version, written from pyproject.toml's version):
``importlib.metadata.version("lora-studio")`` then answers inside the bundle.

Worker payload: the captioning and probe workers run in the backend runtime's Python, which the
frozen GUI cannot lend its code to. services/backend/payload.py (issue 10) owns that payload: a
wheel of ``workers`` and the Qt-free ``services``, built from the tree and shipped prebuilt in
``<bundle>/_internal/payload/``, where ``payload.bundled_wheel()`` looks for it. The spec asks that
module to build it; in a tree without it (before the backend landed) there is nothing to ship.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from buildlib.project import ROOT, SLUG, SUMMARY

PAYLOAD_MODULE = "services.backend.payload"


def write_metadata(dest_root: Path, version: str) -> Path:
    """``<dest_root>/lora_studio-<version>.dist-info/METADATA``; returns the dist-info folder."""
    folder = dest_root / f"{SLUG.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.parent.glob("*.dist-info"):
        if old != folder:
            for file in old.iterdir():
                file.unlink()
            old.rmdir()
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {SLUG}\nVersion: {version}\nSummary: {SUMMARY}\n",
                                     encoding="utf-8")
    return folder


def payload_expected() -> bool:
    """Does this tree have a worker payload to ship?"""
    return (ROOT / Path(*PAYLOAD_MODULE.split("."))).with_suffix(".py").is_file()


def build_payload(out_dir: Path) -> tuple[Path, str] | None:
    """(wheel, folder inside the bundle) of the worker payload, or None in a tree without one."""
    if not payload_expected():
        return None
    module = importlib.import_module(PAYLOAD_MODULE)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.whl"):
        old.unlink()  # one payload per bundle: the one built from this tree
    return Path(module.build_wheel(out_dir)), module.BUNDLE_FOLDER
