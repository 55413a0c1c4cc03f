"""The Problems list: every error and warning of the project; activating one selects its row."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle

from services.training.validation.problems import Severity


class ProblemsView(QListWidget):
    field_activated = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setAccessibleName("Problems")
        self.itemActivated.connect(self._activated)
        self.itemClicked.connect(self._activated)

    def show_problems(self, problems, label_of) -> None:
        self.clear()
        style = self.style()
        icons = {Severity.ERROR: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                 Severity.WARNING: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
                 Severity.INFO: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)}
        for problem in problems:
            where = label_of(problem.field)
            text = f"{where}: {problem.message}" if where else problem.message
            item = QListWidgetItem(icons.get(problem.severity), text)
            item.setToolTip(problem.hint or problem.message)
            if problem.hint:
                item.setText(f"{text}\n    {problem.hint}")
            item.setData(Qt.ItemDataRole.UserRole, problem.field)
            self.addItem(item)
        if not problems:
            item = QListWidgetItem("No problems found.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(item)

    def _activated(self, item: QListWidgetItem) -> None:
        field = item.data(Qt.ItemDataRole.UserRole)
        if field:
            self.field_activated.emit(field)
