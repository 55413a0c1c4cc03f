"""Projects for every family x mode x network algorithm, for the emission tests.

``make_project`` writes a header-only model of the family (test double, see tests/support), the
component files its family needs, and a small image folder with captions, then returns a project
that validates. ``maximal`` sets every applicable parameter to a valid sample value, so a single
emitted config exercises as many keys as possible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from services.training.families import Family, Mode
from services.training.project import Project, Subset
from services.training.registry import ParamType, Selection, Target, registry
from services.training.registry.algorithms import algorithms_for
from tests.support.model_headers import (
    flux_tensors,
    sd1_tensors,
    sd2_tensors,
    sd3_tensors,
    sdxl_tensors,
    write_safetensors_header,
)

_TENSORS = {Family.SD1: sd1_tensors, Family.SD2: sd2_tensors, Family.SDXL: sdxl_tensors, Family.FLUX: flux_tensors,
            Family.SD3: lambda: sd3_tensors(with_te=True)}


def combinations() -> list[tuple[Family, Mode, str | None]]:
    out = []
    for family in Family:
        for algo in algorithms_for(family):
            out.append((family, Mode.LORA, algo.id))
        out += [(family, Mode.DREAMBOOTH, None), (family, Mode.FINETUNE, None)]
    return out


def combo_id(combo) -> str:
    family, mode, algo = combo
    return f"{family.value}-{mode.value}" + (f"-{algo}" if algo else "")


def write_images(folder: Path, count: int = 4, size: int = 64, caption: str | None = "a photo, red") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (size, size), (40 * i % 255, 90, 160)).save(folder / f"img{i}.png")
        if caption is not None:
            (folder / f"img{i}.txt").write_text(f"{caption} {i}", encoding="utf-8")
    return folder


def make_project(root: Path, family: Family, mode: Mode, algorithm: str | None = None, *,
                 images: int = 4, reg: bool = False) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    model = write_safetensors_header(root / f"{family.value}.safetensors", _TENSORS[family]())
    project = Project.new(f"{family.value}-{mode.value}", family=family, mode=mode, model_path=str(model))
    project.path = root / "project.lsproj.toml"
    if family is Family.FLUX:
        for key in ("ae", "clip_l", "t5xxl"):
            project.set_value(key, str(write_safetensors_header(root / f"{key}.safetensors", {"w": ("F16", [4])})))
    if algorithm:
        project.set_value("network_algorithm", algorithm)
    project.add_subset(Subset(str(write_images(root / "5_subject", images)), name="subject", num_repeats=5,
                              class_tokens="ohwx person"))
    if reg and mode is not Mode.FINETUNE:
        project.add_subset(Subset(str(write_images(root / "1_person", images, caption=None)), num_repeats=1,
                                  class_tokens="person", is_reg=True))
    project.set_value("max_data_loader_n_workers", 0)
    return project


# sample values where the generic rule would not make a valid run (the rest is generic below)
_SAMPLES: dict[str, Any] = {
    "accelerate.gpu_ids": "0", "accelerate.main_process_ip": "10.0.0.1", "accelerate.main_process_port": 29500,
    "accelerate.num_processes": 1, "accelerate.num_machines": 1, "accelerate.machine_rank": 0,
    "optimizer_args.betas": [0.9, 0.99], "resolution": [512, 768], "face_crop_aug_range": [2.0, 4.0],
    "min_timestep": 10, "max_timestep": 900, "min_bucket_reso": 256, "max_bucket_reso": 1024,
    "bucket_reso_steps": 64, "network_args_extra": ["verbose=True"], "optimizer_args_extra": ["foo=1"],
    "lr_scheduler_args_extra": ["bar=2"], "huggingface_repo_id": "user/repo", "output_name": "result",
    "caption_extension": ".txt", "t5xxl_device": "cpu", "lr_scheduler_type": "", "max_train_steps": None,
    "max_train_epochs": 2, "blocks_to_swap": 2, "cpu_offload_checkpointing": False, "lr_warmup_steps": 0.1,
    "lr_decay_steps": 0.1, "token_warmup_step": 0.5, "token_warmup_min": 1, "train_batch_size": 2,
    "gradient_accumulation_steps": 1, "save_model_as": "safetensors", "num_repeats": 2,
    "resize_interpolation": "lanczos", "keep_tokens_separator": "|||", "caption_separator": ",",
    "secondary_separator": ";;;", "network_args.block_size": 4, "network_args.unit": 4, "network_dim": 16,
    "network_args.conv_dim": 16, "fused_backward_pass": False, "offload_optimizer_nvme_path": "/tmp",
    "offload_param_nvme_path": "/tmp", "validation_split": 0.2, "t5xxl_max_token_length": 256,
    "network_args.preset": "attn-mlp", "block_lr": ",".join(["1e-6"] * 23), "seed": 1234,
    "lr_scheduler_args.step_rules": "1:10,0.1", "timestep_sampling": "shift",
}
_SKIP = {"network_algorithm", "pretrained_model_name_or_path", "resume", "network_weights", "base_weights",
         "base_weights_multiplier", "dim_from_weights", "resume_from_huggingface", "vae", "ae", "clip_l", "clip_g",
         "t5xxl", "model_type", "log_tracker_config", "optimizer_type", "lr_scheduler", "v_parameterization",
         "mem_eff_attn", "xformers", "deepspeed", "network_train_text_encoder_only", "full_fp16", "full_bf16",
         "network_args.ggpo_beta", "network_args.ggpo_sigma"}


def sample_value(param, family: Family, mode: Mode, files: dict[str, str]) -> Any:
    if param.key in _SAMPLES:
        return _SAMPLES[param.key]
    t = param.type
    if t is ParamType.BOOL:
        return True
    if t in (ParamType.INT, ParamType.FLOAT, ParamType.INT_OR_FLOAT):
        base = param.default if isinstance(param.default, (int, float)) and not isinstance(param.default, bool) \
            else (param.minimum if param.minimum is not None and not param.min_exclusive else 1)
        if param.maximum is not None:
            base = min(base, param.maximum)
        if param.minimum is not None and (base < param.minimum or (param.min_exclusive and base <= param.minimum)):
            base = param.minimum + 1
        return float(base) if t is ParamType.FLOAT else int(base)
    if t is ParamType.CHOICE:
        choices = param.choices_for(family, mode)
        return choices[-1]
    if t in (ParamType.FILE, ParamType.PATH):
        return files["file"]
    if t is ParamType.DIR:
        return files["dir"]
    if t is ParamType.TEXT:
        return "a photo of ohwx person --w 512 --h 512"
    if t is ParamType.STR:
        return "x"
    if t is ParamType.FLOAT_LIST:
        return [0.5]
    if t is ParamType.FILE_LIST:
        return [files["file"]]
    if t is ParamType.STR_LIST:
        return ["x"]
    if t is ParamType.KV_LIST:
        return ["x=1"]
    raise AssertionError(param.key)


def maximal(project: Project, root: Path) -> Project:
    """Set every parameter that applies (for this family, mode, algorithm) to a sample value."""
    family, mode = project.family, project.mode
    sample_file = root / "prompts.txt"
    sample_file.write_text("a photo of ohwx person\n", encoding="utf-8")
    files = {"file": str(sample_file), "dir": str(root)}
    reg = registry()
    resolved = project.resolve()
    selection = Selection.from_values(family, mode, resolved)
    for param in reg.parameters():
        if param.key in _SKIP or param.subset_only or not param.applies(selection):
            continue
        if param.target is Target.PROJECT:
            continue
        if param.key == "sample_prompts":
            project.set_value(param.key, str(sample_file))
            continue
        project.set_value(param.key, sample_value(param, family, mode, files))
    if family is Family.FLUX:
        project.set_value("cpu_offload_checkpointing", False)
    return project
