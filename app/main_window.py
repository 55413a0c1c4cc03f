"""The main window: docks and menus built from their declarations, layout saved and restored."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QMainWindow, QMenu, QMessageBox, QWidget

from app.actions import ACTIONS, MENUS, ActionSpec
from app.docks import CENTRAL, DOCKS, DockSpec
from app.themes import THEME_MENU, ThemeManager
from services.errors import LoraStudioError
from services.paths import APP_NAME, resources_dir
from services.qt.session import Session

log = logging.getLogger(__name__)

_AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
          "bottom": Qt.DockWidgetArea.BottomDockWidgetArea, "top": Qt.DockWidgetArea.TopDockWidgetArea}
LAYOUT_VERSION = 1
PROJECT_FILTER = "LoRA Studio project (*.lsproj.toml *.toml)"


def app_icon() -> QIcon:
    """LoRA Studio's icon at every rendered size (resources/icons; files load when a size is drawn)."""
    icon = QIcon()
    for png in sorted((resources_dir() / "icons").glob("lora-studio-*.png")):
        icon.addFile(str(png))
    return icon


def load_class(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def key_sequence(text: str) -> QKeySequence:
    if text.startswith("StandardKey."):
        return QKeySequence(getattr(QKeySequence.StandardKey, text.split(".", 1)[1]))
    return QKeySequence(text)


class MainWindow(QMainWindow):
    painted = Signal()

    def __init__(self, session: Session, themes: ThemeManager, window_settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.themes = themes
        self.window_settings = window_settings
        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        icon = app_icon()
        self.setWindowIcon(icon)  # the task bar's and the About box's icon
        QApplication.setWindowIcon(icon)  # every dialog's too
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self._first_paint_done = False
        self.actions_by_id: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.report_dialog: QWidget | None = None  # Help > System report, while open

        self.central = load_class(CENTRAL)(session, self)
        self.setCentralWidget(self.central)
        for spec in DOCKS:
            self._add_dock(spec)
        self._build_menus()
        self.resize(1440, 900)
        self._initial_sizes()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._default_geometry = self.saveGeometry()
        self.restore_layout()

        session.status_message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        session.error_reported.connect(self.show_error)
        session.project_modified_changed.connect(self._update_title)
        session.project_changed.connect(lambda _p: self._update_title())
        session.settings_changed.connect(self._rebuild_recent_menus)
        themes.theme_changed.connect(self._theme_applied)
        self.statusBar().showMessage("Ready", 2000)

    # --- construction -------------------------------------------------------------------
    def _add_dock(self, spec: DockSpec) -> None:
        dock = QDockWidget(spec.title, self)
        dock.setObjectName(f"dock-{spec.id}")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        dock.setWidget(load_class(spec.factory)(self.session, dock))
        self.addDockWidget(_AREAS[spec.area], dock)
        if spec.tabify_with and spec.tabify_with in self.docks:
            self.tabifyDockWidget(self.docks[spec.tabify_with], dock)
            self.docks[spec.tabify_with].raise_()
        self.docks[spec.id] = dock

    def _initial_sizes(self) -> None:
        # The grid and the editors need room; the monitors a strip along the bottom.
        side = [d for d in (self.docks.get("dataset"), self.docks.get("captions")) if d]
        self.resizeDocks(side, [440, 400][:len(side)], Qt.Orientation.Horizontal)
        bottom = [d for d in (self.docks.get("training"), self.docks.get("gpu")) if d]
        self.resizeDocks(bottom, [260] * len(bottom), Qt.Orientation.Vertical)
        if len(bottom) == 2:
            self.resizeDocks(bottom, [900, 500], Qt.Orientation.Horizontal)

    def dock_widget(self, dock_id: str) -> QWidget:
        return self.docks[dock_id].widget()

    def _menu(self, path: str) -> QMenu:
        if path in self.menus:
            return self.menus[path]
        parent_path, _, title = path.rpartition("/")
        parent = self._menu(parent_path) if parent_path else self.menuBar()
        menu = parent.addMenu(title)
        menu.setObjectName(f"menu-{path}")
        self.menus[path] = menu
        return menu

    def _build_menus(self) -> None:
        for name in MENUS:
            self._menu(name)
        undo = self.session.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        redo = self.session.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence(QKeySequence.StandardKey.Redo)])
        for action in (undo, redo):
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            self.menus["Edit"].addAction(action)
        self.actions_by_id["edit.undo"], self.actions_by_id["edit.redo"] = undo, redo

        for spec in ACTIONS:
            if spec.menu == "View":
                continue
            self._add_action(spec)
        view = self.menus["View"]
        for dock_spec in DOCKS:
            toggle = self.docks[dock_spec.id].toggleViewAction()
            if dock_spec.shortcut:
                toggle.setShortcut(QKeySequence(dock_spec.shortcut))
            self.actions_by_id[f"view.dock.{dock_spec.id}"] = toggle
            view.addAction(toggle)
        for spec in ACTIONS:
            if spec.menu == "View":
                self._add_action(spec)

        group = QActionGroup(self)
        group.setExclusive(True)
        for theme_id, label in THEME_MENU:
            action = QAction(label, self, checkable=True)
            action.setData(theme_id)
            action.setChecked(theme_id == self.themes.choice)
            action.triggered.connect(lambda _checked=False, t=theme_id: self.choose_theme(t))
            group.addAction(action)
            self.menus["Theme"].addAction(action)
            self.actions_by_id[f"theme.{theme_id}"] = action
        for path in ("File/Recent folders", "File/Recent projects"):
            menu = QMenu(path.split("/")[1], self)
            self.menus[path] = menu
        file_menu = self.menus["File"]
        file_menu.insertMenu(self.actions_by_id["file.open_project"], self.menus["File/Recent folders"])
        file_menu.insertMenu(self.actions_by_id["file.quit"], self.menus["File/Recent projects"])
        self._rebuild_recent_menus()
        for name in MENUS:  # a menu no capability has filled yet says so rather than hiding
            if not self.menus[name].actions():
                placeholder = self.menus[name].addAction("(nothing here in this build)")
                placeholder.setEnabled(False)

    def _add_action(self, spec: ActionSpec) -> QAction:
        menu = self._menu(spec.menu)
        if spec.separator_before:
            menu.addSeparator()
        action = QAction(spec.text, self)
        action.setObjectName(spec.id)
        if spec.shortcut:
            action.setShortcut(key_sequence(spec.shortcut))
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        action.setCheckable(spec.checkable)
        if spec.role:
            action.setMenuRole(getattr(QAction.MenuRole, spec.role))
        action.triggered.connect(lambda _checked=False, h=spec.handler: self.run_handler(h))
        menu.addAction(action)
        self.actions_by_id[spec.id] = action
        return action

    def run_handler(self, handler: str):
        target_kind, _, rest = handler.partition(".")
        try:
            if target_kind == "window":
                return getattr(self, rest)()
            if target_kind == "session":
                return getattr(self.session, rest)()
            if target_kind == "dock":
                dock_id, _, method = rest.partition(".")
                dock = self.docks[dock_id]
                dock.show()
                dock.raise_()
                return getattr(dock.widget(), method)()
            raise ValueError(f"unknown handler kind in {handler!r}")
        except LoraStudioError as exc:
            self.session.report_error(exc)
        return None

    # --- layout -------------------------------------------------------------------------
    def restore_layout(self) -> None:
        if self.window_settings is None:
            return
        geometry = self.window_settings.value("window/geometry")
        state = self.window_settings.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty() and not self.restoreState(state, LAYOUT_VERSION):
            log.info("saved window layout is from another version; using the default layout")

    def save_layout(self) -> None:
        if self.window_settings is None:
            return
        self.window_settings.setValue("window/geometry", self.saveGeometry())
        self.window_settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.window_settings.sync()

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()
        self.session.show_status("Layout reset")

    # --- handlers -----------------------------------------------------------------------
    def open_folder_dialog(self, add: bool = False) -> None:
        start = (self.session.settings.workspace.recent_folders or [str(Path.home())])[0]
        folder = QFileDialog.getExistingDirectory(self, "Add folder" if add else "Open dataset folder", start)
        if folder:
            self.session.open_folders([folder], add=add)

    def add_folder_dialog(self) -> None:
        self.open_folder_dialog(add=True)

    def new_project(self) -> None:
        if self.session.project_modified and not self._confirm_discard():
            return
        self.session.projects.new_project()
        self.session.show_status("New project")

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._project_folder(), PROJECT_FILTER)
        if path:
            self.open_project(path)

    def open_project(self, path: str) -> None:
        if self.session.project_modified and not self._confirm_discard():
            return
        self.session.open_project(path)

    def save_project(self) -> bool:
        if self.session.projects.project.path is None:
            return self.save_project_as()
        self.session.save_project()
        return not self.session.project_modified

    def save_project_as(self) -> bool:
        from services.training.project import FILE_SUFFIX

        path, _ = QFileDialog.getSaveFileName(self, "Save project as", self._project_folder(), PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(FILE_SUFFIX) and not path.endswith(".toml"):
            path += FILE_SUFFIX
        self.session.save_project(path)
        return not self.session.project_modified

    def _project_folder(self) -> str:
        recent = self.session.settings.workspace.recent_projects
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def _confirm_discard(self) -> bool:
        answer = QMessageBox.question(
            self, APP_NAME, "The current project has unsaved changes. Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Discard

    def open_demo(self) -> None:
        from services.demo import create_demo_dataset

        demo = create_demo_dataset(self.session.dirs.data)
        self.session.open_folders([str(demo.root)])
        self.session.show_status(f"Demo dataset opened from {demo.root}")

    def open_log_folder(self) -> None:
        folder = self.session.log_file.parent if self.session.log_file else self.session.dirs.logs
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def show_about(self) -> None:
        from services.version import app_version

        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b> {app_version()}<br>"
                          "Datasets, captions and LoRA training with kohya-ss/sd-scripts, in one window.")

    def show_system_report(self) -> None:
        """Open (or bring forward) the system report dialog (Help > System report). The window owns
        it, so opening it leaves the docks as they are."""
        from widgets.system_report.dialog import SystemReportDialog

        dialog = self.report_dialog
        if dialog is None:
            dialog = self.report_dialog = SystemReportDialog(self.session, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(lambda *_: setattr(self, "report_dialog", None))
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def choose_theme(self, theme_id: str) -> None:
        self.themes.apply(theme_id)
        self.session.settings.appearance.theme = theme_id
        self.session.save_settings()

    def _theme_applied(self, _theme_id: str) -> None:
        action = self.actions_by_id.get(f"theme.{self.themes.choice}")
        if action is not None:
            action.setChecked(True)

    def _rebuild_recent_menus(self) -> None:
        settings = self.session.settings.workspace
        for path, items, opener in (
                ("File/Recent folders", settings.recent_folders, lambda p: self.session.open_folders([p])),
                ("File/Recent projects", settings.recent_projects, self.open_project)):
            menu = self.menus.get(path)
            if menu is None:
                continue
            menu.clear()
            for item in items:
                action = menu.addAction(item)
                action.triggered.connect(lambda _c=False, p=item, o=opener: o(p))
            menu.setEnabled(bool(items))

    def _update_title(self, *_args) -> None:
        project = self.session.project
        name = getattr(project, "name", None) or (Path(str(getattr(project, "path", ""))).stem if project else "")
        title = f"{name} – {APP_NAME}" if name else APP_NAME
        self.setWindowTitle(("* " if self.session.project_modified else "") + title)

    def show_message(self, title: str, text: str) -> None:
        QMessageBox.information(self, title, text)

    def show_error(self, error: BaseException) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(APP_NAME)
        if isinstance(error, LoraStudioError):
            box.setText(error.message)
            if error.hint:
                box.setInformativeText(error.hint)
            if error.details:
                box.setDetailedText(error.details)
        else:
            box.setText(f"Something went wrong: {error}")
            if self.session.log_file:
                box.setInformativeText(f"The details are in the log file {self.session.log_file}.")
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    # --- events -------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        folders = [str(p) for p in paths if p.is_dir()]
        files = [str(p) for p in paths if p.is_file()]
        if folders:
            add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.session.open_folders(folders, add=add)
        if files:
            self.session.files_dropped.emit(files)
        event.acceptProposedAction()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._first_paint_done:
            self._first_paint_done = True
            self.painted.emit()

    def work_in_progress(self) -> list[str]:
        """What quitting now would stop: each dock that has such work says so (``work_in_progress()``)."""
        busy = []
        for dock in self.docks.values():
            describe = getattr(dock.widget(), "work_in_progress", None)
            text = describe() if callable(describe) else ""
            if text:
                busy.append(text)
        return busy

    def _confirm_stop_work(self) -> bool:
        """True when nothing is running, or the user chose to stop it and quit."""
        busy = self.work_in_progress()
        if not busy:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, "\n".join(busy), parent=self)
        box.setInformativeText("Quitting stops it. Keep it running to leave LoRA Studio open.")
        stop = box.addButton("Stop and quit", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is stop

    def closeEvent(self, event) -> None:
        if not self._confirm_stop_work():
            event.ignore()
            return
        if self.session.project_modified:
            answer = QMessageBox.question(
                self, APP_NAME, "The project has unsaved changes. Save them before quitting?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save and not self.save_project():
                event.ignore()
                return
        if self.report_dialog is not None:
            self.report_dialog.close()  # cancels a report still being collected
        for dock in self.docks.values():
            shutdown = getattr(dock.widget(), "shutdown", None)
            if callable(shutdown):
                shutdown()
        self.session.shutdown()
        self.save_layout()
        super().closeEvent(event)
