"""Every validation rule, one case each: the field it names, the severity, and words of the message.

Each case starts from a project that validates without errors (tests/training/combos.py) and
changes one thing."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.training.families import Family, Mode
from services.training.project import Subset
from services.training.validation import Severity, ValidationContext, check_project, validate
from tests.support.model_headers import lora_tensors, sdxl_tensors, write_safetensors_header
from tests.training.combos import make_project, write_images

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _values(**values):
    return lambda p, root: p.set_values(values)


def _model_path(make):
    def change(p, root):
        p.model_path = str(make(root))
    return change


def _subset(**fields):
    def change(p, root):
        sub = p.subsets[0]
        for k, v in fields.items():
            setattr(sub, k, v)
        p.update_subset(0, sub)
    return change


def _add_subset(**fields):
    def change(p, root):
        folder = fields.pop("folder", None) or write_images(root / "extra", 2)
        p.add_subset(Subset(str(folder), **fields))
    return change


CASES = [
    # family, mode, change, field, severity, words
    ("sdxl", "lora", lambda p, r: setattr(p, "model_path", None), "pretrained_model_name_or_path", E,
     "No base model"),
    ("sdxl", "lora", lambda p, r: setattr(p, "model_path", str(r / "nope.safetensors")),
     "pretrained_model_name_or_path", E, "does not exist"),
    ("sdxl", "lora", _model_path(lambda r: _write(r / "m.ckpt", b"\x80\x02x")),
     "pretrained_model_name_or_path", E, "pickle"),
    ("sdxl", "lora", _model_path(lambda r: write_safetensors_header(r / "l.safetensors", lora_tensors("sdxl"))),
     "pretrained_model_name_or_path", E, "not a base model"),
    ("sdxl", "lora", _model_path(lambda r: write_safetensors_header(r / "r.safetensors", sdxl_tensors(refiner=True))),
     "pretrained_model_name_or_path", E, "refiner"),
    ("sd1", "lora", _model_path(lambda r: write_safetensors_header(r / "x.safetensors", sdxl_tensors())),
     "pretrained_model_name_or_path", E, "project is set to Stable Diffusion 1.x"),
    ("sdxl", "lora", _values(learning_rate="1e-4"), "learning_rate", E, "expects a number"),
    ("sdxl", "lora", _values(network_dim=0), "network_dim", E, "at least 1"),
    ("sdxl", "finetune", _values(save_model_as="pt"), "save_model_as", E, "cannot be 'pt'"),
    ("sdxl", "lora", _values(ae="/x/ae.safetensors"), "ae", I, "no effect"),
    ("sdxl", "lora", _values(vae="/no/such/vae.safetensors"), "vae", E, "does not exist"),
    ("sdxl", "lora", _values(optimizer_args_extra=["betas=(0.9"]), "optimizer_args_extra", E, "Python literal"),
    ("sdxl", "lora", _values(network_args_extra=["=3"]), "network_args_extra", E, "no name"),
    ("sd2", "lora", _values(), "v_parameterization", W, "v-prediction"),
    ("flux", "lora", _values(ae=None), "ae", E, "Flux.1 needs"),
    ("flux", "lora", _values(model_type="chroma"), "apply_t5_attn_mask", E, "Chroma"),
    ("sdxl", "lora", _values(optimizer_type="Prodigy", learning_rate=1e-4), "learning_rate", W, "multiplier"),
    ("sdxl", "lora", _values(learning_rate=0.05), "learning_rate", W, "very high"),
    ("sdxl", "lora", _values(learning_rate=0.0), "learning_rate", E, "nothing would be learned"),
    ("sdxl", "lora", _values(optimizer_type="Foo"), "optimizer_type", W, "torch.optim.Foo"),
    ("sdxl", "lora", _values(lr_scheduler="adafactor"), "lr_scheduler", E, "only with the Adafactor"),
    ("sdxl", "lora", _values(optimizer_type="Adafactor", lr_scheduler="cosine"), "lr_scheduler", I,
     "replaces the 'cosine'"),
    ("sdxl", "lora", _values(optimizer_type="AdamWScheduleFree"), "lr_scheduler", W, "needs no learning-rate"),
    ("sdxl", "lora", _values(lr_scheduler="constant", lr_warmup_steps=100), "lr_warmup_steps", E, "has no warmup"),
    ("sdxl", "lora", _values(lr_warmup_steps=1.5), "lr_warmup_steps", E, "not below 1"),
    ("sdxl", "lora", _values(lr_warmup_steps=100000), "lr_warmup_steps", W, "as long as the whole run"),
    ("sdxl", "lora", _values(lr_scheduler="warmup_stable_decay"), "lr_decay_steps", E, "decay length"),
    ("sdxl", "lora", _values(lr_scheduler="piecewise_constant", lr_warmup_steps=0), "lr_scheduler_args.step_rules",
     E, "needs its rules"),
    ("sdxl", "finetune", _values(fused_backward_pass=True, fused_optimizer_groups=4, optimizer_type="Adafactor"),
     "fused_backward_pass", E, "cannot be used together"),
    ("sdxl", "finetune", _values(fused_backward_pass=True), "fused_backward_pass", E, "only with the Adafactor"),
    ("sdxl", "finetune", _values(fused_backward_pass=True, optimizer_type="Adafactor",
                                 gradient_accumulation_steps=2), "fused_backward_pass", E, "accumulate"),
    ("sdxl", "lora", _values(full_fp16=True), "full_fp16", E, "fp16 mixed precision"),
    ("sdxl", "lora", _values(full_bf16=True, mixed_precision="fp16"), "full_bf16", E, "bf16 mixed precision"),
    ("sdxl", "lora", _values(fp8_base=True, mixed_precision="no"), "fp8_base", E, "fp16 or bf16"),
    ("flux", "lora", _values(blocks_to_swap=8, cpu_offload_checkpointing=True, gradient_checkpointing=True),
     "cpu_offload_checkpointing", E, "cannot be combined"),
    ("sdxl", "lora", _values(xformers=True), "xformers", W, "Both xformers"),
    ("sdxl", "lora", _values(random_crop=True), "random_crop", E, "latents cannot be cached"),
    ("sdxl", "lora", lambda p, r: p.update_subset(0, Subset(p.subsets[0].image_dir, num_repeats=5,
                                                             values={"color_aug": True})),
     "subsets[0].color_aug", E, "latents cannot be cached"),
    ("sdxl", "lora", _values(cache_text_encoder_outputs=True, shuffle_caption=True), "shuffle_caption", E,
     "text-encoder outputs cannot be cached"),
    ("sdxl", "lora", _values(cache_text_encoder_outputs=True, network_train_unet_only=False),
     "cache_text_encoder_outputs", E, "cannot train the text encoder"),
    ("sdxl", "finetune", _values(cache_text_encoder_outputs=True, train_text_encoder=True),
     "cache_text_encoder_outputs", E, "cannot train the text encoder"),
    ("sdxl", "lora", _values(network_train_text_encoder_only=True), "network_train_unet_only", E, "exclude"),
    ("sdxl", "lora", _values(network_alpha=64.0), "network_alpha", W, "larger than the dimension"),
    ("sdxl", "lora", _values(network_algorithm="lycoris.loha", network_dim=128), "network_dim", W, "above 64"),
    ("sdxl", "lora", _values(network_algorithm="dylora", network_dim=10, **{"network_args.unit": 4}),
     "network_args.unit", E, "multiple of"),
    ("sdxl", "lora", _values(network_algorithm="dylora", **{"network_args.conv_dim": 4}), "network_args.conv_dim",
     E, "equal to the network dimension"),
    ("flux", "lora", _values(**{"network_args.ggpo_sigma": 0.03}), "network_args.ggpo_sigma", E, "both"),
    ("sdxl", "lora", _values(base_weights=["/a.safetensors"], base_weights_multiplier=[1.0, 0.5]),
     "base_weights_multiplier", E, "but 2 strengths"),
    ("sd1", "lora", _values(scale_v_pred_loss_like_noise_pred=True), "scale_v_pred_loss_like_noise_pred", I,
     "only when v_parameterization is set"),
    ("sd1", "lora", _values(v_parameterization=True, v_pred_like_loss=0.1), "v_pred_like_loss", E,
     "noise-prediction models only"),
    ("sd1", "lora", _values(zero_terminal_snr=True), "zero_terminal_snr", W, "v-prediction"),
    ("sd1", "lora", _values(adaptive_noise_scale=0.01), "adaptive_noise_scale", E, "needs a noise offset"),
    ("sd1", "lora", _values(min_timestep=500, max_timestep=400), "min_timestep", E, "must be below"),
    ("sdxl", "lora", _values(clip_skip=2), "clip_skip", W, "rarely"),
    ("sdxl", "lora", lambda p, r: p.remove_subset(0), "dataset", E, "dataset is empty"),
    ("sdxl", "lora", _subset(image_dir="/no/such/folder"), "subsets[0].image_dir", E, "does not exist"),
    ("sdxl", "lora", _add_subset(folder=None, num_repeats=1), "dataset", I, ""),  # placeholder replaced below
    ("sdxl", "lora", _subset(is_reg=True), "dataset", E, "Every subset is marked as regularisation"),
    ("sdxl", "finetune", _add_subset(is_reg=True), "dataset", E, "does not use regularisation"),
    ("sdxl", "lora", _subset(num_repeats=0), "subsets[0].num_repeats", E, "0 repeats"),
    ("sdxl", "lora", lambda p, r: p.add_subset(p.subsets[0]), "subsets[1].image_dir", W, "seen twice"),
    ("sdxl", "lora", lambda p, r: p.update_subset(0, Subset(p.subsets[0].image_dir, values={"keep_tokens": "x"})),
     "subsets[0].keep_tokens", E, "expects a whole number"),
    ("sdxl", "lora", lambda p, r: p.update_subset(0, Subset(p.subsets[0].image_dir, values={"seed": 3})),
     "subsets[0].seed", W, "cannot be set per subset"),
    ("sdxl", "lora", _values(resolution=1020), "resolution", E, "multiple of 8"),
    ("sdxl", "lora", _values(resolution=512), "resolution", W, "well below"),
    ("sdxl", "lora", _values(min_bucket_reso=2048, max_bucket_reso=1536), "min_bucket_reso", E, "larger than"),
    ("sdxl", "lora", _values(max_bucket_reso=768), "max_bucket_reso", E, "smaller than the resolution"),
    ("flux", "lora", _values(bucket_reso_steps=8), "bucket_reso_steps", E, "multiple of 32"),
    ("sdxl", "lora", _values(max_train_epochs=None), "max_train_epochs", E, "neither epochs nor steps"),
    ("sdxl", "lora", _values(max_train_epochs=1), "steps", W, "barely learn"),
    ("sdxl", "lora", _values(max_train_steps=300), "max_train_steps", I, "decides the length"),
    ("sdxl", "lora", _values(train_batch_size=64), "train_batch_size", W, "larger than the images per epoch"),
    ("sdxl", "lora", _values(save_every_n_epochs=10), "save_every_n_epochs", W, "no intermediate"),
    ("sdxl", "lora", _values(keep_tokens=2), "keep_tokens", W, "only matters when tags are shuffled"),
    ("sdxl", "lora", lambda p, r: setattr(p, "training_profile", "sdxl/nope"), "profile.training", W, "not found"),
    ("sdxl", "lora", lambda p, r: setattr(p, "memory_profile", "flux/8gb"), "profile.memory", W, "not made for"),
    ("sdxl", "lora", _values(**{"accelerate.num_machines": 2}), "accelerate.main_process_ip", E, "address"),
    ("sdxl", "lora", _values(**{"accelerate.num_machines": 2, "accelerate.machine_rank": 2,
                                "accelerate.main_process_ip": "1.2.3.4", "accelerate.main_process_port": 1}),
     "accelerate.machine_rank", E, "must be below"),
    ("sdxl", "lora", _values(**{"accelerate.num_processes": 2, "accelerate.gpu_ids": "0"}), "accelerate.gpu_ids", E,
     "need 2 GPUs"),
    ("sdxl", "lora", _values(**{"accelerate.gpu_ids": "zero"}), "accelerate.gpu_ids", E, "must be numbers"),
    ("sdxl", "lora", _values(**{"accelerate.num_processes": 2, "accelerate.gpu_ids": "0,1"}),
     "accelerate.multi_gpu", I, "--multi_gpu"),
    ("sdxl", "lora", _values(output_name="a/b"), "output_name", E, "cannot be in a file name"),
    ("sdxl", "lora", _values(sample_every_n_steps=10), "sample_prompt_text", W, "no sample prompts"),
    ("sdxl", "lora", _values(sample_prompt_text="a cat"), "sample_every_n_epochs", W, "no schedule"),
    ("sdxl", "lora", _values(huggingface_repo_id="me/x"), "huggingface_repo_id", W, "token"),
    ("sdxl", "lora", _values(log_with="wandb"), "log_with", W, "API key"),
]
CASES = [c for c in CASES if c[4] is not I or c[5]]  # drop the placeholder row


@pytest.mark.parametrize(("family", "mode", "change", "field", "severity", "words"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule(tmp_path, family, mode, change, field, severity, words):
    project = make_project(tmp_path, Family(family), Mode(mode), "lora" if mode == "lora" else None)
    baseline = [p for p in validate(project, ValidationContext(environ={})) if p.is_error]
    assert not baseline, [str(p) for p in baseline]
    change(project, tmp_path)
    problems = validate(project, ValidationContext(environ={}))
    matching = [p for p in problems if p.field == field and p.severity is severity and words in p.message]
    assert matching, "\n".join(str(p) for p in problems)
    assert all(p.message.rstrip().endswith((".", ")")) for p in problems), [p.message for p in problems]
    assert all(p.hint for p in problems if p.is_error), [str(p) for p in problems if p.is_error and not p.hint]


def test_missing_packages_in_the_backend_are_errors(tmp_path):
    project = make_project(tmp_path, Family.SDXL, Mode.LORA, "lycoris.loha")
    project.set_values({"optimizer_type": "AdamW8bit", "xformers": True})
    problems = validate(project, ValidationContext(installed=frozenset({"torch"})))
    fields = {p.field for p in problems if p.is_error}
    assert {"network_algorithm", "optimizer_type", "xformers"} <= fields
    ok = validate(project, ValidationContext(installed=frozenset({"lycoris-lora", "bitsandbytes", "xformers"})))
    assert not {p.field for p in ok if p.is_error} & {"network_algorithm", "optimizer_type", "xformers"}


def test_an_empty_folder_and_counts_from_the_scanner(tmp_path):
    project = make_project(tmp_path, Family.SD1, Mode.LORA)
    empty = tmp_path / "3_empty"
    empty.mkdir()
    (empty / "sub").mkdir()
    write_images(empty / "sub", 2)  # images in a sub-folder are not read by sd-scripts
    project.add_subset(Subset(str(empty), num_repeats=3))
    report = check_project(project)
    assert any(p.field == "subsets[1].image_dir" and "no images" in p.message for p in report.errors)
    counted = check_project(project, ValidationContext(image_counts={str(empty): 10}))
    assert not counted.errors and counted.steps.train_views == 4 * 5 + 10 * 3


def test_the_family_is_taken_from_the_model_when_the_project_has_none(tmp_path):
    project = make_project(tmp_path, Family.SDXL, Mode.LORA)
    project.family = None
    report = check_project(project)
    assert not report.errors and report.resolved.family is Family.SDXL
    assert any("detected as SDXL" in p.message for p in report.problems)
    project.model_path = None
    report = check_project(project)
    assert {p.field for p in report.errors} == {"pretrained_model_name_or_path", "model"}


def test_step_report_is_part_of_validation(tmp_path):
    project = make_project(tmp_path, Family.SD1, Mode.DREAMBOOTH, reg=True)
    report = check_project(project)
    assert report.steps.train_views == 20 and report.steps.reg_used == 20
    assert report.steps.total_steps == 40 * 10
    steps_info = [p for p in report.problems if p.field == "steps"]
    assert steps_info and "400 steps" in steps_info[0].message


def test_problems_are_sorted_errors_first(tmp_path):
    project = make_project(tmp_path, Family.SDXL, Mode.LORA)
    project.set_values({"learning_rate": "x", "clip_skip": 2})
    problems = validate(project)
    ranks = [p.severity.rank for p in problems]
    assert ranks == sorted(ranks)


def test_paths_are_not_touched_when_asked(tmp_path):
    project = make_project(tmp_path, Family.SDXL, Mode.LORA)
    project.model_path = str(Path("/nowhere/model.safetensors"))
    report = check_project(project, ValidationContext(check_paths=False, image_counts={}))
    assert not [p for p in report.errors if "does not exist" in p.message]
