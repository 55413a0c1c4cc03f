"""Dataset > Kohya folder tools: make a subset, set repeats, balance repeats; add dropped images.

Each tool shows the plan (every file operation) before anything changes; Apply carries it out in
the background and puts an undo step on the application's undo stack (undoing a copy sends the
copies to the system trash; nothing is deleted outright).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from services.dataset import kohya_tools as tools
from services.dataset.kohya_names import parse_folder_name
from services.dataset.qt.task import Task
from services.errors import LoraStudioError


class FolderOperation(QUndoCommand):
    """An applied plan on the undo stack: undo reverses its journal, redo applies the plan again."""

    def __init__(self, plan: tools.Plan, journal: tools.Journal, on_change) -> None:
        super().__init__(plan.title)
        self.plan, self.journal, self.on_change = plan, journal, on_change
        self._first = True

    def redo(self) -> None:
        if self._first:  # already applied by the dialog
            self._first = False
            return
        self.journal = tools.apply_plan(self.plan)
        self.on_change(self.journal.error)

    def undo(self) -> None:
        problems = tools.undo_journal(self.journal)
        self.on_change("; ".join(problems))


def _mode_buttons(parent: QWidget) -> tuple[QWidget, QButtonGroup]:
    box = QWidget(parent)
    row = QVBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    group = QButtonGroup(box)
    for i, mode in enumerate(tools.MODES):
        button = QRadioButton(tools.MODE_LABELS[mode], box)
        button.setProperty("mode", mode)
        group.addButton(button, i)
        row.addWidget(button)
        if mode == "copy":
            button.setChecked(True)
    return box, group


def _chosen_mode(group: QButtonGroup) -> str:
    return group.checkedButton().property("mode")


def _short(op: tools.FileOp) -> str:
    """An operation with paths shortened to what differs (the full paths are in the plan's title)."""
    if op.kind == "mkdir":
        return f"create folder {op.target}"
    verb = {"copy": "copy", "move": "move", "link": "hard-link", "rename": "rename"}[op.kind]
    if op.kind == "rename":
        return f"{verb} {op.source.name} → {op.target.name}   (in {op.target.parent})"
    return f"{verb} {op.source.parent.name}/{op.source.name} → {op.target.parent.name}/{op.target.name}"


class _PlanRunner(QWidget):
    """Shared by the tools: compute a plan in the background, show it, apply it."""

    applied = Signal()

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.plan: tools.Plan | None = None
        self.refresh_after_apply = True
        self._task: Task | None = None
        self._make = None
        self.preview = QPlainTextEdit(self)
        self.preview.setReadOnly(True)
        self.preview.setObjectName("tools-preview")
        self.preview.setPlaceholderText("The preview of what will change appears here.")
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.refresh)

    def set_planner(self, make) -> None:
        self._make = make  # () -> plan (runs in a worker)

    def schedule(self, *_args) -> None:
        self.timer.start()

    def refresh(self) -> None:
        if self._make is None or (self._task is not None and self._task.isRunning()):
            self.timer.start()
            return
        make = self._make
        self._task = Task(lambda _r, _c: make(), "dataset-plan", self)
        self._task.succeeded.connect(self._show)
        self._task.failed.connect(self._show_error)
        self._task.start()

    def _show(self, plan: tools.Plan) -> None:
        self.plan = plan
        lines = [plan.title, ""]
        lines += [f"⚠ {w}" for w in plan.warnings]
        if plan.rows and len(plan.rows[0]) == 5:
            lines.append(f"{'folder':40} {'images':>7} {'repeats':>8} {'new':>5} {'img×rep':>8}")
            lines += [f"{r[0][:40]:40} {r[1]:>7} {r[2]:>8} {r[3]:>5} {r[4]:>8}" for r in plan.rows]
            lines.append("")
        lines += [_short(op) for op in plan.ops[:2000]]
        if len(plan.ops) > 2000:
            lines.append(f"… and {len(plan.ops) - 2000} more operations")
        lines += [f"skipped: {s}" for s in plan.skipped]
        if plan.empty:
            lines.append("Nothing to do.")
        self.preview.setPlainText("\n".join(lines))

    def _show_error(self, error) -> None:
        self.plan = None
        if isinstance(error, LoraStudioError):
            self.preview.setPlainText(f"{error.message}\n{error.hint}")
        else:
            self.preview.setPlainText(f"The plan could not be made: {error}")

    def apply(self) -> None:
        plan = self.plan
        if plan is None or plan.empty:
            return
        if plan.warnings:
            self.preview.appendPlainText("\nResolve the warnings first (or choose another mode).")
            return
        task = Task(lambda _r, _c: tools.apply_plan(plan), "dataset-apply", self)
        task.succeeded.connect(lambda journal: self._applied(plan, journal))
        task.failed.connect(self.session.report_error)
        self._task = task
        task.start()

    def _applied(self, plan: tools.Plan, journal: tools.Journal) -> None:
        def changed(problem: str) -> None:
            if problem:
                self.session.report_error(LoraStudioError("A folder operation did not complete.", problem))
            self.applied.emit()

        if journal.done:
            self.session.undo_stack.push(FolderOperation(plan, journal, changed))
        if journal.error:
            self.session.report_error(LoraStudioError(
                "The folder operation stopped part-way.",
                "What was done can be undone with Edit > Undo.", details=journal.error))
        self.session.show_status(f"{plan.title}: {len(journal.done)} operations done")
        self.plan = None
        self.applied.emit()
        if self.refresh_after_apply:
            self.refresh()

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.wait(10_000)


