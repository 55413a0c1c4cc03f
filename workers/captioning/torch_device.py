"""Device, precision and quantized loading for the torch captioners (BLIP, BLIP-2)."""

from __future__ import annotations

from typing import Any

from workers.captioning.base import LoadError


def pick_device(requested: str) -> str:
    import torch

    cuda = torch.cuda.is_available()  # ROCm builds of torch answer here too
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested == "cuda" and not cuda:
        raise LoadError("device_unavailable", "No CUDA or ROCm GPU is usable by torch in the backend runtime.",
                        "Choose Automatic or CPU, or install a GPU build of torch from Settings > Training backend.")
    if requested == "mps" and not mps:
        raise LoadError("device_unavailable", "Apple's MPS device is not available here.", "Choose Automatic or CPU.")
    return requested


def pick_dtype(requested: str, device: str):
    import torch

    if requested == "auto":
        if device == "cuda":
            return torch.float16
        return torch.float16 if device == "mps" else torch.float32
    if requested in ("fp16", "bf16") and device == "cpu":
        raise LoadError("device_unavailable", f"{'float16' if requested == 'fp16' else 'bfloat16'} runs only on a GPU.",
                        "Choose Automatic or float32 for the CPU.")
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[requested]


def quantization_config(mode: str, device: str, dtype) -> Any:
    """The BitsAndBytesConfig for 8/4-bit loading, or None; refuses when it cannot work here."""
    if mode == "none":
        return None
    if device != "cuda":
        raise LoadError("device_unavailable", f"{mode} loading needs a CUDA GPU.",
                        "Set Quantization to None to run without it.")
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise LoadError("missing_dependency", f"{mode} loading needs bitsandbytes, which is not installed ({exc}).",
                        "Install bitsandbytes in the backend runtime, or set Quantization to None.") from None
    if mode == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_type="nf4")


def describe(device: str, dtype, quantization: str = "none") -> str:
    name = str(dtype).replace("torch.", "")
    text = f"torch {device.upper() if device != 'mps' else 'MPS'}, {name}"
    return text + (f", {quantization}" if quantization != "none" else "")


def free(device: str) -> None:
    import gc

    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
