"""The real engine accepts what we emit: every family x mode x algorithm, a typical project and one
with every applicable parameter set, through sd-scripts' own parser (with our type checks, since it
does not check config files), its dataset-config sanitizer and dataset builder, and accelerate's
launch parser. Runs the probe in the backend Python. Skipped without a fetched sd-scripts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from services.training.emit import EmitOptions, emit_run_folder
from services.training.families import Mode
from tests.training.combos import combinations, combo_id, make_project, maximal

SD_SCRIPTS = os.environ.get("LORA_STUDIO_SDSCRIPTS")
BACKEND_PYTHON = os.environ.get("LORA_STUDIO_SDSCRIPTS_PYTHON")
PROBE = Path(__file__).resolve().parents[1] / "support" / "sdscripts_probe.py"

pytestmark = [
    pytest.mark.sdscripts, pytest.mark.slow, pytest.mark.timeout(2400),
    pytest.mark.skipif(not (SD_SCRIPTS and BACKEND_PYTHON), reason="needs LORA_STUDIO_SDSCRIPTS(_PYTHON)"),
]
CASES = [(combo, kind) for combo in combinations() for kind in ("typical", "maximal")]


@pytest.fixture(scope="module")
def probe_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine")
    cases: dict[str, list[dict]] = {}
    for combo, kind in CASES:
        name = f"{combo_id(combo)}-{kind}"
        project = make_project(root / name / "src", *combo, reg=combo[1] is not Mode.FINETUNE)
        if kind == "maximal":
            maximal(project, root / name / "src")
        run = emit_run_folder(project, root / name / "run",
                              EmitOptions(sd_scripts_dir=SD_SCRIPTS, python=BACKEND_PYTHON,
                                          allow_errors=kind == "maximal"))
        launch_args = list(run.argv[3:])
        cases.setdefault(run.script, []).append({"name": name, "script": run.script, "config": str(run.config_path),
                                                 "dataset": str(run.dataset_path), "launch_args": launch_args})
    results = {}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for script, items in cases.items():
        case_file = root / f"cases-{script}.json"
        case_file.write_text(json.dumps(items), encoding="utf-8")
        proc = subprocess.run([BACKEND_PYTHON, str(PROBE), SD_SCRIPTS, str(case_file)], capture_output=True,
                              text=True, timeout=900, env=env)
        lines = [json.loads(line[6:]) for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
        assert len(lines) == len(items), proc.stderr[-3000:]
        for item, result in zip(items, lines):
            results[item["name"]] = result
    return results


@pytest.mark.parametrize(("combo", "kind"), CASES, ids=[f"{combo_id(c)}-{k}" for c, k in CASES])
def test_engine_accepts_the_emitted_run(probe_results, combo, kind):
    result = probe_results[f"{combo_id(combo)}-{kind}"]
    assert not result["problems"], json.dumps(result, indent=1)[-4000:]
    mode = combo[1]
    assert result["images"] == 20  # 4 images x 5 repeats
    assert result["reg_images"] == (0 if mode is Mode.FINETUNE else 4)  # the regularisation subset: 4 x 1
    assert result["launch"]["script"].endswith(result["script"])
    assert result["launch"]["script_args"][0] == "--config_file"
