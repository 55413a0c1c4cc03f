"""Importers on real-format samples (written here in the formats the tools save): kohya_ss GUI JSON
(LoRA, LyCORIS, Flux, DreamBooth) and LoRA_Easy_Training_Scripts TOML, with their reports."""

from __future__ import annotations

import json

import pytest

from services.errors import FileFormatError
from services.training.families import Family, Mode
from services.training.importers import import_config, import_kohya_ss, import_lets
from services.training.validation import ValidationContext, check_project
from tests.training.combos import write_images

KOHYA_LOKR_SD15 = {
    "LoRA_type": "LyCORIS/LoKr", "LyCORIS_preset": "full", "adaptive_noise_scale": 0,
    "additional_parameters": "--lr_scheduler_type \"CosineAnnealingLR\" --lr_scheduler_args \"T_max=1000\" "
                             "\"eta_min=0e-0\" --no_such_option 3",
    "block_alphas": "", "bucket_no_upscale": True, "bucket_reso_steps": 64, "cache_latents": True,
    "cache_latents_to_disk": True, "caption_dropout_every_n_epochs": 0.0, "caption_dropout_rate": 0.1,
    "caption_extension": ".txt", "clip_skip": "2", "color_aug": False, "constrain": 0.0, "conv_alpha": 1,
    "conv_dim": 100000, "decompose_both": False, "enable_bucket": True, "epoch": 150, "factor": 6,
    "flip_aug": False, "full_bf16": False, "gradient_accumulation_steps": 1, "gradient_checkpointing": False,
    "keep_tokens": 1, "learning_rate": 1.0, "lr_scheduler": "cosine", "lr_scheduler_num_cycles": "",
    "lr_warmup": 0, "max_bucket_reso": 2048, "max_data_loader_n_workers": "0", "max_grad_norm": 1,
    "max_resolution": "512,512", "max_timestep": 1000, "max_token_length": "75", "max_train_epochs": "",
    "max_train_steps": "", "min_bucket_reso": 256, "min_snr_gamma": 5, "mixed_precision": "bf16",
    "network_alpha": 1, "network_dim": 100000, "noise_offset": 0, "noise_offset_type": "Multires",
    "multires_noise_discount": 0.1, "multires_noise_iterations": 6, "num_cpu_threads_per_process": 2,
    "optimizer": "Prodigy", "optimizer_args": "\"d0=1e-5\" \"d_coef=1.0\" \"weight_decay=0.4\" \"decouple=True\" "
                                              "\"safeguard_warmup=True\" \"use_bias_correction=True\" \"slice_p=11\"",
    "prior_loss_weight": 1.0, "save_every_n_epochs": 15, "save_every_n_steps": 0, "save_precision": "bf16",
    "sdxl": False, "seed": "", "shuffle_caption": True, "text_encoder_lr": 1.0, "train_batch_size": 2,
    "unet_lr": 1.0, "use_cp": False, "v2": False, "vae_batch_size": 0, "weighted_captions": False,
    "xformers": "xformers", "training_comment": "KoopaTroopa", "use_wandb": False, "wandb_api_key": "wb-secret-1",
}

KOHYA_SDXL_DREAMBOOTH = {
    "pretrained_model_name_or_path": "/models/sdxl_base.safetensors", "sdxl": True, "v2": False,
    "learning_rate": 5e-6, "train_text_encoder": True, "epoch": 8, "optimizer": "Adafactor",
    "optimizer_args": "scale_parameter=False relative_step=False warmup_init=False", "full_bf16": True,
    "mixed_precision": "bf16", "train_batch_size": 1, "max_resolution": "1024,1024", "save_model_as": "safetensors",
    "fused_backward_pass": True, "huggingface_token": "hf_very_secret", "sample_prompts": "a photo of sks dog",
    "sample_every_n_epochs": 1, "output_dir": "/out", "output_name": "sks",
}


