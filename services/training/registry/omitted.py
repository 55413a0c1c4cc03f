"""sd-scripts arguments that are not user parameters, and why.

``DERIVED`` arguments are written by the emitter from other choices; ``OMITTED`` ones are left out
on purpose. The schema-coverage test checks that every argument of every training script is either
declared in the registry or named here.
"""

from __future__ import annotations

DERIVED: dict[str, str] = {
    "v2": "set from the model family (SD 2.x)",
    "network_module": "set from the network algorithm and the family",
    "config_file": "the emitted training config itself",
    "dataset_config": "the emitted dataset config itself",
    "tokenizer_cache_dir": "the application's tokenizer cache (Settings > Training backend)",
    "output_config": "used only by the preflight's own parser probe",
}

OMITTED: dict[str, str] = {
    "console_log_level": "the runner reads the engine's console; its format must stay as parsed",
    "console_log_file": "the runner keeps the full log in the run folder",
    "console_log_simple": "the runner reads the engine's console; its format must stay as parsed",
    "huggingface_token": "a secret: passed only through the HF_TOKEN environment variable",
    "wandb_api_key": "a secret: passed only through the WANDB_API_KEY environment variable",
    "train_data_dir": "the dataset is always given as a dataset config (subsets)",
    "reg_data_dir": "regularisation folders are subsets of the dataset config",
    "in_json": "fine-tuning metadata is written by the emitter into the dataset config",
    "dataset_repeats": "repeats are set per subset in the dataset config",
    "caption_extention": "a misspelt alias of caption_extension kept by the engine for old configs",
    "dataset_class": "loads arbitrary Python dataset classes; not offered",
    "debug_dataset": "an interactive dataset viewer that does not train",
    "conditioning_data_dir": "mask/ControlNet conditioning folders are not offered (alpha masks are)",
    "masked_loss": "needs mask folders (conditioning images), not offered; alpha_mask covers masks",
    "controlnet_model_name_or_path": "ControlNet training is not offered",
    "use_8bit_adam": "deprecated alias of optimizer_type = AdamW8bit",
    "use_lion_optimizer": "deprecated alias of optimizer_type = Lion",
    "use_safetensors": "legacy switch superseded by save_model_as",
    "diffusers_xformers": "legacy switch superseded by xformers / sdpa",
    "split_mode": "deprecated by the engine in favour of blocks_to_swap",
    "double_blocks_to_swap": "deprecated by the engine in favour of blocks_to_swap",
    "single_blocks_to_swap": "deprecated by the engine in favour of blocks_to_swap",
    "metadata_merged_from": "describes model merges, not training runs",
    "metadata_preprocessor": "describes ControlNet preprocessors, not these trainings",
    "metadata_is_negative_embedding": "describes textual-inversion embeddings, not these trainings",
}

# Dataset-config keys (``--dataset_config``) that the project does not set, and why.
DATASET_OMITTED: dict[str, str] = {
    "batch_size": "the batch size is the training config's train_batch_size (the engine's fallback)",
    "network_multiplier": "only matters with several datasets of different strengths, which a project has not",
    "validation_seed": "set in the training config (validation_seed)",
    "validation_split": "set in the training config (validation_split)",
    "custom_attributes": "per-subset data for custom engine strategies; not offered",
    "metadata_file": "written by the emitter for fine-tuning datasets",
    "alpha_mask": "set for the whole run through the training config's alpha_mask",
    "conditioning_data_dir": "mask/ControlNet conditioning folders are not offered",
}
