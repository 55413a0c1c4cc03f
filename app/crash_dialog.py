"""Uncaught exceptions in the GUI: logged with their traceback, shown in a dialog naming the log
file, and the application keeps running (Qt event handlers return; the state they left is
reported, not hidden)."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

log = logging.getLogger("app.crash")


class ExceptionReporter:
    def __init__(self, log_file: Path | None, show_dialog: bool = True) -> None:
        self.log_file = log_file
        self.show_dialog = show_dialog
        self.count = 0
        self._showing = False

    def install(self) -> None:
        sys.excepthook = self

    def __call__(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.count += 1
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("uncaught exception:\n%s", text)
        if self.show_dialog and not self._showing:
            self._show(exc, text)

    def _show(self, exc: BaseException, text: str) -> None:
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is None:
            return
        self._showing = True
        try:
            box = QMessageBox(QMessageBox.Icon.Critical, "LoRA Studio: unexpected error",
                              f"An unexpected error happened: {exc}")
            where = f"The full report is in the log file:\n{self.log_file}" if self.log_file else \
                "The full report was printed to the console."
            box.setInformativeText(where + "\n\nLoRA Studio keeps running; save your work.")
            box.setDetailedText(text[-8000:])
            box.exec()
        finally:
            self._showing = False
