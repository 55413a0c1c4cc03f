"""The Session: what the docks of one window share, and the signals they talk through.

Panels never import each other; they hold the Session and connect to its signals. The Session owns
the settings (and saves them), the application-wide QUndoStack, and the reporting of errors.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from services.errors import LoraStudioError
from services.paths import AppDirs
from services.settings import Settings, SettingsStore

log = logging.getLogger(__name__)


class Session(QObject):
    settings_changed = Signal()
    # A request from the menus or a drop: open these folders as the workspace (list[str]).
    folders_open_requested = Signal(list)
    # The same, adding to the folders already open.
    folders_add_requested = Signal(list)
    # Image files dropped on the window (list[str]): the dataset dock decides what to do.
    files_dropped = Signal(list)
    # The dataset workspace changed (object: the workspace, or None when closed).
    workspace_changed = Signal(object)
    # The images selected in the dataset grid (list of item keys) and the current one (object).
    selection_changed = Signal(list)
    current_image_changed = Signal(object)
    # --- Dataset (issue 3); see docs/dataset-api.md --------------------------------------------
    # The keys the dataset filter shows, in grid order (batch operations act on these).
    filtered_keys_changed = Signal(list)
    # These keys' captions changed (written by any panel, or changed on disk): refresh what shows them.
    captions_changed = Signal(list)
    # Of those, the ones another program changed on disk (already re-read into the workspace).
    captions_changed_on_disk = Signal(list)
    # An external change hit a caption with unsaved edits in the app (key): a conflict to resolve.
    caption_conflict = Signal(str)
    # Images appeared in or vanished from the open workspace (keys), e.g. added by another program.
    items_added = Signal(list)
    items_removed = Signal(list)
    # The open workspace's subsets changed in place (a folder appeared, the regularisation flag).
    subsets_changed = Signal()
    # Requests to the dataset grid from other panels: select and show these keys; apply this filter.
    select_keys_requested = Signal(list)
    filter_requested = Signal(str)
    # --- Caption (issue 4) ------------------------------------------------------------------------
    # True while the caption editor writes caption files (a batch save can take seconds): a file
    # watcher should not take those writes for another program's (they are recorded by the editor).
    caption_writes_changed = Signal(bool)
    # The training project changed (object: the project, or None).
    project_changed = Signal(object)
    project_modified_changed = Signal(bool)
    # (message, timeout_ms) for the status bar.
    status_message = Signal(str, int)
    # A LoraStudioError (or any exception) to show to the user.
    error_reported = Signal(object)
    # The process id of the active training run (int; 0 when none runs). The training runner
    # calls set_training_process(pid) with the pid of the process it started (the monitor also
    # watches that process's children, e.g. those of `accelerate launch`) and 0 when it ends;
    # the GPU monitor marks that run's VRAM and RAM.
    training_process_changed = Signal(int)
    # --- Backend (issue 10) ---
    # The training backend changed (installed, repaired, another one chosen): locate it again.
    backend_changed = Signal()
    # Someone asked for the backend setup (the Train menu, a preflight that found no backend).
    backend_setup_requested = Signal()

    def __init__(self, settings: Settings, store: SettingsStore | None, dirs: AppDirs,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.dirs = dirs
        self.log_file: Path | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("application-undo-stack")
        self.workspace = None
        self.filtered_keys: list[str] = []
        self.selected_keys: list[str] = []
        self.current_key: str | None = None
        self.unsaved_caption_keys: set[str] = set()
        self.writing_captions = False
        self.project = None
        self._project_modified = False
        self._projects = None
        self.training_pid = 0

    # --- settings -----------------------------------------------------------------------
    def save_settings(self) -> None:
        if self.store is None:
            return
        try:
            self.store.save(self.settings)
        except OSError as exc:
            log.error("could not save settings to %s: %s", self.store.path, exc)
        self.settings_changed.emit()

    # --- workspace and project ----------------------------------------------------------
    def open_folders(self, folders: list[str], *, add: bool = False) -> None:
        folders = [str(f) for f in folders]
        if not folders:
            return
        for folder in folders:
            self.settings.remember_folder(folder)
        self.settings.workspace.last_folders = folders if not add else \
            list(dict.fromkeys(self.settings.workspace.last_folders + folders))
        self.save_settings()
        (self.folders_add_requested if add else self.folders_open_requested).emit(folders)

    def set_workspace(self, workspace) -> None:
        self.workspace = workspace
        self.filtered_keys = workspace.keys() if workspace is not None else []
        self.selected_keys, self.current_key = [], None
        self.unsaved_caption_keys.clear()
        self.workspace_changed.emit(workspace)

    # --- dataset (issue 3) -----------------------------------------------------------------
    def set_filtered_keys(self, keys: list[str]) -> None:
        self.filtered_keys = list(keys)
        self.filtered_keys_changed.emit(self.filtered_keys)

    def set_selection(self, keys: list[str]) -> None:
        self.selected_keys = list(keys)
        self.selection_changed.emit(self.selected_keys)

    def set_current_image(self, key: str | None) -> None:
        if key != self.current_key:
            self.current_key = key
            self.current_image_changed.emit(key)

    def notify_captions_changed(self, keys: list[str]) -> None:
        """Call after writing captions (workspace.save_caption/set_caption): views refresh those rows."""
        if keys:
            self.captions_changed.emit(list(keys))

    def set_caption_unsaved(self, key: str, unsaved: bool) -> None:
        """The caption editor marks keys with edits not yet on disk, so that an external change to
        one of them is reported as a conflict instead of being taken silently."""
        (self.unsaved_caption_keys.add if unsaved else self.unsaved_caption_keys.discard)(key)

    def set_writing_captions(self, writing: bool) -> None:
        if writing != self.writing_captions:
            self.writing_captions = writing
            self.caption_writes_changed.emit(writing)

    def set_project(self, project) -> None:
        self.project = project
        self.set_project_modified(False)
        self.project_changed.emit(project)

    @property
    def projects(self):
        """The ProjectController: created on first use, so the registry costs nothing at start-up."""
        if self._projects is None:
            from services.training.qt.controller import ProjectController

            self._projects = ProjectController(self)
        return self._projects

    def open_project(self, path: str) -> None:
        try:
            self.projects.open_project(path)
        except LoraStudioError as exc:
            self.report_error(exc)

    def save_project(self, path: str | None = None) -> None:
        try:
            self.projects.save_project(path)
        except LoraStudioError as exc:
            self.report_error(exc)

    def shutdown(self) -> None:
        if self._projects is not None:
            self._projects.shutdown()

    @property
    def project_modified(self) -> bool:
        return self._project_modified

    def set_project_modified(self, modified: bool) -> None:
        if modified != self._project_modified:
            self._project_modified = modified
            self.project_modified_changed.emit(modified)

    def set_stated_vram_gb(self, gb: float) -> None:
        """The VRAM the user says their GPU has (0: not stated), used when none is detected."""
        self.settings.hardware.stated_vram_gb = max(0.0, float(gb))
        self.save_settings()

    # --- training process ---------------------------------------------------------------
    def set_training_process(self, pid: int) -> None:
        """The running training process (0: none), for the panels that watch it."""
        pid = max(0, int(pid or 0))
        if pid != self.training_pid:
            self.training_pid = pid
            self.training_process_changed.emit(pid)

    # --- Backend (issue 10) ----------------------------------------------------------------
    def request_backend_setup(self) -> None:
        self.backend_setup_requested.emit()

    def update_backend_settings(self, **values) -> None:
        """Change fields of the [backend] settings (python, sd_scripts_dir, accepted_commit, ...)."""
        for name, value in values.items():
            if not hasattr(self.settings.backend, name):
                raise AttributeError(f"the backend settings have no field {name!r}")
            setattr(self.settings.backend, name, value)
        self.save_settings()
        self.backend_changed.emit()

    # --- feedback ------------------------------------------------------------------------
    def report_error(self, error: BaseException) -> None:
        if isinstance(error, LoraStudioError):
            log.error("%s%s", error.message, f" - {error.hint}" if error.hint else "")
        else:
            log.error("unexpected error: %r", error, exc_info=error)
        self.error_reported.emit(error)

    def show_status(self, message: str, timeout_ms: int = 4000) -> None:
        self.status_message.emit(message, timeout_ms)
