"""``lora-studio caption DIR --captioner wd14|blip|blip2 --model REPO_OR_PATH [options]``.

Captions a dataset folder from a terminal with a progress bar. The captioner's options come from
their declarations (services.captioning.families): each is a flag such as ``--general-threshold``.
Ctrl+C stops after the batch in flight and keeps every caption already written; a second Ctrl+C
stops the worker at once.
"""

from __future__ import annotations

import argparse
import signal

COMMAND = "caption"
ORDER = 30


def _add_option_flags(parser: argparse.ArgumentParser) -> None:
    from services.captioning.families import FAMILIES
    from services.captioning.options import BOOL, CHOICE, FLOAT, INT, REPLACEMENTS

    seen: dict[str, list[str]] = {}
    declared = {}
    for fam in FAMILIES:
        for option in fam.options:
            seen.setdefault(option.key, []).append(fam.id)
            declared.setdefault(option.key, option)
    group = parser.add_argument_group("captioner options (defaults as in the captioning dialog)")
    for key, option in declared.items():
        used_by = "all" if len(seen[key]) == len(FAMILIES) else ", ".join(seen[key])
        text = f"{option.help} [{used_by}]"
        kwargs: dict = {"dest": f"opt_{key}", "default": argparse.SUPPRESS}
        if option.kind == BOOL:
            group.add_argument(option.flag, action=argparse.BooleanOptionalAction, help=text, **kwargs)
            continue
        if option.kind == CHOICE:
            kwargs["choices"] = sorted({v for fam in FAMILIES for o in fam.options if o.key == key
                                        for v in o.choice_values})
        elif option.kind in (INT, FLOAT):
            kwargs["type"] = int if option.kind == INT else float
            kwargs["metavar"] = "N" if option.kind == INT else "X"
        elif option.kind == REPLACEMENTS:
            kwargs["action"] = "append"
            kwargs["metavar"] = "'OLD -> NEW'"
        else:
            kwargs["metavar"] = "TEXT"
        group.add_argument(option.flag, help=text, **kwargs)


def register(sub, name: str) -> None:
    from services.captioning.policy import POLICY_IDS

    parser = sub.add_parser(
        name, help="caption or tag a dataset folder with WD14, BLIP or BLIP-2",
        description="Caption every image of a dataset folder (recursively) with a model run in a worker "
                    "process. Models are downloaded on first use into the models folder of the settings, "
                    "or read from a local folder.")
    parser.add_argument("folder", metavar="DIR", help="the dataset folder")
    parser.add_argument("--captioner", required=True, choices=("wd14", "blip", "blip2"))
    parser.add_argument("--model", default="", metavar="REPO_OR_PATH",
                        help="a Hugging Face repository id or a local folder (default: the family's first model)")
    parser.add_argument("--existing", choices=POLICY_IDS, default="skip",
                        help="what to do with images that already have a caption (default: skip)")
    parser.add_argument("--caption-extension", default="", metavar="EXT",
                        help="caption file extension (default: from the settings, usually .txt)")
    parser.add_argument("--separator", default=None, metavar="SEP",
                        help="tag separator (default: from the settings, usually ', ')")
    parser.add_argument("--models-dir", default="", metavar="DIR", help="where downloaded models are kept")
    parser.add_argument("--offline", action="store_true", help="never download; use only models on disk")
    _add_option_flags(parser)
    parser.set_defaults(func=run)


