"""Building the application: logging, settings, QApplication, theme, session and main window."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class AppParts:
    app: object
    session: object
    window: object
    themes: object
    reporter: object


def create_application(argv: list[str] | None = None):
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    if existing is not None:
        return existing
    QCoreApplication.setOrganizationName("LoRA Studio")
    QCoreApplication.setApplicationName("LoRA Studio")
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(argv if argv is not None else [sys.argv[0]])
    # The desktop entry's name: Wayland's app id and the task bar's grouping follow it.
    QGuiApplication.setDesktopFileName("lora-studio")
    return app


def build(*, log_level: str = "INFO", console_log: bool = True, show_crash_dialog: bool = True,
          restore_layout: bool = True, open_initial: bool = True, demo: bool = False,
          folders: list[str] | None = None, process_hooks: bool = True) -> AppParts:
    """Everything up to a ready (not yet shown) main window; used by the GUI, self-test and tests.

    ``process_hooks`` installs the process-wide hooks (sys.excepthook, Qt's message handler);
    tests leave them to pytest-qt, which fails a test on an uncaught exception or a Qt warning.
    """
    from PySide6.QtCore import QSettings

    from app import qt_messages
    from app.crash_dialog import ExceptionReporter
    from app.main_window import MainWindow
    from app.themes import ThemeManager
    from services.logging_setup import setup_logging
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import SettingsStore

    dirs = app_dirs().ensure()
    log_file = setup_logging(dirs.logs, log_level, console=console_log)
    app = create_application()
    reporter = ExceptionReporter(log_file, show_dialog=show_crash_dialog)
    if process_hooks:
        qt_messages.install()
        reporter.install()

    store = SettingsStore(dirs.config)
    settings = store.load()
    session = Session(settings, store, dirs)
    session.log_file = log_file
    themes = ThemeManager(app)
    themes.apply(settings.appearance.theme)
    window_settings = QSettings(str(dirs.config / "window.ini"), QSettings.Format.IniFormat) \
        if restore_layout else None
    window = MainWindow(session, themes, window_settings)
    # --- Backend (issue 10): Train > Training backend… (and a preflight without a backend) opens the setup.
    session.backend_setup_requested.connect(lambda: _open_backend_setup(window, session))
    if open_initial:
        _open_initial(window, session, demo=demo, folders=folders or [])
    return AppParts(app, session, window, themes, reporter)


def _open_initial(window, session, *, demo: bool, folders: list[str]) -> None:
    if folders:
        session.open_folders([str(Path(f).resolve()) for f in folders])
        return
    if demo:
        window.open_demo()
        return
    previous = [f for f in session.settings.workspace.last_folders if os.path.isdir(f)]
    if previous:
        session.open_folders(previous)
    elif not session.settings.workspace.last_folders:
        window.open_demo()  # first start: show the app working at once


def _open_backend_setup(window, session, first_start: bool = False) -> None:
    from widgets.backend_setup import show_backend_setup

    show_backend_setup(session, window, first_start=first_start)


def _offer_backend_setup(parts) -> None:
    """First start (no backend installed yet): the setup wizard opens beside the window, after it
    is shown. Non-modal, and skippable for good from the wizard itself."""
    from PySide6.QtCore import QTimer

    from services.backend.runtime import locate
    from services.errors import LoraStudioError

    settings = parts.session.settings
    if not settings.backend.offer_setup_at_start:
        return
    try:
        runtime = locate(settings, data_dir=parts.session.dirs.data)
    except LoraStudioError as exc:
        log.warning("the training backend cannot be located: %s", exc)
        return
    if runtime.state == "missing":  # not installed, an installation that did not finish, or gone
        QTimer.singleShot(600, lambda: _open_backend_setup(parts.window, parts.session, first_start=True))


def run_gui(args) -> int:
    from services.errors import LoraStudioError

    try:
        parts = build(log_level=args.log_level, demo=args.demo, folders=args.open)
    except ValueError as exc:  # a bad --log-level
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except LoraStudioError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    parts.window.show()
    _offer_backend_setup(parts)
    log.info("LoRA Studio started")
    return parts.app.exec()
