"""Fixtures for caption tests: an isolated trash, a Session, the caption controller."""

from __future__ import annotations

import pytest


@pytest.fixture
def trash(tmp_path, monkeypatch):
    """send2trash puts files into $XDG_DATA_HOME/Trash on Linux: keep that inside the test."""
    data_home = tmp_path / "xdg-data"
    data_home.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    try:  # send2trash reads the variable when it is imported
        from send2trash import plat_other
    except ImportError:  # another platform's implementation
        return data_home / "Trash" / "files"
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", str(data_home).encode())
    monkeypatch.setattr(plat_other, "HOMETRASH_B", str(data_home / "Trash").encode())
    monkeypatch.setattr(plat_other, "HOMETRASH", str(data_home / "Trash"))
    return data_home / "Trash" / "files"


@pytest.fixture
def session(qapp, lora_home):
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import Settings

    s = Session(Settings(), None, app_dirs().ensure())
    yield s
    controller = getattr(s, "_caption_controller", None)
    if controller is not None:
        controller.shutdown()
    s.deleteLater()


@pytest.fixture
def controller(session, qtbot):
    from services.captions.qt.controller import caption_controller

    return caption_controller(session)