class FolderToolsDialog(QDialog):
    applied = Signal()

    def __init__(self, session, ws, parent=None, page: str = "make") -> None:
        super().__init__(parent)
        self.setObjectName("folder-tools")
        self.setWindowTitle("Kohya folder tools")
        self.session, self.ws = session, ws
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs)
        self.runners: dict[str, _PlanRunner] = {}
        self._build_make()
        self._build_repeats()
        self._build_balance()
        self.tabs.setCurrentIndex({"make": 0, "repeats": 1, "balance": 2}.get(page, 0))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setDefault(True)
        buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.clicked.connect(lambda: self.current_runner().apply())
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.tabs.currentChanged.connect(lambda _i: self.current_runner().schedule())
        self.resize(760, 560)
        self.current_runner().schedule()

    def current_runner(self) -> _PlanRunner:
        return list(self.runners.values())[self.tabs.currentIndex()]

    def _runner(self, name: str) -> _PlanRunner:
        runner = _PlanRunner(self.session, self)
        runner.applied.connect(self.applied)
        self.runners[name] = runner
        return runner

    def _subset_combo(self, parent: QWidget) -> QComboBox:
        combo = QComboBox(parent)
        for subset in self.ws.subsets.values():
            combo.addItem(f"{subset.name} ({subset.image_count} images, {subset.repeats} repeats)", str(subset.path))
        return combo

    def _folder_row(self, edit: QLineEdit, title: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit, title))
        row.addWidget(browse)
        return box

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text())
        if folder:
            edit.setText(folder)

    def _build_make(self) -> None:
        page = QWidget()
        form = QFormLayout(page)
        runner = self._runner("make")
        flat = next((s for s in self.ws.subsets.values() if not s.kohya), next(iter(self.ws.subsets.values())))
        self.make_source = QLineEdit(str(flat.path))
        self.make_target = QLineEdit(str(flat.path.parent))
        parsed = parse_folder_name(flat.path.name)
        self.make_name = QLineEdit(parsed.class_tokens if parsed else flat.path.name)
        self.make_name.setToolTip("Class tokens: 'ohwx dog' gives the folder '10_ohwx dog'")
        self.make_repeats = QSpinBox()
        self.make_repeats.setRange(1, 10_000)
        self.make_repeats.setValue(10)
        modes, self.make_mode = _mode_buttons(page)
        form.addRow("Flat folder", self._folder_row(self.make_source, "Folder of images"))
        form.addRow("Put the subset in", self._folder_row(self.make_target, "Parent of the new subset"))
        form.addRow("Name (class tokens)", self.make_name)
        form.addRow("Repeats", self.make_repeats)
        form.addRow("How", modes)
        form.addRow(runner.preview)
        for edit in (self.make_source, self.make_target, self.make_name):
            edit.textChanged.connect(runner.schedule)
        self.make_repeats.valueChanged.connect(runner.schedule)
        self.make_mode.idClicked.connect(runner.schedule)
        exts = self._caption_exts()
        runner.set_planner(lambda: tools.plan_make_subset(
            self.make_source.text(), self.make_target.text(), self.make_repeats.value(), self.make_name.text(),
            _chosen_mode(self.make_mode), exts))
        self.tabs.addTab(page, "Make N_name subset")

    def _build_repeats(self) -> None:
        page = QWidget()
        form = QFormLayout(page)
        runner = self._runner("repeats")
        self.rep_subset = self._subset_combo(page)
        self.rep_value = QSpinBox()
        self.rep_value.setRange(0, 10_000)
        self.rep_name = QLineEdit()
        self.rep_name.setPlaceholderText("keep the current name")

        def subset_changed(_i: int = 0) -> None:
            path = Path(self.rep_subset.currentData() or ".")
            parsed = parse_folder_name(path.name)
            self.rep_value.setValue(parsed.repeats if parsed else 1)
            runner.schedule()

        self.rep_subset.currentIndexChanged.connect(subset_changed)
        subset_changed()
        self.rep_value.valueChanged.connect(runner.schedule)
        self.rep_name.textChanged.connect(runner.schedule)
        form.addRow("Folder", self.rep_subset)
        form.addRow("Repeats", self.rep_value)
        form.addRow("Name (class tokens)", self.rep_name)
        form.addRow(QLabel("The folder is renamed to N_name; its images stay where they are."))
        form.addRow(runner.preview)
        runner.set_planner(lambda: tools.plan_set_repeats(self.rep_subset.currentData(), self.rep_value.value(),
                                                          self.rep_name.text().strip() or None))
        self.tabs.addTab(page, "Set repeats")

    def _build_balance(self) -> None:
        page = QWidget()
        form = QFormLayout(page)
        runner = self._runner("balance")
        training = [s for s in self.ws.subsets.values() if not s.is_reg]
        weights = [s.weighted for s in training] or [100]
        self.bal_target = QSpinBox()
        self.bal_target.setRange(1, 10_000_000)
        self.bal_target.setValue(int(statistics.median(weights)) or 100)
        self.bal_target.setToolTip("Each training folder gets the repeats that bring images × repeats closest to this")
        self.bal_target.valueChanged.connect(runner.schedule)
        form.addRow("Target images × repeats per folder", self.bal_target)
        form.addRow(QLabel("Regularisation folders are left alone. Folders are renamed; images stay."))
        form.addRow(runner.preview)
        counts = [tools.SubsetCount(s.path, s.image_count, s.repeats) for s in training]
        runner.set_planner(lambda: tools.plan_balance(counts, self.bal_target.value()))
        self.tabs.addTab(page, "Balance repeats")

    def _caption_exts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([self.ws.caption_extension, ".txt", ".caption", ".cap"]))

    def closeEvent(self, event) -> None:
        for runner in self.runners.values():
            runner.shutdown()
        super().closeEvent(event)


