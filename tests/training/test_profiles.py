"""Built-in profiles are valid data with explanations; every training x memory pair of a family
validates cleanly in every mode; users can save their own; diffs say what changes."""

from __future__ import annotations

import pytest

from services.errors import FileFormatError, UserInputError
from services.training.families import Family, Mode
from services.training.profiles import ProfileKind, ProfileLibrary, parse_profile, profile_diff
from services.training.validation import ValidationContext, check_project
from services.training.values import Origin
from tests.training.combos import make_project

PURPOSES = {"character", "style", "concept", "photorealism", "anime"}
TIERS = {"8gb", "12gb", "16gb", "24gb"}


@pytest.fixture
def library(tmp_path):
    return ProfileLibrary(user_dir=tmp_path / "user-profiles")


def test_every_family_has_five_training_profiles_and_four_memory_tiers(library):
    for family in Family:
        training = library.list(ProfileKind.TRAINING, family)
        memory = library.list(ProfileKind.MEMORY, family)
        assert {p.id.split("/")[1] for p in training} == PURPOSES, family
        assert {p.id.split("/")[1] for p in memory} == TIERS, family
        for profile in training + memory:
            assert len(profile.description) > 80, profile.id
            assert profile.why, profile.id
            assert set(profile.why) <= set(profile.values) | {k for v in profile.mode_values.values() for k in v}
            assert profile.builtin and profile.families == {family}
        assert all(p.vram_gb for p in memory)
    assert library.load_errors == []


def test_built_in_profiles_only_use_known_parameters_with_valid_values(library):
    for kind in ProfileKind:
        for profile in library.list(kind):
            assert profile.problems() == [], profile.id


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_every_profile_pair_validates_without_errors_in_every_mode(tmp_path, library, family):
    context = ValidationContext(library=library)
    for mode in Mode:
        project = make_project(tmp_path / mode.value, family, mode)
        for training in library.list(ProfileKind.TRAINING, family):
            for memory in library.list(ProfileKind.MEMORY, family):
                project.training_profile, project.memory_profile = training.id, memory.id
                errors = check_project(project, context).errors
                assert not errors, (mode, training.id, memory.id, [str(e) for e in errors])


def test_memory_suggestion_picks_the_largest_tier_that_fits(library):
    assert library.suggest_memory(Family.SDXL, 12).id == "sdxl/12gb"
    assert library.suggest_memory(Family.SDXL, 11.5).id == "sdxl/12gb"
    assert library.suggest_memory(Family.FLUX, 24).id == "flux/24gb"
    assert library.suggest_memory(Family.SD1, 4).id == "sd1/8gb"  # nothing fits: the smallest


def test_user_profiles_are_saved_listed_and_replaced(library):
    saved = library.save_user(ProfileKind.TRAINING, "My Style!", {"learning_rate": 3e-4, "network_args.conv_dim": 4,
                                                                  "seed": None},
                              families=[Family.SDXL], description="mine")
    assert saved.id == "user/my-style" and not saved.builtin
    assert saved.values == {"learning_rate": 3e-4, "network_args.conv_dim": 4}
    assert [p.id for p in library.list(ProfileKind.TRAINING, Family.SDXL) if not p.builtin] == ["user/my-style"]
    assert library.list(ProfileKind.TRAINING, Family.SD1) and all(
        p.builtin for p in library.list(ProfileKind.TRAINING, Family.SD1))
    library.save_user(ProfileKind.TRAINING, "my style", {"learning_rate": 1e-4}, families=[Family.SDXL])
    assert library.get(ProfileKind.TRAINING, "user/my-style").values == {"learning_rate": 1e-4}
    with pytest.raises(UserInputError):
        library.save_user(ProfileKind.TRAINING, "!!!", {})
    with pytest.raises(UserInputError, match="no training profile"):
        library.get(ProfileKind.TRAINING, "user/nope")


def test_a_broken_user_profile_is_reported_not_fatal(library):
    folder = library.user_dir / "training"
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text("[profile\n", encoding="utf-8")
    assert len(library.list(ProfileKind.TRAINING)) == 25
    assert any("bad.toml" in e for e in library.load_errors)
    with pytest.raises(FileFormatError, match="memory profile, not a training"):
        parse_profile('[profile]\nkind = "memory"\n', "x", ProfileKind.TRAINING)


def test_diff_lists_changes_and_values_kept_by_user_edits(library):
    style = library.get(ProfileKind.TRAINING, "sdxl/style")
    character = library.get(ProfileKind.TRAINING, "sdxl/character")
    diff = profile_diff(Family.SDXL, Mode.LORA, kind=ProfileKind.TRAINING, new=style, training=character,
                        memory=None, user={"max_train_epochs": 4})
    changed = {c.key: c for c in diff.changes}
    assert changed["flip_aug"].old is False and changed["flip_aug"].new is True
    assert changed["network_args.conv_dim"].new == 8 and changed["network_args.conv_dim"].old is None
    assert "max_train_epochs" not in changed
    assert [k.key for k in diff.kept] == ["max_train_epochs"] and diff.kept[0].new_origin is Origin.USER
    dropped = profile_diff(Family.SDXL, Mode.LORA, kind=ProfileKind.TRAINING, new=style, training=character,
                           memory=None, user={"max_train_epochs": 4}, drop_user_keys=True)
    assert {c.key for c in dropped.changes} >= {"max_train_epochs"}
    cleared = profile_diff(Family.SDXL, Mode.LORA, kind=ProfileKind.TRAINING, new=None, training=character,
                           memory=None, user={})
    assert {c.key for c in cleared.changes} >= {"network_dim", "shuffle_caption"}


def test_mode_overrides_apply_to_their_mode_only(library):
    character = library.get(ProfileKind.TRAINING, "sd1/character")
    assert character.values_for(Mode.LORA)["learning_rate"] == 1e-4
    assert character.values_for(Mode.DREAMBOOTH)["learning_rate"] == 1e-6
