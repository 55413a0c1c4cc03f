"""The filter bar: a query line (applied as you type, after a short pause) and the sort order."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QToolButton, QWidget

from services.dataset.filter_query import SORTS, compile_query
from services.errors import UserInputError

HELP = """<b>Filter</b> (terms side by side must all match)<br>
<code>tag:cat</code> <code>-tag:dog</code> <code>tag:"long hair"</code> <code>tag:long*</code><br>
<code>caption:none</code> <code>caption:empty</code> free text in captions or file names<br>
<code>subset:NAME</code> <code>name:PART</code> <code>ext:png</code> <code>reg:yes</code><br>
<code>width&lt;512</code> <code>height&gt;=1024</code> <code>ratio&gt;1.5</code> <code>tags&gt;30</code><br>
<code>problem:any</code> <code>problem:no_caption</code> <code>problem:small</code> <code>problem:duplicate</code><br>
<code>OR</code> between terms, <code>-</code> or <code>NOT</code> to negate, <code>( )</code> to group."""


class FilterBar(QWidget):
    query_changed = Signal(str)  # a valid query (may be empty)
    sort_changed = Signal(str, bool)  # sort key, descending

    def __init__(self, parent=None, sort: str = "folder", descending: bool = False) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("dataset-filter")
        self.edit.setPlaceholderText("Filter: tag:cat -tag:dog width<512 problem:any …")
        self.edit.setClearButtonEnabled(True)
        self.edit.setToolTip(HELP)
        layout.addWidget(self.edit, 1)
        self.sort = QComboBox(self)
        self.sort.setObjectName("dataset-sort")
        self.sort.setToolTip("Sort order")
        for key, label in (("folder", "Folder order"), *SORTS.items()):
            if key != "subset":
                self.sort.addItem(label, key)
        index = self.sort.findData(sort)
        self.sort.setCurrentIndex(max(0, index))
        layout.addWidget(self.sort)
        self.direction = QToolButton(self)
        self.direction.setCheckable(True)
        self.direction.setChecked(descending)
        self.direction.setToolTip("Reverse the order")
        self._update_direction()
        layout.addWidget(self.direction)
        self.error = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(180)
        self._timer.timeout.connect(self.apply)
        self.edit.textChanged.connect(lambda _t: self._timer.start())
        self.edit.returnPressed.connect(self.apply)
        self.sort.currentIndexChanged.connect(lambda _i: self._emit_sort())
        self.direction.toggled.connect(lambda _c: (self._update_direction(), self._emit_sort()))

    def _update_direction(self) -> None:
        self.direction.setText("↓" if self.direction.isChecked() else "↑")

    def _emit_sort(self) -> None:
        self.sort_changed.emit(self.sort.currentData(), self.direction.isChecked())

    def text(self) -> str:
        return self.edit.text()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)
        self.apply()

    def apply(self) -> None:
        self._timer.stop()
        text = self.edit.text()
        try:
            compile_query(text)
        except UserInputError as exc:
            self.error = f"{exc.message} {exc.hint}".strip()
            self.edit.setProperty("invalid", True)
            self.edit.setToolTip(f"<b>{exc.message}</b><br>{exc.hint}<br><br>{HELP}")
            self._restyle()
            return
        self.error = ""
        self.edit.setProperty("invalid", False)
        self.edit.setToolTip(HELP)
        self._restyle()
        self.query_changed.emit(text)

    def _restyle(self) -> None:
        # A red frame marks a query that does not parse (the tooltip says why).
        self.edit.setStyleSheet("QLineEdit { border: 1px solid #e05252; }" if self.edit.property("invalid") else "")

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.edit.text():
            self.edit.clear()
            self.apply()
            return
        super().keyPressEvent(event)
