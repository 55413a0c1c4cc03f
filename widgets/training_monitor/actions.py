"""What the Training monitor's buttons and the Train menu do: check a project or a run (off the GUI
thread), start it when nothing blocks, show the preflight report otherwise, and fill the queue.

A mixin of ``TrainingMonitor``: it uses the dock's ``session``, ``controller``, ``run``, ``tabs``,
``ensure_built``, ``start_run``, ``update_backend_state``, ``_guarded`` and ``_update_buttons``.
"""

from __future__ import annotations

from services.errors import UserInputError
from services.runs.qt.tasks import run_in_pool
from services.runs.run_folder import RunFolder

TABS = ("Loss", "Samples", "Checkpoints", "Log", "Queue", "History")


class RunActions:
    def _project(self):
        return getattr(self.session, "project", None)

    def _shown_run(self) -> RunFolder:
        if self.run is not None:
            return self.run
        raise UserInputError("There is no run to check or start.",
                             "Open a training project (File ▸ Open project), or pick a run in the History tab "
                             "and choose Run again.")

    def preflight(self) -> None:
        """Check the current project (or the run shown) and show the report."""
        self.ensure_built()
        project = self._project()
        settings = self.session.settings
        if project is not None:
            from services.runs.emission import preflight_project

            project = project.copy()
            self._in_background("Checking the project…", lambda: preflight_project(project, settings),
                                lambda report: self._show_report(report, None, project=project))
            return
        from services.runs.preflight import run_preflight

        run = self._shown_run()
        self._in_background(f"Checking {run.path.name}…", lambda: run_preflight(run, settings),
                            lambda report: self._show_report(report, run))

    def start(self) -> None:
        """Emit the current project into a new run folder (or take the run shown), check it, and start
        it when nothing blocks; otherwise show the report."""
        self.ensure_built()
        if self.controller.is_running():
            raise UserInputError("A training run is already running.", "Stop it, or add this run to the queue.")
        project = self._project()
        settings = self.session.settings
        if project is not None:
            from services.runs.emission import prepare_run

            project = project.copy()
            self._in_background("Preparing the run…", lambda: prepare_run(project, settings),
                                lambda result: self._prepared(*result))
            return
        self.check_then_start(self._shown_run())

    def check_then_start(self, run: RunFolder) -> None:
        """Preflight an existing run folder, then start it when nothing blocks (Run again)."""
        from services.runs.preflight import run_preflight

        settings = self.session.settings
        self._in_background(f"Checking {run.path.name}…", lambda: run_preflight(run, settings),
                            lambda report: self._prepared(run, report))

    def _prepared(self, run: RunFolder | None, report) -> None:
        if run is not None and report.ok and not report.warnings:
            self._guarded(lambda: self.start_run(run))
        else:
            self._show_report(report, run)

    def _in_background(self, status: str, work, then) -> None:
        self._busy = status
        self._update_buttons()
        self.session.show_status(status, 0)

        def done(result) -> None:
            self._busy = ""
            self._update_buttons()
            self.session.show_status("Checked", 2000)
            then(result)

        def failed(exc) -> None:
            self._busy = ""
            self._update_buttons()
            self.session.show_status("", 1)
            self.session.report_error(exc)

        run_in_pool(self, work, done, failed)

    def _show_report(self, report, run: RunFolder | None, project=None) -> None:
        from widgets.training_monitor.preflight_dialog import PreflightDialog

        can_start = (run is not None or project is not None) and not self.controller.is_running()
        name = run.path.name if run is not None else getattr(project, "name", "") or "project"
        dialog = PreflightDialog(report, name, can_start=can_start, parent=self)
        if run is not None:
            dialog.start_requested.connect(lambda: self._guarded(lambda: self.start_run(run)))
        elif project is not None:
            dialog.start_requested.connect(lambda: self._guarded(lambda: self._start_checked_project(project)))
        dialog.accept_commit_requested.connect(lambda: self._accept_commit(dialog, run))
        self.preflight_dialog = dialog
        dialog.show()

    def _start_checked_project(self, project) -> None:
        from services.runs.emission import emit_project

        settings = self.session.settings
        self._in_background("Preparing the run…", lambda: emit_project(project, settings),
                            lambda result: self._guarded(lambda: self.start_run(result[0])))

    def _accept_commit(self, dialog, run: RunFolder | None) -> None:
        from services.backend.runtime import locate
        from services.runs.preflight import accept_commit

        accept_commit(self.session.settings, locate(self.session.settings))
        self.session.save_settings()
        self.update_backend_state()
        dialog.close()
        self._guarded(self.preflight)

    def add_to_queue(self) -> None:
        """Freeze the current project into a run folder that waits in the queue (checked first)."""
        self.ensure_built()
        project = self._project()
        if project is None:
            raise UserInputError("Open a training project to add it to the queue.",
                                 "The queue holds frozen snapshots of projects.")
        from services.runs.emission import prepare_run

        project = project.copy()
        settings = self.session.settings

        def queued(result) -> None:
            run, report = result
            if run is None or not report.ok:
                self._show_report(report, None)
                return
            self.controller.enqueue(run, project.name)
            self.tabs.setCurrentIndex(TABS.index("Queue"))
            self.session.show_status(f"“{project.name}” added to the queue", 4000)

        self._in_background("Checking the project for the queue…", lambda: prepare_run(project, settings), queued)

    def _edit_queue(self, edit) -> None:
        self._guarded(lambda: self.controller.queue_edit(edit))

    def _move_queued(self, entry_id: str, delta: int) -> None:
        def move(queue) -> None:
            pending = queue.pending()
            index = next(i for i, e in enumerate(pending) if e.id == entry_id)
            queue.move(entry_id, max(0, index + delta))

        self._guarded(lambda: self.controller.queue_edit(move))

    def _replace_queued(self, entry_id: str) -> None:
        project = self._project()
        if project is None:
            raise UserInputError("Open the project whose settings should replace this queued run.")
        from services.runs.emission import emit_project

        project, settings = project.copy(), self.session.settings
        self._in_background("Freezing the project into the queued run…", lambda: emit_project(project, settings),
                            lambda result: self._edit_queue(lambda q: q.replace(entry_id, result[0])))

