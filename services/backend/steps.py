"""The install steps of the managed runtime, each idempotent and safe to interrupt.

A step is *current* when its marker (``state/<step>.json``) says "done", the inputs recorded there
equal the inputs now (the plan's choices, the files it installs from, and the run ids of the steps
it builds on), and a quick health check passes. Otherwise it runs: the marker is rewritten as
"started" first, and as "done" only after the step finished, so an interruption at any point leaves
a step that will be redone, never one that looks complete. A step whose upstream step was redone
(a new venv) sees a new run id among its inputs and runs again too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import time
import uuid
from pathlib import Path

from services.atomic import atomic_write_text
from services.backend.plan import InstallPlan, WheelSource
from services.backend.proc import run_capture
from services.backend.runtime import ENGINE_PROBE_FILE, RuntimeLayout, read_commit
from services.backend.step_context import Reporter, StepContext, now_iso
from services.errors import BackendError

__all__ = ["STEPS", "STEP_BY_ID", "Reporter", "Step", "StepContext", "is_current", "run_step"]

ACCELERATE_CONFIG_VERSION = 1
# Packages whose CUDA flavour has another name on PyPI (the captioning workers' ONNX runtime).
CUDA_SUBSTITUTES = {"onnxruntime": "onnxruntime-gpu"}


# --- steps -------------------------------------------------------------------------------

class Step:
    id = ""
    title = ""
    weight = 1.0   # share of the overall progress bar

    def describe(self, plan: InstallPlan) -> str:
        return ""

    def inputs(self, ctx: StepContext) -> dict:
        return {}

    def healthy(self, ctx: StepContext) -> str | None:
        """None when the result looks intact; otherwise what is wrong with it."""
        return None

    def run(self, ctx: StepContext) -> dict:
        raise NotImplementedError


def site_packages(layout: RuntimeLayout) -> list[Path]:
    return [*layout.venv.glob("lib/python*/site-packages"), *layout.venv.glob("Lib/site-packages")]


def has_distribution(layout: RuntimeLayout, name: str, version: str = "") -> bool:
    pattern = f"{name.replace('-', '_')}-{version or '*'}.dist-info"
    return any(any(sp.glob(pattern)) or any(sp.glob(pattern.lower())) for sp in site_packages(layout))


class VenvStep(Step):
    id, title, weight = "venv", "Python environment", 4

    def describe(self, plan):
        return f"A virtual environment with Python {plan.base_python_version} ({plan.base_python})"

    def inputs(self, ctx):
        return {"python": ctx.plan.base_python, "version": ctx.plan.base_python_version}

    def healthy(self, ctx):
        if not ctx.layout.python.is_file() or not (ctx.layout.venv / "pyvenv.cfg").is_file():
            return f"the interpreter {ctx.layout.python} is gone"
        return None

    def run(self, ctx):
        venv = ctx.layout.venv
        if venv.exists():  # a venv whose creation did not finish is never reused
            ctx.log(f"removing the unfinished environment {venv}")
            shutil.rmtree(venv)
        ctx.progress(None, f"Creating {venv}")
        ctx.run([ctx.plan.base_python, "-m", "venv", str(venv)], what="Creating the virtual environment")
        version = run_capture([ctx.layout.python, "-m", "pip", "--version"], timeout=120).stdout.strip()
        ctx.log(version)
        return {"pip": version}


class TorchStep(Step):
    id, title, weight = "torch", "PyTorch", 30

    def describe(self, plan):
        choice = plan.torch
        return f"{choice.label}: {' '.join(choice.packages)} from {plan.effective_torch_source.describe()}"

    def inputs(self, ctx):
        return {"packages": list(ctx.plan.torch.packages), "source": ctx.plan.effective_torch_source.pip_args(),
                "venv": ctx.run_id("venv")}

    def healthy(self, ctx):
        if not has_distribution(ctx.layout, "torch"):
            return "torch is not installed in the environment"
        return None

    def run(self, ctx):
        # The pins become constraints for every later pip command: nothing may pull another torch.
        atomic_write_text(ctx.constraints_file, "\n".join(ctx.plan.torch.packages) + "\n")
        ctx.pip_install(list(ctx.plan.torch.packages), source=ctx.plan.effective_torch_source,
                        what=f"Installing {ctx.plan.torch.label}")
        return {"packages": list(ctx.plan.torch.packages)}


class EngineStep(Step):
    id, title, weight = "engine", "Training engine (sd-scripts)", 5

    def describe(self, plan):
        return f"kohya-ss/sd-scripts at {plan.engine.commit[:8]} from {plan.engine.repository}"

    def inputs(self, ctx):
        return {"commit": ctx.plan.engine.commit}

    def healthy(self, ctx):
        folder = ctx.layout.sd_scripts
        if not (folder / ENGINE_PROBE_FILE).is_file():
            return f"{folder} holds no sd-scripts"
        commit, _ = read_commit(folder)
        if commit != ctx.plan.engine.commit:
            return f"sd-scripts is at {commit[:8] if commit else 'an unknown commit'}, not {ctx.plan.engine.commit[:8]}"
        return None

    def run(self, ctx):
        from services.backend.engine_source import EngineFetcher

        fetcher = EngineFetcher(log=ctx.log, progress=ctx.progress, cancel=ctx.cancel,
                                downloads=ctx.layout.downloads)
        details = fetcher.fetch(ctx.plan.engine.repository, ctx.plan.engine.commit, ctx.layout.sd_scripts)
        if details["missing_files"]:
            ctx.warnings.append(f"{len(details['missing_files'])} file(s) of sd-scripts were not in the source: "
                                + ", ".join(details["missing_files"][:5]))
        return details


def _file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def runtime_requirement_lines(plan: InstallPlan, requirements: list[str]) -> list[str]:
    """The payload's requirements, with the CUDA flavour of packages that have one."""
    if plan.torch.kind != "cuda":
        return list(requirements)
    lines = []
    for line in requirements:
        name = re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].strip()
        substitute = CUDA_SUBSTITUTES.get(name.lower())
        lines.append(substitute + line[len(name):] if substitute else line)
    return lines


