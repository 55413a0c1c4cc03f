"""The registry as data: well-formed declarations and the applicability rules the GUI relies on."""

from __future__ import annotations

import re

import pytest

from services.training.families import Family, Mode
from services.training.registry import GROUP_ORDER, Group, ParamType, Selection, Target, registry
from services.training.registry.algorithms import ALGORITHMS, algorithm, algorithms_for
from services.training.registry.optimizers import OPTIMIZERS, SCHEDULERS, optimizer
from services.training.value_types import range_problem, type_problem

REG = registry()


def test_groups_come_in_the_documented_order():
    assert [g.label for g in GROUP_ORDER] == [
        "Model", "Dataset", "Network", "Optimizer and scheduler", "Training", "Memory", "Sampling", "Saving",
        "Logging", "Accelerate / multi-GPU", "Advanced"]
    order = [GROUP_ORDER.index(p.group) for p in REG.parameters()]
    assert order == sorted(order)
    assert all(REG.in_group(g) for g in Group)


@pytest.mark.parametrize("param", REG.parameters(), ids=lambda p: p.key)
def test_every_declaration_is_complete_and_consistent(param):
    assert param.label and param.help, "label and help are required"
    assert len(param.help) >= 20 and param.help[0].isupper() and param.help.rstrip().endswith((".", ")"))
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", param.help), "help texts are our own English words"
    for family in Family:
        for mode in Mode:
            default = param.default_for(family, mode)
            assert type_problem(param, default) is None, (family, mode, default)
            assert range_problem(param, default) is None, (family, mode, default)
            if param.type is ParamType.CHOICE and default is not None and not param.open_choices:
                assert default in param.choices_for(family, mode)
    if param.target is Target.DATASET:
        assert param.levels and set(param.levels) <= {"general", "dataset", "subset"}
    if "." in param.key:
        assert param.target is not Target.CONFIG


def test_every_algorithm_optimizer_and_scheduler_is_described():
    for catalogue in (ALGORITHMS, OPTIMIZERS, SCHEDULERS):
        for entry in catalogue:
            assert entry.label and len(entry.help) > 20
    assert optimizer("adamw8bit").eight_bit and optimizer("prodigy").adaptive
    assert optimizer("my.Custom") is None
    assert algorithm("lora").module_for(Family.FLUX) == "networks.lora_flux"
    assert algorithm("lora").module_for(Family.SD3) == "networks.lora_sd3"
    assert algorithm("lycoris.loha").module_for(Family.SDXL) == "lycoris.kohya"
    assert algorithm("dylora").module_for(Family.FLUX) is None
    assert {a.id for a in algorithms_for(Family.SD3)} == {"lora"}


def _keys(sel, values=None, group=None):
    return {p.key for p in REG.applicable(sel, values, group=group)}


def test_choosing_loha_shows_its_arguments_and_hides_the_others():
    loha = _keys(Selection(Family.SDXL, Mode.LORA, "lycoris.loha"))
    assert {"network_args.use_tucker", "network_args.preset", "network_args.dora_wd", "network_args.conv_dim"} <= loha
    assert "network_args.factor" not in loha  # LoKr only
    assert "network_args.unit" not in loha    # DyLoRA only
    lokr = _keys(Selection(Family.SDXL, Mode.LORA, "lycoris.lokr"))
    assert "network_args.factor" in lokr
    kohya = _keys(Selection(Family.SDXL, Mode.LORA, "lora"))
    assert "network_args.preset" not in kohya and "network_args.down_lr_weight" in kohya


def test_choosing_flux_shows_the_flux_options():
    flux = _keys(Selection(Family.FLUX, Mode.LORA, "lora"))
    assert {"ae", "t5xxl", "clip_l", "guidance_scale", "timestep_sampling", "discrete_flow_shift",
            "model_prediction_type", "t5xxl_max_token_length", "apply_t5_attn_mask", "blocks_to_swap",
            "cpu_offload_checkpointing", "network_args.train_blocks", "network_args.split_qkv",
            "network_args.train_double_block_indices", "network_args.train_single_block_indices"} <= flux
    assert not {"clip_skip", "noise_offset", "v_parameterization", "network_args.conv_dim"} & flux
    sd1 = _keys(Selection(Family.SD1, Mode.LORA, "lora"))
    assert not {"ae", "t5xxl", "guidance_scale"} & sd1


def test_sdxl_memory_options_apply_to_full_finetunes_only():
    full = _keys(Selection(Family.SDXL, Mode.FINETUNE))
    assert {"fused_backward_pass", "fused_optimizer_groups", "disable_mmap_load_safetensors"} <= full
    lora = _keys(Selection(Family.SDXL, Mode.LORA, "lora"))
    assert "fused_backward_pass" not in lora and "disable_mmap_load_safetensors" in lora
    assert "network_dim" not in full and "network_dim" in lora


def test_optimizer_and_scheduler_arguments_follow_the_choice():
    prodigy = _keys(Selection(Family.SD1, Mode.LORA, "lora", "Prodigy", "cosine_with_restarts"))
    assert {"optimizer_args.d_coef", "optimizer_args.use_bias_correction", "lr_scheduler_num_cycles"} <= prodigy
    adamw = _keys(Selection(Family.SD1, Mode.LORA, "lora", "AdamW", "constant"))
    assert "optimizer_args.d_coef" not in adamw and "lr_warmup_steps" not in adamw
    assert "lr_scheduler_num_cycles" not in adamw
    assert "optimizer_args.relative_step" in _keys(Selection(Family.SD1, Mode.LORA, "lora", "Adafactor"))


def test_conditions_hide_dependent_options_and_explain_why():
    sel = Selection(Family.SD1, Mode.LORA, "lora", "AdamW", "cosine")
    values = REG.defaults(Family.SD1, Mode.LORA)
    assert "huber_c" not in _keys(sel, values)
    assert "huber_c" in _keys(sel, {**values, "loss_type": "huber"})
    assert REG.get("huber_c").why_not(sel, values) == "only when loss_type is huber, smooth_l1"
    assert REG.get("ae").why_not(sel) == "only for Flux.1"
    assert "only for" in REG.get("network_dim").why_not(Selection(Family.SD1, Mode.DREAMBOOTH))


def test_family_dependent_defaults():
    res = REG.get("resolution")
    assert [res.default_for(f, Mode.LORA) for f in Family] == [512, 768, 1024, 1024, 1024]
    assert REG.get("learning_rate").default_for(Family.SDXL, Mode.FINETUNE) == 1e-6
    assert REG.get("network_train_unet_only").default_for(Family.FLUX, Mode.LORA) is True
    assert REG.get("mixed_precision").default_for(Family.SD1, Mode.LORA) == "fp16"


def test_accelerate_and_multi_gpu_options_are_declared():
    keys = {p.key for p in REG.with_target(Target.ACCELERATE)}
    assert {"mixed_precision", "accelerate.num_processes", "accelerate.gpu_ids", "accelerate.multi_gpu",
            "accelerate.num_machines", "accelerate.machine_rank", "accelerate.main_process_ip",
            "accelerate.main_process_port"} <= keys


def test_unknown_keys_raise_a_clear_error():
    with pytest.raises(KeyError, match="unknown training parameter"):
        REG.get("no_such_thing")
    assert REG.find("no_such_thing") is None
