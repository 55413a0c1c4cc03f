"""The project file: round trips keep comments and order, invalid or future files change nothing,
secrets never land in it, and the loader never crashes on any text (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.errors import FileAccessError, FileFormatError, UserInputError
from services.training import project_file
from services.training.families import Family, Mode
from services.training.project import Project, Subset
from services.training.values import Origin

HAND_WRITTEN = """\
# My character LoRA -- notes for myself
schema_version = 1

[project]
name = "ohwx"  # the trigger word

[model]
path = "models/base.safetensors"
family = "sdxl"

[training]
mode = "lora"
training_profile = "sdxl/character"

# what I changed after the first try
[training.values]
learning_rate = 0.0002  # a bit faster
seed = 7

[training.values.network_args]
conv_dim = 8

[[dataset.subsets]]
name = "face"
image_dir = "img/10_ohwx"
num_repeats = 10
class_tokens = "ohwx woman"
is_reg = false

[dataset.subsets.values]
shuffle_caption = true

[captioning]
model = "wd-eva02-large-tagger-v3"
threshold = 0.35
"""


def test_a_hand_written_file_round_trips_byte_for_byte(tmp_path):
    path = tmp_path / "p.lsproj.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    project = Project.load(path)
    project.save()
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN


def test_edits_keep_comments_and_order(tmp_path):
    path = tmp_path / "p.lsproj.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    project = Project.load(path)
    project.set_value("learning_rate", 1e-4)
    project.set_value("network_args.conv_alpha", 4.0)
    project.set_value("clip_skip", None)
    project.reset_value("seed")
    project.save()
    text = path.read_text(encoding="utf-8")
    assert "# My character LoRA -- notes for myself" in text and "# what I changed after the first try" in text
    assert text.index("[project]") < text.index("[model]") < text.index("[training]")
    again = Project.load(path)
    assert again.user_values["learning_rate"] == 1e-4
    assert again.user_values["network_args.conv_alpha"] == 4.0
    assert again.user_values["clip_skip"] is None and "seed" not in again.user_values
    assert again.subsets[0].values == {"shuffle_caption": True}
    assert again.captioning == {"model": "wd-eva02-large-tagger-v3", "threshold": 0.35}


def test_relative_paths_are_relative_to_the_project_folder(tmp_path):
    path = tmp_path / "p.lsproj.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    project = Project.load(path)
    assert project.absolute(project.model_path) == str(tmp_path / "models" / "base.safetensors")
    assert project.absolute(project.subsets[0].image_dir) == str(tmp_path / "img" / "10_ohwx")


def test_resolution_uses_the_named_profile_and_user_values(tmp_path):
    path = tmp_path / "p.lsproj.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    resolved = Project.load(path).resolve()
    assert resolved.origin("network_dim") is Origin.TRAINING_PROFILE
    assert (resolved["learning_rate"], resolved.origin("learning_rate")) == (2e-4, Origin.USER)


def test_a_future_version_is_refused_and_the_file_left_alone(tmp_path):
    path = tmp_path / "p.lsproj.toml"
    text = HAND_WRITTEN.replace("schema_version = 1", "schema_version = 99")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileFormatError, match="newer LoRA Studio") as info:
        Project.load(path)
    assert "Update LoRA Studio" in info.value.hint
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(("text", "match"), [
    ("schema_version = 1\n[training\n", "not valid TOML"),
    ("just = 'some config'\n", "not a LoRA Studio project"),
    ("schema_version = 'one'\n[project]\n", "invalid schema_version"),
    ("schema_version = 1\ntraining = 5\n", r"\[training\] must be a table"),
    ("schema_version = 1\n[training]\nmode = 'dance'\n", "training mode 'dance'"),
    ("schema_version = 1\n[model]\nfamily = 'sd9'\n", "model family 'sd9'"),
    ("schema_version = 1\n[model]\nfamily = ['sd1']\n", "model family"),
    ("schema_version = 1\n[training]\nmode = {a = 1}\n", "training mode"),
    ("schema_version = 1\n[training]\ncleared = 'seed'\n", "cleared must be a list"),
    ("schema_version = 1\n[training.values]\nnetwork_args = 3\n", "network_args must be a table"),
    ("schema_version = 1\n[[dataset.subsets]]\nnum_repeats = 3\n", "subset 1 has no image_dir"),
    ("schema_version = 1\n[[dataset.subsets]]\nimage_dir = 'x'\nnum_repeats = 'ten'\n", "num_repeats must be"),
])
def test_invalid_files_give_a_clear_message(tmp_path, text, match):
    path = tmp_path / "bad.lsproj.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileFormatError, match=match):
        Project.load(path)
    assert path.read_text(encoding="utf-8") == text


def test_missing_binary_and_huge_files(tmp_path, monkeypatch):
    with pytest.raises(FileAccessError):
        Project.load(tmp_path / "nope.toml")
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(FileFormatError):
        Project.load(binary)
    monkeypatch.setattr(project_file, "MAX_PROJECT_BYTES", 10)
    with pytest.raises(FileFormatError, match="too large"):
        Project.load(binary)


def test_wrong_value_types_load_and_are_left_to_validation(tmp_path):
    project = Project.from_toml('schema_version = 1\n[training.values]\nlearning_rate = "1e-4"\nnope = 3\n')
    assert project.user_values["learning_rate"] == "1e-4"
    assert any("nope" in w for w in project.load_warnings)


def test_migrations_run_in_order_and_say_so(monkeypatch):
    calls = []

    def v1_to_v2(doc):
        calls.append(1)
        doc["training"]["values"]["seed"] = doc["training"]["values"].pop("random_seed")

    monkeypatch.setattr(project_file, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(project_file.MIGRATIONS, 1, v1_to_v2)
    project = Project.from_toml("schema_version = 1\n[training.values]\nrandom_seed = 5\n")
    assert calls == [1] and project.user_values == {"seed": 5}
    assert "schema_version = 2" in project.to_toml()
    assert any("upgraded" in w for w in project.load_warnings)


def test_secrets_are_refused_and_stripped(tmp_path):
    project = Project.new("x")
    with pytest.raises(UserInputError, match="secret"):
        project.set_value("huggingface_token", "hf_abc")
    project.set_captioning({"model": "wd", "hf_token": "hf_abc"})
    sneaky = Project.from_toml('schema_version = 1\n[training.values]\nwandb_api_key = "abc123"\n'
                               '[training.values.optimizer_args]\napi_key = "zzz"\n'
                               '[[dataset.subsets]]\nimage_dir = "x"\nhf_token = "hf_abc"\n')
    for p in (project, sneaky):
        text = p.to_toml()
        assert "hf_abc" not in text and "abc123" not in text and "zzz" not in text


def test_subsets_add_update_remove():
    project = Project.new("x", family=Family.SD1)
    project.add_subset(Subset("/a", num_repeats=2))
    project.add_subset(Subset("/b", is_reg=True, class_tokens="person"))
    project.update_subset(0, Subset("/a2", name="A", num_repeats=5, values={"flip_aug": True}))
    assert [s.image_dir for s in project.subsets] == ["/a2", "/b"]
    assert project.subsets[0].values == {"flip_aug": True} and project.subsets[0].display_name() == "A"
    removed = project.remove_subset(1)
    assert removed.is_reg and len(project.subsets) == 1
    again = Project.from_toml(project.to_toml())
    assert again.subsets[0].num_repeats == 5


_values = st.fixed_dictionaries({}, optional={
    "learning_rate": st.floats(1e-8, 1.0), "seed": st.integers(0, 2**32 - 1),
    "shuffle_caption": st.booleans(), "output_name": st.text(max_size=30),
    "network_args.conv_dim": st.integers(1, 1024), "optimizer_args.betas": st.lists(st.floats(0, 1), max_size=3),
    "resolution": st.one_of(st.integers(64, 4096), st.lists(st.integers(64, 4096), min_size=2, max_size=2)),
    "sample_prompt_text": st.text(max_size=80),
})


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(values=_values, name=st.text(min_size=1, max_size=40),
       dirs=st.lists(st.text(min_size=1, max_size=30), max_size=3))
def test_property_values_survive_save_and_load(values, name, dirs):
    project = Project.new(name, family=Family.SDXL, mode=Mode.LORA)
    project.set_values(values)
    for d in dirs:
        project.add_subset(Subset(d, num_repeats=3))
    again = Project.from_toml(project.to_toml())
    expected = {k: (float(v) if k == "learning_rate" else v) for k, v in values.items()}
    assert again.user_values == expected
    assert again.name == name and [s.image_dir for s in again.subsets] == dirs


@settings(max_examples=300)
@given(st.text(max_size=400))
def test_property_any_text_loads_or_fails_with_a_clear_error(text):
    try:
        project = Project.from_toml(text)
    except FileFormatError as exc:
        assert exc.message
        return
    project.user_values  # noqa: B018 - must not raise either
    _ = project.subsets


@settings(max_examples=200)
@given(st.recursive(st.one_of(st.integers(), st.text(max_size=10), st.booleans(), st.floats(allow_nan=False)),
                    lambda children: st.dictionaries(st.sampled_from(
                        ["project", "model", "training", "dataset", "values", "subsets", "image_dir", "mode",
                         "family", "schema_version", "name", "num_repeats", "cleared", "path", "training_profile",
                         "network_args", "captioning", "is_reg", "class_tokens"]), children, max_size=4),
                    max_leaves=12))
def test_property_structured_garbage_never_crashes_the_loader(tree):
    import tomlkit

    if not isinstance(tree, dict):
        tree = {"value": tree}
    text = tomlkit.dumps({"schema_version": 1, **tree})
    try:
        project = Project.from_toml(text)
    except FileFormatError:
        return
    _ = project.user_values, project.subsets, project.mode, project.family, project.name, project.captioning
    _ = project.training_profile, project.model_path, project.to_toml()
