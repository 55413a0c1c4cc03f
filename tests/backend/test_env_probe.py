"""workers/env_probe.py: one JSON object, whatever the runtime throws at it.

The misbehaving packages here (a torch that prints and fails, a bitsandbytes that crashes the
interpreter, a torchvision that hangs) are TEST DOUBLES written into a temporary folder that is put
first on the probe's PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _probe(*args: str, pythonpath: list[Path] = (), timeout: float = 120) -> tuple[dict, subprocess.CompletedProcess]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), str(ROOT)])
    proc = subprocess.run([sys.executable, "-m", "workers.env_probe", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, f"stdout must be one JSON line, got {proc.stdout!r}"
    return json.loads(lines[0]), proc


def _write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def test_the_real_torch_of_this_environment_is_described(tmp_path):
    report, proc = _probe("--in-process")
    assert proc.returncode == 0
    assert report["probe"] == 1
    assert report["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert report["python"]["executable"] == sys.executable
    torch = report["torch"]
    assert torch["installed"] is True and torch["version"].startswith("2.")
    assert torch["build"] == "cpu" and torch["cuda"]["available"] is False   # no GPU on this machine
    assert torch["compute"] == {"device": "cpu", "ok": True, "error": None}
    assert report["devices"][0]["type"] == "cpu" and report["devices"][0]["total_memory"] > 0
    assert report["packages"]["torch"] == torch["version"]
    assert report["payload"]["installed"] is None    # LoRA Studio is not installed in this venv
    assert all(meta["ok"] for name, meta in report["probes"].items() if name in ("python", "packages", "torch"))


def test_every_probe_is_isolated_from_crashes_hangs_and_noise(tmp_path):
    fakes = _write(tmp_path / "fakes", {
        # TEST DOUBLE: a torch whose native libraries are missing, and that prints while failing
        "torch/__init__.py": "print('noise on stdout from torch')\nraise OSError('libcudart.so.12: cannot open')\n",
        # TEST DOUBLE: a bitsandbytes that kills its interpreter (as a native crash would)
        "bitsandbytes/__init__.py": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        # TEST DOUBLE: a torchvision that never returns
        "torchvision/__init__.py": "import time\ntime.sleep(600)\n",
    })
    report, proc = _probe("--timeout", "5", pythonpath=[fakes])
    assert proc.returncode == 0
    assert "noise on stdout" in proc.stderr              # printed output went to stderr, not into the JSON
    assert report["torch"]["installed"] is False
    assert "OSError: libcudart.so.12" in report["torch"]["error"]
    assert report["bitsandbytes"]["usable"] is False
    assert "killed by signal" in report["bitsandbytes"]["error"]
    assert "did not finish within 5 s" in report["torchvision"]["error"]
    assert report["python"]["version"] and report["devices"][0]["type"] == "cpu"   # the rest still reported


def test_parsers_of_training_scripts_are_built_or_explained(tmp_path):
    # TEST DOUBLE: three "training scripts" in a stand-in engine folder
    engine = _write(tmp_path / "engine", {
        "library/__init__.py": "",
        "library/args.py": "import argparse\ndef base():\n    p = argparse.ArgumentParser()\n"
                           "    p.add_argument('--output_dir')\n    return p\n",
        "good_train.py": "from library.args import base\n\ndef setup_parser():\n    p = base()\n"
                         "    p.add_argument('--network_dim', type=int)\n    return p\n",
        "needs_module.py": "import voluptuous_not_installed\n\ndef setup_parser():\n    pass\n",
        "exits.py": "import sys\nsys.exit(3)\n",
    })
    report, _ = _probe("--in-process", "--sd-scripts", str(engine),
                          "--scripts", "good_train.py,needs_module.py,exits.py,absent.py")
    scripts = report["sd_scripts"]["scripts"]
    assert report["sd_scripts"]["dir"] == str(engine)
    assert scripts["good_train.py"]["ok"] and scripts["good_train.py"]["arguments"] == 3   # -h + 2
    assert scripts["needs_module.py"]["missing_module"] == "voluptuous_not_installed"
    assert scripts["exits.py"]["ok"] is False and "SystemExit" in scripts["exits.py"]["error"]
    assert "absent.py is not in" in scripts["absent.py"]["error"]


def test_a_bad_argument_still_ends_in_json():
    report, proc = _probe("--probe", "nonsense")
    assert proc.returncode == 0 and "fatal" in report and report["probe"] == 1
