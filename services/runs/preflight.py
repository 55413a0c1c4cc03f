"""Preflight: everything that can be checked before a run costs a GPU-hour, in seconds.

1. the project's validation has no errors (training-core's problems, passed in);
2. the backend runtime exists and its sd-scripts commit is the pinned one, or one the user accepted;
3. the engine's own argument parser accepts the run's arguments and config file, run in the backend
   runtime without training (``workers.run_check``), with the type and key checks the engine skips;
4. the dataset config passes the engine's own schema (same worker);
5. the tokenizers the family needs are in the tokenizer cache (runs are offline);
6. the output folder's disk has room for the checkpoints and states the run will write;
7. the VRAM the configuration needs -- an ESTIMATE, labelled so, with its assumptions -- against
   the detected (or stated) VRAM, with the memory settings that would make it fit.

Errors block the launch; warnings are shown and do not. ``run_preflight`` blocks: the GUI calls it
from a worker thread, the CLI directly.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomlkit

from services.check_summary import CheckSummary
from services.paths import repo_root
from services.runs import vram_estimate as ve
from services.runs.launch import engine_environment
from services.runs.process import ProcessTree
from services.runs.run_folder import RunFolder

log = logging.getLogger(__name__)

OK, WARNING, ERROR, SKIPPED = "ok", "warning", "error", "skipped"
ACCEPT_COMMIT = "accept_commit"  # the action that resolves a "version" backend state
UNKNOWN_COMMIT = "unknown"       # = services.backend.runtime.ACCEPT_UNKNOWN: a checkout without a readable commit

TOKENIZERS = {
    "sd1": ("openai/clip-vit-large-patch14",),
    "sd2": ("stabilityai/stable-diffusion-2",),
    "sdxl": ("openai/clip-vit-large-patch14", "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"),
    "flux": ("openai/clip-vit-large-patch14", "google/t5-v1_1-xxl"),
    "sd3": ("openai/clip-vit-large-patch14", "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k", "google/t5-v1_1-xxl"),
}
ENGINE_CHECK_TIMEOUT_S = 300.0


@dataclass
class Check:
    id: str
    title: str
    status: str
    message: str
    hint: str = ""
    details: list[str] = field(default_factory=list)
    action: str = ""


@dataclass
class PreflightReport(CheckSummary):
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    def get(self, check_id: str) -> Check | None:
        return next((c for c in self.checks if c.id == check_id), None)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "seconds": self.seconds, "checks": [asdict(c) for c in self.checks]}

    def text(self) -> str:
        marks = {OK: "ok  ", WARNING: "warn", ERROR: "FAIL", SKIPPED: "skip"}
        lines = []
        for c in self.checks:
            lines.append(f"[{marks[c.status]}] {c.title}: {c.message}")
            lines += [f"         {d}" for d in c.details]
            if c.hint and c.status in (WARNING, ERROR):
                lines.append(f"         → {c.hint}")
        return "\n".join(lines)


# --- the individual checks -------------------------------------------------------------------

def check_validation(problems) -> Check:
    title = "Parameters"
    if problems is None:
        return Check("validation", title, SKIPPED, "no project to validate (the run folder was made elsewhere)")

    def get(p, key, default=""):
        return p.get(key, default) if isinstance(p, dict) else getattr(p, key, default)

    errors = [p for p in problems if str(get(p, "severity", "error")).lower().endswith("error")]
    warnings = [p for p in problems if p not in errors]

    def line(p) -> str:
        where = get(p, "field") or get(p, "name")
        return f"{where}: {get(p, 'message')}" if where else str(get(p, "message"))

    if errors:
        return Check("validation", title, ERROR, f"{len(errors)} error(s) in the parameters",
                     "Fix them in the Parameters panel; each names its field.", [line(p) for p in errors][:20])
    if warnings:
        return Check("validation", title, WARNING, f"{len(warnings)} warning(s)", "", [line(p) for p in warnings][:20])
    return Check("validation", title, OK, "no problems")


def check_backend(runtime) -> Check:
    title = "Training backend"
    if runtime is None:
        return Check("backend", title, ERROR, "no backend runtime is known",
                     "Set one up in Settings ▸ Training backend.")
    if runtime.state == "missing":
        return Check("backend", title, ERROR, "; ".join(runtime.problems) or "not installed",
                     "Install or repair it (Settings ▸ Training backend, or `lora-studio backend install`).")
    commit = runtime.commit[:8] if runtime.commit else "an unknown commit"
    if runtime.state == "version":
        return Check("backend", title, ERROR,
                     f"sd-scripts is at {commit}, not at the pinned {runtime.pinned_commit[:8]}",
                     "Update the backend to the pinned commit, or accept this one if you know it works "
                     "(its arguments may differ from what LoRA Studio emits).", list(runtime.problems),
                     action=ACCEPT_COMMIT)
    pin = "the pinned commit" if runtime.is_pinned else "a commit you accepted"
    return Check("backend", title, OK, f"sd-scripts {commit} ({pin}), {runtime.python}")


def check_tokenizers(family: str, cache_dir: Path | None) -> Check:
    """The tokenizers the family needs, in the cache (the backend's own rule of what a complete
    tokenizer folder holds: services.backend.tokenizer_cache)."""
    from services.backend.tokenizer_cache import MISSING_HINT, missing_for, missing_message

    title = "Tokenizers (offline)"
    needed = TOKENIZERS.get(family, ())
    if not needed:
        return Check("tokenizers", title, SKIPPED, "unknown model family")
    if cache_dir is None:
        return Check("tokenizers", title, ERROR, "no tokenizer cache is set",
                     "Set up the backend; it fills the tokenizer cache while online.")
    missing = missing_for(cache_dir, [family])
    if missing:
        return Check("tokenizers", title, ERROR, missing_message(missing, [family]) + f" (cache: {cache_dir})",
                     MISSING_HINT)
    return Check("tokenizers", title, OK, ", ".join(needed))


def _saves(config: dict) -> int:
    steps = config.get("max_train_steps") if isinstance(config.get("max_train_steps"), int) else None
    epochs = config.get("max_train_epochs") if isinstance(config.get("max_train_epochs"), int) else None
    count = 1
    every_steps = config.get("save_every_n_steps")
    every_epochs = config.get("save_every_n_epochs")
    if isinstance(every_steps, int) and every_steps > 0:
        count += (steps // every_steps) if steps else 10
    if isinstance(every_epochs, int) and every_epochs > 0:
        count += (epochs // every_epochs) if epochs else 10
    for key in ("save_last_n_steps", "save_last_n_epochs"):
        if isinstance(config.get(key), int) and config[key] > 0:
            count = min(count, config[key] + 1)
    return count


def output_size_estimate(settings: ve.Settings_, config: dict) -> tuple[float, str]:
    """Bytes the run will write (checkpoints, training states, samples), and how that was reckoned."""
    precision = str(config.get("save_precision") or "fp16")
    per_weight = 4 if precision == "float" else 2
    if settings.mode == "lora":
        params = ve.LORA_PARAMS_PER_RANK_M.get(settings.family, 1.0) * 1e6 * max(1, settings.network_dim)
    else:
        model = ve.MODELS.get(settings.family, ve.MODELS["sd1"])
        params = (model["denoiser"] + model["text_encoders"] + model["vae"]) * 1e9
    checkpoint = params * per_weight
    saves = _saves(config)
    total = checkpoint * saves
    states = 0
    if config.get("save_state") or config.get("save_state_on_train_end"):
        states = params * 12 * (saves if config.get("save_state") else 1)  # weights + two moments, fp32
    total += states + 50 * 1024 ** 2  # samples and logs
    how = f"{saves} checkpoint(s) of about {checkpoint / 1024 ** 2:.0f} MB" + (
        f", training states of about {states / 1024 ** 3:.1f} GB" if states else "")
    return total, how


def check_disk(out: Path, needed_bytes: float, how: str) -> Check:
    title = "Disk space"
    probe = out
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError as exc:
        return Check("disk", title, WARNING, f"cannot read the free space of {probe}: {exc}")
    need_gb, free_gb = needed_bytes / 1024 ** 3, free / 1024 ** 3
    message = f"{free_gb:.1f} GB free in {probe}; the run writes about {need_gb:.1f} GB (estimate: {how})"
    if free < needed_bytes + 512 * 1024 ** 2:
        return Check("disk", title, ERROR, message, "Free some space, or choose another output folder.")
    if free < 2 * needed_bytes + 2 * 1024 ** 3:
        return Check("disk", title, WARNING, message, "Space is tight; later runs may not fit.")
    return Check("disk", title, OK, message)


def check_vram(settings: ve.Settings_, vram, profiles: dict[float, str] | None = None) -> Check:
    title = "Video memory (estimate)"
    est = ve.estimate(settings)
    details = [f"{label}: {gb:.1f} GB" for label, gb in est.parts] + \
              ["Assumptions: " + "; ".join(est.assumptions) + "."]
    if vram is None or not getattr(vram, "known", False):
        message = f"needs {est.describe()}"
        hint = getattr(vram, "message", "") or "No GPU detected; state its VRAM in Settings ▸ Hardware."
        return Check("vram", title, SKIPPED, message, hint, details)
    available = float(vram.gb)
    source = "detected" if getattr(vram, "source", "") == "detected" else "stated"
    message = f"needs {est.describe()}; {available:g} GB {source}"
    if est.total_gb <= available * 0.92:
        return Check("vram", title, OK, message, "", details)
    suggestion = ve.suggest(settings, available, profiles)
    hint = suggestion.text(available) or "Choose a lower memory profile, or lower the resolution or batch size."
    return Check("vram", title, WARNING, message + " — it probably does not fit", hint, details)


# --- the engine's own check ------------------------------------------------------------------------

def engine_check_command(python: str, sd_scripts: str, script: str, script_args: list[str]) -> list[str]:
    return [python, "-m", "workers.run_check", "--sd-scripts", sd_scripts, "--script", script, "--", *script_args]


def run_engine_check(python: str, sd_scripts: str, script: str, script_args: list[str], *,
                     timeout_s: float = ENGINE_CHECK_TIMEOUT_S, cancel: Callable[[], bool] | None = None,
                     runtime=None) -> dict:
    """Run workers.run_check in the backend runtime; its JSON answer, or {"error": ...}. With the
    ``runtime``, the worker modules come from where the backend says (services.backend.worker_launch:
    the source tree, the payload installed in a managed runtime, or an unpacked copy)."""
    env, _ = engine_environment(os.environ)
    if runtime is not None:
        from services.backend.worker_launch import worker_environment
        from services.errors import BackendError

        try:
            worker_env = worker_environment(runtime)
        except BackendError as exc:
            return {"error": exc.message, "output": exc.hint}
        if "PYTHONPATH" in worker_env:
            env["PYTHONPATH"] = worker_env["PYTHONPATH"]
    elif (repo_root() / "workers" / "run_check.py").is_file():
        env["PYTHONPATH"] = str(repo_root())  # a source checkout
    argv = engine_check_command(python, sd_scripts, script, script_args)
    try:
        tree = ProcessTree.start(argv, env=env, cwd=sd_scripts)
    except OSError as exc:
        return {"error": f"the backend's Python could not be started: {exc}"}
    chunks: list[bytes] = []

    def read() -> None:
        for chunk in iter(lambda: tree.stdout.read(65536), b""):
            chunks.append(chunk)

    reader = threading.Thread(target=read, name="engine-check-reader", daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    try:
        while tree.poll() is None:
            if cancel is not None and cancel():
                tree.terminate()
                return {"error": "cancelled", "cancelled": True}
            if time.monotonic() > deadline:
                tree.terminate()
                return {"error": f"the engine check did not answer within {timeout_s:.0f} s"}
            time.sleep(0.05)
        reader.join(timeout=5)
        tree.kill_leftovers()
    except BaseException:  # Ctrl+C in the terminal: the check runs in its own group, end it too
        tree.terminate(grace_s=1.0)
        raise
    finally:
        tree.close()
    text = b"".join(chunks).decode("utf-8", "replace")
    answer = None
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                answer = json.loads(line)
                break
            except ValueError:
                continue
    if answer is None:
        tail = "\n".join(text.splitlines()[-5:])
        return {"error": f"the engine check gave no answer (exit code {tree.popen.returncode})", "output": tail}
    return answer


def checks_from_engine(answer: dict, script: str) -> list[Check]:
    if answer.get("cancelled"):
        return [Check("engine", "Engine accepts the arguments", SKIPPED, "cancelled")]
    if answer.get("error") and "errors" not in answer:
        details = [answer["output"]] if answer.get("output") else []
        return [Check("engine", "Engine accepts the arguments", ERROR, answer["error"],
                      "Verify the backend (Settings ▸ Training backend ▸ Verify).", details),
                Check("dataset_schema", "Dataset config (engine schema)", SKIPPED, "not checked")]
    if answer.get("import_error"):
        module = answer.get("missing_module")
        hint = (f"The backend lacks the Python module “{module}”: repair it (Settings ▸ Training backend)."
                if module else "Verify the backend (Settings ▸ Training backend ▸ Verify).")
        return [Check("engine", "Engine accepts the arguments", ERROR, f"{script} could not be loaded: "
                      f"{answer['import_error']}", hint),
                Check("dataset_schema", "Dataset config (engine schema)", SKIPPED, "not checked")]
    errors = answer.get("errors") or []
    seconds = answer.get("seconds")
    took = f" ({seconds:.0f} s)" if isinstance(seconds, (int, float)) else ""
    checks = []
    if errors:
        details = [f"{e.get('where')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
        checks.append(Check("engine", "Engine accepts the arguments", ERROR,
                            f"{len(details)} problem(s) found by {script}'s own parser",
                            "Correct these values; the engine would fail on them or silently ignore them.",
                            details))
    else:
        checks.append(Check("engine", "Engine accepts the arguments", OK, f"{script}'s parser accepts them{took}"))
    dataset = answer.get("dataset")
    if dataset is None:
        checks.append(Check("dataset_schema", "Dataset config (engine schema)", SKIPPED, "the run has none"))
    elif dataset.get("ok"):
        checks.append(Check("dataset_schema", "Dataset config (engine schema)", OK, "accepted"))
    else:
        checks.append(Check("dataset_schema", "Dataset config (engine schema)", ERROR, str(dataset.get("error")),
                            "The engine would stop at once with this error; fix the dataset's subsets."))
    return checks


# --- orchestration ----------------------------------------------------------------------------------

def _dataset_config(run: RunFolder) -> dict:
    try:
        return tomlkit.parse(run.dataset_path.read_text(encoding="utf-8")).unwrap()
    except Exception:
        return {}


def run_preflight(run: RunFolder, settings=None, *, problems=None, runtime=None, vram=None,
                  engine_check: bool = True, memory_profiles: dict[float, str] | None = None,
                  cancel: Callable[[], bool] | None = None,
                  progress: Callable[[str], None] | None = None) -> PreflightReport:
    started = time.monotonic()
    report = PreflightReport()
    say = progress or (lambda _text: None)

    report.checks.append(check_validation(problems))
    if runtime is None and settings is not None:
        from services.backend.runtime import locate

        runtime = locate(settings)
    report.checks.append(check_backend(runtime))
    plan = run.plan()
    config = run.config()
    dataset = _dataset_config(run)
    memory = ve.Settings_.from_config(plan.script, config, dataset)

    script_name = Path(plan.script).name
    if runtime is not None and runtime.state != "missing" and engine_check:
        say("Asking the engine to check the arguments…")
        args = list(plan.script_args)
        answer = run_engine_check(str(runtime.python), str(runtime.sd_scripts_dir), plan.script, args,
                                  cancel=cancel, runtime=runtime if hasattr(runtime, "managed") else None)
        report.checks += checks_from_engine(answer, script_name)
    else:
        why = "no usable backend" if runtime is None or runtime.state == "missing" else "not asked for"
        report.checks.append(Check("engine", "Engine accepts the arguments", SKIPPED, why))
        report.checks.append(Check("dataset_schema", "Dataset config (engine schema)", SKIPPED, why))

    cache = config.get("tokenizer_cache_dir")
    cache_dir = Path(cache) if isinstance(cache, str) and cache else (
        Path(runtime.tokenizer_cache_dir) if runtime is not None and runtime.tokenizer_cache_dir else None)
    report.checks.append(check_tokenizers(memory.family, cache_dir))

    say("Checking disk space and video memory…")
    needed, how = output_size_estimate(memory, config)
    out = run.output_dir() or run.path
    report.checks.append(check_disk(out, needed, how))
    if vram is None and settings is not None:
        try:
            from services.hardware.vram import detected_or_stated_vram

            vram = detected_or_stated_vram(settings)
        except Exception as exc:  # detection never blocks a preflight
            log.warning("VRAM detection failed: %s", exc)
    if memory_profiles is None:
        from services.runs.profiles_info import memory_profile_tiers

        memory_profiles = memory_profile_tiers(memory.family)
    report.checks.append(check_vram(memory, vram, memory_profiles))
    report.seconds = round(time.monotonic() - started, 2)
    return report


def accept_commit(settings, runtime) -> None:
    """The user accepts the backend's non-pinned sd-scripts commit (stored in the settings). A checkout
    whose commit cannot be read (no .git folder, no marker) is accepted as "unknown"."""
    if runtime is not None and runtime.state != "missing":
        settings.backend.accepted_commit = runtime.commit or UNKNOWN_COMMIT

