"""The run's log, searchable, with bounded memory and no cost to the GUI however fast it flows.

Lines arrive in batches (a few per second); the view keeps the last ``MAX_LINES`` (the full log is
in the run folder, one click away). A level mark in the first column (✖ error, ⚠ warning) colours
the line. Search finds the next or previous match; "Only matching" filters the view to the lines
that match (rebuilt from the kept lines), "Problems only" to warnings and errors.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from services.runs import events as ev

MAX_LINES = 20_000
MARKS = {ev.ERROR: "✖ ", ev.WARNING: "⚠ "}


class _LevelHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, palette: QPalette) -> None:
        super().__init__(document)
        self.set_palette(palette)

    def set_palette(self, palette: QPalette) -> None:
        dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
        self.error = QTextCharFormat()
        self.error.setForeground(QColor("#ff7b72" if dark else "#b42318"))
        self.warning = QTextCharFormat()
        self.warning.setForeground(QColor("#e3b341" if dark else "#9a6700"))
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        if text.startswith("✖"):
            self.setFormat(0, len(text), self.error)
        elif text.startswith("⚠"):
            self.setFormat(0, len(text), self.warning)


class LogView(QWidget):
    open_file_requested = Signal()

    def __init__(self, parent: QWidget | None = None, max_lines: int = MAX_LINES) -> None:
        super().__init__(parent)
        self.setObjectName("training-log")
        self.max_lines = max_lines
        self.lines: deque[tuple[str, str]] = deque(maxlen=max_lines)
        self._stale = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        bar = QHBoxLayout()
        bar.setSpacing(4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the log (Enter: next, Shift+Enter: previous)")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.find_next)
        self.search.installEventFilter(self)
        self.search.textChanged.connect(self._search_changed)
        self.previous_button = QToolButton(text="↑")
        self.previous_button.setToolTip("Previous match")
        self.previous_button.clicked.connect(self.find_previous)
        self.next_button = QToolButton(text="↓")
        self.next_button.setToolTip("Next match")
        self.next_button.clicked.connect(self.find_next)
        self.only_matching = QCheckBox("Only matching")
        self.only_matching.toggled.connect(self._rebuild)
        self.problems_only = QCheckBox("Problems only")
        self.problems_only.setToolTip("Only warnings and errors")
        self.problems_only.toggled.connect(self._rebuild)
        self.follow = QCheckBox("Follow")
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep the newest line in view")
        self.open_button = QPushButton("Full log…")
        self.open_button.setToolTip("Open the run's complete log file")
        self.open_button.clicked.connect(self.open_file_requested)
        for widget in (self.search, self.previous_button, self.next_button, self.only_matching, self.problems_only,
                       self.follow, self.open_button):
            bar.addWidget(widget, 1 if widget is self.search else 0)
        layout.addLayout(bar)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setUndoRedoEnabled(False)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(max_lines)
        self.text.setCenterOnScroll(False)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(font)
        self.highlighter = _LevelHighlighter(self.text.document(), self.palette())
        layout.addWidget(self.text, 1)

    # --- lines -------------------------------------------------------------------------------
    @staticmethod
    def render(text: str, level: str) -> str:
        return MARKS.get(level, "  ") + text

    def clear(self) -> None:
        self.lines.clear()
        self.text.clear()
        self._stale = False

    def append(self, lines: list[ev.LogLine]) -> None:
        if not lines:
            return
        if len(lines) > self.max_lines:
            lines = lines[-self.max_lines:]
        self.lines.extend((line.text, line.level) for line in lines)
        if not self.isVisible():
            self._stale = True  # drawn from the kept lines when shown: a hidden log costs nothing
            return
        if self._stale:
            self._rebuild()
            return
        shown = [self.render(line.text, line.level) for line in lines if self._shown(line.text, line.level)]
        if not shown:
            return
        self.text.appendPlainText("\n".join(shown))
        if self.follow.isChecked():
            self._to_end()

    def _shown(self, text: str, level: str) -> bool:
        if self.problems_only.isChecked() and level not in (ev.ERROR, ev.WARNING):
            return False
        if self.only_matching.isChecked() and self.search.text():
            return self.search.text().lower() in text.lower()
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._rebuild()
        if self.follow.isChecked():  # again once laid out (a horizontal scroll bar may have appeared)
            QTimer.singleShot(0, self._to_end)

    def _rebuild(self) -> None:
        self._stale = False
        shown = [self.render(t, lv) for t, lv in self.lines if self._shown(t, lv)]
        self.text.setPlainText("\n".join(shown))
        if self.follow.isChecked():
            self._to_end()

    def _to_end(self) -> None:
        # The cursor, not the scroll bar: the bar's range is only right once the text is laid out.
        cursor = self.text.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.text.setTextCursor(cursor)
        self.text.ensureCursorVisible()
        bar = self.text.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _search_changed(self, _text: str) -> None:
        if self.only_matching.isChecked():
            self._rebuild()

    # --- search ------------------------------------------------------------------------------
    def find_next(self) -> bool:
        return self._find(backward=False)

    def find_previous(self) -> bool:
        return self._find(backward=True)

    def _find(self, backward: bool) -> bool:
        needle = self.search.text()
        if not needle:
            return False
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if self.text.find(needle, flags):
            self.follow.setChecked(False)
            return True
        cursor = self.text.textCursor()  # wrap around
        cursor.movePosition(cursor.MoveOperation.End if backward else cursor.MoveOperation.Start)
        self.text.setTextCursor(cursor)
        found = self.text.find(needle, flags)
        if found:
            self.follow.setChecked(False)
        return found

    def eventFilter(self, watched, event) -> bool:
        if (watched is self.search and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.find_previous()
            return True
        return super().eventFilter(watched, event)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.set_palette(self.palette())
        super().changeEvent(event)
