"""Installing the managed runtime from local sources only: a git repository of the stand-in engine
and a folder of stand-in wheels (TEST DOUBLES, see tests/backend/doubles/). No network."""

from __future__ import annotations

import json
import time

from conftest import Recorder

from services.backend import runtime
from services.backend.installer import Installer
from services.backend.steps import STEPS


def test_install_from_local_sources_verifies(installed_template):
    home, _plan, result, recorder = installed_template
    assert result.error is None, (result.error, result.error and result.error.details)
    assert [s.step for s in result.steps] == [s.id for s in STEPS] + ["verify"]
    assert all(s.outcome == "done" for s in result.steps), result.steps
    report = result.verification
    assert report.ok, report.text()
    statuses = {c.id: c.status for c in report.checks}
    assert statuses["torch.device"] == "ok" and statuses["parsers"] == "ok" and statuses["workers"] == "ok"
    assert statuses["bitsandbytes"] == "info"          # not chosen: reported, not required
    assert report.probe["payload"]["installed"]["fingerprint"]
    # every step reported its start and its end, in order
    assert [e[1] for e in recorder.events if e[0] == "started"] == [s.id for s in STEPS] + ["verify"]
    assert recorder.finished() == {**{s.id: "done" for s in STEPS}, "verify": "done"}
    backend = home / "data" / "backend"
    assert (backend / "state" / "constraints.txt").read_text().split() == ["torch==2.13.0", "torchvision==0.28.0"]
    assert "use_cpu: true" in (backend / "accelerate" / "default_config.yaml").read_text()
    assert (backend / "tokenizers" / "openai_clip-vit-large-patch14" / "vocab.json").is_file()
    assert result.log_file.is_file() and "[requirements] $ " in result.log_file.read_text()


def test_a_complete_install_is_found_and_running_it_again_does_nothing(installed, lora_home):
    rt = runtime.locate()
    assert rt.state == "found" and rt.managed and rt.is_pinned
    assert rt.python_version == installed.base_python_version
    moved = Installer(installed, reporter=Recorder()).run(verify=False)
    # the copy put the tokenizer cache in another folder: only that step sees a change
    assert [s.outcome for s in moved.steps] == ["skipped"] * (len(STEPS) - 1) + ["done"]
    began = time.monotonic()
    again = Installer(installed, reporter=Recorder()).run(verify=False)
    assert [s.outcome for s in again.steps] == ["skipped"] * len(STEPS)
    assert time.monotonic() - began < 10
    summary = json.loads((runtime.managed_layout().state / "last-run.json").read_text())
    assert summary["ok"] and len(summary["steps"]) == len(STEPS)
