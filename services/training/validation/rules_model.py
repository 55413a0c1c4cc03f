"""The base model: present, safe, of the family the project says, with the files its family needs."""

from __future__ import annotations

import os
from collections.abc import Iterator

from services.errors import LoraStudioError
from services.training.detect import detect_model
from services.training.families import Family, Mode
from services.training.project import MODEL_PATH_KEY
from services.training.registry.algorithms import ALGORITHM_IDS, algorithm
from services.training.validation.context import RuleContext
from services.training.validation.problems import Problem, error, info, warning

M = MODEL_PATH_KEY


def check_model_file(c: RuleContext) -> Iterator[Problem]:
    """Runs before values are resolved: the family decides everything else."""
    path = c.project.model_path
    if not path:
        yield error(M, "No base model is chosen.", "Choose the checkpoint (.safetensors) or diffusers folder to "
                                                   "train on.")
    elif c.options.check_paths:
        full = c.absolute(path)
        if not os.path.exists(full):
            yield error(M, f"The base model {full} does not exist.", "Choose the model file again.")
        elif c.detection is None and c.options.detect_model:
            try:
                c.detection = detect_model(full)
            except LoraStudioError as exc:
                yield error(M, exc.message, exc.hint)
    d = c.detection
    if d is not None:
        if d.kind == "lora":
            yield error(M, f"{os.path.basename(d.path)} is {d.summary}, not a base model.",
                        "Choose the full checkpoint you want to train on; a LoRA can be a starting point under "
                        "'Start from LoRA weights'.")
        elif d.kind in ("component", "unknown"):
            yield error(M, f"{os.path.basename(d.path)} is not a trainable base model: "
                           + (d.notes[0] if d.notes else "its contents were not recognised."),
                        "Choose an SD 1.x/2.x, SDXL, Flux.1 or SD3 checkpoint.")
        elif d.family is Family.SDXL and d.variant == "refiner":
            yield error(M, "The chosen SDXL model is the refiner; sd-scripts trains SDXL base models only.",
                        "Choose an SDXL base checkpoint.")
        elif d.family is not None and c.family is not None and d.family is not c.family:
            yield error(M, f"The model file is {d.family.label}, but the project is set to {c.family.label}.",
                        f"Set the project's family to {d.family.label}, or choose a {c.family.label} model.")
        elif d.family is not None and c.family is None:
            c.family = d.family
            yield info(M, f"The model was detected as {d.summary}; the project uses that family.")
    if c.family is None:
        yield error("model", "The model family is unknown.", "Choose a base model so its family can be detected, "
                                                            "or set the family.")


def check_model_settings(c: RuleContext) -> Iterator[Problem]:
    d, fam = c.detection, c.family
    if fam in (Family.SD1, Family.SD2, Family.SDXL) and d is not None:
        if d.v_prediction is True and not c.v("v_parameterization"):
            yield error("v_parameterization", "The model file says it is a v-prediction model, but 'V-prediction "
                                              "model' is off.", "Turn on 'V-prediction model'.")
        elif d.v_prediction is False and c.v("v_parameterization"):
            yield error("v_parameterization", "The model file says it predicts noise, but 'V-prediction model' is "
                                              "on.", "Turn off 'V-prediction model'.")
        elif d.questions and not c.chosen("v_parameterization"):
            q = d.questions[0]
            yield warning(q.key, q.text + " The file does not say; a wrong answer trains a broken model.",
                          "Set 'V-prediction model' to match the model's card.")
    if fam is Family.FLUX:
        contains = set(d.contains) if d else set()
        for key, part in (("ae", "vae"), ("clip_l", "clip_l"), ("t5xxl", "t5xxl")):
            if not c.v(key) and part not in contains:
                yield error(key, f"Flux.1 needs the {c.label(key)} file; the checkpoint does not include it.",
                            f"Choose the {c.label(key)} file (for example from the model's download page).")
        if c.v("model_type") == "chroma" and not c.v("apply_t5_attn_mask"):
            yield error("apply_t5_attn_mask", "Chroma models need 'Mask T5 padding' on.", "Turn on 'Mask T5 padding'.")
        if d is not None and d.variant == "chroma" and c.v("model_type") != "chroma":
            yield error("model_type", "The model is Chroma but the Flux model type is flux.", "Set the Flux model "
                                                                                            "type to chroma.")
        if d is not None and d.variant == "schnell":
            yield info("guidance_scale", "Flux.1 schnell has no guidance input; the guidance value is not used.")
    if fam is Family.SD3 and d is not None and d.kind == "checkpoint":
        for key in ("clip_l", "clip_g", "t5xxl"):
            if key not in d.contains and not c.v(key):
                yield error(key, f"The SD3 checkpoint does not contain {c.label(key)}.", "Choose that text-encoder "
                                                                                     "file.")
    if c.mode is Mode.LORA and fam is not None:
        algo_id = c.v("network_algorithm") or "lora"
        if algo_id in ALGORITHM_IDS:
            algo = algorithm(algo_id)
            if algo.module_for(fam) is None:
                yield error("network_algorithm", f"{algo.label} is not available for {fam.label}.",
                            "Choose LoRA (kohya), which every family supports.")
            elif algo.package and c.options.installed is not None and algo.package not in c.options.installed:
                yield error("network_algorithm", f"{algo.label} needs the {algo.package} package, which the "
                                                 "training backend does not have.",
                            f"Install {algo.package} in the backend (Settings > Training backend), or choose a "
                            "kohya algorithm.")
        if c.v("v_parameterization") and fam is Family.SD1:
            yield warning("v_parameterization", "V-prediction SD 1.x models are rare.",
                          "Turn it off unless the model's card says v-prediction.")
