"""The project controller: every edit an undo step, model detection off the GUI thread, profile
application as one step, validation reports."""

from services.training.families import Family, Mode
from services.training.profiles import ProfileKind
from services.training.project import Subset
from tests.parameters.conftest import choose_model, validated


def test_choosing_a_model_detects_its_family_and_is_undoable(qtbot, controller, session, models):
    choose_model(qtbot, controller, models["sdxl"])
    assert controller.family is Family.SDXL
    assert controller.project.model_path == str(models["sdxl"])
    assert session.project_modified
    session.undo_stack.undo()
    assert controller.family is None and controller.project.model_path is None
    session.undo_stack.redo()
    assert controller.family is Family.SDXL


def test_edit_undo_redo_of_a_value(qtbot, controller, session, models):
    choose_model(qtbot, controller, models["sd1"])
    before = controller.value("learning_rate")
    controller.set_value("learning_rate", 3e-4)
    assert controller.value("learning_rate") == 3e-4
    assert controller.resolved.origin("learning_rate").value == "user"
    assert session.undo_stack.undoText() == f"Set {controller.registry.get('learning_rate').display_label}"
    session.undo_stack.undo()
    assert controller.value("learning_rate") == before
    assert controller.resolved.origin("learning_rate").value != "user"
    session.undo_stack.redo()
    assert controller.value("learning_rate") == 3e-4


def test_emptying_a_value_is_distinct_from_resetting_it(qtbot, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    controller.set_value("seed", None)
    assert controller.value("seed") is None
    assert controller.resolved.origin("seed").value == "user"
    controller.reset_values(["seed"])
    assert controller.resolved.origin("seed").value == "default"
    assert controller.value("seed") is not None


def test_changing_family_drops_values_that_do_not_apply_and_says_which(qtbot, controller, models):
    choose_model(qtbot, controller, models["sdxl"])
    sdxl_only = next(p for p in controller.registry.parameters()
                     if Family.SDXL in p.families and Family.SD1 not in p.families and p.type.value == "bool")
    controller.set_value(sdxl_only.key, True)
    controller.set_value("learning_rate", 2e-4)
    with qtbot.waitSignal(controller.dropped_values, timeout=10000) as dropped:
        controller.choose_model(str(models["sd1"]))
    assert sdxl_only.display_label in dropped.args[0]
    assert controller.family is Family.SD1
    assert sdxl_only.key not in controller.project.user_values
    assert controller.value("learning_rate") == 2e-4  # compatible values are kept


def test_mode_change_is_an_edit(controller, session, qtbot, models):
    choose_model(qtbot, controller, models["sd1"])
    controller.set_mode(Mode.DREAMBOOTH)
    assert controller.mode is Mode.DREAMBOOTH
    session.undo_stack.undo()
    assert controller.mode is Mode.LORA


def test_profile_preview_and_apply_as_one_step(qtbot, controller, session, models):
    choose_model(qtbot, controller, models["sd1"])
    profile = controller.library.save_user(ProfileKind.TRAINING, "Test style", {"learning_rate": 5e-5,
                                                                               "max_train_epochs": 3},
                                           families=[Family.SD1])
    controller.set_value("max_train_epochs", 7)
    diff = controller.preview_profile(ProfileKind.TRAINING, profile.id)
    assert "learning_rate" in [c.key for c in diff.changes]
    assert "max_train_epochs" not in [c.key for c in diff.changes]
    assert [c.key for c in diff.kept] == ["max_train_epochs"]
    count = session.undo_stack.count()
    controller.apply_profile(ProfileKind.TRAINING, profile.id, drop_user_keys=True)
    assert session.undo_stack.count() == count + 1
    assert controller.value("learning_rate") == 5e-5
    assert controller.value("max_train_epochs") == 3
    session.undo_stack.undo()
    assert controller.project.training_profile is None
    assert controller.value("max_train_epochs") == 7


def test_save_user_profile_from_current_values(qtbot, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    controller.set_value("learning_rate", 1.5e-4)
    profile = controller.save_user_profile(ProfileKind.TRAINING, "My settings")
    assert profile.values["learning_rate"] == 1.5e-4
    assert controller.library.find(ProfileKind.TRAINING, profile.id) is not None


def test_validation_reports_problems_and_steps(qtbot, controller, models, dataset):
    report = validated(qtbot, controller)
    assert any(p.field in ("pretrained_model_name_or_path", "model") and p.is_error for p in report.problems)
    choose_model(qtbot, controller, models["sd1"])
    controller.project.add_subset(Subset(str(dataset), num_repeats=10))
    controller.set_value("max_train_epochs", 2)
    controller.set_value("train_batch_size", 2)
    report = validated(qtbot, controller)
    assert report.steps is not None
    assert report.steps.total_steps == 6 * 10 // 2 * 2
    controller.set_value("learning_rate", -1.0)
    report = validated(qtbot, controller)
    assert any(p.field == "learning_rate" and p.is_error for p in report.problems)


def test_a_missing_model_file_is_reported_not_raised(qtbot, controller, tmp_path):
    with qtbot.waitSignal(controller.detection_ready, timeout=10000) as blocker:
        controller.choose_model(str(tmp_path / "missing.safetensors"))
    result, error = blocker.args
    assert result is None and "does not exist" in error.message


def test_save_and_reopen_project(qtbot, controller, session, models, tmp_path):
    choose_model(qtbot, controller, models["sd1"])
    controller.set_value("learning_rate", 4e-4)
    path = tmp_path / "cat.lsproj.toml"
    session.save_project(str(path))
    assert path.exists() and not session.project_modified
    controller.new_project()
    assert controller.project.model_path is None
    session.open_project(str(path))
    assert controller.value("learning_rate") == 4e-4
    assert session.settings.workspace.recent_projects[0] == str(path)


def test_opening_an_invalid_project_reports_and_changes_nothing(qtbot, controller, session, tmp_path):
    bad = tmp_path / "bad.lsproj.toml"
    bad.write_text("schema_version = 99\n")
    errors = []
    session.error_reported.connect(errors.append)
    before = controller.project
    session.open_project(str(bad))
    assert errors and controller.project is before
    assert bad.read_text() == "schema_version = 99\n"


def test_file_new_project_starts_afresh(qtbot, app_parts, controller, models):
    choose_model(qtbot, controller, models["sd1"])
    app_parts.session.set_project_modified(False)
    app_parts.window.actions_by_id["file.new_project"].trigger()
    assert controller.project.model_path is None and controller.family is None


def test_memory_profile_is_suggested_from_the_vram(qtbot, controller, session, models):
    session.set_stated_vram_gb(12)  # no GPU here: the user's own figure is what counts
    with qtbot.waitSignal(controller.vram_changed, timeout=15000) as blocker:
        controller.refresh_vram()
    assert blocker.args[0].gb == 12 and blocker.args[0].source == "stated"
    choose_model(qtbot, controller, models["sdxl"])
    suggested = controller.library.suggest_memory(Family.SDXL, 12)
    assert suggested is not None
    assert controller.project.memory_profile == suggested.id
    assert controller.resolved.origin(next(iter(suggested.values_for(controller.mode)))).value == "memory profile"