class AddImagesDialog(QDialog):
    """Images dropped on the dataset: copy, move or link them into one of the subsets."""

    applied = Signal()

    def __init__(self, session, ws, images: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("add-images")
        self.setWindowTitle(f"Add {len(images)} images to the dataset")
        self.session, self.ws, self.images = session, ws, images
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.subset = QComboBox(self)
        for subset in ws.subsets.values():
            self.subset.addItem(subset.name, str(subset.path))
        modes, self.mode = _mode_buttons(self)
        form.addRow("Into folder", self.subset)
        form.addRow("How", modes)
        layout.addLayout(form)
        self.runner = _PlanRunner(session, self)
        self.runner.refresh_after_apply = False
        self.runner.applied.connect(self.applied)
        self.runner.applied.connect(self.accept)
        layout.addWidget(self.runner.preview, 1)
        exts = tuple(dict.fromkeys([ws.caption_extension, ".txt", ".caption", ".cap"]))
        self.runner.set_planner(lambda: tools.plan_add_images(self.images, self.subset.currentData(),
                                                              _chosen_mode(self.mode), exts))
        self.subset.currentIndexChanged.connect(self.runner.schedule)
        self.mode.idClicked.connect(self.runner.schedule)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        add = QPushButton("Add")
        add.setDefault(True)
        buttons.addButton(add, QDialogButtonBox.ButtonRole.AcceptRole)
        add.clicked.connect(self.runner.apply)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 420)
        self.runner.schedule()

    def done(self, result: int) -> None:
        self.runner.shutdown()
        super().done(result)

