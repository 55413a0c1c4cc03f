"""``lora-studio backend install|verify|repair|update|info|use``: the training backend, headless.

The same services as the GUI's setup wizard; progress goes to the terminal, Ctrl+C stops the
running step (it is redone next time), and every command can print JSON instead.
"""

from __future__ import annotations

import json
import sys

COMMAND = "backend"
ORDER = 50


def register(sub, name: str) -> None:
    parser = sub.add_parser(name, help="install, verify, repair or describe the training backend (sd-scripts)")
    actions = parser.add_subparsers(dest="backend_action", metavar="ACTION", required=True)

    def add(action: str, help_text: str):
        p = actions.add_parser(action, help=help_text)
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.set_defaults(func=run)
        return p

    install = add("install", "install the managed backend (or finish an interrupted installation)")
    install.add_argument("--python", default="", help="the Python (3.10-3.13) that creates the environment")
    install.add_argument("--torch", default="auto", metavar="BUILD",
                         help="auto (from the hardware), cpu, cuda, cu126, cu128, cu130, rocm, xpu or mps")
    install.add_argument("--families", default="sd1,sdxl",
                         help="model families whose tokenizers to cache: sd1,sd2,sdxl,sd3,flux (default sd1,sdxl)")
    install.add_argument("--bitsandbytes", action="store_const", const=True, default=None,
                         help="require working 8-bit optimizers (default: on for CUDA and CPU)")
    install.add_argument("--no-bitsandbytes", action="store_const", const=False, dest="bitsandbytes",
                         help="do not require them")
    install.add_argument("--engine-source", default="",
                         help="where sd-scripts comes from: a git URL or local repository, or an archive "
                              "(default: the repository in vendor/sd-scripts.lock)")
    install.add_argument("--torch-index-url", default="", help="take torch from this index instead of its own")
    install.add_argument("--torch-find-links", action="append", default=[], metavar="DIR",
                         help="also look for torch wheels here (repeatable)")
    install.add_argument("--index-url", default="", help="the package index for everything else")
    install.add_argument("--find-links", action="append", default=[], metavar="DIR",
                         help="also look for wheels here (repeatable)")
    install.add_argument("--no-index", action="store_true", help="use only the --find-links folders")
    install.add_argument("--force", action="append", default=[], metavar="STEP",
                         help="run this step even if it is done (venv, torch, engine, requirements, workers, "
                              "accelerate, tokenizers)")
    install.add_argument("-y", "--yes", action="store_true", help="do not ask before installing")
    add("verify", "check the backend and say precisely what is wrong")
    add("repair", "re-run only what verification finds broken")
    add("update", "move the managed backend to the engine commit this LoRA Studio pins")
    add("info", "where the backend is, what it is, and how its installation went")
    tokenizers = add("tokenizers", "fill the tokenizer cache sd-scripts reads (downloads while online)")
    tokenizers.add_argument("--families", default="sd1,sdxl", help="sd1,sd2,sdxl,sd3,flux (default sd1,sdxl)")
    use = add("use", "use an existing sd-scripts installation (for example kohya_ss's) instead of the managed one")
    use.add_argument("--python", default="", help="that installation's Python (e.g. kohya_ss/venv/bin/python)")
    use.add_argument("--sd-scripts", default="", help="its sd-scripts folder (e.g. kohya_ss/sd-scripts)")
    use.add_argument("--accept", action="store_true", help="accept its sd-scripts commit if it is not the pinned one")
    use.add_argument("--managed", action="store_true", help="go back to the managed backend")


class TerminalReporter:
    """Step headings, pip's milestones, and the time each step took."""

    def __init__(self, verbose: bool = False, out=None) -> None:
        self.verbose = verbose
        self.out = out or sys.stdout
        self._last = ""

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def step_started(self, step, title):
        self._print(f"==> {title}")

    def step_progress(self, step, fraction, text):
        if text and text != self._last:
            self._last = text
            self._print(f"    {text}")

    def log(self, step, line):
        if self.verbose:
            self._print(f"    | {line}")

    def step_finished(self, step, outcome, seconds, message):
        if outcome == "skipped":
            self._print(f"--- {step}: already done")
        else:
            self._print(f"    {step}: {outcome} in {seconds:.1f} s" + (f" - {message}" if message else ""))


def _settings():
    from services.paths import app_dirs
    from services.settings import SettingsStore

    store = SettingsStore(app_dirs().ensure().config)
    return store, store.load()


