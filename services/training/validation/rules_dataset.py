"""The dataset: subsets present and readable, not empty, buckets consistent, and the step count."""

from __future__ import annotations

import os
from collections.abc import Iterator

from services.training.families import Family, Mode, uses_metadata_dataset
from services.training.image_counts import count_engine_images
from services.training.registry import Target
from services.training.steps import SubsetCount, plan_steps
from services.training.validation.context import RuleContext
from services.training.validation.problems import Problem, error, info, warning
from services.training.value_types import range_problem, type_problem

# sd-scripts refuses bucket steps that are not multiples of these (per script); 8 is the VAE's factor.
_BUCKET_STEP = {"fine_tune.py": 64, "sdxl_train.py": 32, "sdxl_train_network.py": 32, "flux_train_network.py": 32,
                "flux_train.py": 16, "sd3_train_network.py": 32, "sd3_train.py": 32}
_NATIVE = {Family.SD1: 512, Family.SD2: 768, Family.SDXL: 1024, Family.FLUX: 1024, Family.SD3: 1024}


def count_subsets(c: RuleContext) -> Iterator[Problem]:
    """Subset folders and their image counts (also fills c.subsets / c.counts for later rules)."""
    all_subsets = c.project.subsets
    for index, sub in enumerate(all_subsets):
        if sub.enabled:
            c.subsets.append(sub)
            c.subset_indices.append(index)
    if not c.subsets:
        yield error("dataset", "The dataset is empty: no image folder is added (or all are switched off).",
                    "Add a folder of images as a subset in the Dataset panel.")
        return
    counts = c.options.image_counts or {}
    seen: dict[str, int] = {}
    for i, sub in zip(c.subset_indices, c.subsets):
        field = f"subsets[{i}]"
        folder = c.absolute(sub.image_dir) or ""
        count = counts.get(folder, counts.get(sub.image_dir))
        if c.options.check_paths:
            if not os.path.isdir(folder):
                yield error(f"{field}.image_dir", f"The folder of subset {sub.display_name()} ({folder}) does not "
                                                  "exist.", "Choose the folder again, or remove the subset.")
                c.counts.append(None)
                continue
            if not os.access(folder, os.R_OK | os.X_OK):
                yield error(f"{field}.image_dir", f"The folder {folder} cannot be read.", "Check its permissions.")
                c.counts.append(None)
                continue
            if count is None and c.options.count_missing:
                count = count_engine_images(folder)
        c.counts.append(count)
        if count == 0:
            yield error(f"{field}.image_dir", f"Subset {sub.display_name()} has no images that sd-scripts reads "
                                              "(.png, .jpg, .jpeg, .webp, .bmp directly in the folder).",
                        "Put the images directly in the folder (not in sub-folders), or remove the subset.")
        if sub.num_repeats < 1:
            yield error(f"{field}.num_repeats", f"Subset {sub.display_name()} has {sub.num_repeats} repeats.",
                        "Use at least 1.")
        if folder in seen and not sub.is_reg:
            yield warning(f"{field}.image_dir", f"The folder {folder} is used by two subsets, so its images are seen "
                                                "twice as often.", "Remove one, or raise the repeats instead.")
        seen[folder] = i
        yield from _check_subset_values(c, i, sub)
    regs = [s for s in c.subsets if s.is_reg]
    if regs and len(regs) == len(c.subsets):
        yield error("dataset", "Every subset is marked as regularisation images; there is nothing to learn from.",
                    "Untick 'Regularisation images' on the subset of your own images.")
    if regs and c.mode is Mode.FINETUNE:
        yield error("dataset", "A full finetune does not use regularisation images.",
                    "Remove the regularisation subsets, or choose the DreamBooth mode.")
    if c.family and uses_metadata_dataset(c.family, c.mode) and any(s.class_tokens for s in c.subsets):
        yield info("dataset", "A full finetune of SD 1.x/2.x reads only caption files; class tokens are "
                              "used as the caption of images that have none.")


def _check_subset_values(c: RuleContext, index: int, sub) -> Iterator[Problem]:
    for key, value in sub.values.items():
        param = c.registry.find(key)
        field = f"subsets[{index}].{key}"
        if param is None or param.target is not Target.DATASET or "subset" not in param.levels:
            yield warning(field, f"{key} cannot be set per subset; it is ignored.", "Set it for the whole project.")
            continue
        problem = type_problem(param, value) or range_problem(param, value)
        if problem:
            yield error(field, f"Subset {sub.display_name()}: {c.label(key)} {problem}.", "Fix the value.")


