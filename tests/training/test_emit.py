"""Emission: every family x mode x algorithm writes configs whose every key the target script knows,
with a compatible type; zero/false values kept; absolute paths; TOML escaping the engine's own parser
reads back; no secret in any file; the exact launch command."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import toml
import tomlkit
from hypothesis import given, settings
from hypothesis import strategies as st

from services.errors import UserInputError, ValidationError
from services.training.emit import EmitOptions, emit_run_folder
from services.training.emit.toml_text import dumps_checked
from services.training.families import Family, Mode
from services.training.project import Project, Subset
from tests.training.combos import combinations, combo_id, make_project, maximal, write_images
from tests.training.kohya_schema import args_schema, dataset_schema


def _tomlkit_loads(text: str) -> dict:
    return tomlkit.parse(text).unwrap()


OPTIONS = EmitOptions(sd_scripts_dir="/opt/sd-scripts", python="/opt/backend/bin/python")


def _load(path):
    text = path.read_text(encoding="utf-8")
    engine = toml.loads(text)  # the parser sd-scripts uses
    assert engine == _tomlkit_loads(text)
    return engine


def _flat(config: dict) -> dict:
    out = {}
    for value in config.values():
        out.update(value)
    return out


def _type_ok(action: dict, value) -> bool:
    if action["action"] == "_StoreTrueAction":
        return isinstance(value, bool)
    items = value if action["nargs"] == "*" else [value]
    if action["nargs"] == "*" and not isinstance(value, list):
        return False
    kinds = {"int": (int,), "float": (int, float), "str": (str,), "Path": (str,), None: (str,),
             "library.train_util.int_or_float": (int, float)}[action["type"]]
    return all(isinstance(v, kinds) and not isinstance(v, bool) for v in items) and \
        (not action["choices"] or all(v in action["choices"] for v in items))


def _check_dataset(dataset: dict, script: str) -> None:
    schema = dataset_schema()
    by_script = schema["sanitizer_flags_by_script"]
    flags = by_script.get(script) or by_script["train_network.py"]  # the network scripts share its dataset code
    kinds = set()
    for level, table in [("general", dataset.get("general", {}))] + \
            [("dataset", {k: v for k, v in d.items() if k != "subsets"}) for d in dataset["datasets"]]:
        for key in table:
            assert key in schema[level], (level, key)
    for d in dataset["datasets"]:
        for subset in d["subsets"]:
            kind = "finetuning" if "metadata_file" in subset else "dreambooth"
            kinds.add(kind)
            for key in subset:
                entry = schema["subset"][key]
                assert "all" in entry["applies_to"] or "support_dropout" in entry["applies_to"] \
                    or kind in entry["applies_to"], (key, kind)
    assert kinds == ({"finetuning"} if flags["support_dreambooth"] == "False" else {"dreambooth"})
    if "finetuning" in kinds:
        assert all(k not in dataset.get("general", {}) for k in ("caption_extension", "class_tokens", "cache_info"))


CASES = [(combo, kind) for combo in combinations() for kind in ("typical", "maximal")]


@pytest.mark.parametrize(("combo", "kind"), CASES, ids=[f"{combo_id(c)}-{k}" for c, k in CASES])
def test_every_emitted_key_is_known_to_the_script_with_a_compatible_type(tmp_path, combo, kind):
    project = make_project(tmp_path / "src", *combo, reg=combo[1] is not Mode.FINETUNE)
    if kind == "maximal":
        maximal(project, tmp_path / "src")
    run = emit_run_folder(project, tmp_path / "run",
                          EmitOptions(sd_scripts_dir="/opt/sd", python="/opt/py", allow_errors=kind == "maximal"))
    schema = args_schema()[run.script]
    config = _flat(_load(run.config_path))
    for key, value in config.items():
        assert key in schema, f"{key} is not an argument of {run.script}"
        assert _type_ok(schema[key], value), (key, value, schema[key]["type"])
    _check_dataset(_load(run.dataset_path), run.script)
    family, mode, algorithm = combo
    assert config["pretrained_model_name_or_path"].startswith("/")
    if mode is Mode.LORA:
        assert config["network_module"].startswith(("networks.", "lycoris."))
        if algorithm.startswith("lycoris."):
            assert config["network_args"][0] == f"algo={algorithm.split('.', 1)[1]}"
    assert config.get("v2", False) is (family is Family.SD2)


def test_zero_and_false_values_that_were_chosen_are_kept(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_values({"caption_dropout_rate": 0.0, "max_data_loader_n_workers": 0, "network_args.conv_dim": 4,
                        "keep_tokens": 0, "flip_aug": False, "min_snr_gamma": 5.0, "noise_offset": 0.0,
                        "text_encoder_lr": [0.0], "max_grad_norm": 0.0, "cache_latents": False})
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    config = _flat(_load(run.config_path))
    general = _load(run.dataset_path)["general"]
    assert config["max_data_loader_n_workers"] == 0 and config["max_grad_norm"] == 0.0
    assert config["noise_offset"] == 0.0 and config["text_encoder_lr"] == [0.0]
    assert config["cache_latents"] is False
    assert general["caption_dropout_rate"] == 0.0 and general["keep_tokens"] == 0 and general["flip_aug"] is False
    # defaults nobody chose that equal the engine's own are left out
    assert "huber_c" not in config and "loss_type" not in config and "bucket_reso_steps" not in general


def test_paths_are_absolute_even_when_the_project_uses_relative_ones(tmp_path):
    root = tmp_path / "proj"
    write_images(root / "img" / "10_a", 2)
    project = make_project(root, Family.SDXL, Mode.LORA)
    project.model_path = "sdxl.safetensors"
    project.set_subsets([Subset("img/10_a", num_repeats=10)])
    project.set_value("vae", "sdxl.safetensors")
    project.save(root / "p.lsproj.toml")
    run = emit_run_folder(Project.load(root / "p.lsproj.toml"), tmp_path / "run", OPTIONS)
    config = _flat(_load(run.config_path))
    assert config["pretrained_model_name_or_path"] == str(root / "sdxl.safetensors")
    assert config["vae"] == str(root / "sdxl.safetensors")
    assert config["output_dir"] == str(tmp_path / "run" / "output")
    assert _load(run.dataset_path)["datasets"][0]["subsets"][0]["image_dir"] == str(root / "img" / "10_a")
    snapshot = Project.load(run.snapshot_path)
    assert snapshot.model_path == str(root / "sdxl.safetensors")
    assert snapshot.subsets[0].image_dir == str(root / "img" / "10_a")


def test_odd_folder_names_survive_toml(tmp_path):
    odd = tmp_path / '5_my "odd" char\\'
    write_images(odd, 3)
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_subsets([Subset(str(odd), num_repeats=5, class_tokens='a "quoted"\tclass\\')])
    project.set_values({"output_name": "name with 'quotes'", "caption_prefix": "line\nbreak \u00e9\u6f22 \\n"})
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    subset = _load(run.dataset_path)["datasets"][0]["subsets"][0]
    assert subset["image_dir"] == str(odd) and subset["class_tokens"] == 'a "quoted"\tclass\\'
    assert _load(run.dataset_path)["general"]["caption_prefix"] == "line\nbreak \u00e9\u6f22 \\n"
    assert run.steps.train_views == 15


def test_no_secret_reaches_any_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_SECRETSECRET")
    monkeypatch.setenv("WANDB_API_KEY", "wandbSECRET")
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_values({"huggingface_repo_id": "me/lora", "log_with": "wandb"})
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    for path in run.folder.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "SECRET" not in text, path
    assert run.secret_env_names == ("HF_TOKEN", "WANDB_API_KEY")
    env = run.launch_environment({"PATH": "/bin"})
    assert env["HF_TOKEN"] == "hf_SECRETSECRET" and env["PYTHONUNBUFFERED"] == "1" and env["PATH"] == "/bin"
    assert "HF_TOKEN" not in run.env


def test_the_launch_command(tmp_path):
    project = make_project(tmp_path / "src", Family.SDXL, Mode.LORA)
    project.set_values({"accelerate.num_processes": 2, "accelerate.gpu_ids": "0, 1", "mixed_precision": "fp16",
                        "accelerate.num_machines": 2, "accelerate.machine_rank": 1,
                        "accelerate.main_process_ip": "10.0.0.2", "accelerate.main_process_port": 29500})
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    argv = list(run.argv)
    assert argv[:3] == ["/opt/backend/bin/python", "-m", "accelerate.commands.launch"]
    flags = dict(itertools.pairwise(argv))
    assert flags["--mixed_precision"] == "fp16" and flags["--num_processes"] == "2"
    assert flags["--gpu_ids"] == "0,1" and flags["--machine_rank"] == "1"
    assert flags["--main_process_ip"] == "10.0.0.2" and "--multi_gpu" in argv
    script = argv.index("/opt/sd-scripts/sdxl_train_network.py")
    assert argv[script + 1:] == ["--config_file", str(run.config_path), "--dataset_config", str(run.dataset_path)]
    assert str(run.cwd) == "/opt/sd-scripts"
    command = json.loads(run.command_json_path.read_text(encoding="utf-8"))
    assert command["argv"] == argv and command["cwd"] == "/opt/sd-scripts"
    assert "sdxl_train_network.py --config_file" in run.command_path.read_text(encoding="utf-8")
    assert _flat(_load(run.config_path))["mixed_precision"] == "fp16"


def test_explicit_steps_replace_epochs_in_the_config(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_value("max_train_steps", 300)
    config = _flat(_load(emit_run_folder(project, tmp_path / "run", OPTIONS).config_path))
    assert config["max_train_steps"] == 300 and "max_train_epochs" not in config


def test_network_optimizer_and_scheduler_arguments(tmp_path):
    project = make_project(tmp_path / "src", Family.SDXL, Mode.LORA, "lycoris.lokr")
    project.set_values({"network_args.factor": 8, "network_args.use_tucker": True, "network_args.preset": "attn-mlp",
                        "network_args_extra": ["factor=4", "custom=x"], "optimizer_type": "Prodigy",
                        "learning_rate": 1.0, "optimizer_args.betas": [0.9, 0.99],
                        "optimizer_args.decouple": True, "optimizer_args.weight_decay": 0.01,
                        "lr_scheduler": "piecewise_constant", "lr_warmup_steps": 0,
                        "lr_scheduler_args.step_rules": "1:10,0.1"})
    config = _flat(_load(emit_run_folder(project, tmp_path / "run", OPTIONS).config_path))
    assert config["network_module"] == "lycoris.kohya"
    assert config["network_args"] == ["algo=lokr", "preset=attn-mlp", "use_tucker=True", "factor=4", "custom=x"]
    assert sorted(config["optimizer_args"]) == ["betas=(0.9,0.99)", "decouple=True", "weight_decay=0.01"]
    assert config["lr_scheduler_args"] == ["step_rules='1:10,0.1'"]


def test_oft_booleans_are_only_written_when_true(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA, "oft")
    project.set_values({"network_args.enable_all_linear": False, "network_args.enable_conv": True})
    config = _flat(_load(emit_run_folder(project, tmp_path / "run", OPTIONS).config_path))
    assert config["network_args"] == ["enable_conv=True"]  # oft reads bool("False") as true


def test_fine_tune_metadata_is_written_from_the_captions(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.FINETUNE)
    folder = project.subsets[0].image_dir
    (tmp_path / "src" / "5_subject" / "img1.txt").write_bytes("\ufeffutf8 with bom".encode())
    (tmp_path / "src" / "5_subject" / "img2.txt").write_bytes("utf16 caption".encode("utf-16"))
    (tmp_path / "src" / "5_subject" / "img3.txt").unlink()
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    subset = _load(run.dataset_path)["datasets"][0]["subsets"][0]
    with open(subset["metadata_file"], encoding="utf-8") as fh:
        metadata = json.load(fh)
    assert subset["image_dir"] == folder and run.script == "fine_tune.py"
    captions = {k.rsplit("/", 1)[1]: v["caption"] for k, v in metadata.items()}
    assert captions == {"img0.png": "a photo, red 0", "img1.png": "utf8 with bom", "img2.png": "utf16 caption",
                        "img3.png": "ohwx person"}


def test_typed_sample_prompts_are_written_to_the_run(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_values({"sample_prompt_text": "a cat --w 512\na dog", "sample_every_n_epochs": 1})
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    assert run.sample_prompts_path.read_text(encoding="utf-8") == "a cat --w 512\na dog\n"
    assert _flat(_load(run.config_path))["sample_prompts"] == str(run.sample_prompts_path)


def test_resolved_values_are_recorded_with_their_origin(tmp_path):
    project = make_project(tmp_path / "src", Family.SDXL, Mode.LORA)
    project.training_profile = "sdxl/style"
    project.set_value("seed", 7)
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    text = run.resolved_path.read_text(encoding="utf-8")
    assert "seed = 7  # user" in text and "network_dim = 32  # training profile sdxl/style" in text
    assert _tomlkit_loads(text)["applied"]["seed"] == 7


def test_values_the_engine_would_misread_are_refused(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_value("network_args_extra", ['""x=1'])
    with pytest.raises(UserInputError, match="reads it back unchanged"):
        emit_run_folder(project, tmp_path / "run", OPTIONS)


def test_commas_stay_readable_unless_the_engine_would_split_them(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_values({"network_args.down_lr_weight": "1,1,0.5", "network_args_extra": [",odd=1"]})
    run = emit_run_folder(project, tmp_path / "run", OPTIONS)
    text = run.config_path.read_text(encoding="utf-8")
    assert '"down_lr_weight=1,1,0.5"' in text and '"\\u002codd=1"' in text
    assert _flat(_load(run.config_path))["network_args"] == ["down_lr_weight=1,1,0.5", ",odd=1"]


def test_errors_block_and_existing_runs_are_never_overwritten(tmp_path):
    project = make_project(tmp_path / "src", Family.SD1, Mode.LORA)
    project.set_value("learning_rate", "fast")
    with pytest.raises(ValidationError) as info:
        emit_run_folder(project, tmp_path / "run", OPTIONS)
    assert any(p.field == "learning_rate" for p in info.value.problems)
    assert not (tmp_path / "run").exists()
    project.reset_value("learning_rate")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.log").write_text("x")
    with pytest.raises(UserInputError, match="not empty"):
        emit_run_folder(project, tmp_path / "run", OPTIONS)


_scalars = st.one_of(st.booleans(), st.integers(-2**62, 2**62), st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=40))
_key = st.text(min_size=1, max_size=12)


@settings(max_examples=300)
@given(st.dictionaries(_key, st.one_of(_scalars, st.lists(st.text(max_size=10), max_size=4),
                                       st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=4),
                                       st.dictionaries(_key, _scalars, max_size=4)), max_size=6))
def test_property_the_toml_writer_round_trips_through_both_parsers(doc):
    try:
        text = dumps_checked(doc)
    except ValueError as exc:  # refused rather than misread by the engine (rare, exotic text)
        assert "sd-scripts" in str(exc)
        return
    mine, engine = _tomlkit_loads(text), toml.loads(text)

    def same(a, b):
        if isinstance(a, float):
            return math.isclose(a, b, rel_tol=0, abs_tol=0) or a == b
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b and type(a) is type(b)

    assert same(doc, mine), (doc, text)
    assert same(mine, engine), (text, engine)


def test_the_tokenizer_cache_is_filled_for_the_family(tmp_path):
    project = make_project(tmp_path / "src", Family.FLUX, Mode.LORA)
    run = emit_run_folder(project, tmp_path / "run", EmitOptions(tokenizer_cache_dir=tmp_path / "tok"))
    assert run.tokenizers.written == ("openai/clip-vit-large-patch14",)
    assert run.tokenizers.missing == ("google/t5-v1_1-xxl",)
    assert (tmp_path / "tok" / "openai_clip-vit-large-patch14" / "vocab.json").is_file()
    assert _flat(_load(run.config_path))["tokenizer_cache_dir"] == str(tmp_path / "tok")
    again = emit_run_folder(project, tmp_path / "run2", EmitOptions(tokenizer_cache_dir=tmp_path / "tok"))
    assert again.tokenizers.present == ("openai/clip-vit-large-patch14",) and not again.tokenizers.written
