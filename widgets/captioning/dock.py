"""The Auto-caption dock: choose a captioner, its model and options, run it over the dataset.

The form of each captioner is generated from its option declarations. A job runs in a worker
process (services.captioning.qt.CaptionService); its captions go into the dataset as they arrive
and become one undoable command when it ends, however it ends. The widgets are built the first
time the dock is shown, so the window starts fast.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from services.captioning.families import FAMILIES, TAGS, family
from services.captioning.job import CaptionJob
from services.captioning.models import models_dir_from
from services.captioning.policy import ALL, FILTERED, POLICIES, SELECTION, TARGETS
from services.captioning.qt.apply import ResultApplier
from services.captioning.qt.service import CaptionService
from services.captioning.targets import Plan, plan
from services.errors import LoraStudioError
from widgets.captioning.model_picker import ModelPicker, breakable_path
from widgets.captioning.options_form import OptionsForm
from widgets.captioning.progress_panel import ProgressPanel

RECENT_FOLDERS = 8
log = logging.getLogger(__name__)


class AutoCaptionDock(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("auto-caption")
        self.session = session
        self.service: CaptionService | None = None
        self.applier: ResultApplier | None = None
        self.forms: dict[str, OptionsForm] = {}
        self._built = False
        self._plan = Plan()
        self._plan_timer = QTimer(self)
        self._plan_timer.setSingleShot(True)
        self._plan_timer.setInterval(150)
        self._plan_timer.timeout.connect(self.update_plan)
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)

    # --- construction (on first show) --------------------------------------------------
    def showEvent(self, event) -> None:
        self.ensure_built()
        super().showEvent(event)

    def ensure_built(self) -> None:
        if self._built:
            return
        self._built = True
        settings = self.session.settings.captioning
        outer = self.layout()
        outer.setContentsMargins(6, 6, 6, 6)

        # Top, always visible: what runs.
        head = QFormLayout()
        self.family_combo = QComboBox()
        self.family_combo.setObjectName("caption-family")
        for fam in FAMILIES:
            self.family_combo.addItem(fam.title, fam.id)
        head.addRow("Captioner", self.family_combo)
        self.model_picker = ModelPicker()
        head.addRow("Model", self.model_picker)
        outer.addLayout(head)

        # Middle, scrolled: how it runs (the generated options) and where models are kept.
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 4, 0)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setProperty("role", "muted")
        layout.addWidget(self.description)
        self.stack = QStackedWidget()
        for fam in FAMILIES:
            form = OptionsForm(fam.options)
            form.setObjectName(f"caption-options-{fam.id}")
            self.forms[fam.id] = form
            self.stack.addWidget(form)
        layout.addWidget(self.stack)
        folder_row = QHBoxLayout()
        self.models_dir_label = QLabel()
        self.models_dir_label.setObjectName("caption-models-dir")
        self.models_dir_label.setProperty("role", "muted")
        self.models_dir_label.setWordWrap(True)
        self.models_dir_button = QPushButton("Change…")
        self.models_dir_button.setObjectName("caption-models-dir-change")
        self.models_dir_button.setToolTip("Where models downloaded from the Hugging Face Hub are kept")
        folder_row.addWidget(QLabel("Downloads"))
        folder_row.addWidget(self.models_dir_label, 1)
        folder_row.addWidget(self.models_dir_button)
        layout.addLayout(folder_row)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("caption-options-scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        scroll.setMinimumHeight(150)  # a few options stay in view when the dock is short
        outer.addWidget(scroll, 1)

        # Bottom, always visible: on which images, the start and the progress.
        scope = QFormLayout()
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("caption-target")
        for value, label in TARGETS:
            self.target_combo.addItem(label, value)
        self.policy_combo = QComboBox()
        self.policy_combo.setObjectName("caption-policy")
        for value, label in POLICIES:
            self.policy_combo.addItem(label, value)
        scope.addRow("Images", self.target_combo)
        scope.addRow("Existing captions", self.policy_combo)
        outer.addLayout(scope)
        self.plan_label = QLabel()
        self.plan_label.setObjectName("caption-plan")
        self.plan_label.setWordWrap(True)
        self.plan_label.setProperty("role", "muted")
        outer.addWidget(self.plan_label)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start captioning")
        self.start_button.setObjectName("caption-start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("caption-cancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.cancel_button)
        outer.addLayout(buttons)
        self.progress = ProgressPanel()
        outer.addWidget(self.progress)
        for combo in (self.family_combo, self.target_combo, self.policy_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)

        for fam in FAMILIES:
            self.forms[fam.id].set_values(dict(settings.options.get(fam.id, {})) or self._defaults(fam.id))
        self._select(self.family_combo, settings.captioner)
        self._select(self.target_combo, settings.target)
        self._select(self.policy_combo, settings.existing_policy)
        self._on_family()
        self.family_combo.currentIndexChanged.connect(self._on_family)
        self.model_picker.folder_chosen.connect(self._remember_folder)
        self.models_dir_button.clicked.connect(self.choose_models_dir)
        self.target_combo.currentIndexChanged.connect(self.schedule_plan)
        self.policy_combo.currentIndexChanged.connect(self.schedule_plan)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        s = self.session
        s.workspace_changed.connect(self._on_workspace)
        for signal in (s.selection_changed, s.filtered_keys_changed, s.captions_changed):
            signal.connect(self.schedule_plan)
        s.settings_changed.connect(self.model_picker.refresh_status)
        self.update_plan()

    def _defaults(self, family_id: str) -> dict:
        settings = self.session.settings.captioning
        if family_id == "wd14":
            return {"batch_size": settings.batch_size, "execution_provider": settings.execution_provider}
        return {}

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    def models_dir(self):
        return models_dir_from(self.session.settings.captioning.models_dir)

    def current_family(self):
        return family(self.family_combo.currentData())

    def _on_family(self, *_args) -> None:
        fam = self.current_family()
        settings = self.session.settings.captioning
        self.description.setText(fam.description)
        self.models_dir_label.setText(breakable_path(self.models_dir()))
        self.stack.setCurrentWidget(self.forms[fam.id])
        self.model_picker.set_family(fam, self.models_dir(), settings.models.get(fam.id, ""),
                                     settings.recent_model_folders)

    def choose_models_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for downloaded models", str(self.models_dir()))
        if folder:
            self.set_models_dir(folder)

    def set_models_dir(self, folder: str) -> None:
        self.session.settings.captioning.models_dir = folder
        self.session.save_settings()
        self._on_family()

    def _remember_folder(self, folder: str) -> None:
        recent = self.session.settings.captioning.recent_model_folders
        if folder in recent:
            recent.remove(folder)
        recent.insert(0, folder)
        del recent[RECENT_FOLDERS:]

    # --- the plan: which images -------------------------------------------------------
    def schedule_plan(self, *_args) -> None:
        if self._built:
            self._plan_timer.start()

    def _target_keys(self) -> list[str]:
        ws = self.session.workspace
        if ws is None:
            return []
        target = self.target_combo.currentData()
        if target == SELECTION:
            return list(self.session.selected_keys)
        if target == FILTERED:
            return list(self.session.filtered_keys)
        return ws.keys()

    def update_plan(self) -> None:
        ws = self.session.workspace
        counts = {SELECTION: len(self.session.selected_keys), FILTERED: len(self.session.filtered_keys),
                  ALL: len(ws) if ws is not None else 0}
        for i, (value, label) in enumerate(TARGETS):
            self.target_combo.setItemText(i, f"{label} ({counts[value]})")
        if ws is None:
            self._plan = Plan()
            self.plan_label.setText("Open a dataset folder to caption its images.")
        else:
            self._plan = plan(ws, self._target_keys(), self.policy_combo.currentData())
            self.plan_label.setText(self._plan.describe() + ".")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.service is not None and self.service.is_running()
        self.start_button.setEnabled(not running and bool(self._plan.keys))
        self.cancel_button.setEnabled(running)
        for widget in (self.family_combo, self.model_picker, self.stack, self.target_combo, self.policy_combo):
            widget.setEnabled(not running)

    # --- running ------------------------------------------------------------------------
    def focus(self) -> None:
        """Menu entry point: the dock is shown by the window; make sure it is built and current."""
        self.ensure_built()
        self.update_plan()

    def build_job(self) -> CaptionJob:
        fam = self.current_family()
        ws = self.session.workspace
        options = self.forms[fam.id].values()
        return CaptionJob(fam.id, self.model_picker.model(), list(self._plan.keys), options,
                          str(self.models_dir()), ws.tag_separator if ws is not None else ", ")

    def start(self, *, command: list[str] | None = None) -> bool:
        """Start a job over the planned images; False (with the reason shown) if it cannot start."""
        self.ensure_built()
        self.update_plan()
        if not self._plan.keys:
            self.progress.show_outcome("Nothing to caption: " + self.plan_label.text(), "warning")
            return False
        fam = self.current_family()
        try:
            job = self.build_job().validate()
        except LoraStudioError as exc:
            self.progress.show_outcome(f"{exc.message} {exc.hint}".strip(), "error")
            return False
        self._remember(job)
        if self.service is None:
            self.service = CaptionService(self)
            self.service.status_changed.connect(self.progress.set_status)
            self.service.download_progress.connect(self.progress.show_download)
            self.service.progress_changed.connect(self.progress.show_progress)
            self.service.results_arrived.connect(self._on_results)
            self.service.image_failed.connect(lambda path, why: self.progress.add_note(f"{path}: {why}"))
            self.service.warning_raised.connect(lambda text: self.progress.add_note(f"Warning: {text}"))
            self.service.running_changed.connect(lambda _running: self._update_buttons())
            self.service.job_finished.connect(self._on_finished)
        self.applier = ResultApplier(self.session, title=f"Auto-caption ({fam.title})",
                                     policy=self.policy_combo.currentData(), tags=fam.output == TAGS)
        self.progress.reset(len(job.images))
        try:
            self.service.start(job, backend_settings=self.session.settings.backend, command=command)
        except LoraStudioError as exc:
            self.applier = None
            self.progress.show_outcome(f"{exc.message} {exc.hint}".strip(), "error")
            self.session.report_error(exc)
            return False
        self._update_buttons()
        return True

    def _remember(self, job: CaptionJob) -> None:
        settings = self.session.settings.captioning
        settings.captioner = job.family
        settings.models[job.family] = job.model
        settings.options[job.family] = self.forms[job.family].values()
        settings.target = self.target_combo.currentData()
        settings.existing_policy = self.policy_combo.currentData()
        self.session.save_settings()

    def cancel(self) -> None:
        if self.service is not None:
            self.service.cancel()
            self.cancel_button.setEnabled(False)

    def _on_results(self, results: list) -> None:
        if self.applier is not None:
            self.applier.add(results)
        if results:
            self.progress.show_latest(results[-1].path, results[-1].caption)

    def _on_finished(self, outcome) -> None:
        applier, self.applier = self.applier, None
        written = ""
        if applier is not None:
            applier.finish()
            written = applier.summary()
        text = f"{outcome.summary().capitalize()}; {written}." if written else outcome.summary().capitalize() + "."
        if self.service is not None:
            self.progress.show_final(self.service.last_progress, outcome.elapsed_s)
        if outcome.error is not None:
            error = outcome.error
            log.warning("captioning stopped: %s %s\n%s", error.message, error.hint, error.details)
            self.progress.set_status("Stopped.")
            self.progress.show_outcome(f"{error.message}\n{error.hint}\n{text}".strip(), "error")
            self.session.report_error(error)
        elif outcome.cancelled:
            self.progress.set_status("Cancelled.")
            self.progress.show_outcome(text, "warning")
        else:
            self.progress.set_status("Finished.")
            self.progress.show_outcome(text, "ok")
        self.session.show_status(text, 8000)
        self.model_picker.refresh_status()  # a model downloaded by this job is ready now
        self._update_buttons()
        self.schedule_plan()

    def _on_workspace(self, _workspace) -> None:
        if self.service is not None and self.service.is_running():
            self.cancel()  # its images belong to the dataset that was closed
        self.model_picker.refresh_status()
        self.schedule_plan()

    def shutdown(self) -> None:
        """Window closing: stop the worker (keeping what it produced) and record the undo step."""
        if self.service is not None and self.service.is_running():
            self.service.shutdown()
            from PySide6.QtCore import QCoreApplication

            QCoreApplication.sendPostedEvents()  # deliver the last results and the outcome
        if self.applier is not None:
            self.applier.finish()