def _write(path, data):
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_kohya_ss_lycoris_preset(tmp_path):
    result = import_kohya_ss(_write(tmp_path / "lokr.json", KOHYA_LOKR_SD15))
    p, report = result.project, result.report
    assert (p.family, p.mode) == (Family.SD1, Mode.LORA)
    v = p.user_values
    assert v["network_algorithm"] == "lycoris.lokr" and v["network_dim"] == 100000
    assert v["network_args.factor"] == 6 and v["network_args.conv_dim"] == 100000
    assert v["optimizer_type"] == "Prodigy" and v["learning_rate"] == 1.0 and v["unet_lr"] == 1.0
    assert v["optimizer_args.d0"] == 1e-5 and v["optimizer_args.decouple"] is True
    assert v["optimizer_args_extra"] == ["slice_p=11"]
    assert v["lr_scheduler_type"] == "CosineAnnealingLR"
    assert v["lr_scheduler_args_extra"] == ["T_max=1000", "eta_min=0e-0"]
    assert v["clip_skip"] == 2 and v["max_data_loader_n_workers"] == 0 and v["text_encoder_lr"] == [1.0]
    assert v["max_train_epochs"] == 150 and v["multires_noise_iterations"] == 6 and "noise_offset" not in v
    assert v["xformers"] is True and v["sdpa"] is False and "resolution" not in v  # 512: the default
    assert v["training_comment"] == "KoopaTroopa"
    for absent in ("seed", "save_every_n_steps", "max_token_length", "max_timestep", "vae_batch_size"):
        assert absent not in v, absent
    skipped = {s.source: s for s in report.skipped}
    assert "no_such_option" in " ".join(skipped)
    assert skipped["wandb_api_key"].value == "<hidden>"
    assert "wb-secret-1" not in p.to_toml() and "wb-secret-1" not in report.text()
    assert "not imported" in report.text()


def test_kohya_ss_dreambooth_with_subsets_from_the_folder_layout(tmp_path):
    write_images(tmp_path / "img" / "40_sks dog", 2)
    write_images(tmp_path / "reg" / "1_dog", 2)
    (tmp_path / "img" / "notes").mkdir()
    data = {**KOHYA_SDXL_DREAMBOOTH, "train_data_dir": str(tmp_path / "img"), "reg_data_dir": str(tmp_path / "reg")}
    result = import_config(_write(tmp_path / "db.json", data))
    p = result.project
    assert (p.family, p.mode) == (Family.SDXL, Mode.DREAMBOOTH)
    assert p.model_path == "/models/sdxl_base.safetensors"
    assert [(s.num_repeats, s.class_tokens, s.is_reg) for s in p.subsets] == [(40, "sks dog", False),
                                                                              (1, "dog", True)]
    v = p.user_values
    assert v["optimizer_type"] == "Adafactor" and v["optimizer_args.relative_step"] is False
    assert v["fused_backward_pass"] is True and v["train_text_encoder"] is True
    assert "resolution" not in v and "max_resolution" in result.report.defaults  # 1024 is SDXL's default
    assert v["sample_prompt_text"] == "a photo of sks dog"
    assert any("notes does not follow" in n for n in result.report.notes)
    assert "hf_very_secret" not in p.to_toml()


def test_kohya_ss_flux_and_epochs_over_steps(tmp_path):
    data = {"LoRA_type": "Flux1", "flux1_checkbox": True, "epoch": 25, "max_train_epochs": 25,
            "max_train_steps": 4000, "network_dim": 8, "guidance_scale": 3.5, "train_blocks": "single",
            "split_qkv": True, "conv_dim": 64, "flux1_cache_text_encoder_outputs": True, "sample_sampler": "euler",
            "ae": "/m/ae.safetensors", "t5xxl": "/m/t5.safetensors", "clip_l": "/m/clip_l.safetensors",
            "xformers": "sdpa", "discrete_flow_shift": 1}
    result = import_kohya_ss(_write(tmp_path / "flux.json", data))
    v = result.project.user_values
    assert result.project.family is Family.FLUX
    assert v["max_train_epochs"] == 25 and "max_train_steps" not in v
    assert v["network_args.train_blocks"] == "single" and v["network_args.split_qkv"] is True
    assert v["cache_text_encoder_outputs"] is True and v["discrete_flow_shift"] == 1.0
    reasons = {s.source: s.reason for s in result.report.skipped}
    assert "epochs decide" in reasons["max_train_steps"]
    assert "does not apply" in reasons["network_args.conv_dim"] and "does not apply" in reasons["sample_sampler"]


def test_kohya_ss_bad_values_are_reported_not_imported(tmp_path):
    data = {"LoRA_type": "Totally New", "network_dim": "many", "learning_rate": -1, "lr_warmup": "ten"}
    result = import_kohya_ss(_write(tmp_path / "bad.json", data))
    reasons = {s.source: s.reason for s in result.report.skipped}
    assert "does not offer" in reasons["LoRA_type"]
    assert "not a valid value" in reasons["network_dim"]
    assert "at least 0" in reasons["learning_rate"]
    assert "percentage" in reasons["lr_warmup"]
    assert "network_dim" not in result.project.user_values


