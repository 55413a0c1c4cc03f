"""The Dataset menu's commands and the grid's context menu, as a mixin of the Dataset dock.

Kept apart from the dock's scanning and view logic; every method here runs on the GUI thread
and hands file work to a Task. Requires of the host: session, ws, model, live, _tasks, page,
refresh(), select_keys(), apply_filter(), _update_counts().
"""

from __future__ import annotations

import os

from services.dataset.qt.task import Task
from services.dataset.workspace import Problem
from services.errors import LoraStudioError


class DatasetCommands:
    # --- per-workspace caption extension and tag separator -----------------------------------
    def _stored_extension(self, roots: list[str]) -> str:
        for entry in self.session.settings.dataset.caption_extensions:
            ext, _, root = entry.partition("\t")
            if roots and root == roots[0]:
                return ext
        return ""

    def set_caption_extension(self, extension: str | None = None) -> None:
        """Dataset > Caption extension: choose .txt/.caption/.cap or type one; re-reads the captions."""
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        if extension is None:
            from widgets.dataset.caption_settings_dialog import ask_caption_extension

            extension = ask_caption_extension(self, self.ws.caption_extension)
            if not extension:
                return
        from services.dataset.caption_files import normalise_extension

        try:
            extension = normalise_extension(extension)
        except LoraStudioError as exc:
            self.session.report_error(exc)
            return
        root = str(self.ws.roots[0]) if self.ws.roots else ""
        ds = self.session.settings.dataset
        ds.caption_extensions = [e for e in ds.caption_extensions if e.partition("\t")[2] != root]
        ds.caption_extensions.insert(0, f"{extension}\t{root}")
        del ds.caption_extensions[50:]
        self.session.save_settings()
        self.refresh()

    def set_tag_separator(self, separator: str | None = None) -> None:
        if separator is None:
            from widgets.dataset.caption_settings_dialog import ask_tag_separator

            separator = ask_tag_separator(self, self.session.settings.workspace.tag_separator)
            if separator is None:
                return
        self.session.settings.workspace.tag_separator = separator
        self.session.save_settings()
        if self.ws is not None:
            self.ws.set_tag_separator(separator)
            self.session.notify_captions_changed(self.ws.keys())
            self.apply_filter()

    # --- dialogs --------------------------------------------------------------------------------
    def health_report(self) -> None:
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        from widgets.dataset.health_dialog import HealthDialog

        dialog = HealthDialog(self.session, self.ws, self)
        dialog.show_keys.connect(self.select_keys)
        dialog.report_ready.connect(self.apply_health)
        dialog.show()
        self._health_dialog = dialog

    def apply_health(self, report) -> None:
        """Show what the health report found as badges in the grid."""
        ws = self.ws
        if ws is None:
            return
        changed = ws.mark_duplicates(report.duplicate_groups, Problem.DUPLICATE)
        changed |= ws.mark_duplicates(report.near_duplicate_groups, Problem.NEAR_DUPLICATE)
        odd = [k for f in report.findings if f.kind == "odd_aspect" for k in f.keys]
        changed |= ws.set_flag(odd, Problem.ODD_ASPECT)
        changed |= ws.set_flag(report.corrupt, Problem.CORRUPT)
        for key, reason in report.corrupt.items():
            if key in ws:
                ws.item(key).error = reason
        for key, digest in report.content_hashes.items():
            if key in ws:
                ws.item(key).content_hash = digest
        self.model.refresh_keys(changed)
        self._update_counts()

    def _tools(self, page: str) -> None:
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        from widgets.dataset.folder_tools_dialog import FolderToolsDialog

        dialog = FolderToolsDialog(self.session, self.ws, self, page=page)
        dialog.applied.connect(self.refresh)
        dialog.show()
        self._tools_dialog = dialog

    def folder_tools(self) -> None:
        self._tools("make")

    def balance_repeats(self) -> None:
        self._tools("balance")

    # --- selection commands ---------------------------------------------------------------------
    def select_all(self) -> None:
        if self.page is not None:
            self.grid.selectAll()

    def show_problems(self) -> None:
        if self.ws is None:
            self.session.show_status("Open a dataset first.")
            return
        self.filter_bar.set_text("problem:any")

    def trash_selected(self) -> None:
        """Send the selected images and their caption files to the system trash (after asking)."""
        keys = self.session.selected_keys
        if self.ws is None or not keys:
            self.session.show_status("Select images first.")
            return
        from PySide6.QtWidgets import QMessageBox

        from services.dataset.kohya_tools import trash_images

        names = ", ".join(os.path.basename(k) for k in keys[:5]) + (" …" if len(keys) > 5 else "")
        answer = QMessageBox.question(
            self, "Move to trash",
            f"Move {len(keys)} image{'s' if len(keys) != 1 else ''} and {'their' if len(keys) != 1 else 'its'} "
            f"caption files to the system trash?\n\n{names}\n\nYou can restore them from the trash.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        extensions = tuple(dict.fromkeys([self.ws.caption_extension, ".txt", ".caption", ".cap"]))
        folders = sorted({os.path.dirname(k) for k in keys})
        task = Task(lambda _r, _c: trash_images(list(keys), extensions), "dataset-trash", self)

        def done(result) -> None:
            trashed, problems = result
            if problems:
                self.session.report_error(LoraStudioError(
                    f"{len(problems)} files could not be moved to the trash.", "\n".join(problems[:10])))
            self.session.show_status(f"{len(trashed)} files moved to the trash")
            self.live.rescan(folders)

        task.succeeded.connect(done)
        task.failed.connect(self.session.report_error)
        self._run_task(task)

    def _context_menu(self, pos) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices, QGuiApplication
        from PySide6.QtWidgets import QMenu

        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        key = self.model.key_at(index.row())
        menu = QMenu(self)
        menu.addAction("Open with the default application",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(key)))
        menu.addAction("Show the folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(key))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(
            "\n".join(self.session.selected_keys or [key])))
        menu.addSeparator()
        menu.addAction("Move to trash…", self.trash_selected)
        menu.exec(self.grid.viewport().mapToGlobal(pos))

    # --- drag and drop ------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        from PySide6.QtCore import Qt

        if self.page is not None and event.source() is self.grid:  # our own thumbnails dragged back in
            return
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if os.path.isfile(p)]
        if folders:
            add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier) and self.ws is not None
            self.session.open_folders(folders, add=add)
        if files:
            self.open_files(files)
        event.acceptProposedAction()
