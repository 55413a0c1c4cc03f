"""The self-test: build the real window offscreen, open the demo, switch every theme, report JSON.

Packaging runs it from the bundle, so it must not depend on the source tree beyond resources.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback


def run_self_test(log_level: str = "WARNING") -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    summary: dict = {"ok": False, "python": platform.python_version(), "platform": sys.platform,
                     "checks": {}, "errors": []}
    try:
        from app.application import build
        from services.themes import THEME_IDS
        from services.version import app_version

        summary["version"] = app_version()
        parts = build(log_level=log_level, console_log=False, show_crash_dialog=False,
                      restore_layout=False, open_initial=False)
        window, app = parts.window, parts.app
        window.show()
        app.processEvents()
        summary["checks"]["window_shown"] = window.isVisible()
        summary["checks"]["docks"] = sorted(window.docks)
        window.open_demo()
        from PySide6.QtCore import QMetaMethod

        session = parts.session
        handled = session.isSignalConnected(QMetaMethod.fromSignal(session.folders_open_requested))
        deadline = time.monotonic() + (30 if handled else 0)
        while time.monotonic() < deadline:
            app.processEvents()
            workspace = parts.session.workspace
            if workspace is not None and getattr(workspace, "ready", True):
                break
            time.sleep(0.01)
        summary["checks"]["demo_opened"] = bool(parts.session.settings.workspace.last_folders)
        themes = {}
        for theme_id in (*THEME_IDS, "system"):
            window.choose_theme(theme_id)
            app.processEvents()
            grab = window.grab()
            themes[theme_id] = {"applied": parts.themes.current.id, "grab_ok": not grab.isNull()}
        summary["checks"]["themes"] = themes
        summary["checks"]["uncaught_exceptions"] = parts.reporter.count
        summary["checks"]["torch_imported"] = "torch" in sys.modules
        window.close()
        app.processEvents()
        summary["ok"] = (summary["checks"]["window_shown"] and summary["checks"]["demo_opened"]
                         and all(t["grab_ok"] for t in themes.values())
                         and parts.reporter.count == 0 and not summary["checks"]["torch_imported"])
    except Exception as exc:  # the self-test reports every failure as data
        summary["errors"].append(f"{type(exc).__name__}: {exc}")
        summary["traceback"] = traceback.format_exc()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary
