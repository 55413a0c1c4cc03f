"""Model: the base model and the separate component files some families need."""

from __future__ import annotations

from services.training.families import DIT, SD_UNET, Family
from services.training.registry._decl import BOOL, CHOICE, FILE, PATH, declarer
from services.training.registry.spec import Group

p = declarer(Group.MODEL)
_WEIGHTS = "*.safetensors"

PARAMETERS = [
    p("pretrained_model_name_or_path", PATH, None, "Base model",
      "The checkpoint you train on: a single .safetensors file or a diffusers folder. Its family "
      "(SD 1.x, SDXL, Flux.1, ...) is read from the file itself.", file_filter=_WEIGHTS),
    p("v_parameterization", BOOL, False, "V-prediction model",
      "Turn on when the base model predicts velocity instead of noise (SD 2.x 768-v models and v-prediction "
      "SDXL finetunes). The file often cannot tell; a wrong setting trains garbage.",
      families=SD_UNET),
    p("vae", PATH, None, "Separate VAE",
      "Use this VAE instead of the one inside the checkpoint, for example a fixed fp16 VAE. Leave empty to "
      "use the built-in one.", families={*SD_UNET, Family.SD3}, file_filter=_WEIGHTS),
    p("ae", FILE, None, "Autoencoder (ae)",
      "Flux.1's autoencoder file (ae.safetensors). Flux checkpoints usually hold only the transformer, so "
      "this is needed.", families={Family.FLUX}, file_filter=_WEIGHTS),
    p("clip_l", FILE, None, "CLIP-L text encoder",
      "The CLIP ViT-L text encoder file. Needed for Flux.1; for SD3 only when the checkpoint does not "
      "contain it.", families=DIT, file_filter=_WEIGHTS),
    p("clip_g", FILE, None, "CLIP-G text encoder",
      "SD3's OpenCLIP bigG text encoder, when the checkpoint does not contain it.", families={Family.SD3},
      file_filter=_WEIGHTS),
    p("t5xxl", FILE, None, "T5-XXL text encoder",
      "The T5-XXL text encoder file. Needed for Flux.1; for SD3 only when the checkpoint does not contain "
      "it. An fp16 or fp8 file saves a lot of RAM.", families=DIT, file_filter=_WEIGHTS),
    p("model_type", CHOICE, "flux", "Flux model type",
      "Use flux for Flux.1 dev/schnell and their finetunes, chroma for Chroma, a Flux-derived model without "
      "guidance distillation.", choices=("flux", "chroma"), engine="flux", families={Family.FLUX}),
]
