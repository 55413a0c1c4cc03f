"""The project controller: the one place the GUI changes a training project.

Every edit is an undo command on the application's QUndoStack; after each, the values are
re-resolved at once (a millisecond) and validation is scheduled, debounced, on a worker thread
(it looks at files: the model header, the image folders). Panels listen to the signals.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from services.errors import LoraStudioError, UserInputError
from services.training.detect import detect_model
from services.training.families import Family, Mode
from services.training.profiles import Profile, ProfileKind, ProfileLibrary, profile_diff
from services.training.project import MODEL_PATH_KEY, Project
from services.training.qt import jobs
from services.training.qt.commands import NOT_SET, ProjectEdit
from services.training.registry import registry
from services.training.validation import ValidationContext
from services.training.values import Resolved

log = logging.getLogger(__name__)

VALIDATION_DELAY_MS = 250


class ProjectController(QObject):
    project_replaced = Signal(object)     # the new Project
    values_changed = Signal(list)         # keys whose value may have changed; [] means "all"
    selection_changed = Signal()          # family, mode, algorithm, optimizer or scheduler changed
    report_ready = Signal(object)         # ValidationReport
    detection_ready = Signal(object, object)  # DetectionResult or None, error or None
    dropped_values = Signal(list)         # labels of values dropped by a change of family
    busy_changed = Signal(bool)           # validation running
    vram_changed = Signal(object)         # VramAvailability: detected or stated GPU memory

    def __init__(self, session, library: ProfileLibrary | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent or session)
        self.session = session
        self.registry = registry()
        self.library = library or ProfileLibrary()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._jobs: set = set()
        self._generation = 0
        self._detect_generation = 0
        self.project: Project = Project.new("Untitled")
        self.resolved: Resolved | None = None
        self.report = None
        self.detection = None
        self.image_counts: dict[str, int] | None = None
        self.vram_gb: float | None = None
        self.vram = None  # the last VramAvailability
        self._vram_generation = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VALIDATION_DELAY_MS)
        self._timer.timeout.connect(self._validate_now)
        self._resolve()

    # --- reading ----------------------------------------------------------------------------------
    @property
    def family(self) -> Family | None:
        return self.project.family

    @property
    def mode(self) -> Mode:
        return self.project.mode

    def selection(self):
        return self.resolved.selection() if self.resolved is not None else None

    def value(self, key: str) -> Any:
        if key == MODEL_PATH_KEY:
            return self.project.model_path
        return self.resolved[key] if self.resolved is not None and key in self.resolved else None

    def profiles(self, kind: ProfileKind) -> list[Profile]:
        return self.library.list(kind, self.family, self.mode)

    # --- whole projects ---------------------------------------------------------------------------
    def new_project(self, name: str = "Untitled") -> None:
        self._replace(Project.new(name))

    def open_project(self, path: str | Path) -> Project:
        project = Project.load(path)  # raises a LoraStudioError with a clear message; disk untouched
        self._replace(project)
        settings = self.session.settings
        settings.remember_project(str(Path(path).resolve()))
        settings.workspace.last_project = str(Path(path).resolve())
        self.session.save_settings()
        for warning in project.load_warnings:
            self.session.show_status(warning, 8000)
        return project

    def save_project(self, path: str | Path | None = None) -> Path:
        if path is None and self.project.path is None:
            raise UserInputError("The project has not been saved yet.", "Use File > Save project as… to choose a file.")
        saved = self.project.save(path)
        self.session.set_project_modified(False)
        self.session.settings.remember_project(str(saved))
        self.session.settings.workspace.last_project = str(saved)
        self.session.save_settings()
        self.session.show_status(f"Project saved to {saved}")
        return saved

    def _replace(self, project: Project) -> None:
        self.project = project
        self.detection = None
        self.report = None
        self._resolve()
        self.session.set_project(project)
        self.project_replaced.emit(project)
        self.values_changed.emit([])
        self.selection_changed.emit()
        if project.model_path:
            self._detect(project.model_path)
        self.schedule_validation()

    # --- edits (each one undoable) ----------------------------------------------------------------
    def _push(self, command: ProjectEdit) -> None:
        if command.is_noop():
            return
        self.session.undo_stack.push(command)

    def _edit(self, text: str, *, values: dict[str, Any] | None = None, fields: dict[str, Any] | None = None) -> None:
        self._push(ProjectEdit(self.project, text, after_values=values, after_fields=fields,
                               on_change=self._after_edit))

    def set_value(self, key: str, value: Any) -> None:
        if key == MODEL_PATH_KEY and value:
            self.choose_model(str(value))  # the family follows the file
            return
        param = self.registry.get(key)
        self._edit(f"Set {param.display_label}", values={key: value})

    def reset_values(self, keys: list[str], text: str = "") -> None:
        keys = [k for k in keys if k in self.project.user_values]
        if keys:
            label = self.registry.get(keys[0]).display_label if len(keys) == 1 else f"{len(keys)} values"
            self._edit(text or f"Reset {label}", values=dict.fromkeys(keys, NOT_SET))

    def set_mode(self, mode: Mode) -> None:
        self._edit(f"Training mode: {Mode(mode).label}", fields={"mode": Mode(mode)})

    def set_name(self, name: str) -> None:
        self._edit("Rename project", fields={"name": name})

    def apply_profile(self, kind: ProfileKind, profile_id: str | None, *, drop_user_keys: bool = False) -> None:
        field = "training_profile" if kind is ProfileKind.TRAINING else "memory_profile"
        profile = self.library.find(kind, profile_id) if profile_id else None
        values: dict[str, Any] = {}
        if drop_user_keys and profile is not None:
            user = self.project.user_values
            values = {k: NOT_SET for k in profile.values_for(self.mode) if k in user}
        name = profile.name if profile else "none"
        self._edit(f"{kind.value.title()} profile: {name}", fields={field: profile_id}, values=values)

    def preview_profile(self, kind: ProfileKind, profile_id: str | None, *, drop_user_keys: bool = False):
        if self.family is None:
            raise UserInputError("Choose a base model first: profiles are made for one model family.")
        new = self.library.find(kind, profile_id) if profile_id else None
        return profile_diff(self.family, self.mode, kind=kind, new=new,
                            training=self.library.find(ProfileKind.TRAINING, self.project.training_profile),
                            memory=self.library.find(ProfileKind.MEMORY, self.project.memory_profile),
                            user=self.project.user_values, drop_user_keys=drop_user_keys, reg=self.registry)

    def save_user_profile(self, kind: ProfileKind, name: str, description: str = "") -> Profile:
        """Save the values that are not at their default (profiles' and the user's) as a profile."""
        if self.resolved is None:
            raise UserInputError("Choose a base model first.")
        keys = [p.key for p in self.registry.parameters()
                if (kind is ProfileKind.MEMORY) == (p.group.value == "memory")]
        changed = self.resolved.changed()
        values = {k: changed[k] for k in keys if k in changed and k != MODEL_PATH_KEY and changed[k] is not None}
        profile = self.library.save_user(kind, name, values, families=[self.family], description=description)
        self.session.show_status(f"Saved {kind.value} profile {profile.name!r} ({len(values)} values)")
        return profile

    # --- the base model ----------------------------------------------------------------------------
    def choose_model(self, path: str) -> None:
        """Detect the model's family off the GUI thread; the edit happens when the answer arrives."""
        self._detect(path, apply=True)

    def _detect(self, path: str, apply: bool = False) -> None:
        self._detect_generation += 1
        generation = self._detect_generation

        def done(gen: int, result, error) -> None:
            self._forget_job(job)
            if gen != self._detect_generation:
                return
            self.detection = result
            self.detection_ready.emit(result, error)
            if apply:
                self._apply_model(path, result)

        job = jobs.start(self.pool, generation, done, detect_model, path)
        self._jobs.add(job)

    def _apply_model(self, path: str, detection) -> None:
        fields: dict[str, Any] = {"model_path": path}
        values: dict[str, Any] = {}
        dropped: list[str] = []
        new_family = detection.family if detection is not None and detection.usable_as_base else None
        if new_family is not None and new_family != self.family:
            fields["family"] = Family(new_family)
            fields["variant"] = detection.variant
            for key in self.project.user_values:
                param = self.registry.find(key)
                if param is not None and key != MODEL_PATH_KEY and Family(new_family) not in param.families:
                    values[key] = NOT_SET
                    dropped.append(param.display_label)
            if self.project.memory_profile is None and self.vram_gb:
                suggested = self.library.suggest_memory(Family(new_family), self.vram_gb)
                if suggested is not None:
                    fields["memory_profile"] = suggested.id
        elif detection is not None and detection.usable_as_base:
            fields["variant"] = detection.variant
        self._edit(f"Base model: {Path(path).name}", fields=fields, values=values)
        if dropped:
            self.dropped_values.emit(dropped)
            self.session.show_status(
                "Changing the model family dropped values that do not apply to it: " + ", ".join(dropped), 10000)

    # --- GPU memory, for the memory-profile suggestion ---------------------------------------------
    def refresh_vram(self) -> None:
        """Detect the GPUs (or take the VRAM the user stated) off the GUI thread."""
        from services.hardware.vram import detected_or_stated_vram

        self._vram_generation += 1

        def done(gen: int, result, error) -> None:
            self._forget_job(job)
            if gen != self._vram_generation or error is not None:
                return
            self.vram = result
            self.vram_gb = result.gb
            self.vram_changed.emit(result)

        job = jobs.start(self.pool, self._vram_generation, done, detected_or_stated_vram, self.session.settings)
        self._jobs.add(job)

    # --- after every change -------------------------------------------------------------------------
    def _after_edit(self, keys: list[str], fields_changed: bool) -> None:
        before = self.selection()
        self._resolve()
        self.session.set_project_modified(True)
        self.values_changed.emit([] if fields_changed else keys)
        if fields_changed or before != self.selection():
            self.selection_changed.emit()
        self.schedule_validation()

    def _resolve(self) -> None:
        try:
            self.resolved = self.project.resolve(self.library) if self.project.family is not None else None
        except LoraStudioError as exc:
            log.info("cannot resolve the project yet: %s", exc.message)
            self.resolved = None

    # --- validation ---------------------------------------------------------------------------------
    def set_image_counts(self, counts: dict[str, int] | None) -> None:
        self.image_counts = counts
        self.schedule_validation()

    def schedule_validation(self) -> None:
        self._timer.start()

    def validate_now(self) -> None:
        self._timer.stop()
        self._validate_now()

    def _validate_now(self) -> None:
        self._generation += 1
        context = ValidationContext(image_counts=self.image_counts, library=self.library,
                                    detection=self.detection if self.project.model_path else None)
        self.busy_changed.emit(True)

        def done(gen: int, report, error) -> None:
            self._forget_job(job)
            if gen != self._generation:
                return
            self.busy_changed.emit(False)
            if error is not None:
                self.session.report_error(error)
                return
            self.report = report
            self.report_ready.emit(report)

        job = jobs.start(self.pool, self._generation, done, _check, self.project.copy(), context)
        self._jobs.add(job)

    def _forget_job(self, job) -> None:
        self._jobs.discard(job)

    def shutdown(self) -> None:
        self._timer.stop()
        self._generation += 1
        self._detect_generation += 1
        self._vram_generation += 1
        self.pool.waitForDone(10000)


def _check(project: Project, context: ValidationContext):
    from services.training.validation import check_project

    return check_project(project, context)