def _wheel_source(index_url: str, find_links: list[str], no_index: bool):
    from services.backend.plan import WheelSource

    return WheelSource(index_url=index_url, find_links=tuple(find_links), no_index=no_index)


def _print_result(result, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result.as_dict(), indent=1, default=str))
        return 0 if result.ok else 1
    print()
    for step in result.steps:
        print(f"  {step.step:<13} {step.outcome:<9} {step.seconds:7.1f} s  {step.message}")
    print(f"  {'total':<13} {'':<9} {result.seconds:7.1f} s")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if result.verification is not None:
        print()
        print(result.verification.text())
    if result.cancelled:
        print("cancelled: run the same command again to resume", file=sys.stderr)
        return 130
    if result.error is not None:
        print(f"error: {result.error.message}", file=sys.stderr)
        if result.error.hint:
            print(f"hint: {result.error.hint}", file=sys.stderr)
    if result.log_file:
        print(f"log: {result.log_file}")
    return 0 if result.ok else 1


def _install(args, settings) -> int:
    from services.backend.installer import Installer
    from services.backend.plan import make_plan
    from services.backend.runtime import managed_layout
    from services.backend.steps import STEP_BY_ID
    from services.errors import UserInputError

    unknown = [s for s in args.force if s not in STEP_BY_ID]
    if unknown:
        raise UserInputError(f"Unknown step {unknown[0]!r}.", "Steps: " + ", ".join(STEP_BY_ID) + ".")
    torch_source = None
    if args.torch_index_url or args.torch_find_links:
        torch_source = _wheel_source(args.torch_index_url, args.torch_find_links, args.no_index)
    plan = make_plan(python=args.python, torch_override=args.torch,
                     families=tuple(f.strip() for f in args.families.split(",") if f.strip()),
                     bitsandbytes=args.bitsandbytes, engine_source=args.engine_source, torch_source=torch_source,
                     packages_source=_wheel_source(args.index_url, args.find_links, args.no_index))
    layout = managed_layout()
    disk = plan.disk_estimate(layout.root)
    if not args.json:
        print(f"Python:   {plan.base_python_version} ({plan.base_python})")
        print(f"torch:    {plan.torch.label} - {plan.torch.reason}")
        for warning in plan.torch.warnings:
            print(f"          warning: {warning}")
        print(f"engine:   sd-scripts {plan.engine.commit[:8]} from {plan.engine.repository}")
        print(f"disk:     {disk.text()}")
        if settings.backend.python or settings.backend.sd_scripts_dir:
            print("note:     the settings point to an external backend; `lora-studio backend use --managed` "
                  "switches to this one")
    if not disk.enough:
        raise UserInputError(f"Not enough free disk space: {disk.text()}.",
                             "Free some space, then run the installation again.")
    interactive = not args.yes and not args.json and sys.stdin.isatty()
    if interactive and input("Install? [Y/n] ").strip().lower() not in ("", "y", "yes"):
        return 1
    reporter = TerminalReporter(out=sys.stderr if args.json else sys.stdout)
    result = Installer(plan, layout=layout, reporter=reporter, settings=settings).run(force=set(args.force))
    return _print_result(result, args.json)


def _info(args, settings) -> int:
    from services.backend.info import describe

    data = describe(settings)
    if args.json:
        print(json.dumps(data, indent=1, default=str))
        return 0
    rt = data["runtime"]
    print(data["summary"])
    for problem in rt["problems"]:
        print(f"  problem: {problem}")
    print(f"  interpreter:     {rt['python']}")
    print(f"  sd-scripts:      {rt['sd_scripts_dir']} ({rt['commit'] or 'unknown commit'}, read from "
          f"{rt['commit_source']}; pinned {rt['pinned_commit'][:8]})")
    print(f"  tokenizer cache: {rt['tokenizer_cache_dir']}")
    print(f"  accelerate:      {rt['accelerate_config'] or 'accelerate defaults'}")
    if data.get("plan"):
        plan = data["plan"]
        print(f"  torch:           {plan['torch']['torch']} ({plan['torch']['kind']}, {plan['torch']['variant']})")
        print(f"  families:        {', '.join(plan['families'])}")
    if data.get("steps"):
        print("  steps:")
        for step in data["steps"]:
            seconds = f"{step['seconds']:.1f} s" if step.get("seconds") is not None else ""
            print(f"    {step['step']:<13} {step['status']:<8} {seconds:>9}  {step.get('finished_at') or ''}")
    if data.get("disk_gb") is not None:
        print(f"  size on disk:    {data['disk_gb']:.2f} GB")
    if data.get("last_verification"):
        print(f"  last verification: {data['last_verification']}")
    return 0


