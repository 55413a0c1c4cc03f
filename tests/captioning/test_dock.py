"""The Auto-caption dock with a real workspace and the real worker: generated forms, a whole job,
one undo command, cancel, and a worker crash that leaves the GUI running with the results kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QPlainTextEdit, QSpinBox

from services.captioning.families import FAMILIES, WD14
from services.captioning.options import BOOL, CHOICE, FLOAT, INT, REPLACEMENTS
from services.captions.qt.controller import caption_controller
from tests.captioning.builders import solid_image
from tests.captioning.conftest import fault_worker_command, open_folder, wait_controller_idle
from widgets.captioning.dock import AutoCaptionDock
from widgets.captioning.options_form import OptionsForm

EDITOR = {BOOL: QCheckBox, INT: QSpinBox, FLOAT: QDoubleSpinBox, CHOICE: QComboBox, REPLACEMENTS: QPlainTextEdit}


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f.id)
def test_the_form_is_generated_from_the_declarations(qtbot, fam):
    form = OptionsForm(fam.options)
    qtbot.addWidget(form)
    assert set(form.editors) == {o.key for o in fam.options}
    for option in fam.options:
        assert isinstance(form.editors[option.key], EDITOR.get(option.kind, QLineEdit))
        assert form.editors[option.key].toolTip() == option.help
    defaults = form.values()
    assert defaults == {o.key: o.default if not isinstance(o.default, tuple) else list(o.default)
                        for o in fam.options}


def test_form_values_round_trip_and_enabled_when(qtbot):
    from services.captioning.families import BLIP

    form = OptionsForm(BLIP.options)
    qtbot.addWidget(form)
    assert form.is_shown("num_beams") and not form.is_shown("top_p")
    form.editors["decoding"].setCurrentIndex(form.editors["decoding"].findData("sampling"))
    assert form.is_shown("top_p") and not form.is_shown("num_beams")
    wd = OptionsForm(WD14.options)
    qtbot.addWidget(wd)
    values = {"general_threshold": 0.5, "exclude_tags": ["a b", "c"], "tag_replacements": [["x", "y"]],
              "max_tags": 0, "rating": "last", "replace_underscores": False}
    assert wd.set_values({**values, "batch_size": "lots"}) == ["batch_size"]
    got = wd.values()
    assert {k: got[k] for k in values} == values and got["batch_size"] == 4
    assert wd.editors["max_tags"].specialValueText() == "no limit"


@pytest.fixture
def dataset(tmp_path):
    colours = {"red": (255, 0, 0), "white": (255, 255, 255), "black": (0, 0, 0), "cyan": (0, 255, 255)}
    folder = tmp_path / "5_demo"
    for name, rgb in colours.items():
        solid_image(folder / f"{name}.png", rgb, (48, 48))
    (folder / "red.txt").write_text("sks, red", encoding="utf-8")
    return folder


@pytest.fixture
def dock(qtbot, session, dataset):
    open_folder(session, dataset)
    wait_controller_idle(qtbot, session)
    widget = AutoCaptionDock(session)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def key(dataset: Path, name: str) -> str:
    return str(dataset / f"{name}.png")



def _start_and_wait(qtbot, dock, command=None, timeout=60_000):
    finished = []
    assert dock.start(command=command)
    dock.service.job_finished.connect(finished.append)
    qtbot.waitUntil(lambda: bool(finished), timeout=timeout)
    wait_controller_idle(qtbot, dock.session)
    return finished[0]


def test_a_job_from_the_dock_captions_the_dataset_as_one_undoable_command(qtbot, dock, dataset, tiny_tagger,
                                                                            session):
    dock.model_picker.set_model(str(tiny_tagger))
    assert "Local folder" in dock.model_picker.status.text()
    dock._select(dock.policy_combo, "append")
    dock.update_plan()
    assert "4 image(s) to caption" in dock.plan_label.text()
    outcome = _start_and_wait(qtbot, dock)
    controller = caption_controller(session)
    assert outcome.ok and outcome.done == 4
    assert controller.text_of(key(dataset, "red")) == "sks, red, ^_^, long hair, smile (happy)"  # appended
    assert controller.text_of(key(dataset, "cyan")).startswith("hatsune miku")
    assert session.undo_stack.count() == 1
    assert session.undo_stack.undoText() == "Auto-caption (WD14 tagger) (4 captions)"
    assert controller.flush()
    assert (dataset / "white.txt").read_text(encoding="utf-8").startswith("white background")
    assert "Finished" in dock.progress.status.text() and "4 of 4" in dock.progress.message.text()
    assert dock.progress.bar.value() == 4 and "4 of 4" in dock.progress.rate.text()
    assert "images/s" in dock.progress.rate.text() or "s/image" in dock.progress.rate.text()
    session.undo_stack.undo()
    wait_controller_idle(qtbot, session)
    assert controller.text_of(key(dataset, "red")) == "sks, red"
    assert controller.text_of(key(dataset, "white")) is None
    assert controller.flush()
    assert (dataset / "red.txt").read_text(encoding="utf-8") == "sks, red" and not (dataset / "white.txt").exists()
    settings = session.settings.captioning
    assert settings.captioner == "wd14" and settings.models["wd14"] == str(tiny_tagger)
    assert settings.existing_policy == "append"


def test_skip_policy_leaves_captioned_images_alone(qtbot, dock, dataset, tiny_tagger, session):
    dock.model_picker.set_model(str(tiny_tagger))
    dock._select(dock.policy_combo, "skip")
    dock.update_plan()
    assert "3 image(s) to caption, 1 already captioned (skipped)" in dock.plan_label.text()
    outcome = _start_and_wait(qtbot, dock)
    assert outcome.done == 3
    assert caption_controller(session).text_of(key(dataset, "red")) == "sks, red"


def test_a_worker_crash_keeps_the_captions_and_the_gui_running(qtbot, dock, dataset, tiny_tagger, session):
    dock.model_picker.set_model(str(tiny_tagger))
    dock._select(dock.policy_combo, "overwrite")
    dock.forms["wd14"].editors["batch_size"].setValue(2)
    errors = []
    session.error_reported.connect(errors.append)
    outcome = _start_and_wait(qtbot, dock, command=fault_worker_command("crash-after=1"))
    assert outcome.crashed and outcome.done == 1  # the first batch holds one image
    controller = caption_controller(session)
    changed = [n for n in ("red", "white", "black", "cyan")
               if controller.text_of(key(dataset, n)) not in (None, "sks, red")]
    assert len(changed) == 1
    assert session.undo_stack.count() == 1
    assert errors and "stopped unexpectedly" in errors[0].message
    assert "stopped unexpectedly" in dock.progress.message.text() and "kept" in dock.progress.message.text()
    assert dock.start_button.isEnabled()  # ready for the next job


def test_cancel_stops_the_job_and_keeps_its_results(qtbot, dock, dataset, tiny_tagger, session):
    for i in range(12):
        solid_image(dataset / f"more_{i:02d}.png", (0, 0, 255), (32, 32))
    open_folder(session, dataset)
    wait_controller_idle(qtbot, session)
    dock.model_picker.set_model(str(tiny_tagger))
    dock._select(dock.policy_combo, "overwrite")
    dock.forms["wd14"].editors["batch_size"].setValue(2)
    finished = []
    assert dock.start(command=fault_worker_command("slow=0.3"))
    dock.service.job_finished.connect(finished.append)
    nice = []

    def first_results(_results):
        if not nice and os.name == "posix":
            import psutil

            nice.append(psutil.Process(dock.service.worker_pid).nice())
        dock.cancel()

    dock.service.results_arrived.connect(first_results)
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    wait_controller_idle(qtbot, session)
    outcome = finished[0]
    assert outcome.cancelled and outcome.error is None and 1 <= outcome.done <= 3
    assert nice == ([5] if os.name == "posix" else [])  # below normal priority: the window stays responsive
    assert session.undo_stack.count() == 1
    assert "Cancelled" in dock.progress.status.text()


def test_the_models_folder_is_a_setting(qtbot, dock, tmp_path, session):
    assert dock.models_dir_label.text().replace("\u200b", "") == str(dock.models_dir())
    dock._select(dock.family_combo, "blip")
    assert "Downloaded on first use into" in dock.model_picker.status.text()
    dock.set_models_dir(str(tmp_path / "my-models"))
    assert session.settings.captioning.models_dir == str(tmp_path / "my-models")
    assert str(tmp_path / "my-models" / "Salesforce") in dock.model_picker.status.text().replace("\u200b", "")
    job = dock.build_job()
    assert job.models_dir == str(tmp_path / "my-models") and job.family == "blip"


def test_nothing_to_caption_and_bad_options_are_reported_in_the_dock(qtbot, session, dock, tmp_path):
    dock.forms["wd14"].editors["tag_replacements"].setPlainText("no arrow here")
    assert not dock.start()
    assert "no '->'" in dock.progress.message.text()
    dock.forms["wd14"].editors["tag_replacements"].setPlainText("")
    dock._select(dock.target_combo, "selection")
    dock.update_plan()
    assert not dock.start_button.isEnabled()
    assert not dock.start() and "Nothing to caption" in dock.progress.message.text()


def test_a_first_use_download_shows_its_progress_in_the_dock(qtbot, dock, dataset, tmp_path, session, monkeypatch):
    from tests.captioning.builders import build_tiny_tagger
    from tests.captioning.fake_hub import FakeHub

    published = build_tiny_tagger(tmp_path / "published", padding_mb=24)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    dock.set_models_dir(str(tmp_path / "models"))
    dock.model_picker.set_model("tester/tagger")
    assert "Downloaded on first use" in dock.model_picker.status.text()
    statuses, downloads = [], []
    with FakeHub({"tester/tagger": published}, chunk=512 * 1024, delay_per_chunk=0.01) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        dock._select(dock.policy_combo, "overwrite")
        assert dock.start()
        dock.service.status_changed.connect(statuses.append)
        dock.service.download_progress.connect(lambda *args: downloads.append((args, dock.progress.bar.format())))
        finished = []
        dock.service.job_finished.connect(finished.append)
        qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    wait_controller_idle(qtbot, session)
    assert finished[0].ok and finished[0].done == 4
    assert any(s.startswith("Downloading model.onnx") for s in statuses)
    assert any("model.onnx:" in fmt and "MB" in fmt for _args, fmt in downloads)
    assert "Ready in" in dock.model_picker.status.text()  # the next job will not download


def test_the_gui_process_never_imports_the_ml_stack_while_captioning(tmp_path, tiny_tagger):
    """A whole job from the dock, in a fresh GUI process: the ML stack stays in the worker."""
    import subprocess
    import sys

    from tests.captioning.builders import solid_image

    solid_image(tmp_path / "data" / "a.png", (255, 0, 0))
    code = f"""
import sys, os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
from services.paths import app_dirs
from services.qt.session import Session
from services.settings import Settings
from services.dataset.scanner import scan_folders
from widgets.captioning.dock import AutoCaptionDock
session = Session(Settings(), None, app_dirs().ensure())
session.set_workspace(scan_folders([{str(tmp_path / "data")!r}]))
dock = AutoCaptionDock(session); dock.show(); app.processEvents()
dock.model_picker.set_model({str(tiny_tagger)!r})
done = []
assert dock.start()
dock.service.job_finished.connect(done.append)
while not done:
    app.processEvents()
assert done[0].ok, done[0].error
heavy = [m for m in ("torch", "transformers", "onnxruntime", "accelerate", "diffusers") if m in sys.modules]
print("HEAVY", heavy)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, timeout=120)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr
