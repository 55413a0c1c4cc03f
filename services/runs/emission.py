"""From a project to a run folder, through training-core's emission, for the backend in the settings.

Every started or queued run gets its own folder under the runs directory (a frozen snapshot: later
edits of the project never change it). A preflight on its own writes into a scratch folder that is
removed afterwards, so the history only lists runs that were started or queued.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from services.errors import ValidationError
from services.runs.history import runs_dir as default_runs_dir
from services.runs.preflight import Check, PreflightReport, check_validation, run_preflight
from services.runs.run_folder import RunFolder, RunStatus, new_run_folder


def _options(settings, validation=None):
    from services.backend.runtime import locate
    from services.training.emit import EmitOptions

    runtime = locate(settings)
    usable = runtime.state != "missing"
    return EmitOptions(sd_scripts_dir=runtime.sd_scripts_dir if usable else None,
                       python=str(runtime.python) if usable else None,
                       tokenizer_cache_dir=runtime.tokenizer_cache_dir, validation=validation)


def emit_project(project, settings, *, runs_dir: Path | None = None, folder: Path | None = None,
                 validation=None) -> tuple[RunFolder, list]:
    """Emit ``project`` into a new run folder; (the run, training-core's non-blocking problems).
    Raises ValidationError (with ``problems``) when validation has errors."""
    from services.training.emit import emit_run_folder

    run = RunFolder(folder) if folder is not None else new_run_folder(runs_dir or default_runs_dir(settings),
                                                                        project.name or "run")
    try:
        emitted = emit_run_folder(project, run.path, _options(settings, validation))
    except BaseException:
        with contextlib.suppress(OSError):
            run.path.rmdir()  # the emission wrote nothing we would keep
        raise
    project_file = str(project.path) if getattr(project, "path", None) else ""
    run.write_status(RunStatus(name=project.name or run.path.name, project_file=project_file))
    return run, list(emitted.problems)


def preflight_project(project, settings, *, validation=None, cancel: Callable[[], bool] | None = None,
                      progress: Callable[[str], None] | None = None) -> PreflightReport:
    """The preflight of a project, without keeping a run folder: emitted into scratch space, checked,
    removed. Validation errors stop it early (nothing else can be checked without an emission)."""
    scratch = Path(tempfile.mkdtemp(prefix="lora-studio-preflight-"))
    try:
        try:
            run, problems = emit_project(project, settings, folder=scratch / "run", validation=validation)
        except ValidationError as exc:
            report = PreflightReport([check_validation(exc.problems)])
            report.checks.append(Check("engine", "Engine accepts the arguments", "skipped",
                                       "not checked until the parameters are valid"))
            return report
        return run_preflight(run, settings, problems=problems, cancel=cancel, progress=progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def prepare_run(project, settings, *, runs_dir: Path | None = None, validation=None, engine_check: bool = True,
                cancel: Callable[[], bool] | None = None,
                progress: Callable[[str], None] | None = None) -> tuple[RunFolder | None, PreflightReport]:
    """Emit ``project`` into its run folder and check it: (the run or None, the report). When
    validation fails no folder is kept and the report says why."""
    try:
        run, problems = emit_project(project, settings, runs_dir=runs_dir, validation=validation)
    except ValidationError as exc:
        return None, PreflightReport([check_validation(exc.problems)])
    report = run_preflight(run, settings, problems=problems, engine_check=engine_check, cancel=cancel,
                           progress=progress)
    return run, report
