"""What model is this file? Read from the file itself, never by loading it.

For a .safetensors file only the header is read (``safetensors_header``): tensor names and shapes
tell the family, the dtypes tell the precision, ``modelspec.*`` metadata is used when present. A
diffusers folder is read from its small JSON configs. Pickle checkpoints (.ckpt, .pt, .bin, .pth)
are refused unopened (``UnsafeFileError``). When the file cannot tell something that matters (an
SD 2.x model's prediction type), the result says so and carries a question to ask.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.errors import FileAccessError, FileFormatError, UnsafeFileError
from services.training.families import Family
from services.training.safetensors_header import SafetensorsHeader, read_header

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
MAX_CONFIG_BYTES = 1024 * 1024

_UNET = "model.diffusion_model."


@dataclass(frozen=True)
class Question:
    key: str                          # the registry key the answer sets
    text: str
    choices: tuple[tuple[Any, str], ...]


@dataclass
class DetectionResult:
    path: str
    kind: str                         # "checkpoint", "diffusers", "lora", "component", "unknown"
    family: Family | None = None
    variant: str | None = None
    precision: str | None = None
    size_bytes: int = 0
    parameters: int | None = None
    v_prediction: bool | None = None  # None: the file does not say
    notes: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    modelspec: dict[str, str] = field(default_factory=dict)
    contains: list[str] = field(default_factory=list)  # components inside: unet, vae, clip_l, clip_g, t5xxl

    @property
    def usable_as_base(self) -> bool:
        return self.kind in ("checkpoint", "diffusers") and self.family is not None

    @property
    def summary(self) -> str:
        if self.family is None:
            return {"lora": "a LoRA/LyCORIS file", "component": "a model component"}.get(self.kind, "unrecognised")
        if self.kind == "lora":  # a LoRA's variant is its network module (networks.lora, lycoris.kohya)
            return f"a {self.family.label} LoRA/LyCORIS file" + (f" ({self.variant})" if self.variant else "")
        return model_name(self.family, self.variant)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["family"] = self.family.value if self.family else None
        data["summary"] = self.summary
        data["usable_as_base"] = self.usable_as_base
        return data


def model_name(family: Family, variant: str | None) -> str:
    """The family and its variant as a person says it: "Stable Diffusion 1.x", "SDXL (base)",
    "Flux.1 (dev)", "SD3.5 large" -- never the version twice ("Stable Diffusion 1.x 1.x")."""
    if not variant or variant in family.label:
        return family.label
    if family is Family.SD3:  # the variant is the version and size ("3.5 large"); the label names both versions
        return f"SD{variant}"
    return f"{family.label} ({variant})"


def detect_model(path: str | Path) -> DetectionResult:
    path = Path(path).expanduser()
    if not path.exists():
        raise FileAccessError(f"The model {path} does not exist.", "Check the path, or choose the file again.")
    if path.is_dir():
        return _detect_diffusers(path)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise UnsafeFileError(
            f"{path.name} is a pickle checkpoint ({suffix}), which can run code when opened. It was not opened.")
    if suffix not in (".safetensors", ".sft"):
        sniff = _sniff(path)
        if sniff == "pickle":
            raise UnsafeFileError(f"{path.name} is a pickle (or zip of pickles), which can run code when opened. "
                                  "It was not opened.")
    header = read_header(path)
    return _detect_single_file(header)


# --- single files ------------------------------------------------------------------------------

def _detect_single_file(h: SafetensorsHeader) -> DetectionResult:
    keys = h.tensors
    result = DetectionResult(str(h.path), "unknown", size_bytes=h.file_size, parameters=h.parameter_count,
                             precision=_precision(h),
                             modelspec={k: v for k, v in h.metadata.items() if k.startswith("modelspec.")})
    if _is_lora(keys):
        _detect_lora(h, result)
        return result
    stripped = {k[len(_UNET):] if k.startswith(_UNET) else k for k in keys}

    if any(k.startswith("double_blocks.") for k in stripped) and any(k.startswith("single_blocks.") for k in stripped):
        result.kind, result.family = "checkpoint", Family.FLUX
        if any(k.startswith("distilled_guidance_layer.") for k in stripped):
            result.variant = "chroma"
            result.notes.append("Chroma (a Flux.1 derivative): set the Flux model type to chroma.")
        elif any(k.startswith("guidance_in.") for k in stripped):
            result.variant = "dev"
        else:
            result.variant = "schnell"
            result.notes.append("Flux.1 schnell is step-distilled; LoRAs trained on it are weaker than on dev.")
        result.contains = ["transformer", *_flux_extras(keys)]
        if "vae" not in result.contains:
            result.notes.append("The file holds only the Flux transformer: the autoencoder (ae), CLIP-L and "
                                "T5-XXL files are needed too.")
    elif any(k.startswith("joint_blocks.") for k in stripped):
        result.kind, result.family = "checkpoint", Family.SD3
        depth = 1 + max(int(k.split(".")[1]) for k in stripped if k.startswith("joint_blocks.")
                        and k.split(".")[1].isdigit())
        mmdit_x = any(".x_block.attn2." in k for k in stripped)
        result.variant = "3.5 large" if depth >= 38 else ("3.5 medium" if mmdit_x else "3 medium")
        result.contains = ["transformer"] + [c for c in ("clip_l", "clip_g", "t5xxl")
                                            if any(k.startswith(f"text_encoders.{c}.") for k in keys)]
        if any(k.startswith("first_stage_model.") for k in keys):
            result.contains.append("vae")
        missing = [c for c in ("clip_l", "clip_g", "t5xxl") if c not in result.contains]
        if missing:
            result.notes.append("The checkpoint does not contain " + ", ".join(missing)
                                + ": choose those text-encoder files separately.")
    elif any(k.startswith("conditioner.embedders.") for k in keys):
        result.kind, result.family = "checkpoint", Family.SDXL
        has_clip_l = any(k.startswith("conditioner.embedders.0.transformer.") for k in keys)
        result.variant = "base" if has_clip_l else "refiner"
        if result.variant == "refiner":
            result.notes.append("This is the SDXL refiner. sd-scripts trains SDXL base models only.")
        result.contains = ["unet", "vae", "clip_l", "clip_g"] if has_clip_l else ["unet", "vae", "clip_g"]
        _v_pred_markers(keys, result)
    elif any(k.startswith("cond_stage_model.") for k in keys) or any(k.startswith(_UNET) for k in keys):
        to_k = keys.get(_UNET + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight")
        context = to_k.shape[1] if to_k is not None and len(to_k.shape) == 2 else None
        open_clip = any(k.startswith("cond_stage_model.model.") for k in keys)
        if context == 1024 or (context is None and open_clip):
            result.kind, result.family, result.variant = "checkpoint", Family.SD2, "2.x"
            _v_pred_markers(keys, result)
        elif context == 768 or any(k.startswith("cond_stage_model.transformer.") for k in keys):
            result.kind, result.family, result.variant = "checkpoint", Family.SD1, "1.x"
            _v_pred_markers(keys, result)
        else:
            result.notes.append("A Stable Diffusion U-Net, but its text-encoder size could not be read.")
        result.contains = [c for c, prefix in (("unet", _UNET), ("vae", "first_stage_model."),
                                               ("text_encoder", "cond_stage_model.")) if any(k.startswith(prefix)
                                                                                           for k in keys)]
    else:
        _detect_component(keys, result)

    _apply_modelspec(result)
    if result.family is Family.SD2 and result.v_prediction is None:
        result.notes.append("The file does not say whether this SD 2.x model predicts noise (512 base) or "
                            "velocity (768-v).")
        result.questions.append(Question("v_parameterization",
                                         "Is this SD 2.x model a v-prediction model (768-v and most SD 2.x "
                                         "finetunes at 768 px)?",
                                         ((True, "Yes, v-prediction (768-v)"), (False, "No, noise prediction "
                                                                                      "(512 base)"))))
    return result


def _is_lora(keys) -> bool:
    markers = (".lora_up.", ".lora_down.", ".lora_A.", ".lora_B.", ".hada_w1", ".lokr_w", ".oft_blocks",
               ".oft_diag", ".diff_b", ".on_input", ".dora_scale")
    return any(k.startswith(("lora_unet_", "lora_te", "lycoris_")) or any(m in k for m in markers) for k in keys)


def _detect_lora(h: SafetensorsHeader, result: DetectionResult) -> None:
    keys = h.tensors
    result.kind = "lora"
    if any("double_blocks" in k for k in keys):
        result.family = Family.FLUX
    elif any("joint_blocks" in k for k in keys):
        result.family = Family.SD3
    elif any(k.startswith(("lora_te2_", "lora_te1_")) or "input_blocks_4_1_transformer_blocks_1" in k for k in keys):
        result.family = Family.SDXL
    elif any(k.startswith(("lora_unet_", "lora_te_")) for k in keys):
        result.family = Family.SD1 if h.metadata.get("ss_v2") != "True" else Family.SD2
    algo = h.metadata.get("ss_network_module")
    if algo:
        result.variant = algo
    result.notes.append("This is a LoRA/LyCORIS file, not a base model. Choose a full checkpoint as the base "
                        "model; a LoRA can be the starting point under 'Start from LoRA weights'.")
    _apply_modelspec(result)


def _detect_component(keys, result: DetectionResult) -> None:
    result.kind = "component"
    if any(k.startswith(("encoder.block.", "shared.weight")) for k in keys) or any("SelfAttention" in k for k in keys):
        result.contains = ["t5xxl"]
        result.notes.append("A T5 text encoder: choose it as the T5-XXL file of a Flux.1 or SD3 project.")
    elif any(k.startswith("text_model.encoder.layers.") for k in keys):
        result.contains = ["clip"]
        result.notes.append("A CLIP text encoder: choose it as a CLIP-L/CLIP-G file of a Flux.1 or SD3 project.")
    elif any(k.startswith(("encoder.down.", "decoder.up.", "encoder.down_blocks.")) for k in keys):
        result.contains = ["vae"]
        result.notes.append("An autoencoder (VAE): choose it as the VAE (or Flux's ae) file.")
    else:
        result.kind = "unknown"
        result.notes.append("No Stable Diffusion, SDXL, Flux.1 or SD3 weights were recognised in this file.")


def _flux_extras(keys) -> list[str]:
    out = []
    if any(k.startswith(("vae.", "first_stage_model.")) for k in keys):
        out.append("vae")
    for c in ("clip_l", "t5xxl"):
        if any(k.startswith(f"text_encoders.{c}.") for k in keys):
            out.append(c)
    return out


def _v_pred_markers(keys, result: DetectionResult) -> None:
    # Some v-prediction checkpoints carry empty marker tensors named v_pred (and ztsnr).
    if "v_pred" in keys:
        result.v_prediction = True
        result.notes.append("The file marks itself as v-prediction: turn on 'V-prediction model'.")


def _precision(h: SafetensorsHeader) -> str | None:
    by_dtype = h.dtype_bytes()
    if not by_dtype:
        return None
    names = {"F16": "fp16", "BF16": "bf16", "F32": "fp32", "F8_E4M3": "fp8 (e4m3)", "F8_E5M2": "fp8 (e5m2)",
             "F64": "fp64"}
    total = sum(by_dtype.values()) or 1
    main, size = max(by_dtype.items(), key=lambda kv: kv[1])
    label = names.get(main, main.lower())
    if size / total < 0.9:
        others = sorted((d for d in by_dtype if d != main), key=lambda d: -by_dtype[d])
        label += " (mixed with " + ", ".join(names.get(d, d.lower()) for d in others[:2]) + ")"
    return label


_MODELSPEC_FAMILIES = (
    ("stable-diffusion-xl-v1-refiner", Family.SDXL, "refiner"),
    ("stable-diffusion-xl", Family.SDXL, "base"),
    ("stable-diffusion-v1", Family.SD1, "1.x"),
    ("stable-diffusion-v2", Family.SD2, "2.x"),
    ("stable-diffusion-v3.5-large", Family.SD3, "3.5 large"),
    ("stable-diffusion-v3.5-medium", Family.SD3, "3.5 medium"),
    ("stable-diffusion-v3", Family.SD3, "3 medium"),
    ("flux-1-dev", Family.FLUX, "dev"),
    ("flux-1-schnell", Family.FLUX, "schnell"),
    ("chroma", Family.FLUX, "chroma"),
)


def _apply_modelspec(result: DetectionResult) -> None:
    spec = result.modelspec
    arch = spec.get("modelspec.architecture", "").lower()
    if arch:
        for prefix, family, variant in _MODELSPEC_FAMILIES:
            if arch.startswith(prefix):
                if result.family is None:
                    result.family, result.variant = family, result.variant or variant
                elif result.family is not family:
                    result.notes.append(f"The metadata says {arch}, but the weights look like {result.family.label}; "
                                        "the weights are trusted.")
                break
        if arch.endswith(("/lora", "/lycoris")) and result.kind != "lora":
            result.notes.append(f"The metadata calls this a {arch.rsplit('/', 1)[1]} file.")
        if result.family is Family.SD2 and "768-v" in arch:
            result.v_prediction = True
    prediction = spec.get("modelspec.prediction_type", "").lower()
    if prediction in ("v", "v_prediction", "v-prediction"):
        result.v_prediction = True
    elif prediction in ("epsilon", "eps"):
        result.v_prediction = False


# --- diffusers folders ---------------------------------------------------------------------------

def _read_json(path: Path) -> dict | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _detect_diffusers(folder: Path) -> DetectionResult:
    index = _read_json(folder / "model_index.json")
    if index is None:
        raise FileFormatError(f"{folder} is a folder without a readable model_index.json, so it is not a "
                              "diffusers model.", "Choose a .safetensors file, or the folder that holds "
                              "model_index.json.")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    result = DetectionResult(str(folder), "diffusers", size_bytes=size)
    cls = str(index.get("_class_name", ""))
    unet = _read_json(folder / "unet" / "config.json") or {}
    transformer = _read_json(folder / "transformer" / "config.json") or {}
    if cls.startswith("StableDiffusionXL"):
        result.family = Family.SDXL
        result.variant = "refiner" if "Img2Img" in cls and not index.get("text_encoder") else "base"
    elif cls.startswith("Flux"):
        result.family = Family.FLUX
        result.variant = "dev" if transformer.get("guidance_embeds") else "schnell"
    elif cls.startswith("StableDiffusion3"):
        result.family = Family.SD3
        layers = transformer.get("num_layers", 24)
        result.variant = "3.5 large" if layers >= 38 else ("3.5 medium" if transformer.get("dual_attention_layers")
                                                            else "3 medium")
    elif cls.startswith("StableDiffusion"):
        cross = unet.get("cross_attention_dim")
        result.family = Family.SD2 if cross == 1024 else Family.SD1
        result.variant = "2.x" if result.family is Family.SD2 else "1.x"
    else:
        result.kind = "unknown"
        result.notes.append(f"A diffusers pipeline of type {cls or 'unknown'}, which LoRA Studio does not train.")
        return result
    scheduler = _read_json(folder / "scheduler" / "scheduler_config.json") or {}
    prediction = scheduler.get("prediction_type")
    if prediction == "v_prediction":
        result.v_prediction = True
    elif prediction == "epsilon":
        result.v_prediction = False
    result.precision = _folder_precision(folder)
    if result.family is Family.SD2 and result.v_prediction is None:
        result.questions.append(Question("v_parameterization", "Is this SD 2.x model a v-prediction model?",
                                         ((True, "Yes, v-prediction"), (False, "No, noise prediction"))))
    return result


def _folder_precision(folder: Path) -> str | None:
    from services.training.safetensors_header import read_header as _read

    for sub in ("unet", "transformer"):
        for f in sorted((folder / sub).glob("*.safetensors"))[:1]:
            try:
                return _precision(_read(f))
            except (FileFormatError, FileAccessError):
                return None
    return None


def _sniff(path: Path) -> str | None:
    """'pickle' when the first bytes look like a pickle or a zip (torch's checkpoint format)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return None
    if head[:2] == b"\x80\x02" or (head[:1] == b"\x80" and head[1:2] in (b"\x03", b"\x04", b"\x05")) \
            or head[:4] == b"PK\x03\x04":
        return "pickle"
    return None
