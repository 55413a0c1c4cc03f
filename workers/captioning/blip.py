"""BLIP and BLIP-2 captioners (transformers). Weights load from .safetensors only, never pickles."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from workers.captioning import torch_device
from workers.captioning.base import Caption, Loaded, LoadError, join_caption
from workers.captioning.images import open_rgb

log = logging.getLogger(__name__)


def _import_transformers():
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise LoadError("missing_dependency", f"torch and transformers are needed and not installed ({exc}).",
                        "Repair the backend runtime from Settings > Training backend.") from None
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


def _generation_options(options: dict[str, Any], *, length_keys: tuple[str, str]) -> dict[str, Any]:
    low, high = length_keys
    kwargs: dict[str, Any] = {low: int(options[low]), high: int(options[high]),
                              "repetition_penalty": float(options["repetition_penalty"])}
    if kwargs[low] > kwargs[high]:
        kwargs[low] = kwargs[high]
    if options["decoding"] == "sampling":
        kwargs.update(do_sample=True, top_p=float(options["top_p"]), num_beams=1)
    else:
        kwargs.update(do_sample=False, num_beams=int(options["num_beams"]))
    return kwargs


class _TransformersCaptioner:
    family_title = ""

    def __init__(self, folder: Path, options: dict[str, Any], separator: str) -> None:
        self.folder = folder
        self.options = options
        self.separator = separator
        self.min_side = 384
        self.device = "cpu"
        self.dtype = None
        self.model = None
        self.processor = None

    def _load_model(self, transformers, dtype):
        raise NotImplementedError

    def load(self) -> Loaded:
        torch, transformers = _import_transformers()
        self.device = torch_device.pick_device(self.options["device"])
        self.dtype = torch_device.pick_dtype(self.options["precision"], self.device)
        try:
            self.processor = transformers.AutoProcessor.from_pretrained(str(self.folder))
            self.model = self._load_model(transformers, self.dtype)
        except LoadError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LoadError("invalid_model", f"The {self.family_title} model in {self.folder} cannot be loaded.",
                            "The folder needs the model's config, processor and .safetensors weights; download "
                            "it again or choose another folder.", details=f"{type(exc).__name__}: {exc}") from None
        self.model.eval()
        size = getattr(self.processor.image_processor, "size", None) or {}
        self.min_side = int(size.get("height") or size.get("shortest_edge") or 384)
        self._after_load(torch)
        return Loaded(torch_device.describe(self.device, self.dtype, self.options.get("quantization", "none")))

    def _after_load(self, torch) -> None:
        pass

    def preprocess(self, path: str) -> np.ndarray:
        image = open_rgb(path, min_side=self.min_side)
        return self.processor.image_processor(images=image, return_tensors="np")["pixel_values"][0]

    def _pixels(self, batch: list[np.ndarray]):
        import torch

        return torch.from_numpy(np.stack(batch)).to(self.device, self.dtype)

    def close(self) -> None:
        self.model = None
        self.processor = None
        torch_device.free(self.device)


class BlipCaptioner(_TransformersCaptioner):
    family_title = "BLIP"

    def _load_model(self, transformers, dtype):
        model = transformers.BlipForConditionalGeneration.from_pretrained(
            str(self.folder), dtype=dtype, use_safetensors=True)
        return model.to(self.device)

    def caption(self, batch: list[np.ndarray]) -> list[Caption]:
        import torch

        pixels = self._pixels(batch)
        kwargs = _generation_options(self.options, length_keys=("min_length", "max_length"))
        prompt = self.options["prompt"].strip()
        if prompt:
            text = self.processor.tokenizer([prompt] * len(batch), return_tensors="pt")
            kwargs.update(input_ids=text["input_ids"].to(self.device),
                          attention_mask=text["attention_mask"].to(self.device))
        with torch.inference_mode():
            out = self.model.generate(pixel_values=pixels, **kwargs)
        texts = self.processor.batch_decode(out, skip_special_tokens=True)
        return [Caption(join_caption([t.strip()], self.options, self.separator)) for t in texts]


class Blip2Captioner(_TransformersCaptioner):
    family_title = "BLIP-2"

    def __init__(self, folder: Path, options: dict[str, Any], separator: str) -> None:
        super().__init__(folder, options, separator)
        self._input_ids = None
        self._attention = None
        self._decoder_only = True

    def _load_model(self, transformers, dtype):
        quant = torch_device.quantization_config(self.options["quantization"], self.device, dtype)
        if quant is not None:
            return transformers.Blip2ForConditionalGeneration.from_pretrained(
                str(self.folder), dtype=dtype, use_safetensors=True, quantization_config=quant,
                device_map={"": 0})
        model = transformers.Blip2ForConditionalGeneration.from_pretrained(
            str(self.folder), dtype=dtype, use_safetensors=True)
        return model.to(self.device)

    def _after_load(self, torch) -> None:
        from PIL import Image

        # The prompt (with the image placeholder tokens the processor puts before it) is the same for
        # every image: tokenize it once. An empty prompt still goes through, because the model's own
        # default start tokens assume a BOS token that Flan-T5 does not have.
        side = self.min_side
        probe = self.processor(images=[Image.new("RGB", (side, side), "white")], text=[self.options["prompt"].strip()],
                               return_tensors="pt")
        self._input_ids = probe["input_ids"].to(self.device)
        self._attention = probe["attention_mask"].to(self.device)
        self._decoder_only = not self.model.config.text_config.is_encoder_decoder

    def caption(self, batch: list[np.ndarray]) -> list[Caption]:
        import torch

        pixels = self._pixels(batch)
        n = len(batch)
        kwargs = _generation_options(self.options, length_keys=("min_new_tokens", "max_new_tokens"))
        with torch.inference_mode():
            out = self.model.generate(pixel_values=pixels, input_ids=self._input_ids.repeat(n, 1),
                                      attention_mask=self._attention.repeat(n, 1), **kwargs)
        if self._decoder_only:
            out = out[:, self._input_ids.shape[1]:]  # the model returns the prompt before its answer
        texts = self.processor.batch_decode(out, skip_special_tokens=True)
        return [Caption(join_caption([t.strip()], self.options, self.separator)) for t in texts]
