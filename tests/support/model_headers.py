"""TEST DOUBLES: safetensors files with real tensor names and shapes but no real weights.

The header is real; the data region is a sparse hole of the right size (it costs no disk), so
model detection (which reads headers only) sees exactly what it sees on a real checkpoint.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

DTYPE_BYTES = {"F16": 2, "BF16": 2, "F32": 4, "F8_E4M3": 1, "I64": 8}


def write_safetensors_header(path: Path, tensors: dict[str, tuple[str, list[int]]],
                             metadata: dict[str, str] | None = None) -> Path:
    header: dict = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = math.prod(shape) * DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path = Path(path)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        fh.truncate(8 + len(raw) + offset)
    return path


U = "model.diffusion_model."


def sd1_tensors(dtype: str = "F16") -> dict[str, tuple[str, list[int]]]:
    return {
        U + "input_blocks.0.0.weight": (dtype, [320, 4, 3, 3]),
        U + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (dtype, [320, 768]),
        U + "out.2.weight": (dtype, [4, 320, 3, 3]),
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (dtype, [49408, 768]),
        "first_stage_model.decoder.conv_in.weight": (dtype, [512, 4, 3, 3]),
    }


def sd2_tensors(dtype: str = "F16") -> dict[str, tuple[str, list[int]]]:
    return {
        U + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (dtype, [320, 1024]),
        "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight": (dtype, [3072, 1024]),
        "first_stage_model.decoder.conv_in.weight": (dtype, [512, 4, 3, 3]),
    }


def sdxl_tensors(dtype: str = "F16", refiner: bool = False) -> dict[str, tuple[str, list[int]]]:
    t = {
        U + "label_emb.0.0.weight": (dtype, [1280, 2560 if refiner else 2816]),
        U + "input_blocks.4.1.transformer_blocks.1.attn2.to_k.weight": (dtype, [640, 2048]),
        "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight": (dtype, [3840, 1280]),
        "first_stage_model.decoder.conv_in.weight": (dtype, [512, 4, 3, 3]),
    }
    if refiner:
        t = {k.replace("embedders.1.", "embedders.0."): v for k, v in t.items()}
    else:
        t["conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight"] = (dtype, [49408, 768])
    return t


def flux_tensors(dtype: str = "BF16", variant: str = "dev", prefix: str = "") -> dict[str, tuple[str, list[int]]]:
    t = {
        prefix + "double_blocks.0.img_attn.qkv.weight": (dtype, [9216, 3072]),
        prefix + "double_blocks.18.img_attn.qkv.weight": (dtype, [9216, 3072]),
        prefix + "single_blocks.37.linear1.weight": (dtype, [21504, 3072]),
        prefix + "img_in.weight": (dtype, [3072, 64]),
    }
    if variant == "dev":
        t[prefix + "guidance_in.in_layer.weight"] = (dtype, [3072, 256])
    if variant == "chroma":
        t[prefix + "distilled_guidance_layer.in_proj.weight"] = (dtype, [5120, 64])
    return t


def sd3_tensors(dtype: str = "F16", depth: int = 24, mmdit_x: bool = False, with_te: bool = False) -> dict:
    t = {f"{U}joint_blocks.{i}.x_block.attn.qkv.weight": (dtype, [4608, 1536]) for i in (0, depth - 1)}
    if mmdit_x:
        t[U + "joint_blocks.0.x_block.attn2.qkv.weight"] = (dtype, [4608, 1536])
    t["first_stage_model.decoder.conv_in.weight"] = (dtype, [512, 16, 3, 3])
    if with_te:
        for c in ("clip_l", "clip_g", "t5xxl"):
            t[f"text_encoders.{c}.transformer.weight"] = (dtype, [8, 8])
    return t


def lora_tensors(family: str = "sd1") -> dict[str, tuple[str, list[int]]]:
    if family == "flux":
        return {"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": ("BF16", [16, 3072]),
                "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": ("BF16", [9216, 16])}
    if family == "sdxl":
        return {"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ("F16", [8, 768]),
                "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ("F16", [8, 1280])}
    return {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", [8, 320]),
            "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", [320, 8]),
            "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ("F16", [])}