class RequirementsStep(Step):
    id, title, weight = "requirements", "Engine requirements", 45

    def describe(self, plan):
        return ("sd-scripts' requirements.txt (transformers, diffusers, accelerate, bitsandbytes, ...) and "
                "the packages LoRA Studio's workers need, resolved together")

    def _payload_requirements(self, ctx) -> list[str]:
        from services.backend.payload import ensure_wheel

        _, _, requirements = ensure_wheel(ctx.layout.downloads / "payload")
        return runtime_requirement_lines(ctx.plan, requirements)

    def inputs(self, ctx):
        return {"requirements_txt": _file_sha(ctx.layout.sd_scripts / "requirements.txt"),
                "runtime": self._payload_requirements(ctx), "constraints": list(ctx.plan.torch.packages),
                "source": ctx.plan.packages_source.pip_args(), "venv": ctx.run_id("venv"),
                "engine": ctx.plan.engine.commit}

    def healthy(self, ctx):
        for name in ("accelerate", "transformers", "diffusers"):
            if not has_distribution(ctx.layout, name):
                return f"{name} is not installed in the environment"
        return None

    def run(self, ctx):
        requirements = ctx.layout.sd_scripts / "requirements.txt"
        if not requirements.is_file():
            raise BackendError(f"{requirements} does not exist.", "Run the setup again to fetch sd-scripts anew.")
        ours = ctx.layout.state / "runtime-requirements.txt"
        atomic_write_text(ours, "\n".join(self._payload_requirements(ctx)) + "\n")
        # sd-scripts' file ends with "-e ." (its `library` package): pip must run in its folder.
        ctx.pip_install(["-r", str(requirements), "-r", str(ours)], source=ctx.plan.packages_source,
                        cwd=ctx.layout.sd_scripts, what="Installing the engine's requirements")
        return {"requirements_txt": str(requirements)}


class WorkersStep(Step):
    id, title, weight = "workers", "LoRA Studio workers", 3

    def describe(self, plan):
        from services.version import app_version

        # Cheap on purpose (the wizard calls it on the GUI thread): the payload's exact version
        # needs its files hashed, which the step itself does.
        return f"LoRA Studio {app_version()}'s worker modules, for captioning and the engine checks"

    def inputs(self, ctx):
        from services.backend.payload import expected

        return {"fingerprint": expected().fingerprint, "venv": ctx.run_id("venv")}

    def healthy(self, ctx):
        from services.backend.payload import DIST_NAME, expected

        if not has_distribution(ctx.layout, DIST_NAME, expected().version):
            return "LoRA Studio's worker modules are not installed (or are another version)"
        return None

    def run(self, ctx):
        from services.backend.payload import ensure_wheel

        wheel, info, _ = ensure_wheel(ctx.layout.downloads / "payload")
        # The dependencies came with the requirements step; --no-deps keeps this from resolving again.
        ctx.pip_install(["--no-deps", "--force-reinstall", str(wheel)], source=WheelSource(no_index=True),
                        what="Installing LoRA Studio's worker modules")
        return {"version": info.version, "fingerprint": info.fingerprint, "wheel": wheel.name}


