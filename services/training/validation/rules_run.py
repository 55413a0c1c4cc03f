"""The run around the training: profiles, GPUs and machines, samples, saving, logging, secrets."""

from __future__ import annotations

from collections.abc import Iterator

from services.training.profiles import ProfileKind, ProfileLibrary
from services.training.validation.context import RuleContext
from services.training.validation.problems import Problem, error, info, warning


def check_profiles(c: RuleContext) -> Iterator[Problem]:
    library = c.options.library or ProfileLibrary()
    chosen = ((ProfileKind.TRAINING, c.project.training_profile), (ProfileKind.MEMORY, c.project.memory_profile))
    for kind, pid in chosen:
        if not pid:
            continue
        profile = library.find(kind, pid)
        field = f"profile.{kind.value}"
        if profile is None:
            yield warning(field, f"The {kind.value} profile {pid!r} was not found, so its values are not applied.",
                          "Choose another profile, or clear it.")
        elif c.family is not None and not profile.applies_to(c.family, c.mode):
            yield warning(field, f"The {kind.value} profile {profile.name!r} is not made for {c.family.label} "
                                 f"{c.mode.label}.", "Choose a profile for this family and mode.")


def check_distributed(c: RuleContext) -> Iterator[Problem]:
    processes = c.v("accelerate.num_processes") or 1
    machines = c.v("accelerate.num_machines") or 1
    if processes > 1 and not c.v("accelerate.multi_gpu"):
        yield info("accelerate.multi_gpu", f"{processes} processes: the launch adds --multi_gpu for a distributed "
                                           "run.")
    gpu_ids = c.v("accelerate.gpu_ids")
    if gpu_ids:
        ids = [x for x in gpu_ids.replace(" ", "").split(",") if x]
        if gpu_ids.strip().lower() != "all" and not all(x.isdigit() for x in ids):
            yield error("accelerate.gpu_ids", f"GPU ids {gpu_ids!r} must be numbers separated by commas.",
                        "For example 0,1.")
        elif gpu_ids.strip().lower() != "all" and len(ids) < processes:
            listed = f"{len(ids)} id is" if len(ids) == 1 else f"{len(ids)} ids are"
            yield error("accelerate.gpu_ids", f"{processes} processes need {processes} GPUs, but only {listed} "
                                              "listed.", "List one GPU id per process.")
    if machines > 1:
        if not c.v("accelerate.main_process_ip"):
            yield error("accelerate.main_process_ip", "A multi-machine run needs the address of the main machine.",
                        "Enter the IP address of the rank-0 machine.")
        if not c.v("accelerate.main_process_port"):
            yield error("accelerate.main_process_port", "A multi-machine run needs the main machine's port.",
                        "Enter a free port, for example 29500.")
        rank = c.v("accelerate.machine_rank") or 0
        if rank >= machines:
            yield error("accelerate.machine_rank", f"The machine rank ({rank}) must be below the number of machines "
                                                   f"({machines}).", "Number the machines from 0.")


def check_outputs(c: RuleContext) -> Iterator[Problem]:
    name = c.v("output_name")
    if name and any(ch in name for ch in '/\\:*?"<>|'):
        yield error("output_name", f"The output name {name!r} contains characters that cannot be in a file name.",
                    "Use letters, digits, spaces, dashes and underscores.")
    prompts = c.v("sample_prompt_text") or c.v("sample_prompts")
    scheduled = c.v("sample_every_n_steps") or c.v("sample_every_n_epochs") or c.v("sample_at_first")
    if scheduled and not prompts:
        yield warning("sample_prompt_text", "Samples are scheduled but there are no sample prompts, so none will be "
                                            "rendered.", "Type one or more prompts.")
    if prompts and not scheduled:
        yield warning("sample_every_n_epochs", "There are sample prompts but no schedule, so no samples are rendered.",
                      "Set 'Sample every N epochs' (or steps).")
    if c.v("sample_prompt_text") and c.v("sample_prompts"):
        yield info("sample_prompts", "Both typed prompts and a prompts file are set; the file is used.")
    env = c.environ
    if c.v("huggingface_repo_id") and not env.get("HF_TOKEN"):
        yield warning("huggingface_repo_id", "Uploading needs a Hugging Face token, and none is set in the "
                                             "environment.", "Set HF_TOKEN (or store it in the keyring) before "
                                                             "the launch.")
    if c.v("log_with") in ("wandb", "all") and not env.get("WANDB_API_KEY"):
        yield warning("log_with", "Weights & Biases needs an API key, and none is set in the environment.",
                      "Set WANDB_API_KEY (or store it in the keyring), or log to TensorBoard.")
    if c.v("save_state") is False and c.v("resume"):
        yield info("resume", "The run resumes from a saved state; turn on 'Save training state' to be able to "
                             "resume it again.")
