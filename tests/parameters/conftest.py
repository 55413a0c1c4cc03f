from pathlib import Path

import pytest

from tests.support.model_headers import sd1_tensors, sdxl_tensors, write_safetensors_header


@pytest.fixture
def models(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "models"
    folder.mkdir()
    return {
        "sd1": write_safetensors_header(folder / "sd15.safetensors", sd1_tensors()),
        "sdxl": write_safetensors_header(folder / "sdxl.safetensors", sdxl_tensors()),
    }


@pytest.fixture
def dataset(tmp_path) -> Path:
    from PIL import Image

    folder = tmp_path / "img" / "10_cat"
    folder.mkdir(parents=True)
    for i in range(6):
        Image.new("RGB", (64, 64), (i * 30, 80, 120)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text("cat, sitting")
    return folder


@pytest.fixture
def session(app_parts):
    return app_parts.session


@pytest.fixture
def controller(session, qtbot):
    controller = session.projects
    yield controller
    controller.shutdown()


def choose_model(qtbot, controller, path) -> None:
    with qtbot.waitSignal(controller.detection_ready, timeout=10000):
        controller.choose_model(str(path))


def validated(qtbot, controller):
    with qtbot.waitSignal(controller.report_ready, timeout=15000) as blocker:
        controller.validate_now()
    return blocker.args[0]
