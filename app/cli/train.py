"""``lora-studio train PROJECT``: preflight, launch, live progress, Ctrl+C, diagnosis -- in a terminal.

The same code as the window (services.runs: emission, preflight, runner, diagnosis, monitor state),
so a project prepared on a laptop trains unchanged on a remote GPU machine. PROJECT is a project
file or a run folder (``--resume`` continues a run folder from its last saved state). Exit code 0
when the run finished, 1 when it failed (or could not start), 130 when it was stopped.
"""

from __future__ import annotations

import signal
from pathlib import Path

COMMAND = "train"
ORDER = 40


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="check and run a training project (or a run folder) in the terminal",
                            description="Preflight, launch, progress, Ctrl+C to stop the whole engine, and a "
                                        "diagnosis of any failure.")
    parser.add_argument("project", type=Path, help="a project file (.lsproj.toml) or a run folder")
    parser.add_argument("--runs-dir", type=Path, help="where run folders go (default: the settings' runs folder)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run folder from its last saved training state")
    parser.add_argument("--accept-commit", action="store_true",
                        help="accept the backend's sd-scripts commit when it is not the pinned one")
    parser.add_argument("--no-engine-check", action="store_true",
                        help="skip asking the engine's own parser to check the run (faster, less safe)")
    parser.add_argument("--preflight-only", action="store_true", help="check, print the report, do not train")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every line the engine prints")
    parser.set_defaults(func=run)


def _is_run_folder(path: Path) -> bool:
    from services.runs.run_folder import RunFolder

    return path.is_dir() and RunFolder(path).exists()


def run(args) -> int:
    from rich.console import Console

    from services.errors import UserInputError
    from services.paths import app_dirs
    from services.runs.history import runs_dir as default_runs_dir
    from services.runs.preflight import run_preflight
    from services.runs.run_folder import RunFolder
    from services.settings import SettingsStore

    console = Console(stderr=False, highlight=False)
    store = SettingsStore(app_dirs().config)
    settings = store.load()
    if args.runs_dir:
        settings.backend.runs_dir = str(args.runs_dir.resolve())
    path = args.project.expanduser().resolve()

    if args.accept_commit:
        from services.backend.runtime import locate
        from services.runs.preflight import accept_commit

        accept_commit(settings, locate(settings))
        store.save(settings)

    resume_from = None
    if _is_run_folder(path):
        run_folder = RunFolder(path)
        with console.status("Preflight…"):
            report = run_preflight(run_folder, settings, engine_check=not args.no_engine_check)
        if args.resume:
            resume_from = run_folder.latest_state()
            if resume_from is None:
                raise UserInputError(f"{path} has no saved training state to resume from.",
                                     "Runs save their state with save_state (and save_every_n_steps or _epochs).")
    elif path.is_file():
        if args.resume:
            raise UserInputError("--resume takes a run folder, not a project.",
                                 "Pass the run's folder (listed in the window's History tab).")
        from services.runs.emission import prepare_run
        from services.training.project import Project

        project = Project.load(path)
        with console.status(f"Preparing and checking “{project.name}”…"):
            run_folder, report = prepare_run(project, settings,
                                             runs_dir=Path(settings.backend.runs_dir or default_runs_dir(settings)),
                                             engine_check=not args.no_engine_check)
    else:
        raise UserInputError(f"{path} is neither a project file nor a run folder.")

    print_report(console, report)
    if not report.ok:
        console.print("[bold red]The run cannot start:[/] fix the problems above (nothing was trained).")
        return 1
    if args.preflight_only:
        return 0
    return train(console, run_folder, settings, resume_from=resume_from, verbose=args.verbose)


MARKS = {"ok": "[green]✔[/]", "warning": "[yellow]⚠[/]", "error": "[red]✖[/]", "skipped": "[dim]–[/]"}


def print_report(console, report) -> None:
    from rich.markup import escape

    console.print(f"[bold]Preflight[/] ({report.seconds:.1f} s)")
    for check in report.checks:
        console.print(f"  {MARKS[check.status]} [bold]{escape(check.title)}[/]: {escape(check.message)}")
        if check.status in ("warning", "error"):
            for detail in check.details[:12]:
                console.print(f"      {escape(detail)}", style="dim")
            if check.hint:
                console.print(f"      → {escape(check.hint)}")


