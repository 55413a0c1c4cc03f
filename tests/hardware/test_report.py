"""The system report: the backend probe's JSON parsed, the report collected, rendered as text,
Markdown and JSON, and the `lora-studio system-report` command on this machine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from services.hardware import backend_facts as bf
from services.hardware.model import GIB, GpuInfo, GpuReading, HardwareSnapshot, ProviderStatus
from services.hardware.report import collect, collect_local
from services.hardware.report_render import render_markdown, render_text
from services.paths import app_dirs
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

CUDA_PROBE = {
    "probe": 1,
    "python": {"version": "3.11.9", "implementation": "CPython", "executable": "/rt/bin/python",
               "sys_platform": "linux", "machine": "x86_64"},
    "packages": {"torch": "2.7.1+cu128", "Accelerate": "1.6.0", "transformers": "4.54.1", "bitsandbytes": "0.45.5",
                 "onnxruntime": "1.20.0", "sentencepiece": "0.2.0"},
    "torch": {"installed": True, "version": "2.7.1+cu128", "build": "cuda",
              "cuda": {"build": "12.8", "available": True,
                       "devices": [{"type": "cuda", "index": 0, "name": "NVIDIA GeForce RTX 4090",
                                    "total_memory": 24 * GIB, "capability": "8.9"}]},
              "rocm": {"build": None, "available": False, "devices": []},
              "xpu": {"build": False, "available": False, "devices": []}, "mps": {"available": False},
              "compute": {"device": "cuda", "ok": True, "error": None}},
    "bitsandbytes": {"installed": True, "version": "0.45.5", "usable": False,
                     "error": "RuntimeError: CUDA Setup failed"},
    "devices": [], "probes": {},
}


def satisfying(requirements: list[str]) -> dict[str, str]:
    """Installed versions (crafted) that meet every requirement: each at its lower bound."""
    from packaging.requirements import Requirement

    versions = {}
    for line in requirements:
        requirement = Requirement(line)
        bounds = [s.version for s in requirement.specifier if s.operator in (">=", "==", "~=")]
        versions[requirement.name] = bounds[0] if bounds else "1.0"
    return versions


def probe_text(data: dict) -> str:
    return "some library printed this\n" + json.dumps(data) + "\n"


# --- parsing the probe ------------------------------------------------------------------------

def test_parse_a_cuda_runtime_with_unusable_bitsandbytes():
    facts = bf.parse_probe(probe_text(CUDA_PROBE))
    assert facts.python_version == "3.11.9" and facts.torch_version == "2.7.1+cu128" and facts.torch_build == "cuda"
    assert facts.device_summary() == "CUDA 12.8: NVIDIA GeForce RTX 4090 (24.0 GB)"
    assert [d.name for d in facts.gpu_devices] == ["NVIDIA GeForce RTX 4090"]
    assert facts.bitsandbytes_summary() == "installed (0.45.5) but not usable: RuntimeError: CUDA Setup failed"
    assert facts.packages["Accelerate"] == "1.6.0" and facts.compute_ok


def test_parse_rocm_xpu_and_builds_without_a_visible_gpu():
    rocm = {"torch": {"installed": True, "version": "2.7.1+rocm6.3", "build": "rocm",
                      "rocm": {"build": "6.3.42131", "available": True,
                               "devices": [{"index": 0, "name": "AMD Radeon RX 7900 XTX", "total_memory": 24 * GIB}]},
                      "cuda": {"build": None, "available": False, "devices": []}}}
    assert bf.parse_probe(json.dumps(rocm)).device_summary() == "ROCm 6.3.42131: AMD Radeon RX 7900 XTX (24.0 GB)"
    xpu = {"torch": {"installed": True, "xpu": {"build": True, "available": True, "devices": [{"name": "Arc B580"}]}}}
    assert bf.parse_probe(json.dumps(xpu)).device_summary() == "Intel XPU: Arc B580"
    blind = {"torch": {"installed": True, "cuda": {"build": "12.8", "available": False, "devices": []}}}
    assert bf.parse_probe(json.dumps(blind)).device_summary() == \
        "CPU only: torch is built for CUDA 12.8 but sees no GPU (driver missing or too old?)"


def test_parse_failures_and_partial_output():
    no_torch = bf.parse_probe(json.dumps({"torch": {"installed": False, "error": "ModuleNotFoundError: torch"},
                                          "bitsandbytes": {"installed": False, "usable": False}}))
    assert no_torch.device_summary() == "nothing: torch cannot be imported (ModuleNotFoundError: torch)"
    assert no_torch.bitsandbytes_summary().startswith("not installed")
    assert bf.parse_probe("").fatal == "the probe printed nothing"
    assert "not JSON" in bf.parse_probe("Traceback (most recent call last):").fatal
    assert bf.parse_probe("[1, 2]").fatal == "the probe's output is not a JSON object"
    fatal = bf.parse_probe(json.dumps({"probe": 1, "fatal": "SystemExit: 2"}))
    assert fatal.device_summary() == "unknown (the probe failed: SystemExit: 2)"
    odd = bf.parse_probe(json.dumps({"torch": {"installed": "yes", "cuda": {"devices": ["x", {"name": 5}]}},
                                     "packages": [1, 2]}))  # wrong types are unknown, not a crash
    assert odd.torch_installed is None and odd.packages == {}
    assert odd.accelerators["cuda"].devices[0].name == "5"


def test_run_probe_in_a_missing_interpreter_and_one_without_the_workers(monkeypatch, tmp_path):
    assert bf.run_probe(tmp_path / "no-python").fatal.startswith("the interpreter")
    monkeypatch.setattr(bf, "probe_environment",
                        lambda _path=None: {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    facts = bf.run_probe(sys.executable, timeout_s=60)
    assert "worker modules are not installed in this runtime" in facts.fatal


# --- the report -------------------------------------------------------------------------------

def scripted_snapshot() -> HardwareSnapshot:
    gpu = GpuInfo(key="nvml:0", vendor="NVIDIA", index=0, name="NVIDIA GeForce RTX 4090", provider="nvml",
                  memory_total=24 * GIB, driver="nvidia 570.1", cuda_version="12.8", compute_capability="8.9",
                  power_limit_w=450.0, unavailable=("temperature",))
    reading = GpuReading(key="nvml:0", utilisation=3.0, memory_used=GIB, memory_total=24 * GIB, power_w=31.0)
    return HardwareSnapshot(cpu=None, gpus=[gpu], providers=[ProviderStatus("nvml", "NVIDIA", True, "ok", 1)],
                            readings=[reading])


def test_report_with_a_crafted_cuda_runtime_renders_every_part(tmp_path):
    settings = Settings()
    settings.backend.python = str(tmp_path / "rt" / "bin" / "python")
    (tmp_path / "rt" / "bin").mkdir(parents=True)
    Path(settings.backend.python).write_text("", encoding="utf-8")
    seen = []

    from services.hardware.report import backend_requirements

    complete = {**CUDA_PROBE, "packages": {**satisfying(backend_requirements(None)), **CUDA_PROBE["packages"]}}

    def probe(python, **kwargs):
        seen.append((python, kwargs))
        return bf.parse_probe(json.dumps(complete))

    report = collect(settings, app_dirs(), snapshot=scripted_snapshot(), probe=probe)
    # The located runtime is probed, with the worker modules of this checkout on its path.
    assert seen == [(settings.backend.python, {"pythonpath": str(ROOT)})]
    backend = report["backend"]
    assert backend["status"] == "probed" and backend["python_supported"] is True
    assert backend["chosen_by"] == "the external backend runtime"
    assert backend["facts"]["devices"] == "CUDA 12.8: NVIDIA GeForce RTX 4090 (24.0 GB)"
    deps = backend["dependencies"]
    assert deps["ok"] and deps["environment"] == "backend runtime"
    assert backend["key_packages"]["accelerate"] == "1.6.0"
    assert report["vram"]["gb"] == 24.0 and report["vram"]["source"] == "detected"
    json.dumps(report)  # JSON-ready throughout

    markdown = render_markdown(report)
    assert markdown.startswith("## LoRA Studio system report")
    assert "| 0 | NVIDIA GeForce RTX 4090 | 24.0 GB | 1.0 GB | nvidia 570.1 | 12.8 | 8.9 | n/a | 31 / 450 W |" \
        in markdown
    assert "- **bitsandbytes:** installed (0.45.5) but not usable: RuntimeError: CUDA Setup failed" in markdown
    assert "- GPU 0: not reported by its driver: temperature" in markdown
    text = render_text(report)
    assert "Training device  CUDA 12.8: NVIDIA GeForce RTX 4090 (24.0 GB)" in text
    assert "|" not in text.split("Free disk space")[0]


def test_backend_dependency_problems_come_with_their_fix(tmp_path):
    from services.hardware.report import backend_requirements

    broken = json.loads(json.dumps(CUDA_PROBE))
    broken["packages"] = {**satisfying(backend_requirements(None)), "torch": "2.1.0", "transformers": "4.30.0"}
    scripts = tmp_path / "sd-scripts"
    scripts.mkdir()
    (scripts / "requirements.txt").write_text("torch>=2.4\ntransformers==4.54.1\n-e .\n", encoding="utf-8")
    report = collect(Settings(), app_dirs(), snapshot=scripted_snapshot(), backend_python="/rt/python",
                     sd_scripts_dir=str(scripts), probe=lambda _p: bf.parse_probe(json.dumps(broken)))
    deps = report["backend"]["dependencies"]
    assert not deps["ok"]
    assert deps["fix_commands"][0].startswith("/rt/python -m pip install transformers==4.54.1 'transformers>=4.44'")
    assert "lora-studio backend repair" in deps["fix_commands"]  # torch is never a plain pip install
    markdown = render_markdown(report)
    assert "- torch: 2.1.0, needs >=2.4" in markdown and "```\nlora-studio backend repair\n```" in markdown
    assert "Not checked: `-e .`" in markdown


def test_a_failed_probe_and_no_runtime_are_reported_not_raised(monkeypatch):
    failed = collect(Settings(), app_dirs(), snapshot=scripted_snapshot(), backend_python="/x/python",
                     probe=lambda _p: bf.BackendFacts(fatal="the probe did not finish within 300 s"))
    assert failed["backend"]["status"] == "failed"
    assert re.search(r"\nProbe +failed: the probe did not finish within 300 s\n", render_text(failed))
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # an installed build with no runtime
    none = collect(Settings(), app_dirs(), snapshot=scripted_snapshot(), probe=pytest.fail)
    assert none["backend"]["status"] == "not-installed" and none["backend"]["python"] is None
    assert "install the training backend" in render_text(none)


def test_local_report_of_this_machine():
    report = collect_local(Settings(), app_dirs())
    assert report["python"]["supported"] is True and report["python"]["version"] == ".".join(
        str(p) for p in sys.version_info[:3])
    assert report["gui_dependencies"]["ok"]
    assert report["hardware"]["cpu"]["logical_cores"] >= 1
    labels = [row["label"] for row in report["disk"]]
    assert labels[:2] == ["training output", "LoRA Studio cache"]
    assert all(row["free_bytes"] > 0 for row in report["disk"])
    assert report["backend"] == {"status": "pending"}
    assert "Being probed" in render_markdown(report)


# --- the command ------------------------------------------------------------------------------

def cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """`lora-studio system-report ARGS`, then (on stderr) which ML modules the process imported."""
    code = ("import sys, json\nfrom app.cli import main\ncode = main(sys.argv[1:])\nsys.stdout.flush()\n"
            "print('IMPORTED=' + json.dumps(sorted(m for m in ('torch', 'bitsandbytes', 'transformers') "
            "if m in sys.modules)), file=sys.stderr)\nsys.exit(code)\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", code, "system-report", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_json_describes_this_machine_and_both_environments():
    done = cli("--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["report_version"] == 1
    assert report["os"]["system"] and report["python"]["supported"] is True
    assert report["gui_dependencies"]["ok"] is True
    if not report["hardware"]["gpus"]:
        assert report["hardware"]["summary"].startswith("No GPU detected.")
    backend = report["backend"]
    assert backend["status"] == "probed", backend
    torch = backend["facts"]["torch"]
    assert torch["installed"] and torch["version"] == version("torch")
    assert backend["facts"]["devices"]  # one sentence on what training would run on
    assert backend["facts"]["bitsandbytes"]["summary"]
    assert backend["dependencies"]["environment"] == "backend runtime"
    assert "IMPORTED=[]" in done.stderr  # torch was asked about in its own interpreter, never imported here


def test_cli_text_and_markdown_without_the_backend():
    text = cli("--no-backend")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("LoRA Studio system report")
    for heading in ("System", "GPUs", "Training backend", "GUI dependencies", "Free disk space"):
        assert f"\n{heading}\n" in text.stdout
    assert "Not probed (--no-backend)." in text.stdout
    markdown = cli("--no-backend", "--markdown")
    assert markdown.stdout.startswith("## LoRA Studio system report") and "### GPUs" in markdown.stdout
