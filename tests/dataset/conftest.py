"""Fixtures of the dataset tests."""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture
def private_trash(tmp_path, monkeypatch):
    """send2trash uses the XDG trash (read once, at import): keep it inside the test's folder."""
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    module = sys.modules.get("send2trash.plat_other")
    if module is None:
        import send2trash  # noqa: F401

        module = sys.modules.get("send2trash.plat_other")
    if module is not None and hasattr(module, "HOMETRASH_B"):
        monkeypatch.setattr(module, "XDG_DATA_HOME", os.fsencode(data))
        monkeypatch.setattr(module, "HOMETRASH_B", os.fsencode(data / "Trash"))
        monkeypatch.setattr(module, "HOMETRASH", str(data / "Trash"))
    return data / "Trash"
