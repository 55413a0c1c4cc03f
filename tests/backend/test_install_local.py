"""Installing the managed runtime from local sources only: a git repository of the stand-in engine
and a folder of stand-in wheels (TEST DOUBLES, see tests/backend/doubles/). No network."""

from __future__ import annotations

import json
import time

from conftest import Recorder

from services.backend import runtime
from services.backend.installer import Installer
from services.backend.steps import STEPS


def test_install_from_local_sources_verifies_and_is_idempotent(local_plan, lora_home):
    recorder = Recorder()
    result = Installer(local_plan, reporter=recorder).run()
    assert result.error is None, (result.error, result.error and result.error.details)
    assert [s.step for s in result.steps] == [s.id for s in STEPS] + ["verify"]
    assert all(s.outcome == "done" for s in result.steps), result.steps
    report = result.verification
    assert report.ok, report.text()
    print(report.text())

    rt = runtime.locate()
    assert rt.state == "found" and rt.managed and rt.is_pinned
    assert rt.python_version == local_plan.base_python_version
    layout = runtime.managed_layout()
    assert (layout.state / "constraints.txt").read_text().split() == ["torch==2.13.0", "torchvision==0.28.0"]
    assert "use_cpu: true" in layout.accelerate_config.read_text()
    assert (rt.tokenizer_cache_dir / "openai_clip-vit-large-patch14" / "vocab.json").is_file()
    assert report.probe["payload"]["installed"]["fingerprint"]

    began = time.monotonic()
    again = Installer(local_plan, reporter=Recorder()).run(verify=False)
    assert [s.outcome for s in again.steps] == ["skipped"] * len(STEPS)
    assert time.monotonic() - began < 10
    summary = json.loads((layout.state / "last-run.json").read_text())
    assert summary["ok"] and len(summary["steps"]) == len(STEPS)
