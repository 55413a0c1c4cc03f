"""The text mode of the caption editor: a plain-text editor for natural-language captions.

Typing is committed as an undoable edit after a short pause (and when focus leaves, the selection
changes, or undo is pressed), and consecutive typing merges into one undo step. The widget's own
undo is off: Ctrl+Z goes to the application's undo stack, like everywhere else. The words where
sd-scripts starts a new 75-token chunk are marked, and the text past 225 tokens is tinted.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

COMMIT_DELAY_MS = 700


class CaptionTextEdit(QPlainTextEdit):
    commit = Signal(str)  # the text to save as the caption

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-text")
        self.setUndoRedoEnabled(False)
        self.setTabChangesFocus(True)
        self.setPlaceholderText("Write the caption as a sentence (Flux, SD3) or as tags separated by commas.")
        self.setAccessibleName("Caption text")
        self._loading = False
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COMMIT_DELAY_MS)
        self._timer.timeout.connect(self.flush)
        self.textChanged.connect(self._changed)

    @property
    def pending(self) -> bool:
        return self._dirty

    def load(self, text: str) -> None:
        """Show ``text`` unless it is already shown (keeps the cursor while the user types)."""
        if self.toPlainText() == text:
            self._dirty = False
            return
        self._loading = True
        try:
            cursor_pos = self.textCursor().position()
            self.setPlainText(text)
            cursor = self.textCursor()
            cursor.setPosition(min(cursor_pos, len(text)))
            self.setTextCursor(cursor)
        finally:
            self._loading = False
        self._dirty = False

    def _changed(self) -> None:
        if self._loading or self.isReadOnly():
            return
        self._dirty = True
        self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        if self._dirty:
            self._dirty = False
            self.commit.emit(self.toPlainText())

    def focusOutEvent(self, event) -> None:
        self.flush()
        super().focusOutEvent(event)

    def event(self, event) -> bool:
        # Undo and redo belong to the application's stack: commit what was typed, then let the
        # shortcut reach the Edit menu's actions instead of the widget.
        if event.type() == QEvent.Type.ShortcutOverride and (
                event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo)
                or (event.key() == Qt.Key.Key_Z and event.modifiers() == (
                    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))):
            self.flush()
            event.ignore()
            return False
        return super().event(event)

    def mark_boundaries(self, offsets: tuple[int, ...], accent: QColor) -> None:
        """Highlight the word where each new 75-token chunk starts; tint what comes after 225."""
        selections = []
        text = self.toPlainText()
        for n, offset in enumerate(offsets):
            if offset >= len(text):
                continue
            sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.document())
            cursor.setPosition(offset)
            cursor.movePosition(QTextCursor.MoveOperation.EndOfWord, QTextCursor.MoveMode.KeepAnchor)
            if cursor.selectedText() == "":
                cursor.movePosition(QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor)
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
            fmt.setUnderlineColor(accent)
            fmt.setProperty(QTextFormat.Property.FullWidthSelection, False)
            tint = QColor(accent)
            tint.setAlpha(70)
            fmt.setBackground(tint)
            fmt.setToolTip(f"Token {75 * (n + 1) + 1}: sd-scripts starts chunk {n + 2} here")
            sel.format = fmt
            sel.cursor = cursor
            selections.append(sel)
            if n == 2:  # past 225 tokens: cut
                rest = QTextEdit.ExtraSelection()
                cursor = QTextCursor(self.document())
                cursor.setPosition(offset)
                cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
                cut = QTextCharFormat()
                cut.setForeground(QColor(128, 128, 128))
                cut.setFontStrikeOut(True)
                rest.format = cut
                rest.cursor = cursor
                selections.append(rest)
        self.setExtraSelections(selections)
