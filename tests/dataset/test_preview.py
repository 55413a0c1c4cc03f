"""The central preview: decoded off the GUI thread, fit and 100%, zoom, and honest messages."""

from __future__ import annotations

import pytest

from services.dataset.scanner import scan_folders
from tests.dataset.files import write_jpeg, write_truncated_jpeg


@pytest.fixture
def preview(qtbot, qapp, lora_home):
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import Settings
    from widgets.preview.image_preview import ImagePreview

    session = Session(Settings(), None, app_dirs().ensure())
    widget = ImagePreview(session)
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def test_shows_the_current_image_fit_then_100_percent(qtbot, preview, tmp_path):
    write_jpeg(tmp_path / "big.jpg", (1600, 1200), exif_orientation=6)
    ws = scan_folders([tmp_path])
    preview.session.set_workspace(ws)
    assert preview._stack.currentWidget() is preview.empty
    key = ws.keys()[0]
    preview.session.set_current_image(key)
    qtbot.waitUntil(preview.canvas.has_image, timeout=10_000)
    pixmap = preview.canvas._item.pixmap()
    assert (pixmap.width(), pixmap.height()) == (1200, 1600)  # EXIF orientation applied
    assert "1200×1600" in preview.info.text() and "JPEG" in preview.info.text() and "KB" in preview.info.text()
    assert preview.canvas.fit_mode and preview.canvas.zoom() < 1
    preview.canvas.actual_size()
    assert preview.canvas.zoom() == 1 and "100%" in preview.zoom_label.text()
    preview.canvas.zoom_by(1.25)
    assert preview.canvas.zoom() == pytest.approx(1.25)
    preview.canvas.fit()
    assert preview.zoom_label.text().startswith("Fit")


def test_unreadable_and_corrupt_images_say_why(qtbot, preview, tmp_path):
    (tmp_path / "zero.jpg").write_bytes(b"")
    write_truncated_jpeg(tmp_path / "cut.jpg")
    ws = scan_folders([tmp_path])
    preview.session.set_workspace(ws)
    preview.session.set_current_image(str(tmp_path / "zero.jpg"))
    assert "cannot be shown" in preview.message.text() and "empty" in preview.message.text()
    preview.session.set_current_image(str(tmp_path / "cut.jpg"))
    qtbot.waitUntil(lambda: "truncated" in preview.message.text(), timeout=10_000)
    assert not preview.canvas.has_image()
    preview.session.set_current_image(None)
    assert preview._stack.currentWidget() is preview.empty


def test_only_the_newest_request_is_shown(qtbot, preview, tmp_path):
    for i in range(5):
        write_jpeg(tmp_path / f"{i}.jpg", (800, 600), seed=i)
    ws = scan_folders([tmp_path])
    preview.session.set_workspace(ws)
    for key in list(ws.keys()):
        preview.session.set_current_image(key)
    qtbot.waitUntil(preview.canvas.has_image, timeout=10_000)
    qtbot.wait(200)
    assert preview.key == ws.keys()[-1]