def train(console, run_folder, settings, *, resume_from=None, verbose: bool = False) -> int:
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    from services.runs import events as ev
    from services.runs.launch import launch_from_settings
    from services.runs.monitor_state import MonitorState, format_rate
    from services.runs.runner import Runner

    launch = launch_from_settings(run_folder, settings, resume_from=resume_from)
    state = MonitorState()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                        TextColumn("{task.fields[extra]}"), console=console, transient=False, refresh_per_second=4)
    task = progress.add_task("starting", total=None, extra="")

    def show(batch: list) -> None:
        state.apply(batch)
        for event in batch:
            if isinstance(event, ev.LogLine):
                if verbose or event.level in (ev.WARNING, ev.ERROR):
                    style = {"warning": "yellow", "error": "red"}.get(event.level, "dim")
                    progress.console.print(escape(event.text), style=style, highlight=False)
            elif isinstance(event, ev.CheckpointSaved):
                progress.console.print(f"[green]checkpoint[/] {escape(event.path)}")
            elif isinstance(event, ev.SampleImage):
                progress.console.print(f"[cyan]sample[/] step {event.step}: {escape(event.prompt)} → "
                                       f"{escape(event.path)}")
            elif isinstance(event, ev.Started):
                progress.console.print(f"[bold]Started[/] {escape(run_folder.path.name)} (process {event.pid}); "
                                       "Ctrl+C stops it")
            elif isinstance(event, ev.Stalled):
                progress.console.print(f"[yellow]No output for {event.seconds:.0f} s: the engine may be stuck.[/]")
            elif isinstance(event, ev.Stopping):
                progress.console.print("[yellow]Stopping the engine and everything it started…[/]")
        description = ev.PHASE_LABELS.get(state.phase, state.phase or "starting")
        extra = "  ".join(p for p in (f"step {state.step}/{state.total_steps}" if state.total_steps else "",
                                      format_rate(state.it_per_s) if state.it_per_s else "",
                                      f"loss {state.last_loss:.4g}" if state.last_loss is not None else "",
                                      f"epoch {state.epoch}/{state.total_epochs}" if state.total_epochs else "") if p)
        progress.update(task, description=description, total=state.total_steps, completed=state.step, extra=extra)

    runner = Runner(launch, show)

    def interrupt(_signum, _frame) -> None:
        runner.stop("Ctrl+C")

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        with progress:
            outcome = runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    return report_outcome(console, outcome, run_folder)


def report_outcome(console, outcome, run_folder) -> int:
    from rich.markup import escape

    if outcome.state == "succeeded":
        console.print(f"[bold green]Finished[/] at step {outcome.step}; checkpoints:")
        for path in outcome.checkpoints:
            console.print(f"  {escape(path)}")
        if outcome.diagnosis is not None:  # finished, but with a warning (NaN loss)
            console.print(f"[yellow]{escape(outcome.diagnosis.title)}[/]: {escape(outcome.diagnosis.message)}")
            console.print(f"  → {escape(outcome.diagnosis.hint)}")
        return 0
    if outcome.state == "stopped":
        resumable = run_folder.latest_state()
        console.print(f"[yellow]Stopped[/] at step {outcome.step}."
                      + (f" Resume with: lora-studio train {run_folder.path} --resume" if resumable else ""))
        return 130
    diagnosis = outcome.diagnosis
    if diagnosis is None:
        console.print(f"[bold red]Training failed[/] (exit code {outcome.exit_code}).")
        return 1
    console.print(f"[bold red]{escape(diagnosis.title)}[/]")
    console.print(escape(diagnosis.message))
    for line in diagnosis.lines[-6:]:
        console.print(f"  {escape(line)}", style="dim")
    if diagnosis.hint:
        console.print(f"[bold]What to do:[/] {escape(diagnosis.hint)}")
    console.print(f"The full log: {escape(str(run_folder.log_path))}", style="dim")
    return 1

