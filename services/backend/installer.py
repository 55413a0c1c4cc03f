"""Install, repair and update the managed runtime: the steps in order, then a verification.

Plain Python, blocking: the GUI runs it in a QThread (services/backend/qt/), the CLI in the
foreground. One installation at a time per runtime (a lock file); a second one is refused with a
clear message rather than two pips writing into one venv.

- ``install``  runs every step that is not current (see steps.py), then verifies.
- ``repair``   verifies first, then re-runs only the steps that are not current or that the
               verification blames (a torch that does not import, a missing module, a payload of
               another version, ...), then verifies again.
- ``update``   the same plan with the engine commit the lock file now pins (the engine step and
               the requirements see their inputs changed and run again).
Cancel (or a crash, or a power cut) leaves the interrupted step marked "started"; the next run
redoes it and skips what was finished.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from services.atomic import atomic_write_text
from services.backend import runtime as runtime_module
from services.backend.plan import InstallPlan, load_plan, save_plan
from services.backend.proc import CancelToken
from services.backend.runtime import EngineLock, RuntimeLayout, locate, managed_layout
from services.backend.steps import STEPS, Reporter, StepContext, is_current, run_step
from services.errors import BackendError, LoraStudioError, OperationCancelled

VERIFY_ID = "verify"


@dataclass
class StepOutcome:
    step: str
    title: str
    outcome: str           # "done" | "skipped" | "failed" | "cancelled"
    seconds: float
    message: str = ""


@dataclass
class InstallResult:
    steps: list[StepOutcome] = field(default_factory=list)
    verification: object | None = None     # verify.VerifyReport
    error: LoraStudioError | None = None
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_file: Path | None = None

    @property
    def ok(self) -> bool:
        verified = self.verification is None or self.verification.ok
        return self.error is None and not self.cancelled and verified

    def timings(self) -> list[tuple[str, str, float]]:
        return [(s.step, s.outcome, s.seconds) for s in self.steps]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "cancelled": self.cancelled, "seconds": round(self.seconds, 2),
                "error": self.error.as_dict() if self.error else None, "warnings": self.warnings,
                "log_file": str(self.log_file) if self.log_file else None,
                "steps": [s.__dict__ for s in self.steps],
                "verification": self.verification.as_dict() if self.verification is not None else None}


class InstallLock:
    """An exclusive, non-blocking lock on the runtime folder (released when the process dies)."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / ".install.lock"
        self._fh = None

    def __enter__(self) -> InstallLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+")
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(self._fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._fh.close()
            self._fh = None
            raise BackendError("Another installation of the training backend is running.",
                               "Wait until it has finished (in the other window or terminal), then try again.") from exc
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                if os.name == "nt":
                    import msvcrt

                    self._fh.seek(0)
                    msvcrt.locking(self._fh.fileno(), msvcrt.LK_UNLCK, 1)
            self._fh.close()
            self._fh = None


class Installer:
    def __init__(self, plan: InstallPlan, *, layout: RuntimeLayout | None = None, tokenizer_cache: Path | None = None,
                 reporter: Reporter | None = None, cancel: CancelToken | None = None, settings=None) -> None:
        self.plan = plan
        self.layout = layout or managed_layout()
        self.tokenizer_cache = Path(tokenizer_cache) if tokenizer_cache else \
            locate(settings, data_dir=self.layout.root.parent).tokenizer_cache_dir
        self.reporter = reporter or Reporter()
        self.cancel = cancel or CancelToken()
        self.settings = settings

    def pending(self) -> list[tuple[str, str]]:
        """(step id, why) for every step that would run now (no side effects but reading)."""
        ctx = self._context(lambda line: None)
        out = []
        for step in STEPS:
            current, why = is_current(step, ctx)
            if not current:
                out.append((step.id, why))
        return out

    def _context(self, sink) -> StepContext:
        return StepContext(plan=self.plan, layout=self.layout, tokenizer_cache=self.tokenizer_cache,
                           cancel=self.cancel, reporter=self.reporter, log_sink=sink)

    def run(self, *, force: set[str] | frozenset[str] = frozenset(), verify: bool = True) -> InstallResult:
        result = InstallResult()
        start = time.monotonic()
        with InstallLock(self.layout.root):
            save_plan(self.layout, self.plan)
            if self.layout.python.is_file():  # every pip command in the runtime gets the torch pins
                atomic_write_text(self.layout.state / "constraints.txt", "\n".join(self.plan.torch.packages) + "\n")
            self.layout.logs.mkdir(parents=True, exist_ok=True)
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            result.log_file = self.layout.logs / f"install-{stamp}.log"
            with open(result.log_file, "a", encoding="utf-8") as log_fh:
                def sink(line: str) -> None:
                    log_fh.write(line + "\n")
                    log_fh.flush()

                ctx = self._context(sink)
                sink(f"plan: {self.plan.as_dict()}")
                self._run_steps(ctx, force, result)
                result.warnings = list(ctx.warnings)
                if verify and result.error is None and not result.cancelled:
                    self._verify(ctx, result, sink)
        result.seconds = time.monotonic() - start
        with contextlib.suppress(OSError):
            write_summary(self.layout, result)
        return result

    def _run_steps(self, ctx: StepContext, force, result: InstallResult) -> None:
        for step in STEPS:
            ctx.current = step.id
            if self.cancel.cancelled:
                result.cancelled = True
                return
            current, why = is_current(step, ctx)
            if current and step.id not in force:
                result.steps.append(StepOutcome(step.id, step.title, "skipped", 0.0, "already done"))
                self.reporter.step_finished(step.id, "skipped", 0.0, "already done")
                continue
            began = time.monotonic()
            try:
                run_step(step, ctx, reason="repairing" if step.id in force and current else why)
            except OperationCancelled:
                seconds = time.monotonic() - began
                result.cancelled = True
                result.steps.append(StepOutcome(step.id, step.title, "cancelled", seconds, "cancelled"))
                self.reporter.step_finished(step.id, "cancelled", seconds, "cancelled; it is redone next time")
                return
            except Exception as exc:
                seconds = time.monotonic() - began
                error = exc if isinstance(exc, LoraStudioError) else BackendError(
                    f"{step.title} failed: {type(exc).__name__}: {exc}",
                    "Run the setup again; it resumes where it stopped. If this repeats, report it with the log.",
                    details=traceback.format_exc())
                ctx.log(f"FAILED: {error.message}" + (f"\nhint: {error.hint}" if error.hint else ""))
                result.error = error
                result.steps.append(StepOutcome(step.id, step.title, "failed", seconds, error.message))
                self.reporter.step_finished(step.id, "failed", seconds, error.message)
                return
            seconds = time.monotonic() - began
            result.steps.append(StepOutcome(step.id, step.title, "done", seconds))
            self.reporter.step_finished(step.id, "done", seconds, "")

    def _verify(self, ctx: StepContext, result: InstallResult, sink) -> None:
        from services.backend.verify import verify_runtime

        ctx.current = VERIFY_ID
        self.reporter.step_started(VERIFY_ID, "Verification")
        began = time.monotonic()
        try:
            report = verify_runtime(runtime_module.managed_settings(self.settings), plan=self.plan,
                                    layout=self.layout, cancel=self.cancel, log_line=ctx.log, progress=ctx.progress)
        except OperationCancelled:
            result.cancelled = True
            result.steps.append(StepOutcome(VERIFY_ID, "Verification", "cancelled", time.monotonic() - began))
            self.reporter.step_finished(VERIFY_ID, "cancelled", time.monotonic() - began, "cancelled")
            return
        seconds = time.monotonic() - began
        result.verification = report
        for line in report.text().splitlines():
            sink(line)
        outcome = "done" if report.ok else "failed"
        result.steps.append(StepOutcome(VERIFY_ID, "Verification", outcome, seconds, report.summary()))
        self.reporter.step_finished(VERIFY_ID, outcome, seconds, report.summary())


# --- the three actions ------------------------------------------------------------------

def install(plan: InstallPlan, **kwargs) -> InstallResult:
    return Installer(plan, **kwargs).run()


def repair(plan: InstallPlan | None = None, *, layout: RuntimeLayout | None = None, settings=None,
           reporter: Reporter | None = None, cancel: CancelToken | None = None,
           tokenizer_cache: Path | None = None) -> InstallResult:
    """Verify, then redo only what is broken, then verify again."""
    from services.backend.verify import verify_runtime

    layout = layout or managed_layout()
    plan = plan or load_plan(layout)
    if plan is None:
        raise BackendError("There is no managed backend to repair (it was never installed here).",
                           "Install it: Settings > Training backend, or `lora-studio backend install`.")
    reporter = reporter or Reporter()
    reporter.step_started(VERIFY_ID, "Checking what is broken")
    began = time.monotonic()
    before = verify_runtime(runtime_module.managed_settings(settings), plan=plan, layout=layout,
                            cancel=cancel, log_line=lambda line: reporter.log(VERIFY_ID, line))
    blamed = before.repair_steps()
    reporter.step_finished(VERIFY_ID, "done", time.monotonic() - began,
                           "to repair: " + (", ".join(sorted(blamed)) or "nothing the checks blame"))
    installer = Installer(plan, layout=layout, reporter=reporter, cancel=cancel, settings=settings,
                          tokenizer_cache=tokenizer_cache)
    result = installer.run(force=blamed)
    result.steps.insert(0, StepOutcome("diagnose", "Checking what is broken", "done", time.monotonic() - began,
                                       ", ".join(sorted(blamed))))
    return result


def update(plan: InstallPlan | None = None, *, lock: EngineLock | None = None, layout: RuntimeLayout | None = None,
           **kwargs) -> InstallResult:
    """Move the managed runtime to the engine commit the lock file pins now."""
    layout = layout or managed_layout()
    plan = plan or load_plan(layout)
    if plan is None:
        raise BackendError("There is no managed backend to update.",
                           "Install it: Settings > Training backend, or `lora-studio backend install`.")
    return Installer(plan.with_lock(lock or runtime_module.pinned()), layout=layout, **kwargs).run()


def write_summary(layout: RuntimeLayout, result: InstallResult) -> None:
    """The last result, for `lora-studio backend info` and the wizard's reopening."""
    import json

    layout.state.mkdir(parents=True, exist_ok=True)
    atomic_write_text(layout.state / "last-run.json", json.dumps(result.as_dict(), indent=1, default=str))
