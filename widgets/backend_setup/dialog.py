"""The setup wizard's window: one page at a time, one backend job at a time, never blocking.

Every job (detecting, installing, repairing, updating, verifying, checking an existing install)
runs in a BackendTask (services/backend/qt). Closing the window while a job runs only hides it;
quitting the application cancels the job (the interrupted step is redone next time).
"""

from __future__ import annotations

import copy
import logging

from PySide6.QtCore import QCoreApplication, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QStackedWidget, QVBoxLayout, QWidget

from services.backend import installer
from services.backend.runtime import locate, managed_layout
from services.backend.steps import STEPS
from services.errors import LoraStudioError
from widgets.backend_setup.existing_page import ExistingPage
from widgets.backend_setup.pages import PlanPage, StatusPage
from widgets.backend_setup.progress import ProgressPage, SummaryPage

log = logging.getLogger(__name__)
VERIFY_WEIGHT = 8.0


class BackendSetupDialog(QDialog):
    def __init__(self, session, parent: QWidget | None = None, *, first_start: bool = False) -> None:
        super().__init__(parent)
        self.session = session
        self.first_start = first_start
        self.task = None
        self.last_result = None
        self._last_action = None
        self.setObjectName("backend-setup")
        self.setWindowTitle("Training backend")
        self.setModal(False)
        self.resize(860, 640)
        layout = QVBoxLayout(self)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)
        self.status_page = StatusPage()
        self.plan_page = PlanPage(managed_layout(session.dirs.data).root)
        self.progress_page = ProgressPage()
        self.summary_page = SummaryPage()
        self.existing_page = ExistingPage()
        for page in (self.status_page, self.plan_page, self.progress_page, self.summary_page, self.existing_page):
            self.pages.addWidget(page)

        self.status_page.install_requested.connect(self.show_plan)
        self.status_page.verify_requested.connect(self.verify)
        self.status_page.repair_requested.connect(self.repair)
        self.status_page.update_requested.connect(self.update_engine)
        self.status_page.existing_requested.connect(lambda: self.pages.setCurrentWidget(self.existing_page))
        self.status_page.offer_at_start_changed.connect(
            lambda on: self.session.update_backend_settings(offer_setup_at_start=on))
        self.plan_page.back_requested.connect(self.show_status)
        self.plan_page.install_requested.connect(self.install)
        self.plan_page.browse_python_requested.connect(self._inspect_python)
        self.progress_page.cancel_requested.connect(self.cancel)
        self.progress_page.resume_requested.connect(self._resume)
        self.progress_page.next_requested.connect(self._show_summary)
        self.summary_page.repair_requested.connect(self.repair)
        self.summary_page.verify_requested.connect(self.verify)
        self.summary_page.close_requested.connect(self.close)
        self.summary_page.log_requested.connect(self._open_logs)
        self.existing_page.back_requested.connect(self.show_status)
        self.existing_page.check_requested.connect(self._check_existing)
        self.existing_page.use_requested.connect(self._use_existing)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.show_status()

    # --- pages ------------------------------------------------------------------------------
    def runtime(self):
        return locate(self.session.settings, data_dir=self.session.dirs.data)

    def show_status(self) -> None:
        from services.backend.verify import last_report

        rt = self.runtime()
        last = last_report(managed_layout(self.session.dirs.data)) if rt.managed else None
        self.status_page.show_runtime(rt, last, self.session.settings.backend.offer_setup_at_start, self.first_start)
        self.pages.setCurrentWidget(self.status_page)

    def show_plan(self) -> None:
        self.pages.setCurrentWidget(self.plan_page)
        if self.plan_page.facts is not None:
            self.plan_page.replan()
            return
        self.plan_page.set_detecting()

        def detect(reporter, cancel):
            from services.backend.pythons import find_pythons
            from services.backend.torch_choice import detect_facts

            return find_pythons(), detect_facts()

        self._run("detect", detect, on_success=lambda found: self.plan_page.set_detected(*found), progress=False)

    def _show_summary(self) -> None:
        result = self.last_result
        report = getattr(result, "verification", None) if result is not None else None
        if report is None and result is not None and hasattr(result, "checks"):
            report, result = result, None
        if report is not None:
            self.summary_page.show_report(report, result)
            self.pages.setCurrentWidget(self.summary_page)

    # --- jobs ---------------------------------------------------------------------------------
    def _run(self, name: str, fn, *, on_success, progress: bool = True, title: str = "",
             steps: list[tuple[str, str, float]] | None = None) -> None:
        from services.backend.qt.task import BackendTask

        if self.task is not None and self.task.is_running():
            self.session.show_status("The backend setup is busy; wait for it or cancel it.")
            return
        task = BackendTask(name, fn, self)
        self.task = task
        if progress:
            page = self.progress_page
            page.begin(title, steps or [])
            task.step_started.connect(page.on_step_started)
            task.step_progress.connect(page.on_progress)
            task.log_line.connect(page.on_log)
            task.step_finished.connect(page.on_step_finished)
            self.pages.setCurrentWidget(page)
        task.succeeded.connect(on_success)
        task.failed.connect(lambda error, p=progress: self._failed(error, p))
        task.done.connect(lambda t=task: self._task_done(t))
        task.start()

    def _task_done(self, task) -> None:
        if self.task is task:
            self.task = None
        task.deleteLater()

    def _failed(self, error: BaseException, progress: bool) -> None:
        if progress:
            message = error.message + (f"\n{error.hint}" if getattr(error, "hint", "") else "") \
                if isinstance(error, LoraStudioError) else f"Unexpected error: {error!r}"
            self.progress_page.set_running(False, resumable=self._last_action is not None)
            self.progress_page.show_outcome(message, "error")
        else:
            self.plan_page.detecting.hide()
            self.plan_page.error.setText(getattr(error, "message", str(error)))
        if not isinstance(error, LoraStudioError):
            log.error("backend setup job failed: %r", error, exc_info=error)

    def _steps(self, with_diagnose: bool = False) -> list[tuple[str, str, float]]:
        steps = [(s.id, s.title, s.weight) for s in STEPS] + [("verify", "Verification", VERIFY_WEIGHT)]
        return ([("verify-before", "Checking what is broken", VERIFY_WEIGHT)] if with_diagnose else []) + steps

    def _settings_copy(self):
        return copy.deepcopy(self.session.settings)

    def install(self, plan) -> None:
        if self.session.settings.backend.python or self.session.settings.backend.sd_scripts_dir:
            # Installing the managed backend is choosing it.
            self.session.update_backend_settings(python="", sd_scripts_dir="", accepted_commit="")
        settings = self._settings_copy()
        layout = managed_layout(self.session.dirs.data)
        self._last_action = ("install", plan)

        def job(reporter, cancel):
            return installer.Installer(plan, layout=layout, reporter=reporter, cancel=cancel, settings=settings).run()

        self._run("install", job, on_success=self._job_result, title="Installing the training backend",
                  steps=self._steps())

    def repair(self) -> None:
        settings = self._settings_copy()
        layout = managed_layout(self.session.dirs.data)
        self._last_action = ("repair", None)

        def job(reporter, cancel):
            return installer.repair(layout=layout, settings=settings, reporter=_Renamer(reporter), cancel=cancel)

        self._run("repair", job, on_success=self._job_result, title="Repairing the training backend",
                  steps=self._steps(with_diagnose=True))

    def update_engine(self) -> None:
        settings = self._settings_copy()
        layout = managed_layout(self.session.dirs.data)
        self._last_action = ("update", None)

        def job(reporter, cancel):
            return installer.update(layout=layout, settings=settings, reporter=reporter, cancel=cancel)

        self._run("update", job, on_success=self._job_result, title="Updating the training engine",
                  steps=self._steps())

    def verify(self) -> None:
        settings = self._settings_copy()
        layout = managed_layout(self.session.dirs.data)
        self._last_action = ("verify", None)

        def job(reporter, cancel):
            import time

            from services.backend.verify import verify_runtime

            began = time.monotonic()
            reporter.step_started("verify", "Verification")
            report = verify_runtime(settings, layout=layout, cancel=cancel,
                                    log_line=lambda line: reporter.log("verify", line),
                                    progress=lambda f, t: reporter.step_progress("verify", f, t))
            reporter.step_finished("verify", "done" if report.ok else "failed", time.monotonic() - began,
                                   report.summary())
            return report

        self._run("verify", job, on_success=self._job_result, title="Verifying the training backend",
                  steps=[("verify", "Verification", VERIFY_WEIGHT)])

    def _job_result(self, result) -> None:
        self.last_result = result
        self.session.backend_changed.emit()
        report = getattr(result, "verification", None) if hasattr(result, "steps") else result
        cancelled = getattr(result, "cancelled", False)
        error = getattr(result, "error", None)
        self.progress_page.set_running(False, resumable=bool(cancelled or error), verified=report is not None)
        if cancelled:
            self.progress_page.show_outcome("Cancelled. What was finished is kept; Resume continues with the "
                                            "step that was interrupted.", "warning")
        elif error is not None:
            self.progress_page.show_outcome(error.message + (f"\n{error.hint}" if error.hint else ""), "error")
        elif report is not None:
            self.progress_page.show_outcome(report.summary(), "ok" if report.ok else "error")
            self._show_summary()

    def _resume(self) -> None:
        action, plan = self._last_action or (None, None)
        if action == "install":
            self.install(plan)
        elif action == "repair":
            self.repair()
        elif action == "update":
            self.update_engine()
        else:
            self.verify()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.progress_page.cancel_button.setEnabled(False)
            self.progress_page.current.setText("Cancelling: stopping the running step…")

    def _inspect_python(self, path: str) -> None:
        from services.backend.pythons import inspect_python

        def added(candidate):
            if candidate.usable:
                self.plan_page.add_python(candidate)
            else:
                self.plan_page.error.setText(f"{candidate.path} {candidate.problem}.")

        self._run("inspect-python", lambda reporter, cancel: inspect_python(path), on_success=added, progress=False)

    def _check_existing(self, python: str, folder: str) -> None:
        from services.backend.existing import check_existing, suggest_python

        python = python or suggest_python(folder)
        if not folder or not python:
            self.existing_page.result.setText("Choose the sd-scripts folder and that installation's Python.")
            return
        self.existing_page.python.setText(python)
        self._run("check-existing", lambda reporter, cancel: check_existing(python, folder),
                  on_success=self.existing_page.show_found, progress=False)

    def _use_existing(self, found, accept: bool) -> None:
        from services.backend.runtime import ACCEPT_UNKNOWN

        self.session.update_backend_settings(
            python=found.python, sd_scripts_dir=found.sd_scripts,
            accepted_commit="" if found.is_pinned or not accept else (found.commit or ACCEPT_UNKNOWN))
        self.verify()

    def _open_logs(self) -> None:
        folder = managed_layout(self.session.dirs.data).logs
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # --- closing ---------------------------------------------------------------------------------
    def shutdown(self, wait_ms: int = 15000) -> None:
        """Cancel a running job and wait for its thread (quitting, or the window going away)."""
        if self.task is not None and self.task.is_running():
            self.task.cancel()
            self.task.wait(wait_ms)

    def closeEvent(self, event) -> None:
        if self.task is None or not self.task.is_running():
            self.show_status() if self.pages.currentWidget() is not self.progress_page else None
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.task is not None and self.task.is_running():
            self.hide()   # Escape hides; it never cancels an installation by accident
            return
        super().keyPressEvent(event)


class _Renamer:
    """Repair's first verification is reported as its own row ("Checking what is broken")."""

    def __init__(self, reporter) -> None:
        self.reporter = reporter
        self.first_verify_done = False

    def _id(self, step: str) -> str:
        return "verify-before" if step == "verify" and not self.first_verify_done else step

    def step_started(self, step, title):
        self.reporter.step_started(self._id(step), title)

    def step_progress(self, step, fraction, text):
        self.reporter.step_progress(self._id(step), fraction, text)

    def log(self, step, line):
        self.reporter.log(self._id(step), line)

    def step_finished(self, step, outcome, seconds, message):
        self.reporter.step_finished(self._id(step), outcome, seconds, message)
        if step == "verify":
            self.first_verify_done = True
