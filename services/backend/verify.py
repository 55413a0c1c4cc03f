"""Verification: what is wrong with a runtime, precisely, and which install step fixes it.

It reads the runtime's files (located, install markers, engine commit), runs
``workers.env_probe`` in the runtime's interpreter (torch, its build and devices, torchvision,
bitsandbytes, every installed package, the payload, each training script's argument parser), and
compares that with what the plan asked for and with the requirements (through the hardware
area's dependency checker). Each finding is a ``Check`` with a status, a sentence, a hint, and the
step Repair re-runs for it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.backend.plan import DEFAULT_FAMILIES, InstallPlan, load_plan
from services.backend.proc import CancelToken, run_streaming
from services.backend.runtime import NOT_INSTALLED, BackendRuntime, RuntimeLayout, locate, managed_layout
from services.backend.verify_checks import (
    ERROR,
    OK,
    REPAIR_HINT,
    TRAINING_SCRIPTS,
    WARNING,
    Check,
    bnb_check,
    dependency_checks,
    install_checks,
    parser_checks,
    payload_check,
    tokenizer_check,
    torch_checks,
    torchvision_check,
)
from services.check_summary import CheckSummary
from services.errors import OperationCancelled

__all__ = ["Check", "VerifyReport", "last_report", "run_probe", "verify_runtime"]

@dataclass
class VerifyReport(CheckSummary):
    runtime: BackendRuntime
    checks: list[Check] = field(default_factory=list)
    probe: dict | None = None
    seconds: float = 0.0
    expected_device: str = ""

    def repair_steps(self) -> set[str]:
        return {c.repair for c in self.checks if c.repair and c.status in (ERROR, WARNING)}

    def summary(self) -> str:
        if self.ok:
            extra = f", {len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}" if self.warnings else ""
            return f"verified: {sum(c.status == OK for c in self.checks)} checks passed{extra}"
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        return f"{first.title}: {first.message}{more}"

    def text(self) -> str:
        head = f"{self.runtime.summary()}\n"
        return head + "\n".join(c.line() for c in self.checks) + f"\n{self.summary()} ({self.seconds:.1f} s)"

    def as_dict(self) -> dict:
        return {"ok": self.ok, "summary": self.summary(), "seconds": round(self.seconds, 2),
                "expected_device": self.expected_device, "runtime": self.runtime.as_dict(),
                "checks": [asdict(c) for c in self.checks], "repair_steps": sorted(self.repair_steps()),
                "probe": self.probe}


def run_probe(runtime: BackendRuntime, *, scripts: tuple[str, ...] = TRAINING_SCRIPTS,
              cancel: CancelToken | None = None, log_line: Callable[[str], None] = lambda line: None,
              timeout: float = 900.0) -> tuple[dict | None, str]:
    """Run workers.env_probe in the runtime; (report, error text)."""
    from services.backend.proc import clean_env
    from services.backend.worker_launch import probe_pythonpath

    cmd = [str(runtime.python), "-m", "workers.env_probe", "--timeout", str(int(timeout))]
    if runtime.sd_scripts_dir and runtime.sd_scripts_dir.is_dir():
        cmd += ["--sd-scripts", str(runtime.sd_scripts_dir), "--scripts", ",".join(scripts)]
    env = clean_env({"PYTHONPATH": probe_pythonpath(runtime)})
    lines: list[str] = []
    cwd = runtime.root if runtime.root.is_dir() else Path.home()
    try:
        code = run_streaming(cmd, cwd=cwd, env=env, cancel=cancel, timeout=timeout + 60, on_line=lines.append)
    except TimeoutError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{runtime.python} cannot be run ({exc})"
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                report = json.loads(line)
            except ValueError:
                continue
            for other in lines:
                if other is not line and not other.startswith("$ "):
                    log_line(other)   # the libraries' own messages, for the log
            if "fatal" in report:
                return None, f"the probe failed: {report['fatal']}"
            return report, ""
    tail = "\n".join(lines[-15:])
    return None, f"the probe printed no result (exit code {code}):\n{tail}"


def verify_runtime(settings=None, *, plan: InstallPlan | None = None, layout: RuntimeLayout | None = None,
                   cancel: CancelToken | None = None, log_line: Callable[[str], None] = lambda line: None,
                   progress: Callable[[float | None, str], None] = lambda f, t: None,
                   scripts: tuple[str, ...] = TRAINING_SCRIPTS, timeout: float = 900.0,
                   save: bool = True) -> VerifyReport:
    """Everything that can be checked about the runtime the settings point to (blocking)."""
    began = time.monotonic()
    layout = layout or managed_layout()
    runtime = locate(settings, data_dir=layout.root.parent)
    report = VerifyReport(runtime)
    managed = runtime.managed
    if managed and plan is None:
        plan = load_plan(layout)
    checks = report.checks

    if managed and runtime.problems and runtime.problems[0] == NOT_INSTALLED:
        checks.append(Check("runtime", "Backend", ERROR, "no backend is installed yet",
                            "Install it: Settings > Training backend, or `lora-studio backend install`."))
        return _finish(report, began, layout, save)
    if runtime.state == "found":
        checks.append(Check("runtime", "Backend", OK, runtime.summary().split(": ", 1)[1]))
    elif runtime.state == "version":
        checks.append(Check("runtime", "Backend", ERROR if managed else WARNING, runtime.problems[0],
                            "Update it (Settings > Training backend > Update)." if managed else
                            "Accept this commit in Settings > Training backend, or install the managed backend.",
                            "engine" if managed else ""))
    if managed and ((runtime.python is not None and runtime.python.is_file()) or plan is not None):
        checks.extend(install_checks(layout, plan, runtime.tokenizer_cache_dir))
    if runtime.python is None or not runtime.python.is_file():
        checks.append(Check("python", "Python", ERROR, f"the interpreter {runtime.python} does not exist",
                            REPAIR_HINT if managed else "Choose an existing interpreter.", "venv" if managed else ""))
        return _finish(report, began, layout, save)
    if runtime.sd_scripts_dir is None or not runtime.sd_scripts_dir.is_dir():
        checks.append(Check("engine", "Training engine", ERROR, f"{runtime.sd_scripts_dir} does not exist",
                            REPAIR_HINT if managed else "Choose the sd-scripts folder.", "engine" if managed else ""))

    progress(None, "Running the checks in the backend's Python (torch, bitsandbytes, the training scripts)")
    log_line(f"probing {runtime.python}")
    probe, error = run_probe(runtime, scripts=scripts, cancel=cancel, log_line=log_line, timeout=timeout)
    if cancel is not None and cancel.cancelled:
        raise OperationCancelled()
    report.probe = probe
    if probe is None:
        checks.append(Check("probe", "Backend Python", ERROR, f"the checks could not run: {error}",
                            REPAIR_HINT if managed else "", "venv" if managed else ""))
        return _finish(report, began, layout, save)

    python = probe.get("python") or {}
    from services.version import SUPPORTED_PYTHON, supported_python_text

    minor = tuple(int(p) for p in str(python.get("version", "0.0")).split(".")[:2])
    if SUPPORTED_PYTHON[0] <= minor <= SUPPORTED_PYTHON[1]:
        checks.append(Check("python", "Python", OK, f"{python.get('version')} ({python.get('executable')})"))
    else:
        checks.append(Check("python", "Python", ERROR, f"Python {python.get('version')} is not supported "
                            f"({supported_python_text()})", REPAIR_HINT if managed else "", "venv" if managed else ""))
    found, report.expected_device = torch_checks(probe, plan if managed else None, managed)
    checks.extend(found)
    checks.append(torchvision_check(probe, managed, plan))
    checks.append(bnb_check(probe, plan.bitsandbytes if plan is not None else False, managed))
    if runtime.sd_scripts_dir is not None and runtime.sd_scripts_dir.is_dir():
        checks.extend(parser_checks(probe, managed))
        checks.extend(dependency_checks(probe, runtime, plan if managed else None, managed))
    checks.append(payload_check(probe, managed))
    if managed:
        if runtime.accelerate_config is None:
            checks.append(Check("accelerate", "Accelerate", ERROR, "the accelerate configuration is missing",
                                REPAIR_HINT, "accelerate"))
        else:
            checks.append(Check("accelerate", "Accelerate", OK, str(runtime.accelerate_config)))
    families = plan.families if plan is not None else DEFAULT_FAMILIES
    checks.append(tokenizer_check(runtime.tokenizer_cache_dir, families, managed))
    return _finish(report, began, layout, save)


def _finish(report: VerifyReport, began: float, layout: RuntimeLayout, save: bool) -> VerifyReport:
    report.seconds = time.monotonic() - began
    # A step found not current and a check that says precisely why (from the probe): keep the latter.
    explained = {c.repair for c in report.checks if c.status in (ERROR, WARNING) and c.repair
                 and not c.id.startswith("step.")}
    report.checks = [c for c in report.checks if not (c.id.startswith("step.") and c.repair in explained
                                                        and c.message.startswith("what it was installed from"))]
    if save and report.runtime.managed and layout.state.is_dir():
        from services.atomic import atomic_write_text

        try:
            atomic_write_text(layout.state / "verify.json", json.dumps(report.as_dict(), indent=1, default=str))
        except OSError:
            pass
    return report


def last_report(layout: RuntimeLayout | None = None) -> dict | None:
    layout = layout or managed_layout()
    try:
        return json.loads((layout.state / "verify.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