def check_buckets(c: RuleContext) -> Iterator[Problem]:
    res = c.v("resolution")
    if res is None:
        if "resolution" not in c.bad:
            yield error("resolution", "No training resolution is set.", "Set the resolution (for example 1024).")
        return
    width, height = (res, res) if isinstance(res, int) else res
    if width % 8 or height % 8:
        yield error("resolution", f"The resolution {width}x{height} is not a multiple of 8.", "Use multiples of 64.")
    native = _NATIVE.get(c.family)
    if native and max(width, height) < native * 0.7:
        yield warning("resolution", f"{width}x{height} is well below what {c.family.label} was made for "
                                    f"({native}); results will be blurry.", f"Use about {native}.")
    elif native and min(width, height) > native * 1.6:
        yield warning("resolution", f"{width}x{height} is far above what {c.family.label} was made for ({native}); "
                                    "training is slow and may repeat patterns.", f"Use about {native}.")
    if not c.v("enable_bucket"):
        return
    lo, hi, step = c.v("min_bucket_reso"), c.v("max_bucket_reso"), c.v("bucket_reso_steps")
    if lo is not None and hi is not None and lo > hi:
        yield error("min_bucket_reso", f"The smallest bucket side ({lo}) is larger than the largest ({hi}).",
                    "Swap or correct them.")
    if hi is not None and hi < max(width, height):
        yield error("max_bucket_reso", f"The largest bucket side ({hi}) is smaller than the resolution "
                                       f"({max(width, height)}).", "Raise it to at least the resolution.")
    if lo is not None and lo > min(width, height):
        yield error("min_bucket_reso", f"The smallest bucket side ({lo}) is larger than the resolution "
                                       f"({min(width, height)}).", "Lower it.")
    need = _BUCKET_STEP.get(c.script or "", 8)
    if isinstance(step, int) and step % need:
        yield error("bucket_reso_steps", f"{c.script} needs the bucket size step to be a multiple of {need} "
                                         f"(it is {step}).", f"Use {max(need, 64)}.")


def check_steps(c: RuleContext) -> Iterator[Problem]:
    if not c.subsets or any(n is None for n in c.counts):
        return
    counted = [SubsetCount(s.display_name(), n, s.num_repeats, s.is_reg) for s, n in zip(c.subsets, c.counts)]
    values = {k: c.v(k) for k in ("train_batch_size", "gradient_accumulation_steps", "accelerate.num_processes",
                                  "accelerate.num_machines", "max_train_steps", "max_train_epochs",
                                  "validation_split")}
    plan = plan_steps(values, counted)
    c.steps = plan
    if plan.decided_by == "nothing":
        yield error("max_train_epochs", "The length of training is not set: neither epochs nor steps.",
                    "Set 'Epochs' (or 'Steps'). sd-scripts would otherwise silently train 1,600 steps.")
        return
    if not plan.total_steps:
        yield error("steps", "The run would have 0 steps.", "Add images, or raise the repeats or epochs.")
        return
    yield info("steps", plan.summary + ". " + "; ".join(plan.lines) + ".")
    if values["max_train_steps"] and c.raw("max_train_epochs"):
        yield info("max_train_steps", f"'Steps' ({values['max_train_steps']}) decides the length; the epoch count "
                                      f"({c.raw('max_train_epochs')}) is not passed to sd-scripts.")
    batch = plan.batch_size
    if plan.samples_per_epoch and batch > plan.samples_per_epoch:
        yield warning("train_batch_size", f"The batch size ({batch}) is larger than the images per epoch "
                                          f"({plan.samples_per_epoch}).", "Lower the batch size or raise the "
                                                                          "repeats.")
    if plan.reg_views > plan.train_views > 0:
        yield info("dataset", f"There are more regularisation views ({plan.reg_views}) than training views "
                              f"({plan.train_views}); only {plan.reg_used} are used per epoch.")
    every = c.v("save_every_n_epochs")
    if every and plan.epochs and every >= plan.epochs and plan.decided_by == "epochs":
        yield warning("save_every_n_epochs", f"Saving every {every} epochs in a {plan.epochs}-epoch run saves no "
                                             "intermediate checkpoints.", "Lower it to compare epochs afterwards.")
    if plan.total_steps and plan.total_steps < 50:
        yield warning("steps", f"Only {plan.total_steps} steps: the adapter will barely learn anything.",
                      "Raise the epochs or the repeats (a few hundred to a few thousand steps is usual).")
    keep = c.v("keep_tokens")
    if keep and not any(c.subset_value(i, k) for i in range(len(c.subsets))
                        for k in ("shuffle_caption", "caption_tag_dropout_rate")):
        yield warning("keep_tokens", "'Keep first tags in place' only matters when tags are shuffled or dropped.",
                      "Turn on 'Shuffle tags', or set it to 0.")
