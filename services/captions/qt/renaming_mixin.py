"""Renaming the caption files' extension, for the caption controller (a mixin).

The renames run in a worker; the workspace items are then pointed at the new files in GUI slices,
and the workspace remembers the new extension (so reopening the folder finds the captions). One
undoable command per rename batch; undo renames the files back.
"""

from __future__ import annotations

from services.captions.extension import execute_renames
from services.captions.qt.commands import ExtensionRenameCommand
from services.captions.qt.worker import YIELD_EVERY, TaskThread
from services.dataset.caption_files import CaptionFile
from services.errors import LoraStudioError


class RenamingMixin:
    # --- extension rename ----------------------------------------------------------------
    def run_renames(self, renames: list, extension: str, *, workspace, on_done=None) -> TaskThread:
        # Saves and renames never overlap: what is unsaved is written under the current names first,
        # and no save starts until the items point at the renamed files.
        self.flush()
        self._renaming = True
        return self.start_task(
            lambda progress, cancelled: execute_renames(renames, progress=lambda n: progress(n, len(renames))),
            "caption-rename", f"Renaming {len(renames)} caption file(s)…",
            lambda report: self.runner.submit(self._after_rename_job(report, extension, workspace, on_done)),
            self._rename_failed)

    def _rename_failed(self, exc: BaseException) -> None:
        self._renaming = False
        self._report_failure(exc)

    def _after_rename_job(self, report, extension: str, ws, on_done):
        for n, rename in enumerate(report.done, 1):
            item = ws.get(rename.key)
            if item is not None:
                cap = item.caption
                item.caption = CaptionFile(rename.target, cap.text, cap.format, cap.snapshot, cap.undecodable,
                                           cap.error)
            if n % YIELD_EVERY == 0:
                yield
        ws.caption_extension = extension
        if ws is self._workspace:
            self._remember_extension(ws, extension)
        self.revision += 1
        if report.failed:
            first = next(iter(report.failed.values()))
            self.session.report_error(LoraStudioError(
                f"{len(report.failed)} caption file(s) could not be renamed (first: {first}).",
                "The others were renamed; the failed ones keep their old extension.",
                details="\n".join(f"{k}: {v}" for k, v in list(report.failed.items())[:50])))
        self._renaming = False
        self.state_changed.emit()
        self._schedule_save(immediate=True)
        if on_done is not None:
            on_done(report)

    def _remember_extension(self, ws, extension: str) -> None:
        """Reopening the folder must find the captions under their new name: record the extension
        for this workspace as the Dataset panel stores it ("ext<TAB>first root", newest first)."""
        settings = self.session.settings
        dataset = getattr(settings, "dataset", None)
        if dataset is not None and hasattr(dataset, "caption_extensions") and ws.roots:
            root = str(ws.roots[0])
            entries = [e for e in dataset.caption_extensions if e.partition("\t")[2] != root]
            dataset.caption_extensions = [f"{extension}\t{root}", *entries][:50]
        else:
            settings.workspace.caption_extension = extension
        self.session.save_settings()

    def rename_extension(self, plan, on_done=None) -> None:
        """Execute an extension rename plan as one undoable command (saved edits first)."""
        ws = self._workspace
        if ws is None or not plan.renames:
            return

        def done(report):
            if report.done:
                self.session.undo_stack.push(ExtensionRenameCommand(
                    self, ws, report.done, plan.old_extension, plan.new_extension))
            if on_done is not None:
                on_done(report)

        self.run_renames(plan.renames, plan.new_extension, workspace=ws, on_done=done)
