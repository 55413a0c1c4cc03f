"""Import a bmaltais/kohya_ss GUI config or preset (JSON; keys are the GUI's field names).

kohya_ss stores loosely typed values ("1e-4", "", "0") and uses 0 or an empty string for "not set"
on many fields; those are read as "not set" here instead of being carried over as zeros.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.errors import FileAccessError, FileFormatError
from services.training.families import Family, Mode
from services.training.importers.common import ImportReport, ImportResult, Mapper, subsets_from_kohya_folder
from services.training.project import Project
from services.training.registry import Target, registry
from services.training.value_types import split_arguments

TOOL = "kohya_ss GUI"
MAX_BYTES = 4 * 1024 * 1024

ALGORITHMS = {
    "standard": "lora", "kohya locon": "lora", "kohya dylora": "dylora", "lora-fa": "lora_fa",
    "lycoris/locon": "lycoris.locon", "lycoris/loha": "lycoris.loha", "lycoris/lokr": "lycoris.lokr",
    "lycoris/ia3": "lycoris.ia3", "lycoris/dylora": "lycoris.dylora", "lycoris/glora": "lycoris.glora",
    "lycoris/boft": "lycoris.boft", "lycoris/diag-oft": "lycoris.diag-oft",
    "lycoris/native fine-tuning": "lycoris.full", "flux1": "lora", "flux1 oft": "oft",
}
OPTIMIZER_NAMES = {
    "came": "pytorch_optimizer.CAME", "prodigyplusschedulefree": "prodigyplus.ProdigyPlusScheduleFree",
    "ademamix8bit": "bitsandbytes.optim.AdEMAMix8bit", "pagedademamix8bit": "bitsandbytes.optim.PagedAdEMAMix8bit",
}
# Fields where kohya_ss writes 0 (or "") for "not set".
ZERO_IS_UNSET = {
    "save_every_n_steps", "save_every_n_epochs", "save_last_n_steps", "save_last_n_steps_state",
    "save_last_n_epochs", "save_last_n_epochs_state", "sample_every_n_steps", "sample_every_n_epochs",
    "max_train_steps", "max_train_epochs", "stop_text_encoder_training", "min_snr_gamma", "noise_offset",
    "multires_noise_iterations", "ip_noise_gamma", "scale_weight_norms", "network_dropout", "v_pred_like_loss",
    "vae_batch_size", "adaptive_noise_scale", "unet_lr", "text_encoder_lr", "loraplus_lr_ratio",
    "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio", "lr_scheduler_num_cycles", "lr_scheduler_power",
    "rank_dropout", "module_dropout", "constrain", "main_process_port", "max_grad_norm_unset", "clip_skip",
    "ddp_timeout", "blocks_to_swap", "text_encoder_batch_size", "save_n_epoch_ratio", "learning_rate_te",
    "learning_rate_te1", "learning_rate_te2", "block_lr_zero_threshold", "fused_optimizer_groups",
}
RENAMES = {
    "epoch": "max_train_epochs", "LyCORIS_preset": "network_args.preset", "constrain": "network_args.constraint",
    "use_cp": "network_args.use_tucker", "lora_network_weights": "network_weights",
    "sdxl_no_half_vae": "no_half_vae", "num_cpu_threads_per_process": "accelerate.num_cpu_threads_per_process",
    "num_processes": "accelerate.num_processes", "num_machines": "accelerate.num_machines",
    "multi_gpu": "accelerate.multi_gpu", "gpu_ids": "accelerate.gpu_ids",
    "main_process_port": "accelerate.main_process_port", "machine_rank": "accelerate.machine_rank",
    "main_process_ip": "accelerate.main_process_ip",
}
GUI_ONLY = {
    "LoRA_type", "sdxl", "v2", "flux1_checkbox", "sd3_checkbox", "model_list", "save_as_bool", "lowvram",
    "train_on_input", "use_wandb", "noise_offset_type", "xformers", "max_resolution", "lr_warmup",
    "optimizer", "optimizer_args", "lr_scheduler_args", "additional_parameters", "extra_accelerate_launch_args",
    "train_data_dir", "reg_data_dir", "sample_prompts", "dataset_config", "dynamo_backend", "dynamo_mode",
    "dynamo_use_dynamic", "dynamo_use_fullgraph", "sdxl_cache_text_encoder_outputs",
    "flux1_cache_text_encoder_outputs", "flux1_cache_text_encoder_outputs_to_disk", "huggingface_token",
    "wandb_api_key", "max_train_epochs", "sd3_cache_text_encoder_outputs", "sd3_cache_text_encoder_outputs_to_disk",
}


def import_kohya_ss(path: str | Path) -> ImportResult:
    path = Path(path)
    data = _read_json(path)
    report = ImportReport(str(path), TOOL)
    family = _family(data)
    mode = _mode(data)
    project = Project.new(path.stem, family=family, mode=mode)
    report.notes.append(f"Read as {family.label}, {mode.label}.")
    m = Mapper(project, report)
    model = _blank(data.get("pretrained_model_name_or_path"))
    if model:
        project.model_path = str(model)
    if mode is Mode.LORA:
        lora_type = str(data.get("LoRA_type", "Standard"))
        algo = ALGORITHMS.get(lora_type.lower())
        if algo:
            m.set("LoRA_type", "network_algorithm", algo)
        else:
            m.skip("LoRA_type", lora_type, "a network type LoRA Studio does not offer; kohya LoRA is used")
    data = _effective(data, m)
    _special(m, data)
    reg = registry()
    by_name = _names(reg, m)
    for key, raw in data.items():
        if key in GUI_ONLY or key == "pretrained_model_name_or_path":
            continue
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            continue
        if key in ZERO_IS_UNSET and _is_zero(raw):
            continue
        target = RENAMES.get(key) or by_name.get(key)
        if target is None:
            m.skip(key, raw, "not a setting LoRA Studio knows (or only the kohya_ss GUI uses it)")
            continue
        if target == "text_encoder_lr" and not isinstance(raw, list):
            raw = [raw]
        m.set(key, target, raw)
    if data.get("max_train_epochs") not in (None, "", 0, "0"):
        m.set("max_train_epochs", "max_train_epochs", data["max_train_epochs"])
    for key, is_reg in (("train_data_dir", False), ("reg_data_dir", True)):
        folder = _blank(data.get(key))
        if folder:
            for sub in subsets_from_kohya_folder(str(folder), is_reg=is_reg, report=report):
                project.add_subset(sub)
    for secret in ("huggingface_token", "wandb_api_key"):
        if _blank(data.get(secret)):
            m.skip(secret, "<hidden>", "a secret: never stored in a project; set HF_TOKEN / WANDB_API_KEY in the "
                                       "environment or the system keyring")
    m.finish()
    return ImportResult(project, report)


# Values kohya_ss writes for "the engine's default" that mean "not set" here.
NEUTRAL = {"clip_skip": (1,), "max_token_length": (75,), "min_timestep": (0,), "max_timestep": (1000,)}


def _effective(data: dict, m: Mapper) -> dict:
    """Drop the fields kohya_ss itself would not pass on."""
    data = dict(data)
    if str(data.get("noise_offset_type", "Original")).lower() == "multires":
        data.pop("noise_offset", None)
    else:
        data.pop("multires_noise_iterations", None)
        data.pop("multires_noise_discount", None)
    for key, neutral in NEUTRAL.items():
        try:
            if key in data and float(data[key]) in neutral:
                data.pop(key)
        except (TypeError, ValueError):
            pass
    epochs = data.get("max_train_epochs") or data.get("epoch")
    steps = data.get("max_train_steps")
    if epochs not in (None, "", 0, "0") and steps not in (None, "", 0, "0"):
        m.skip("max_train_steps", steps, "kohya_ss also set epochs, and sd-scripts lets epochs decide; the epoch "
                                         "count was imported")
        data.pop("max_train_steps")
    return data


def _read_json(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise FileFormatError(f"{path.name} is too large to be a kohya_ss config.")
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise FileAccessError(f"{path} does not exist.") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FileFormatError(f"{path.name} is not a valid JSON file: {exc}",
                              "Choose a kohya_ss config saved from its GUI (a .json file).") from None
    except OSError as exc:
        raise FileAccessError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if not isinstance(data, dict):
        raise FileFormatError(f"{path.name} is JSON but not a kohya_ss config (no settings object).")
    return data


def _family(data: dict) -> Family:
    if _truthy(data.get("flux1_checkbox")) or str(data.get("LoRA_type", "")).lower().startswith("flux"):
        return Family.FLUX
    if _truthy(data.get("sd3_checkbox")):
        return Family.SD3
    if _truthy(data.get("sdxl")):
        return Family.SDXL
    if _truthy(data.get("v2")):
        return Family.SD2
    return Family.SD1


def _mode(data: dict) -> Mode:
    if "LoRA_type" in data or "network_dim" in data:
        return Mode.LORA
    if any(k in data for k in ("train_dir", "image_folder", "caption_metadata_filename", "latent_metadata_filename")):
        return Mode.FINETUNE
    return Mode.DREAMBOOTH


def _names(reg, m: Mapper) -> dict[str, str]:
    """kohya_ss field name -> registry key: the engine names of config/dataset parameters, and the
    network arguments it stores as fields of their own."""
    out = {}
    for param in reg.parameters():
        if param.target in (Target.CONFIG, Target.DATASET, Target.NETWORK_ARGS) and param.key != "network_args_extra":
            out.setdefault(param.engine_name, param.key)
    return out


def _special(m: Mapper, data: dict) -> None:
    opt = _blank(data.get("optimizer"))
    if opt:
        m.set("optimizer", "optimizer_type", OPTIMIZER_NAMES.get(str(opt).lower(), str(opt)))
    res = _blank(data.get("max_resolution"))
    if res:
        m.set("max_resolution", "resolution", res)
    warmup = data.get("lr_warmup")
    if warmup not in (None, "", 0, "0"):
        try:
            m.set("lr_warmup", "lr_warmup_steps", float(warmup) / 100.0)
        except (TypeError, ValueError):
            m.skip("lr_warmup", warmup, "not a percentage")
    attention = str(data.get("xformers", "")).lower()
    if attention in ("xformers", "true"):
        m.set("xformers", "xformers", True)
        m.set("xformers", "sdpa", False)
    elif attention == "sdpa":
        m.set("xformers", "sdpa", True)
    elif attention in ("none", "false"):
        m.set("xformers", "sdpa", False)
    for flag in ("sdxl", "flux1", "sd3"):
        if _truthy(data.get(f"{flag}_cache_text_encoder_outputs")):
            m.set(f"{flag}_cache_text_encoder_outputs", "cache_text_encoder_outputs", True)
        if _truthy(data.get(f"{flag}_cache_text_encoder_outputs_to_disk")):
            m.set(f"{flag}_cache_text_encoder_outputs_to_disk", "cache_text_encoder_outputs_to_disk", True)
    prompts = _blank(data.get("sample_prompts"))
    if prompts:
        m.set("sample_prompts", "sample_prompt_text", str(prompts))
    _arguments(m, "optimizer_args", data.get("optimizer_args"), "optimizer_args.", "optimizer_args_extra")
    _arguments(m, "lr_scheduler_args", data.get("lr_scheduler_args"), "lr_scheduler_args.", "lr_scheduler_args_extra")
    extra = _blank(data.get("additional_parameters"))
    if extra:
        _additional(m, str(extra))
    if _blank(data.get("dataset_config")):
        m.skip("dataset_config", data["dataset_config"], "a separate dataset TOML is not read; add its folders as "
                                                         "subsets in the Dataset panel")


def _arguments(m: Mapper, source: str, raw: Any, prefix: str, extra_key: str) -> None:
    items = raw if isinstance(raw, list) else split_arguments(str(raw or ""))
    extras = []
    for item in items:
        name, eq, value = str(item).partition("=")
        if not eq:
            m.skip(source, item, "not name=value")
            continue
        if m.reg.find(prefix + name.strip()) is not None:
            m.set(f"{source}:{name}", prefix + name.strip(), _literal(value))
        else:
            extras.append(f"{name.strip()}={value.strip()}")
    if extras:
        m.set(source, extra_key, extras)


def _literal(text: str) -> Any:
    import ast

    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()
    return list(value) if isinstance(value, tuple) else value


def _additional(m: Mapper, text: str) -> None:
    """'--flag value --other "a b"' from kohya_ss' free-text box."""
    tokens = split_arguments(text)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--"):
            m.skip("additional_parameters", token, "not an option")
            i += 1
            continue
        name = token[2:].replace("-", "_")
        values = []
        i += 1
        while i < len(tokens) and not tokens[i].startswith("--"):
            values.append(tokens[i])
            i += 1
        key = f"additional_parameters:{name}"
        if name in ("network_args", "optimizer_args", "lr_scheduler_args"):
            prefix = {"network_args": "network_args.", "optimizer_args": "optimizer_args.",
                      "lr_scheduler_args": "lr_scheduler_args."}[name]
            _arguments(m, name, values, prefix, f"{name}_extra")
            continue
        param = m.reg.find(name)
        if param is None:
            m.skip(key, " ".join(values), "not a setting LoRA Studio knows")
        elif not values:
            m.set(key, name, True)
        else:
            m.set(key, name, values if len(values) > 1 else values[0])


def _blank(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _is_zero(value: Any) -> bool:
    try:
        return float(value) == 0
    except (TypeError, ValueError):
        return False
