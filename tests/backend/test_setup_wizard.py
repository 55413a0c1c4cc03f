"""The setup wizard in the window: status, plan, install with progress and a live log, cancel and
resume, the verification summary, repair, an existing installation, the menu and the first start.
Installs come from the local stand-ins (TEST DOUBLES, see tests/backend/doubles/)."""

from __future__ import annotations

import json

import pytest
from conftest import base_python

from services.backend import runtime
from services.backend.pythons import inspect_python
from services.backend.torch_choice import HardwareFacts

LONG = 240_000


@pytest.fixture
def session(qapp, lora_home):
    from services.paths import app_dirs
    from services.qt.session import Session
    from services.settings import Settings, SettingsStore

    dirs = app_dirs().ensure()
    return Session(Settings(), SettingsStore(dirs.config), dirs)


@pytest.fixture
def wizard(session, qtbot):
    from widgets.backend_setup.dialog import BackendSetupDialog

    dialog = BackendSetupDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    dialog.shutdown()


def test_nothing_installed_shows_what_will_happen_and_offers_install(wizard):
    page = wizard.status_page
    assert wizard.pages.currentWidget() is page
    assert page.state.text() == "No training backend is installed yet."
    assert "to be installed in" in page.fields["kind"].text()
    assert "48d368fa" in page.fields["engine"].text()
    assert page.install_button.isDefault() and not page.verify_button.isEnabled()
    assert page.repair_button.isHidden() and page.offer_at_start.isChecked()


def test_the_plan_page_lists_the_steps_and_the_disk_space(wizard, qtbot):
    wizard.pages.setCurrentWidget(wizard.plan_page)
    page = wizard.plan_page
    page.set_detected([inspect_python(base_python())], HardwareFacts("linux"))
    assert page.plan is not None and page.plan.torch.kind == "cpu"
    assert page.hardware.text() == "No GPU detected"
    text = page.steps.text()
    for words in ("Python environment", "torch==2.13.0 torchvision==0.28.0", "48d368fa", "s worker modules",
                  "openai/clip-vit-large-patch14"):
        assert words in text
    assert "GB to download" in page.disk.text() and page.install_button.isEnabled()
    page.torch_combo.setCurrentIndex(page.torch_combo.findData("cu128"))
    assert page.plan.torch.variant == "cu128" and "No NVIDIA GPU" in page.torch_warnings.text()
    page.family_boxes["flux"].setChecked(True)
    assert "google/t5-v1_1-xxl" in page.steps.text()


def _fill_local_sources(page, plan_fixture, wheelhouse):
    page.set_detected([inspect_python(base_python())], HardwareFacts("linux"))
    page.advanced.setChecked(True)
    page.engine_source.setText(plan_fixture.engine.repository)
    page.torch_source.setText(str(wheelhouse))
    page.packages_source.setText(str(wheelhouse))
    page.only_local.setChecked(True)
    page.bnb.click()            # the stand-in bitsandbytes has no optimizers: do not require them
    page.replan()
    assert page.plan.bitsandbytes is False and page.plan.packages_source.no_index


def test_install_cancel_resume_and_the_verification_summary(wizard, qtbot, local_plan, wheelhouse):
    wizard.pages.setCurrentWidget(wizard.plan_page)
    _fill_local_sources(wizard.plan_page, local_plan, wheelhouse)
    progress = wizard.progress_page
    changed = []
    wizard.session.backend_changed.connect(lambda: changed.append(True))

    wizard.plan_page.install_button.click()
    assert wizard.pages.currentWidget() is progress and progress.cancel_button.isVisible()
    wizard.task.step_started.connect(lambda step, title: step == "requirements" and wizard.cancel())
    qtbot.waitUntil(lambda: wizard.task is None, timeout=LONG)
    assert progress.resume_button.isVisible() and not progress.cancel_button.isVisible()
    assert "Cancelled" in progress.message.text()
    assert progress.rows["torch"][2].text().endswith(" s") and progress.rows["requirements"][2].text() \
        .startswith("cancelled")
    assert runtime.step_status(runtime.managed_layout(), "requirements") == "started"

    progress.resume_button.click()
    qtbot.waitUntil(lambda: wizard.pages.currentWidget() is wizard.summary_page, timeout=LONG)
    summary = wizard.summary_page
    assert summary.verdict.text().startswith("The training backend is ready")
    assert progress.rows["venv"][2].text() == "already done" and progress.rows["workers"][2].text().endswith(" s")
    assert "[requirements] $" not in progress.log.toPlainText() and "pip" in progress.log.toPlainText()
    assert "Steps" in summary.timings.text() and summary.repair_button.isHidden()
    assert runtime.locate().state == "found" and changed


def test_repair_from_the_status_page(wizard, qtbot, installed):
    runtime.managed_layout().accelerate_config.unlink()
    wizard.show_status()
    page = wizard.status_page
    assert page.state.text() == "The training backend is installed and verified." and page.repair_button.isVisible()
    page.repair_button.click()
    qtbot.waitUntil(lambda: wizard.pages.currentWidget() is wizard.summary_page, timeout=LONG)
    rows = wizard.progress_page.rows
    assert rows["verify-before"][2].text().endswith(" s")
    assert rows["accelerate"][2].text().endswith(" s") and rows["requirements"][2].text() == "already done"
    assert wizard.summary_page.verdict.text().startswith("The training backend is ready")


def test_an_existing_installation_is_checked_used_and_verified(wizard, qtbot, engine_repo, tmp_path):
    import subprocess

    repo, commit = engine_repo
    venv = tmp_path / "their-venv"
    subprocess.run([base_python(), "-m", "venv", "--without-pip", str(venv)], check=True)
    wizard.status_page.existing_button.click()
    page = wizard.existing_page
    assert wizard.pages.currentWidget() is page
    page.folder.setText(str(repo))
    page.python.setText(str(runtime.venv_python(venv)))
    page.check_button.click()
    qtbot.waitUntil(lambda: page.found is not None, timeout=60_000)
    assert commit in page.result.text() and page.accept_commit.isVisible() and not page.use_button.isEnabled()
    page.accept_commit.setChecked(True)
    page.use_button.click()
    backend = wizard.session.settings.backend
    assert (backend.sd_scripts_dir, backend.accepted_commit) == (str(repo), commit)
    qtbot.waitUntil(lambda: wizard.pages.currentWidget() is wizard.summary_page, timeout=LONG)
    summary = wizard.summary_page
    assert "problem" in summary.verdict.text() and summary.repair_button.isHidden()
    assert "external" in summary.runtime_line.text()
    saved = json.loads(json.dumps(wizard.session.store.load().backend.__dict__))
    assert saved["accepted_commit"] == commit


def test_the_train_menu_opens_the_wizard_and_the_first_start_offers_it(app_parts, qtbot):
    from app.application import _offer_backend_setup
    from widgets.backend_setup.dialog import BackendSetupDialog

    window = app_parts.window
    window.actions_by_id["train.backend_setup"].trigger()
    dialog = window.findChild(BackendSetupDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    _offer_backend_setup(app_parts)
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.first_start or dialog.status_page.intro.isVisible()
    dialog.close()
    app_parts.session.settings.backend.offer_setup_at_start = False
    _offer_backend_setup(app_parts)
    qtbot.wait(900)
    assert not dialog.isVisible()