def _use(args, store, settings) -> int:
    from services.backend.existing import check_existing
    from services.errors import UserInputError

    if args.managed:
        settings.backend.python = settings.backend.sd_scripts_dir = settings.backend.accepted_commit = ""
        store.save(settings)
        print("Using the managed backend.")
        return 0
    if not args.python or not args.sd_scripts:
        raise UserInputError("Name both the Python and the sd-scripts folder.",
                             "For kohya_ss: --python kohya_ss/venv/bin/python --sd-scripts kohya_ss/sd-scripts")
    found = check_existing(args.python, args.sd_scripts)
    for line in found.lines():
        print(line)
    if not found.usable:
        raise UserInputError(found.problem, "Choose the Python of that installation's environment and its "
                                            "sd-scripts folder.")
    from services.backend.runtime import ACCEPT_UNKNOWN

    if not found.is_pinned and not args.accept:
        raise UserInputError(f"That sd-scripts is at {found.commit or 'an unknown commit'}, not at the pinned "
                             f"{found.pinned[:8]}.", "Add --accept to use it anyway (LoRA Studio is tested with "
                                                     "the pinned commit only).")
    settings.backend.python = found.python
    settings.backend.sd_scripts_dir = found.sd_scripts
    settings.backend.accepted_commit = "" if found.is_pinned else (found.commit or ACCEPT_UNKNOWN)
    store.save(settings)
    print("Saved. Run `lora-studio backend verify` to check it.")
    return 0


def _tokenizers(args, settings) -> int:
    from services.backend.plan import FAMILIES
    from services.backend.runtime import locate, managed_layout
    from services.backend.tokenizer_cache import MISSING_HINT, fill, missing_message
    from services.errors import UserInputError

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise UserInputError(f"Unknown model family {unknown[0]!r}.", "Choose from: " + ", ".join(FAMILIES) + ".")
    cache = locate(settings).tokenizer_cache_dir
    report = fill(cache, families, hf_cache=managed_layout().downloads / "hf", log_line=print)
    if args.json:
        print(json.dumps({"cache": str(cache), "filled": report.filled, "already": report.already,
                          "missing": report.missing}, indent=1))
    else:
        for repo_id, source in report.filled:
            print(f"filled   {repo_id} ({source})")
        for repo_id in report.already:
            print(f"present  {repo_id}")
        for repo_id, reason in report.missing:
            print(f"missing  {repo_id} ({reason})")
    if report.missing:
        print(f"warning: {missing_message([m for m, _ in report.missing], families)}\nhint: {MISSING_HINT}",
              file=sys.stderr)
        return 1
    return 0


def run(args) -> int:
    from services.backend import installer
    from services.backend.verify import verify_runtime

    store, settings = _settings()
    action = args.backend_action
    if action == "install":
        return _install(args, settings)
    if action == "info":
        return _info(args, settings)
    if action == "use":
        return _use(args, store, settings)
    if action == "tokenizers":
        return _tokenizers(args, settings)
    reporter = TerminalReporter(out=sys.stderr if args.json else sys.stdout)
    if action == "verify":
        print("Verifying the training backend (this runs its Python; it can take a minute)...",
              file=sys.stderr if args.json else sys.stdout, flush=True)
        report = verify_runtime(settings)
        if args.json:
            print(json.dumps(report.as_dict(), indent=1, default=str))
        else:
            print(report.text())
        return 0 if report.ok else 1
    if action == "repair":
        if not _managed(settings):
            return 1
        return _print_result(installer.repair(settings=settings, reporter=reporter), args.json)
    if action == "update":
        if not _managed(settings):
            return 1
        return _print_result(installer.update(settings=settings, reporter=reporter), args.json)
    return 2


def _managed(settings) -> bool:
    from services.backend.runtime import locate
    from services.errors import BackendError

    if not locate(settings).managed:
        raise BackendError("The settings point to an external backend, which LoRA Studio never modifies.",
                           "Repair or update it with its own installer, or switch to the managed backend: "
                           "`lora-studio backend use --managed`.")
    return True
