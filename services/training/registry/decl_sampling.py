"""Sampling: preview images rendered during training."""

from __future__ import annotations

from services.training.families import SD_UNET
from services.training.registry._decl import BOOL, CHOICE, FILE, INT, TEXT, declarer
from services.training.registry.spec import Group, Target

p = declarer(Group.SAMPLING)

PARAMETERS = [
    p("sample_prompt_text", TEXT, None, "Sample prompts",
      "One prompt per line, rendered as preview images while training. Options go after the prompt: "
      "--n negative prompt, --w/--h size, --s steps, --l guidance, --d seed. Written to a prompts file "
      "in the run folder.", targets=(Target.PROJECT,)),
    p("sample_prompts", FILE, None, "Sample prompts file",
      "A prompts file of your own (.txt, .toml or .json) instead of the prompts typed above.",
      file_filter="*.txt *.toml *.json"),
    p("sample_every_n_steps", INT, None, "Sample every N steps", "Render the sample prompts this often.",
      minimum=1, unit="steps"),
    p("sample_every_n_epochs", INT, None, "Sample every N epochs",
      "Render the sample prompts at the end of every N-th epoch (ignored when steps are set).", minimum=1,
      unit="epochs"),
    p("sample_at_first", BOOL, False, "Sample before training",
      "Render the samples once before the first step, to compare against."),
    p("sample_sampler", CHOICE, "euler_a", "Sampler",
      "The sampler for preview images of U-Net models (Flux.1 and SD3 always use their own).",
      choices=("ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpm_2", "dpm_2_a", "dpmsolver",
               "dpmsolver++", "dpmsingle", "k_lms", "k_euler", "k_euler_a", "k_dpm_2", "k_dpm_2_a"),
      engine="ddim", families=SD_UNET),
]
