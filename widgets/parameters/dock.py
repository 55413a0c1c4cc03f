"""The Parameters dock: one searchable tree of every training parameter that applies, with the model
picker, the profiles, the help for the current row, the step arithmetic and the problems.

The registry and the profiles load the first time the dock is shown, not at start-up.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from services.errors import LoraStudioError
from widgets.empty_state import EmptyState

NO_PROFILE = "(none)"


TREE_MIN_HEIGHT = 120


class ParametersDock(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.controller = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._loading = EmptyState("Parameters", "Loading the parameter registry…")
        self._layout.addWidget(self._loading)

    # --- lazy construction -----------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.controller is None:
            QTimer.singleShot(0, self._build_if_visible)

    def paintEvent(self, event) -> None:
        # A tab brought to the front paints without a new show event: build then.
        super().paintEvent(event)
        if self.controller is None:
            QTimer.singleShot(0, self._build_if_visible)

    def _build_if_visible(self) -> None:
        # A tabbed dock behind another one is shown for a moment at start-up: not a reason to load.
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self.ensure_built()

    def ensure_built(self) -> None:
        if self.controller is not None:
            return
        from services.training.qt.parameter_model import ParameterFilter, ParameterTreeModel

        self.controller = self.session.projects
        self.model = ParameterTreeModel(self.controller, self)
        self.proxy = ParameterFilter(self)
        self.proxy.setSourceModel(self.model)
        self._loading.hide()
        self._layout.removeWidget(self._loading)
        self._build()
        self._connect()
        self._project_replaced(self.controller.project)
        if self.controller.report is not None:
            self._report_ready(self.controller.report)
        else:
            self.controller.schedule_validation()
        self.controller.refresh_vram()

    def _build(self) -> None:
        # Imported here: the registry behind them loads when the dock is first shown, not at start-up.
        from services.training.profiles import ProfileKind
        from widgets.parameters.dataset_link import DatasetLink
        from widgets.parameters.editors import ParameterDelegate
        from widgets.parameters.model_picker import ModelPicker
        from widgets.parameters.problems_view import ProblemsView

        self.picker = ModelPicker(self)
        self._layout.addWidget(self.picker)
        self.dataset_link = DatasetLink(self.session, self.controller, self)
        self._layout.addWidget(self.dataset_link)

        profiles = QGridLayout()
        self.training_profile = QComboBox(self)
        self.training_profile.setToolTip("A starting point for what you train (character, style, concept…)")
        self.memory_profile = QComboBox(self)
        self.memory_profile.setToolTip("Settings that make the run fit your GPU's memory")
        self.save_profile = QToolButton(self)
        self.save_profile.setText("Save as profile…")
        self.save_profile.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.save_profile)
        menu.addAction("Save as training profile…", lambda: self._save_profile(ProfileKind.TRAINING))
        menu.addAction("Save as memory profile…", lambda: self._save_profile(ProfileKind.MEMORY))
        self.save_profile.setMenu(menu)
        profiles.addWidget(QLabel("Training profile"), 0, 0)
        profiles.addWidget(self.training_profile, 0, 1)
        profiles.addWidget(QLabel("Memory profile"), 1, 0)
        profiles.addWidget(self.memory_profile, 1, 1)
        profiles.addWidget(self.save_profile, 0, 2, 2, 1)
        profiles.setColumnStretch(1, 1)
        self._layout.addLayout(profiles)

        filters = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search (Ctrl+F)")
        self.search.setToolTip("Filter by label, sd-scripts name or help text")
        self.search.setClearButtonEnabled(True)
        self.changed_only = QCheckBox("Changed only", self)
        self.changed_only.setToolTip("Show only values set by a profile or by you")
        self.show_all = QCheckBox("Show all", self)
        self.show_all.setToolTip("Also show, greyed, the parameters that do not apply to this model, mode or algorithm")
        self.reset = QToolButton(self)
        self.reset.setText("Reset")
        self.reset.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        reset_menu = QMenu(self.reset)
        reset_menu.addAction("Reset this value  (Del)", self.reset_current)
        reset_menu.addAction("Reset this group", self.reset_current_group)
        reset_menu.addAction("Reset all my values", self.reset_all)
        self.reset.setMenu(reset_menu)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.changed_only)
        filters.addWidget(self.show_all)
        filters.addWidget(self.reset)
        self._layout.addLayout(filters)

        self.steps = QLabel(self)
        self.steps.setWordWrap(True)
        self.steps.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout.addWidget(self.steps)

        self.tree = QTreeView(self)
        self.tree.setModel(self.proxy)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.AnyKeyPressed
                                  | QAbstractItemView.EditTrigger.SelectedClicked)
        self.delegate = ParameterDelegate(self.tree)
        self.tree.setItemDelegate(self.delegate)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.resizeSection(0, 230)
        self.tree.expandAll()

        self.help = QLabel(self)
        self.help.setWordWrap(True)
        self.help.setTextFormat(Qt.TextFormat.RichText)
        self.help.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help.setMargin(4)
        help_area = QScrollArea(self)
        help_area.setWidget(self.help)
        help_area.setWidgetResizable(True)

        self.problems = ProblemsView(self)
        problems_box = QWidget(self)
        problems_layout = QVBoxLayout(problems_box)
        problems_layout.setContentsMargins(0, 0, 0, 0)
        self.problems_title = QLabel("Problems")
        problems_layout.addWidget(self.problems_title)
        problems_layout.addWidget(self.problems, 1)
        self.check = QPushButton("Check now", problems_box)
        self.check.clicked.connect(lambda: self.controller.validate_now())
        problems_layout.addWidget(self.check)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tree)
        splitter.addWidget(help_area)
        splitter.addWidget(problems_box)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([500, 90, 160])
        splitter.setCollapsible(0, False)
        # The tree is what this dock is for: in a short dock (tabbed above All tags) the help and
        # problems panes give up their room first instead of squeezing it to a single row.
        self.tree.setMinimumHeight(TREE_MIN_HEIGHT)
        help_area.setMinimumHeight(40)
        self._layout.addWidget(splitter, 1)

        QShortcut(QKeySequence.StandardKey.Find, self, self._focus_search,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.tree, self.reset_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self.setTabOrder(self.picker.path, self.picker.browse)
        self.setTabOrder(self.picker.browse, self.picker.mode)
        self.setTabOrder(self.picker.mode, self.training_profile)
        self.setTabOrder(self.training_profile, self.memory_profile)
        self.setTabOrder(self.memory_profile, self.search)
        self.setTabOrder(self.search, self.tree)

    def _connect(self) -> None:
        from services.training.profiles import ProfileKind

        c = self.controller
        c.project_replaced.connect(self._project_replaced)
        c.selection_changed.connect(self._selection_changed)
        c.values_changed.connect(self._values_changed)
        c.report_ready.connect(self._report_ready)
        c.detection_ready.connect(self.picker.show_detection)
        c.dropped_values.connect(self.picker.show_dropped)
        c.vram_changed.connect(self._vram_changed)
        self.session.settings_changed.connect(self._settings_changed)
        c.busy_changed.connect(lambda busy: self.problems_title.setText("Problems (checking…)" if busy else
                                                                        self._problems_title))
        self.picker.model_chosen.connect(c.choose_model)
        self.picker.mode_chosen.connect(c.set_mode)
        self.training_profile.activated.connect(lambda _i: self._profile_chosen(ProfileKind.TRAINING))
        self.memory_profile.activated.connect(lambda _i: self._profile_chosen(ProfileKind.MEMORY))
        self.search.textChanged.connect(self._search_changed)
        self.changed_only.toggled.connect(self._filter_toggled)
        self.show_all.toggled.connect(self._filter_toggled)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.problems.field_activated.connect(self.select_field)
        self.delegate.rejected.connect(lambda key, why: self.session.show_status(f"Not changed: {why}", 6000))
        self._problems_title = "Problems"

    # --- reacting to the controller -------------------------------------------------------------------
    def _project_replaced(self, project) -> None:
        self.picker.set_model(project.model_path)
        self.picker.set_mode(project.mode)
        self.picker.show_detection(self.controller.detection, None)
        self._selection_changed()

    def _selection_changed(self) -> None:
        self.picker.set_mode(self.controller.mode)
        self.picker.set_model(self.controller.project.model_path)
        self._fill_profiles()
        self.tree.expandAll()
        self._show_help(self.tree.currentIndex())

    def _vram_changed(self, vram) -> None:
        self.memory_profile.setToolTip("Settings that make the run fit your GPU's memory.\n" + vram.message)
        self._fill_profiles()

    def _settings_changed(self) -> None:
        stated = self.session.settings.hardware.stated_vram_gb
        if self.controller.vram is None or (self.controller.vram.source != "detected" and \
                stated != (self.controller.vram_gb or 0)):
            self.controller.refresh_vram()

    def _values_changed(self, _keys) -> None:
        self._show_help(self.tree.currentIndex())

    def _fill_profiles(self) -> None:
        from services.training.profiles import ProfileKind

        project = self.controller.project
        suggested = None
        if self.controller.family is not None and self.controller.vram_gb:
            suggested = self.controller.library.suggest_memory(self.controller.family, self.controller.vram_gb)
        for combo, kind, current in ((self.training_profile, ProfileKind.TRAINING, project.training_profile),
                                     (self.memory_profile, ProfileKind.MEMORY, project.memory_profile)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NO_PROFILE, None)
            enabled = self.controller.family is not None
            for profile in self.controller.profiles(kind) if enabled else []:
                label = profile.name
                if suggested is not None and profile.id == suggested.id:
                    label += f"  (suggested for {self.controller.vram_gb:g} GB)"
                combo.addItem(label, profile.id)
                combo.setItemData(combo.count() - 1, profile.description, Qt.ItemDataRole.ToolTipRole)
            if current and combo.findData(current) < 0:
                combo.addItem(f"{current} (not found)", current)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.setEnabled(enabled)
            combo.blockSignals(False)

    def _report_ready(self, report) -> None:
        self.problems.show_problems(report.problems, self._label_of)
        errors, warnings = len(report.errors), len(report.warnings)
        self._problems_title = f"Problems: {errors} error{'s' * (errors != 1)}, " \
                               f"{warnings} warning{'s' * (warnings != 1)}"
        self.problems_title.setText(self._problems_title)
        if report.steps is not None:
            self.steps.setText(f"<b>Steps:</b> {report.steps.summary}")
            self.steps.setToolTip("\n".join(report.steps.lines))
        else:
            self.steps.setText("<b>Steps:</b> add images and choose a model to see how many steps the run takes.")
            self.steps.setToolTip("")

    def _label_of(self, field: str) -> str:
        param = self.controller.registry.find(field)
        if param is not None:
            return param.display_label
        return {"pretrained_model_name_or_path": "Model", "model": "Model", "dataset": "Dataset",
                "steps": "Steps"}.get(field, field)

    # --- user actions ----------------------------------------------------------------------------------
    def _profile_chosen(self, kind) -> None:
        from services.training.profiles import ProfileKind

        combo = self.training_profile if kind is ProfileKind.TRAINING else self.memory_profile
        profile_id = combo.currentData()
        current = self.controller.project.training_profile if kind is ProfileKind.TRAINING \
            else self.controller.project.memory_profile
        if profile_id == current:
            return
        from widgets.parameters.profile_diff_dialog import ProfileDiffDialog

        try:
            dialog = ProfileDiffDialog(self.controller, kind, profile_id, self)
        except LoraStudioError as exc:
            self.session.report_error(exc)
            self._fill_profiles()
            return
        if dialog.exec():
            self.controller.apply_profile(kind, profile_id, drop_user_keys=dialog.drop_user_keys)
        self._fill_profiles()

    def _save_profile(self, kind) -> None:
        name, ok = QInputDialog.getText(self, f"Save {kind.value} profile", "Name of the profile:")
        if ok and name.strip():
            try:
                self.controller.save_user_profile(kind, name.strip())
            except LoraStudioError as exc:
                self.session.report_error(exc)
            self._fill_profiles()

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _search_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self.tree.expandAll()

    def _filter_toggled(self) -> None:
        self.proxy.set_changed_only(self.changed_only.isChecked())
        self.proxy.set_show_inapplicable(self.show_all.isChecked())
        self.tree.expandAll()

    def _current_key(self) -> str | None:
        from services.training.qt.parameter_model import Role

        return self.tree.currentIndex().data(Role.KEY)

    def reset_current(self) -> None:
        key = self._current_key()
        if key:
            self.controller.reset_values([key])

    def reset_current_group(self) -> None:
        from services.training.qt.parameter_model import Role

        group = self.tree.currentIndex().data(Role.GROUP)
        if group is not None:
            keys = [p.key for p in self.controller.registry.in_group(group)]
            self.controller.reset_values(keys, f"Reset {group.label}")

    def reset_all(self) -> None:
        self.controller.reset_values(list(self.controller.project.user_values), "Reset all values")

    def select_field(self, field: str) -> None:
        """Select the row of a parameter (from the Problems list), showing it if it is filtered out."""
        if self.controller is None:
            return
        base = field.split(".", 1)[0] if field not in self.controller.registry else field
        if field.startswith("subsets["):
            self.session.show_status("This problem is about a dataset subset: see the Dataset panel.", 6000)
            return
        if field in ("pretrained_model_name_or_path", "model"):
            self.picker.path.setFocus()
            return
        source = self.model.index_of(field if field in self.controller.registry else base)
        if not source.isValid():
            return
        proxy_index = self.proxy.mapFromSource(source)
        if not proxy_index.isValid():  # filtered out: clear the filters that hide it
            self.search.clear()
            self.changed_only.setChecked(False)
            self.show_all.setChecked(True)
            proxy_index = self.proxy.mapFromSource(source)
        self.tree.expand(proxy_index.parent())
        self.tree.scrollTo(proxy_index)
        self.tree.selectionModel().setCurrentIndex(
            proxy_index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.tree.setFocus()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_help(current)

    def _show_help(self, index: QModelIndex) -> None:
        from services.training.qt.parameter_model import Role

        param = index.data(Role.PARAMETER) if index.isValid() else None
        if param is None:
            self.help.setText("<i>Select a parameter to read what it does. Edit a value with F2, Enter or by "
                              "typing; Del resets it; Ctrl+F searches.</i>")
            return
        self.help.setText(index.siblingAtColumn(0).data(Qt.ItemDataRole.ToolTipRole) or "")

    def shutdown(self) -> None:
        if self.controller is not None:
            self.controller.shutdown()
