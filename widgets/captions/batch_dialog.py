"""The batch operation dialog: pick an operation and a scope, see what will change, apply.

The preview runs the operation in a worker as the options change (nothing is written) and shows
how many captions will change with a few examples. Apply pushes it as one undoable command.
Scopes: the selected images, the images the Dataset filter shows, or the whole dataset.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.captions import operations as ops
from services.errors import LoraStudioError

OPERATIONS = (
    ("add", "Add tags (trigger words)"),
    ("remove", "Remove tags"),
    ("rename", "Rename or merge tags"),
    ("replace", "Find and replace"),
    ("dedupe", "Remove duplicate and empty tags"),
    ("sort", "Sort tags"),
    ("front", "Move tags to the front"),
    ("affix", "Prefix / suffix text"),
)
PREVIEW_ROWS = 40
PREVIEW_DELAY_MS = 250


def _tags(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


class BatchDialog(QDialog):
    def __init__(self, session, controller, parent=None, operation: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("caption-batch-dialog")
        self.setWindowTitle("Batch edit captions")
        self.session = session
        self.controller = controller
        self._sequence = 0
        self._preview = None  # (sequence, op, keys, revision, changes)
        self._fields: dict[str, QWidget] = {}
        self.resize(720, 560)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.update_preview)
        self._build()
        if operation:
            self.operation.setCurrentIndex([o for o, _l in OPERATIONS].index(operation))
        self._operation_changed()

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QFormLayout()
        self.operation = QComboBox()
        self.operation.setObjectName("batch-operation")
        for op_id, label in OPERATIONS:
            self.operation.addItem(label, op_id)
        self.operation.currentIndexChanged.connect(self._operation_changed)
        top.addRow("Operation", self.operation)
        layout.addLayout(top)

        self.pages = QStackedWidget()
        self.page_index: dict[str, int] = {}
        for op_id, _label in OPERATIONS:
            page = QWidget()
            form = QFormLayout(page)
            form.setContentsMargins(0, 0, 0, 0)
            getattr(self, f"_page_{op_id}")(form)
            self.page_index[op_id] = self.pages.addWidget(page)
        layout.addWidget(self.pages)

        scope_row = QHBoxLayout()
        scope_row.addWidget(QLabel("Apply to"))
        self.scope_group = QButtonGroup(self)
        self.scopes: dict[str, QRadioButton] = {}
        for scope, label in (("selection", "Selected images"), ("filtered", "Filtered images"),
                             ("all", "Whole dataset")):
            button = QRadioButton(label)
            button.setObjectName(f"batch-scope-{scope}")
            self.scope_group.addButton(button)
            self.scopes[scope] = button
            scope_row.addWidget(button)
            button.toggled.connect(lambda on: on and self.schedule_preview())
        scope_row.addStretch(1)
        layout.addLayout(scope_row)

        self.summary = QLabel()
        self.summary.setObjectName("batch-summary")
        self.summary.setWordWrap(True)
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("batch-preview")
        self.table.setHorizontalHeaderLabels(["Before", "After"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        layout.addWidget(self.table, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.apply_button = self.buttons.addButton("Apply", QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.setObjectName("batch-apply")
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._set_scope_labels()
        default = "selection" if len(self.session.selected_keys) > 1 else "all"
        self.scopes[default].setChecked(True)

    def _line(self, form: QFormLayout, key: str, label: str, placeholder: str = "", tip: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(f"batch-{key}")
        edit.setPlaceholderText(placeholder)
        edit.setToolTip(tip)
        edit.textChanged.connect(self.schedule_preview)
        form.addRow(label, edit)
        self._fields[key] = edit
        return edit

    def _check(self, form: QFormLayout, key: str, label: str, checked: bool = False) -> QCheckBox:
        box = QCheckBox(label)
        box.setObjectName(f"batch-{key}")
        box.setChecked(checked)
        box.toggled.connect(self.schedule_preview)
        form.addRow("", box)
        self._fields[key] = box
        return box

    def _keep(self, form: QFormLayout, key: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(f"batch-{key}")
        spin.setRange(0, 50)
        spin.setValue(self.controller.keep_tokens)
        spin.setToolTip("sd-scripts' keep_tokens: the first N tags stay where they are (they are never shuffled)")
        spin.valueChanged.connect(self.schedule_preview)
        spin.setMaximumWidth(90)
        form.addRow("Keep first N tags fixed", spin)
        self._fields[key] = spin
        return spin

    def _page_add(self, form):
        self._line(form, "add_tags", "Tags", "sks, my trigger", "Comma-separated; tags a caption has are not repeated")
        where = QComboBox()
        where.setObjectName("batch-add_where")
        for value, label in (("front", "At the front"), ("end", "At the end"), ("index", "At position")):
            where.addItem(label, value)
        where.currentIndexChanged.connect(self.schedule_preview)
        self._fields["add_where"] = where
        index = QSpinBox()
        index.setObjectName("batch-add_index")
        index.setRange(1, 500)
        index.setMaximumWidth(90)
        index.setToolTip("1 is the first position")
        index.valueChanged.connect(self.schedule_preview)
        self._fields["add_index"] = index
        row = QHBoxLayout()
        row.addWidget(where)
        row.addWidget(index)
        row.addStretch(1)
        form.addRow("Where", row)
        self._keep(form, "add_keep")

    def _page_remove(self, form):
        self._line(form, "remove_tags", "Tags", "watermark, signature", "Comma-separated")
        self._check(form, "remove_regex", "Tags are regular expressions (matched against whole tags)")

    def _page_rename(self, form):
        self._line(form, "rename_from", "Tags", "cat", "One tag to rename, or several (comma-separated) to merge")
        self._line(form, "rename_to", "New name", "feline")

    def _page_replace(self, form):
        self._line(form, "replace_find", "Find")
        self._line(form, "replace_with", "Replace with", "", "With a regular expression, \\1 inserts group 1")
        mode = QComboBox()
        mode.setObjectName("batch-replace_mode")
        for value, label in (("plain", "Plain text"), ("regex", "Regular expression"), ("whole_tag", "Whole tags")):
            mode.addItem(label, value)
        mode.currentIndexChanged.connect(self.schedule_preview)
        self._fields["replace_mode"] = mode
        form.addRow("Match", mode)
        self._check(form, "replace_case", "Match case", checked=True)

    def _page_dedupe(self, form):
        self._check(form, "dedupe_duplicates", "Remove duplicate tags (the first stays)", checked=True)
        self._check(form, "dedupe_empty", "Remove empty tags", checked=True)

    def _page_sort(self, form):
        by = QComboBox()
        by.setObjectName("batch-sort_by")
        by.addItem("Alphabetically", "alphabetical")
        by.addItem("By frequency in the dataset (most used first)", "frequency")
        by.currentIndexChanged.connect(self.schedule_preview)
        self._fields["sort_by"] = by
        form.addRow("Order", by)
        self._check(form, "sort_reverse", "Reverse")
        self._keep(form, "sort_keep")

    def _page_front(self, form):
        self._line(form, "front_tags", "Tags", "sks, 1girl", "Comma-separated, in the order they should have")
        self._keep(form, "front_keep")

    def _page_affix(self, form):
        self._line(form, "affix_prefix", "Before the caption", "a photo of sks, ")
        self._line(form, "affix_suffix", "After the caption", ", high quality")
        note = QLabel("For natural-language captions. Text already there is not added twice.")
        note.setProperty("role", "muted")
        form.addRow("", note)

    # --- state ------------------------------------------------------------------------------
    def _set_scope_labels(self) -> None:
        ws = self.session.workspace
        counts = {"selection": len(self.session.selected_keys), "filtered": len(self.session.filtered_keys),
                  "all": len(ws) if ws is not None else 0}
        labels = {"selection": "Selected images", "filtered": "Filtered images", "all": "Whole dataset"}
        for scope, button in self.scopes.items():
            button.setText(f"{labels[scope]} ({counts[scope]})")
            button.setEnabled(counts[scope] > 0)

    def scope(self) -> str:
        return next((s for s, b in self.scopes.items() if b.isChecked()), "all")

    def keys(self) -> list[str]:
        ws = self.session.workspace
        if ws is None:
            return []
        scope = self.scope()
        if scope == "selection":
            return [k for k in self.session.selected_keys if k in ws]
        if scope == "filtered":
            return [k for k in self.session.filtered_keys if k in ws]
        return ws.keys()

    def value(self, key: str):
        field = self._fields[key]
        if isinstance(field, QLineEdit):
            return field.text()
        if isinstance(field, QCheckBox):
            return field.isChecked()
        if isinstance(field, QSpinBox):
            return field.value()
        return field.currentData()

    def set_value(self, key: str, value) -> None:
        field = self._fields[key]
        if isinstance(field, QLineEdit):
            field.setText(value)
        elif isinstance(field, QCheckBox):
            field.setChecked(bool(value))
        elif isinstance(field, QSpinBox):
            field.setValue(int(value))
        else:
            field.setCurrentIndex(field.findData(value))

    def operation_id(self) -> str:
        return self.operation.currentData()

    def build_operation(self) -> ops.Operation:
        """The operation the form describes; raises UserInputError when it is incomplete."""
        v = self.value
        op_id = self.operation_id()
        if op_id == "add":
            return ops.AddTags(_tags(v("add_tags")), v("add_where"), v("add_index") - 1, v("add_keep"))
        if op_id == "remove":
            return ops.RemoveTags(_tags(v("remove_tags")), regex=v("remove_regex"))
        if op_id == "rename":
            return ops.RenameTag(_tags(v("rename_from")), v("rename_to"))
        if op_id == "replace":
            return ops.FindReplace(v("replace_find"), v("replace_with"), v("replace_mode"), v("replace_case"))
        if op_id == "dedupe":
            return ops.RemoveDuplicates(v("dedupe_duplicates"), v("dedupe_empty"))
        if op_id == "sort":
            return ops.SortTags(v("sort_by"), v("sort_reverse"), v("sort_keep"))
        if op_id == "front":
            return ops.MoveToFront(_tags(v("front_tags")), v("front_keep"))
        return ops.PrefixSuffix(v("affix_prefix"), v("affix_suffix"))

    def _operation_changed(self) -> None:
        self.pages.setCurrentIndex(self.page_index[self.operation_id()])
        self._fields["add_index"].setEnabled(self.value("add_where") == "index")
        self.schedule_preview()

    # --- preview and apply ------------------------------------------------------------
    def schedule_preview(self, *_args) -> None:
        self._fields["add_index"].setEnabled(self.value("add_where") == "index")
        self._sequence += 1
        self._preview = None
        self.apply_button.setEnabled(False)
        self._timer.start()

    def update_preview(self) -> None:
        self._set_scope_labels()
        keys = self.keys()
        try:
            op = self.build_operation()
        except LoraStudioError as exc:
            self._show_message(exc.message, exc.hint)
            return
        if not keys:
            self._show_message("Nothing to apply to.", "Choose another scope, or select images first.")
            return
        sequence = self._sequence
        revision = self.controller.revision
        self.summary.setText(f"Checking {len(keys)} caption(s)…")
        self.controller.plan_async(op, keys, lambda changes: self._previewed(sequence, op, keys, revision, changes),
                                   lambda exc: self._preview_failed(sequence, exc), label="")

    def _previewed(self, sequence, op, keys, revision, changes) -> None:
        if sequence != self._sequence:
            return  # the options changed meanwhile; a newer preview is on its way
        self._preview = (sequence, op, keys, revision, changes)
        text = f"{len(changes)} of {len(keys)} caption(s) will change."
        if changes.skipped:
            reasons = "; ".join(sorted(set(changes.skipped.values())))
            text += f" {len(changes.skipped)} will be left alone: {reasons}."
        self.summary.setText(text)
        self.summary.setProperty("role", "")
        self._fill_table(changes)
        self.apply_button.setEnabled(bool(changes))

    def _preview_failed(self, sequence, exc) -> None:
        if sequence != self._sequence:
            return
        if isinstance(exc, LoraStudioError):
            self._show_message(exc.message, exc.hint)
        else:
            self.session.report_error(exc)

    def _show_message(self, message: str, hint: str = "") -> None:
        self.summary.setText(message + (f" {hint}" if hint else ""))
        self.table.setRowCount(0)
        self.apply_button.setEnabled(False)

    def _fill_table(self, changes) -> None:
        rows = list(changes.changes.values())[:PREVIEW_ROWS]
        self.table.setRowCount(len(rows))
        for r, (old, new) in enumerate(rows):
            before = QTableWidgetItem(old if old is not None else "(no caption file)")
            after = QTableWidgetItem(new)
            for item in (before, after):
                item.setToolTip(item.text())
            if old is None:
                before.setForeground(self.palette().placeholderText())
            self.table.setItem(r, 0, before)
            self.table.setItem(r, 1, after)
        self.table.resizeRowsToContents()

    def apply(self) -> None:
        preview = self._preview
        if preview is None or preview[0] != self._sequence:
            return
        _sequence, op, keys, revision, changes = preview
        if not changes:
            return
        keep = getattr(op, "keep_tokens", None)
        if keep is not None:
            self.controller.set_keep_tokens(keep)
        if self.controller.revision == revision:
            self.controller.push(changes)
        else:  # captions changed since the preview: run it again on what they are now
            self.controller.run_operation(op, keys)
        self.session.show_status(f"{op.describe()}: {len(changes)} caption(s)", 5000)
        self.accept()