def _options_from(args: argparse.Namespace) -> dict:
    from services.captioning.options import parse_replacements

    out = {}
    for dest, value in vars(args).items():
        if not dest.startswith("opt_"):
            continue
        key = dest[4:]
        if key == "tag_replacements":
            pairs = []
            for text in value:
                pairs.extend(parse_replacements(text))
            value = pairs
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from services.captioning.driver import WorkerDriver
    from services.captioning.families import TAGS, family
    from services.captioning.job import CaptionJob
    from services.captioning.models import models_dir_from
    from services.captioning.options import resolve
    from services.captioning.targets import caption_for, plan
    from services.dataset.scanner import ScanOptions, scan_folders
    from services.errors import UserInputError
    from services.paths import app_dirs
    from services.settings import SettingsStore

    console = Console(stderr=True, soft_wrap=True)
    settings = SettingsStore(app_dirs().config).load()
    fam = family(args.captioner)
    options = _options_from(args)
    foreign = sorted(k for k in options if k not in {o.key for o in fam.options})
    if foreign:
        raise UserInputError(f"{', '.join('--' + k.replace('_', '-') for k in foreign)} do(es) not apply to "
                             f"the {fam.title} captioner.", "Run `lora-studio caption --help` to see which do.")
    if "batch_size" not in options and fam.id == "wd14":
        options["batch_size"] = settings.captioning.batch_size
    if "execution_provider" not in options and fam.id == "wd14" and settings.captioning.execution_provider:
        options["execution_provider"] = settings.captioning.execution_provider
    resolve(fam.options, options)  # refuse bad values before scanning

    separator = args.separator if args.separator is not None else settings.workspace.tag_separator
    extension = args.caption_extension or settings.workspace.caption_extension
    with console.status(f"Reading {args.folder}…"):
        workspace = scan_folders([args.folder], ScanOptions(caption_extension=extension, tag_separator=separator))
    targets = plan(workspace, workspace.keys(), args.existing)
    console.print(f"{len(workspace)} image(s) in {args.folder}: {targets.describe()}.")
    for key in targets.skipped_undecodable:
        console.print(f"[yellow]left alone[/]: {workspace.item(key).caption.path} (unknown encoding)")
    if not targets.keys:
        console.print("Nothing to caption.")
        return 0
    job = CaptionJob(fam.id, args.model or fam.default_model, targets.keys, options,
                     str(models_dir_from(args.models_dir or settings.captioning.models_dir)), separator,
                     offline=args.offline).validate()
    driver = WorkerDriver(job, backend_settings=settings.backend)
    written, write_errors = 0, []

    def on_interrupt(_signum, _frame):
        if driver.cancel_requested:
            console.print("[red]Stopping the worker now.[/]")
            driver.kill()
        else:
            console.print("[yellow]Cancelling after the current batch (Ctrl+C again to stop at once)…[/]")
            driver.cancel()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        written, write_errors = _drive(driver, console, workspace, job, args.existing,
                                       tags=fam.output == TAGS, caption_for=caption_for)
    finally:
        signal.signal(signal.SIGINT, previous)
    outcome = driver.outcome
    for warning in outcome.warnings:
        console.print(f"[yellow]warning[/]: {warning}")
    for path, why in outcome.failed_images:
        console.print(f"[yellow]not captioned[/]: {path}: {why}")
    for error in write_errors:
        console.print(f"[red]not written[/]: {error}")
    console.print(f"{outcome.summary()}; {written} caption file(s) written in {outcome.elapsed_s:.1f} s.")
    if outcome.error is not None:
        raise outcome.error
    if outcome.cancelled:
        return 130
    return 1 if write_errors else 0


def _drive(driver, console, workspace, job, policy: str, *, tags: bool, caption_for) -> tuple[int, list[str]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from services.captioning import protocol as P
    from services.captioning.progress import format_rate
    from services.errors import LoraStudioError

    written, errors = 0, []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("Starting", total=len(job.images), rate="")
        driver.start()
        ready_at = None
        for message in driver.messages():
            kind = message.type
            if kind == P.STATUS:
                bar.update(task, description=str(message.get("message", ""))[:60])
            elif kind == P.DOWNLOAD:
                done, total = int(message.get("done", 0)), int(message.get("total", 0))
                size = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
                bar.update(task, description=f"Downloading {message.get('file')} {size}")
            elif kind == P.READY:
                import time

                ready_at = time.monotonic()
                bar.update(task, description=f"Captioning ({message.get('device')})")
            elif kind == P.RESULT:
                key = str(message.get("path"))
                item = workspace.get(key)
                if item is None:
                    continue
                text = caption_for(item.caption.text if item.caption.exists else None,
                                   str(message.get("caption", "")), policy, job.separator, tags=tags)
                if text is not None:
                    try:
                        workspace.save_caption(key, text)
                        written += 1
                    except LoraStudioError as exc:
                        errors.append(f"{item.caption.path}: {exc.message}")
            elif kind == P.PROGRESS:
                import time

                finished = int(message.get("done", 0)) + int(message.get("failed", 0))
                rate = finished / (time.monotonic() - ready_at) if ready_at else 0.0
                bar.update(task, completed=finished, rate=format_rate(rate))
            elif kind == P.WARNING:
                console.print(f"[yellow]warning[/]: {message.get('message')}")
    return written, errors

