"""The WD14 tagger family: SmilingWolf-convention ONNX taggers run with onnxruntime.

Input: NHWC float32, the image padded to a square with white, resized to the model's size (448),
channels in BGR order, values 0-255. Output: one probability per row of ``selected_tags.csv``.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from workers.captioning import providers
from workers.captioning.base import Caption, Loaded, LoadError, join_caption
from workers.captioning.images import open_rgb
from workers.captioning.wd14_tags import LabelFileError, TagPicker, read_labels

log = logging.getLogger(__name__)
DEFAULT_SIZE = 448


class WD14Captioner:
    def __init__(self, folder: Path, options: dict[str, Any], separator: str) -> None:
        self.folder = folder
        self.options = options
        self.separator = separator
        self.size = DEFAULT_SIZE
        self.min_side = DEFAULT_SIZE
        self._session = None
        self._input_name = ""
        self._fixed_batch = 0
        self._picker: TagPicker | None = None

    def load(self) -> Loaded:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise LoadError("missing_dependency", f"onnxruntime is not installed in the backend runtime ({exc}).",
                            "Repair the backend runtime from Settings > Training backend.") from None
        try:
            labels = read_labels(self.folder / "selected_tags.csv")
        except LabelFileError as exc:
            raise LoadError("invalid_model", f"The tag list of {self.folder} is not usable: {exc}.",
                            "A WD14 tagger folder needs the selected_tags.csv that came with its model.onnx.") \
                from None
        chosen = providers.choose(self.options["execution_provider"], ort.get_available_providers())
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(self.folder / "model.onnx"), options, providers=chosen)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise LoadError("invalid_model", f"{self.folder / 'model.onnx'} cannot be loaded by onnxruntime.",
                            "Download the model again, or choose another folder.", details=str(exc)) from None
        inp = session.get_inputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4 or shape[3] != 3:
            raise LoadError("invalid_model", f"{self.folder.name}: the model's input {shape} is not NHWC with "
                            "3 channels, as WD14 taggers have.", "Choose a WD14-convention tagger.")
        if isinstance(shape[1], int) and shape[1] > 0:
            self.size = self.min_side = int(shape[1])
        if isinstance(shape[0], int) and shape[0] > 0:
            self._fixed_batch = int(shape[0])
        outputs = session.get_outputs()[0].shape
        if isinstance(outputs[-1], int) and outputs[-1] != len(labels):
            raise LoadError("invalid_model", f"The model has {outputs[-1]} outputs but selected_tags.csv lists "
                            f"{len(labels)} tags.", "The two files do not belong together; download both again.")
        self._session, self._input_name = session, inp.name
        self._picker = TagPicker(labels, self.options)
        used = session.get_providers()
        warnings = []
        if chosen[0] != "CPUExecutionProvider" and used[0] == "CPUExecutionProvider":
            warnings.append(f"{chosen[0]} could not start (no usable device or driver); running on the CPU.")
        return Loaded(providers.describe(used), warnings)

    def preprocess(self, path: str) -> np.ndarray:
        image = open_rgb(path, min_side=self.size)
        w, h = image.size
        scale = self.size / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        if (nw, nh) != (w, h):
            image = image.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
        canvas = Image.new("RGB", (self.size, self.size), (255, 255, 255))
        canvas.paste(image, ((self.size - nw) // 2, (self.size - nh) // 2))
        return np.asarray(canvas, dtype=np.float32)[:, :, ::-1]

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for a stacked batch (used by the job and by the benchmark's bare loop)."""
        step = self._fixed_batch or len(batch)
        parts = []
        for i in range(0, len(batch), step):
            chunk = batch[i:i + step]
            if len(chunk) < step:  # a model exported with a fixed batch: pad the last chunk
                chunk = np.concatenate([chunk, np.full((step - len(chunk), *chunk.shape[1:]), 255, np.float32)])
            parts.append(self._session.run(None, {self._input_name: chunk})[0][:len(batch) - i])
        probs = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if probs.size and (probs.min() < 0.0 or probs.max() > 1.0):  # a tagger exported without its sigmoid
            probs = 1.0 / (1.0 + np.exp(-probs))
        return probs

    def caption(self, batch: list[np.ndarray]) -> list[Caption]:
        probs = self.infer(np.ascontiguousarray(np.stack(batch)))
        out = []
        for row in probs:
            tags = self._picker.pick(row)
            out.append(Caption(join_caption(tags, self.options, self.separator), tags))
        return out

    def close(self) -> None:
        self._session = None
        gc.collect()
