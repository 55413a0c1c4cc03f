"""The findings of a verification, one function per subject: each turns what the probe (or the
install markers) says into ``Check`` objects with a sentence, a hint and the step that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.backend.plan import InstallPlan
from services.backend.proc import CancelToken
from services.backend.runtime import BackendRuntime, RuntimeLayout, managed_layout

OK, INFO, WARNING, ERROR = "ok", "info", "warning", "error"
# The training scripts LoRA Studio launches; each must build its argument parser.
TRAINING_SCRIPTS = ("train_network.py", "sdxl_train_network.py", "flux_train_network.py", "sd3_train_network.py",
                    "train_db.py", "fine_tune.py", "sdxl_train.py", "flux_train.py", "sd3_train.py")
DEVICE_NAMES = {"cuda": "an NVIDIA GPU (CUDA)", "rocm": "an AMD GPU (ROCm)", "xpu": "an Intel GPU (XPU)",
                "mps": "the Apple GPU (Metal)", "cpu": "the CPU"}
REPAIR_HINT = "Run Repair (Settings > Training backend, or `lora-studio backend repair`)."


@dataclass
class Check:
    id: str
    title: str
    status: str            # ok | info | warning | error
    message: str
    hint: str = ""
    repair: str = ""       # the install step Repair re-runs for this finding ("" = none)

    def line(self) -> str:
        mark = {OK: "ok", INFO: "--", WARNING: "!!", ERROR: "XX"}[self.status]
        text = f"[{mark}] {self.title}: {self.message}"
        return text + (f"\n       hint: {self.hint}" if self.hint and self.status in (WARNING, ERROR) else "")


# --- the checks --------------------------------------------------------------------------

def install_checks(layout: RuntimeLayout, plan: InstallPlan | None, tokenizer_cache: Path) -> list[Check]:
    from services.backend.steps import STEPS, Reporter, StepContext, is_current

    checks: list[Check] = []
    if plan is None:
        return [Check("install", "Installation", ERROR, "the installation plan (state/plan.json) is missing",
                      "Install the backend again; finished steps are kept.", "venv")]
    ctx = StepContext(plan=plan, layout=layout, tokenizer_cache=tokenizer_cache, cancel=CancelToken(),
                      reporter=Reporter())
    for step in STEPS:
        current, why = is_current(step, ctx)
        if current:
            continue
        status = WARNING if step.id == "tokenizers" else ERROR
        checks.append(Check(f"step.{step.id}", step.title, status, why, REPAIR_HINT, step.id))
    if not checks:
        checks.append(Check("install", "Installation", OK, "every step finished"))
    engine = ctx.marker("engine") or {}
    missing = (engine.get("details") or {}).get("missing_files") or []
    if missing:
        checks.append(Check("engine.files", "Training engine files", WARNING,
                             f"{len(missing)} file(s) of the commit were not in the source and are absent: "
                             + ", ".join(missing[:4]), "They are not needed for the families LoRA Studio trains; "
                             "reinstall from the upstream repository to have them."))
    return checks


def torch_checks(probe: dict, plan: InstallPlan | None, managed: bool) -> tuple[list[Check], str]:
    checks: list[Check] = []
    torch = probe.get("torch") or {}
    repair = "torch" if managed else ""
    if not torch.get("installed"):
        checks.append(Check("torch", "PyTorch", ERROR, f"torch cannot be imported: {torch.get('error') or 'unknown'}",
                            REPAIR_HINT if managed else "Reinstall torch in that environment.", repair))
        return checks, ""
    version = str(torch.get("version") or "")
    build = torch.get("build", "cpu")
    expected = plan.torch.kind if plan is not None else ""
    if plan is not None and version.split("+")[0] != plan.torch.torch:
        checks.append(Check("torch.version", "PyTorch", ERROR,
                            f"torch {version} is installed, the plan pins {plan.torch.torch}", REPAIR_HINT, repair))
    if expected and build != expected and not (expected == "mps" and build == "cpu"):
        checks.append(Check("torch.build", "PyTorch build", ERROR,
                            f"torch {version} is a {build.upper()} build, {expected.upper()} was chosen",
                            REPAIR_HINT, repair))
    seen = {"cuda": (torch.get("cuda") or {}).get("available"), "rocm": (torch.get("rocm") or {}).get("available"),
            "xpu": (torch.get("xpu") or {}).get("available"), "mps": (torch.get("mps") or {}).get("available")}
    devices = [d for d in probe.get("devices", []) if d.get("type") != "cpu"]
    names = ", ".join(f"{d.get('name', '?')} ({(d.get('total_memory') or 0) / 1024 ** 3:.0f} GB)" for d in devices)
    if expected and expected not in ("cpu", "mps") and not seen.get(expected):
        hints = {"cuda": "Check the NVIDIA driver (run nvidia-smi); a driver older than the CUDA build needs "
                         "updating. Then run Verify again.",
                 "rocm": "Check that the amdgpu driver and ROCm see the GPU (rocminfo); some cards need "
                         "HSA_OVERRIDE_GFX_VERSION. Then run Verify again.",
                 "xpu": "Install Intel's GPU driver (with Level Zero), then run Verify again."}
        checks.append(Check("torch.device", "Device", ERROR,
                            f"torch {version} does not see {DEVICE_NAMES[expected]}", hints[expected]))
    else:
        what = names or "the CPU only"
        status = OK if devices or expected in ("cpu", "") else WARNING
        checks.append(Check("torch.device", "Device", status, f"torch {version} sees {what}"))
    compute = torch.get("compute") or {}
    if compute and not compute.get("ok"):
        checks.append(Check("torch.compute", "Computation", ERROR,
                            f"a test computation on {compute.get('device')} failed: {compute.get('error')}",
                            "Check the GPU driver; " + REPAIR_HINT, repair))
    elif compute:
        checks.append(Check("torch.compute", "Computation", OK, f"a test computation ran on {compute.get('device')}"))
    return checks, expected


def torchvision_check(probe: dict, managed: bool, plan: InstallPlan | None) -> Check:
    vision = probe.get("torchvision") or {}
    if vision.get("installed"):
        return Check("torchvision", "torchvision", OK, f"torchvision {vision.get('version')} imports")
    error = str(vision.get("error") or "not installed")
    torch_version = str((probe.get("torch") or {}).get("version") or "?")
    if "does not exist" in error and "torchvision::" in error:
        index = plan.effective_torch_source.describe() if plan is not None else "the index torch came from"
        message = (f"torchvision {vision.get('version')} is built for another torch than {torch_version} "
                   f"(its operators do not load: {error.splitlines()[0][:160]})")
        hint = (f"torchvision must come from the same index as torch (here: {index}); PyPI's Linux wheels are "
                "CUDA builds. " + (REPAIR_HINT if managed else "Reinstall torchvision from torch's index."))
    else:
        message = f"torchvision cannot be imported: {error.splitlines()[0][:200]}"
        hint = REPAIR_HINT if managed else "Install torchvision matching torch in that environment."
    return Check("torchvision", "torchvision", ERROR, message, hint, "torch" if managed else "")


def bnb_check(probe: dict, wanted: bool, managed: bool) -> Check:
    bnb = probe.get("bitsandbytes") or {}
    if bnb.get("installed") and bnb.get("usable"):
        return Check("bitsandbytes", "bitsandbytes", OK,
                     f"bitsandbytes {bnb.get('version')} works on {bnb.get('device')}")
    error = str(bnb.get("error") or "not installed").splitlines()[0][:200]
    if not wanted:
        return Check("bitsandbytes", "bitsandbytes", INFO, f"not usable ({error}); 8-bit optimizers were not chosen")
    return Check("bitsandbytes", "bitsandbytes", ERROR, f"8-bit optimizers were chosen but bitsandbytes does not work: "
                 f"{error}", REPAIR_HINT if managed else "Reinstall bitsandbytes in that environment.",
                 "requirements" if managed else "")


def parser_checks(probe: dict, managed: bool) -> list[Check]:
    engine = probe.get("sd_scripts") or {}
    scripts = engine.get("scripts") or {}
    if not scripts:
        return [Check("parsers", "Training scripts", ERROR,
                      f"the parser check did not run: {engine.get('error') or 'no sd-scripts folder'}",
                      REPAIR_HINT if managed else "", "requirements" if managed else "")]
    failed = {name: r for name, r in scripts.items() if not r.get("ok")}
    if not failed:
        total = sum(r.get("arguments", 0) for r in scripts.values())
        return [Check("parsers", "Training scripts", OK,
                      f"{len(scripts)} scripts build their argument parsers ({total} arguments)")]
    checks = []
    vision = [n for n, r in failed.items() if "torchvision" in str(r.get("error")) + str(r.get("traceback_tail", ""))
              and not r.get("missing_module")]
    if vision:
        which = f"all {len(scripts)}" if len(vision) == len(scripts) else \
            f"{len(vision)} of {len(scripts)} ({', '.join(vision)})"
        checks.append(Check("parsers.torchvision", "Training scripts", ERROR,
                            f"{which} cannot be imported because torchvision does not load",
                            "See the torchvision check.", "torch" if managed else ""))
    modules: dict[str, list[str]] = {}
    for name, result in failed.items():
        if result.get("missing_module"):
            modules.setdefault(result["missing_module"], []).append(name)
    for module, names in modules.items():
        step = "torch" if module.split(".")[0] in ("torch", "torchvision") else "requirements"
        checks.append(Check(f"parsers.{module}", "Training scripts", ERROR,
                            f"{', '.join(names)} need{'s' if len(names) == 1 else ''} the module {module!r}, "
                            "which is not installed",
                            REPAIR_HINT if managed else f"Install {module} in that environment.",
                            step if managed else ""))
    for name, result in failed.items():
        if name in vision or result.get("missing_module"):
            continue
        error = str(result.get("error") or "").splitlines()[0][:220]
        checks.append(Check(f"parser.{name}", name, ERROR, f"cannot build its argument parser: {error}",
                            REPAIR_HINT if managed else "", "engine" if managed else ""))
    return checks


def dependency_checks(probe: dict, runtime: BackendRuntime, plan: InstallPlan | None, managed: bool) -> list[Check]:
    """Installed versions against sd-scripts' requirements and the workers' (and the torch pins):
    the hardware area's dependency checker. torch and torchvision apart: Repair fixes them with
    the torch step, everything else with the requirements step."""
    from services.backend.payload import ensure_wheel
    from services.backend.steps import runtime_requirement_lines
    from services.hardware import dependency_check as dc
    from services.hardware.requirements import requirements_file

    requirements = requirements_file(runtime.sd_scripts_dir / "requirements.txt") if runtime.sd_scripts_dir else []
    if managed and plan is not None:
        layout = managed_layout(runtime.root.parent)
        _, _, ours = ensure_wheel(layout.downloads / "payload")
        requirements += runtime_requirement_lines(plan, ours) + list(plan.torch.packages)
    python = probe.get("python") or {}
    report = dc.check(requirements, probe.get("packages") or {}, environment="backend runtime",
                      python=str(runtime.python),
                      marker_environment=dc.marker_environment_for(python.get("version", "3.11.0"),
                                                                   sys_platform=python.get("sys_platform"),
                                                                   platform_machine=python.get("machine")),
                      fix_overrides={"torch": "lora-studio backend repair", "torchvision": "lora-studio backend repair"}
                      if managed else None)
    torch_problems = [p for p in report.problems if p.name in ("torch", "torchvision")]
    other = [p for p in report.problems if p.name not in ("torch", "torchvision")]
    checks = []
    if torch_problems:
        checks.append(Check("dependencies.torch", "PyTorch packages", ERROR,
                            "; ".join(p.describe() for p in torch_problems),
                            REPAIR_HINT if managed else "Install the torch build you need in that environment.",
                            "torch" if managed else ""))
    if not other:
        ok = len(report.checks) - len(torch_problems)
        checks.append(Check("dependencies", "Packages", OK, f"{ok} requirements satisfied"))
        return checks
    text = "; ".join(p.describe() for p in other[:6]) + (f" (and {len(other) - 6} more)" if len(other) > 6 else "")
    summary = f"{len(other)} of {len(report.checks)} requirements not met"
    if managed:
        checks.append(Check("dependencies", "Packages", ERROR, f"{summary}: {text}", REPAIR_HINT, "requirements"))
    else:
        checks.append(Check("dependencies", "Packages", WARNING, f"{summary}: {text}",
                            "Fix: " + " ; ".join(report.fix_commands())))
    return checks


def payload_check(probe: dict, managed: bool) -> Check:
    from services.backend.payload import expected

    want = expected()
    if not managed:
        return Check("workers", "LoRA Studio workers", INFO,
                     f"not installed into this external environment; they run from LoRA Studio's copy ({want.version})")
    installed = (probe.get("payload") or {}).get("installed")
    if not installed:
        return Check("workers", "LoRA Studio workers", ERROR, "LoRA Studio's worker modules are not installed",
                     REPAIR_HINT, "workers")
    if installed.get("fingerprint") != want.fingerprint:
        message = (f"the installed worker modules are {installed.get('version')}, this LoRA Studio brings "
                   f"{want.version}")
        if want.origin == "source":  # a checkout runs its workers from the tree; the copy matters once frozen
            return Check("workers", "LoRA Studio workers", WARNING,
                         message + " (in this source checkout the workers run from the tree)", REPAIR_HINT, "workers")
        return Check("workers", "LoRA Studio workers", ERROR, message, REPAIR_HINT, "workers")
    return Check("workers", "LoRA Studio workers", OK, f"{want.version} installed")


def tokenizer_check(cache: Path, families, managed: bool) -> Check:
    from services.backend.tokenizer_cache import MISSING_HINT, missing_message, status

    states = status(cache, families)
    missing = [s.spec.repo_id for s in states if not s.present]
    if missing:
        if managed:
            return Check("tokenizers", "Tokenizers", WARNING, missing_message(missing, families), MISSING_HINT,
                         "tokenizers")
        return Check("tokenizers", "Tokenizers", WARNING, missing_message(missing, families),
                     "Connect to the internet, then run `lora-studio backend tokenizers` "
                     "(or Fill tokenizers in Settings > Training backend).")
    sources = sorted({s.source for s in states})
    return Check("tokenizers", "Tokenizers", OK, f"{len(states)} cached in {cache} ({', '.join(sources)})")
