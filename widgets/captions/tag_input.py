"""The "add tags" line: comma-separated tags, with autocompletion from the dataset's own tags.

Suggestions are ranked by how many captions carry them (prefix matches first, then matches at a
word start, then anywhere), and exclude the tags the caption already has. Choosing one replaces
only the tag being typed, so several tags can be entered in one go.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit


class TagInput(QLineEdit):
    tags_entered = Signal(list)

    def __init__(self, suggest: Callable[[str, list[str]], list[str]], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("caption-add-tags")
        self.setPlaceholderText("Add tags… (comma-separated, Enter to add)")
        self.setClearButtonEnabled(True)
        self.setAccessibleName("Add tags")
        self._suggest = suggest
        self.exclude: list[str] = []
        self._model = QStringListModel(self)
        self.completer_ = QCompleter(self._model, self)
        self.completer_.setWidget(self)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setMaxVisibleItems(12)
        self.completer_.activated[str].connect(self._insert)
        self.textEdited.connect(self._update_suggestions)
        self.returnPressed.connect(self._enter)

    def current_fragment(self) -> str:
        return self.text().rsplit(",", 1)[-1].strip()

    def suggestions(self) -> list[str]:
        return self._model.stringList()

    def _update_suggestions(self, _text: str = "") -> None:
        fragment = self.current_fragment()
        items = self._suggest(fragment, self.exclude) if fragment else []
        self._model.setStringList(items)
        if items:
            self.completer_.complete()
        else:
            self.completer_.popup().hide()

    def _insert(self, tag: str) -> None:
        head = self.text().rsplit(",", 1)[0] if "," in self.text() else ""
        self.setText((head + ", " if head else "") + tag + ", ")
        self.completer_.popup().hide()

    def keyPressEvent(self, event) -> None:
        popup = self.completer_.popup()
        if popup.isVisible() and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            index = popup.currentIndex()
            if index.isValid():
                self._insert(index.data())
                event.accept()
                return
            popup.hide()
        super().keyPressEvent(event)

    def _enter(self) -> None:
        tags = [t.strip() for t in self.text().split(",") if t.strip()]
        if tags:
            self.tags_entered.emit(list(dict.fromkeys(tags)))
        self.clear()
        self.completer_.popup().hide()
