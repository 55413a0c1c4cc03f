"""Fixtures of the captioning tests: tiny models built once per session, test images, a worker runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.captioning.builders import build_tiny_blip, build_tiny_blip2, build_tiny_tagger, solid_image

ROOT = Path(__file__).resolve().parents[2]

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255),
           "black": (0, 0, 0), "cyan": (0, 255, 255)}


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("caption-models")


@pytest.fixture(scope="session")
def tiny_tagger(models_root) -> Path:
    return build_tiny_tagger(models_root / "tiny-tagger")


@pytest.fixture(scope="session")
def tiny_blip(models_root) -> Path:
    return build_tiny_blip(models_root / "tiny-blip")


@pytest.fixture(scope="session")
def tiny_blip2_opt(models_root) -> Path:
    return build_tiny_blip2(models_root / "tiny-blip2-opt", variant="opt")


@pytest.fixture(scope="session")
def tiny_blip2_t5(models_root) -> Path:
    return build_tiny_blip2(models_root / "tiny-blip2-t5", variant="t5")


@pytest.fixture
def colour_images(tmp_path) -> dict[str, Path]:
    """One square PNG per colour of COLOURS, in a dataset folder."""
    folder = tmp_path / "dataset"
    return {name: solid_image(folder / f"{name}.png", rgb) for name, rgb in COLOURS.items()}


def fault_worker_command(*faults: str) -> list[str]:
    """The real worker, run through tests/captioning/fault_worker.py which injects ``faults``."""
    from services.captioning.protocol import PROTOCOL_VERSION

    args = [sys.executable, "-m", "tests.captioning.fault_worker"]
    for fault in faults:
        args += ["--fault", fault]
    return [*args, "--protocol", str(PROTOCOL_VERSION)]


from tests.captions.conftest import session  # noqa: E402, F401  (the same Session fixture as the caption tests)


def open_folder(session, folder: Path):  # noqa: F811
    from services.dataset.scanner import scan_folders

    workspace = scan_folders([folder])
    session.set_workspace(workspace)
    return workspace


def wait_controller_idle(qtbot, session, timeout: int = 10_000) -> None:  # noqa: F811
    from services.captions.qt.controller import caption_controller

    controller = caption_controller(session)
    qtbot.waitUntil(lambda: (controller.workspace is None or controller.index is not None)
                    and not controller._threads and not controller.runner.busy, timeout=timeout)
