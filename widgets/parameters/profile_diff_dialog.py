"""Before a profile is applied: which values change (old -> new, and where each comes from), and
which of the user's own values the profile would have set but which stay."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from services.training.qt.parameter_model import format_value


class ProfileDiffDialog(QDialog):
    def __init__(self, controller, kind, profile_id: str | None, parent=None) -> None:
        super().__init__(parent)
        self.controller, self.kind, self.profile_id = controller, kind, profile_id
        profile = controller.library.find(kind, profile_id) if profile_id else None
        self.setWindowTitle(f"Apply {kind.value} profile")
        self.resize(640, 460)
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{profile.name if profile else 'No profile'}</b>")
        layout.addWidget(title)
        if profile is not None and profile.description:
            about = QLabel(profile.description)
            about.setWordWrap(True)
            layout.addWidget(about)
        self.summary = QLabel()
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Parameter", "Now", "After"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 1)
        self.replace_mine = QCheckBox("Also replace the values I set myself that this profile sets")
        self.replace_mine.toggled.connect(self._refresh)
        layout.addWidget(self.replace_mine)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = buttons.addButton("Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._refresh()

    def _refresh(self) -> None:
        diff = self.controller.preview_profile(self.kind, self.profile_id, drop_user_keys=self.replace_mine.isChecked())
        registry = self.controller.registry
        rows = [(c, False) for c in diff.changes] + [(c, True) for c in diff.kept]
        self.table.setRowCount(len(rows))
        for row, (change, kept) in enumerate(rows):
            param = registry.get(change.key)
            old = f"{format_value(param, change.old) or '(not set)'}  [{change.old_origin.label}]"
            new = "kept (you set it)" if kept else \
                f"{format_value(param, change.new) or '(not set)'}  [{change.new_origin.label}]"
            for column, text in enumerate((change.label, old, new)):
                item = QTableWidgetItem(text)
                item.setToolTip(param.help)
                self.table.setItem(row, column, item)
        self.summary.setText(f"{len(diff.changes)} values change"
                             + (f"; {len(diff.kept)} of your own values stay" if diff.kept else "") + ".")
        self.table.resizeColumnsToContents()

    @property
    def drop_user_keys(self) -> bool:
        return self.replace_mine.isChecked()