@pytest.mark.parametrize(("content", "match"), [("{not json", "not a valid JSON"), ("[1, 2]", "not a kohya_ss")])
def test_kohya_ss_invalid_files(tmp_path, content, match):
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FileFormatError, match=match):
        import_kohya_ss(path)


LETS_SDXL = """\
[[subsets]]
num_repeats = 3
keep_tokens = 1
caption_extension = ".txt"
shuffle_caption = true
flip_aug = false
is_reg = false
image_dir = "{images}"
secret_sauce = 1

[[subsets]]
num_repeats = 1
is_reg = true
class_tokens = "woman"
image_dir = "{reg}"

[noise_args]

[sample_args]

[general_args.args]
pretrained_model_name_or_path = "{model}"
sdxl = true
mixed_precision = "bf16"
seed = 23
clip_skip = 2
xformers = true
max_train_epochs = 4
max_data_loader_n_workers = 1
persistent_data_loader_workers = true
prior_loss_weight = 1.0

[general_args.dataset_args]
resolution = 1024
batch_size = 2

[network_args.args]
network_dim = 32
network_alpha = 16.0

[network_args.args.network_args]
algo = "lokr"
conv_dim = 8
factor = 8
preset = "attn-mlp"
weird = "x"

[optimizer_args.args]
optimizer_type = "AdamW8bit"
lr_scheduler = "cosine"
learning_rate = 0.0001

[optimizer_args.args.optimizer_args]
weight_decay = "0.1"
betas = "0.9,0.99"

[saving_args.args]
output_dir = "{out}"
save_precision = "fp16"
save_model_as = "safetensors"

[bucket_args.dataset_args]
enable_bucket = true
min_bucket_reso = 256
max_bucket_reso = 2048
bucket_reso_steps = 64

[logging_args.args]
log_with = "tensorboard"
wandb_api_key = "wandb-secret-2"
"""


def test_lets_config_becomes_a_project_that_validates(tmp_path):
    from tests.support.model_headers import sdxl_tensors, write_safetensors_header

    images = write_images(tmp_path / "imgs", 4)
    reg = write_images(tmp_path / "reg", 4, caption=None)
    model = write_safetensors_header(tmp_path / "sdxl.safetensors", sdxl_tensors())
    path = tmp_path / "lets.toml"
    path.write_text(LETS_SDXL.format(images=images, reg=reg, model=model, out=tmp_path / "out"), encoding="utf-8")
    result = import_lets(path)
    p = result.project
    assert (p.family, p.mode, p.model_path) == (Family.SDXL, Mode.LORA, str(model))
    v = p.user_values
    assert v["network_algorithm"] == "lycoris.lokr" and v["network_args.factor"] == 8
    assert v["network_args.preset"] == "attn-mlp" and v["network_args_extra"] == ["weird=x"]
    assert v["optimizer_args.weight_decay"] == 0.1 and v["optimizer_args.betas"] == [0.9, 0.99]
    assert v["train_batch_size"] == 2 and v["xformers"] is True and v["sdpa"] is False
    assert v["log_with"] == "tensorboard" and v["max_train_epochs"] == 4
    assert [s.is_reg for s in p.subsets] == [False, True] and p.subsets[0].values == {"keep_tokens": 1,
                                                                                       "shuffle_caption": True}
    skipped = {s.source: s for s in result.report.skipped}
    assert "subsets[0].secret_sauce" in skipped and skipped["logging_args.wandb_api_key"].value == "<hidden>"
    assert "wandb-secret-2" not in p.to_toml()
    report = check_project(p, ValidationContext(environ={}))
    assert not report.errors, [str(e) for e in report.errors]


def test_lets_algorithm_flags(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("[network_args.args]\nfa = true\nnetwork_dim = 8\n", encoding="utf-8")
    assert import_lets(path).project.user_values["network_algorithm"] == "lora_fa"
    path.write_text("[network_args.args.network_args]\nunit = 4\n", encoding="utf-8")
    assert import_lets(path).project.user_values["network_algorithm"] == "dylora"
    path.write_text("[general_args.args]\nflux = true\n", encoding="utf-8")
    assert import_lets(path).project.family is Family.FLUX
    path.write_text("[general_args\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="not valid TOML"):
        import_lets(path)


def test_unknown_file_types_are_refused(tmp_path):
    with pytest.raises(FileFormatError, match="only kohya_ss"):
        import_config(tmp_path / "x.yaml")