def accelerate_config_text(kind: str) -> str:
    """accelerate's default_config.yaml for one process on this machine; the runner adds
    --num_processes / --multi_gpu for several GPUs."""
    return "\n".join([
        "# Written by LoRA Studio's backend setup: one process on this machine.",
        "compute_environment: LOCAL_MACHINE",
        "debug: false",
        "distributed_type: 'NO'",
        "downcast_bf16: 'no'",
        "enable_cpu_affinity: false",
        "gpu_ids: all",
        "machine_rank: 0",
        "main_training_function: main",
        "mixed_precision: 'no'",  # sd-scripts passes its own --mixed_precision to the Accelerator
        "num_machines: 1",
        "num_processes: 1",
        "rdzv_backend: static",
        "same_network: true",
        "tpu_env: []",
        "tpu_use_cluster: false",
        "tpu_use_sudo: false",
        f"use_cpu: {'true' if kind == 'cpu' else 'false'}",
        "",
    ])


class AccelerateStep(Step):
    id, title, weight = "accelerate", "Accelerate configuration", 1

    def describe(self, plan):
        return f"accelerate's configuration for one {plan.torch.kind.upper()} process"

    def inputs(self, ctx):
        return {"kind": ctx.plan.torch.kind, "version": ACCELERATE_CONFIG_VERSION}

    def healthy(self, ctx):
        return None if ctx.layout.accelerate_config.is_file() else "the accelerate configuration is missing"

    def run(self, ctx):
        path = ctx.layout.accelerate_config
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, accelerate_config_text(ctx.plan.torch.kind))
        ctx.log(f"wrote {path}")
        return {"path": str(path)}


class TokenizersStep(Step):
    id, title, weight = "tokenizers", "Tokenizers", 3

    def describe(self, plan):
        from services.backend.tokenizer_cache import FAMILY_NAMES, specs_for

        names = ", ".join(FAMILY_NAMES[f] for f in plan.families)
        return f"the tokenizers for {names}: " + ", ".join(s.repo_id for s in specs_for(plan.families))

    def inputs(self, ctx):
        return {"families": sorted(ctx.plan.families), "dir": str(ctx.tokenizer_cache)}

    def healthy(self, ctx):
        from services.backend.tokenizer_cache import missing_for

        missing = missing_for(ctx.tokenizer_cache, ctx.plan.families)
        return f"tokenizers missing: {', '.join(missing)}" if missing else None

    def run(self, ctx):
        from services.backend.tokenizer_cache import MISSING_HINT, fill, missing_message

        report = fill(ctx.tokenizer_cache, ctx.plan.families, hf_cache=ctx.layout.downloads / "hf",
                      log_line=ctx.log, cancel=ctx.cancel)
        if report.missing:
            # Not a failure: training other families works, and verification names what is missing.
            ctx.warnings.append(missing_message([m for m, _ in report.missing], ctx.plan.families) + " " + MISSING_HINT)
        return {"filled": report.filled, "already": report.already, "missing": report.missing}


STEPS: tuple[Step, ...] = (VenvStep(), TorchStep(), EngineStep(), RequirementsStep(), WorkersStep(),
                           AccelerateStep(), TokenizersStep())
STEP_BY_ID = {s.id: s for s in STEPS}


def is_current(step: Step, ctx: StepContext) -> tuple[bool, str]:
    """(current?, why not) — the marker, its inputs and the health check."""
    marker = ctx.marker(step.id)
    if marker is None:
        return False, "not done yet"
    if marker.get("status") != "done":
        return False, "interrupted last time: it is redone"
    try:
        now = json.loads(json.dumps(step.inputs(ctx), default=str))
    except BackendError as exc:
        return False, exc.message
    before = marker.get("inputs") or {}
    if before != now:
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        return False, "what it was installed from has changed (" + ", ".join(changed) + ")"
    problem = step.healthy(ctx)
    if problem:
        return False, problem
    return True, ""


def run_step(step: Step, ctx: StepContext, reason: str = "") -> dict:
    """Run one step with its markers; returns its details. Exceptions propagate (marker: started)."""
    ctx.current = step.id
    inputs = json.loads(json.dumps(step.inputs(ctx), default=str))
    started = time.monotonic()
    ctx.write_marker(step.id, {"status": "started", "step": step.id, "inputs": inputs, "started_at": now_iso()})
    ctx.reporter.step_started(step.id, step.title)   # only now: a watcher never sees a step the markers do not
    if reason:
        ctx.log(f"{step.title}: {reason}")
    details = step.run(ctx)
    seconds = time.monotonic() - started
    ctx.write_marker(step.id, {"status": "done", "step": step.id, "inputs": inputs, "run_id": uuid.uuid4().hex,
                               "finished_at": now_iso(), "seconds": round(seconds, 2), "details": details})
    return details


def forget_step(layout: RuntimeLayout, step: str) -> None:
    with contextlib.suppress(OSError):
        layout.marker(step).unlink()
