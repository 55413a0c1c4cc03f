"""Saving: where and how the result and intermediate checkpoints are written, and their metadata."""

from __future__ import annotations

from services.training.families import FULL_MODES, Family, Mode
from services.training.registry._decl import BOOL, CHOICE, DIR, FILE, INT, STR, declarer
from services.training.registry.spec import Group

p = declarer(Group.SAVING)
LORA = {Mode.LORA}
_HF = "huggingface_repo_id"

PARAMETERS = [
    p("output_dir", DIR, None, "Output folder",
      "Where the trained model and checkpoints are written. Empty: the 'output' folder of the run.",
      must_exist=False),
    p("output_name", STR, None, "Output name",
      "The file name of the result, without extension. Empty: the project's name."),
    p("save_model_as", CHOICE, "safetensors", "File format",
      "The .safetensors format is safe to share and load; ckpt/pt are pickles kept for old tools. Full finetunes can "
      "also be saved as diffusers folders.", choices=("safetensors", "ckpt", "pt", "diffusers",
                                                    "diffusers_safetensors"),
      choices_by=((None, LORA, ("safetensors", "ckpt", "pt")), (None, FULL_MODES,
                                                              ("safetensors", "ckpt", "diffusers",
                                                               "diffusers_safetensors"))),
      engine_by_script={s: "safetensors" for s in ("train_network.py", "sdxl_train_network.py",
                                                   "flux_train_network.py", "sd3_train_network.py")}),
    p("save_precision", CHOICE, "bf16", "Saved precision",
      "The precision of the saved file. fp16 or bf16 halves the size with no visible loss; float keeps "
      "32-bit.", choices=("float", "fp16", "bf16"), by=(({Family.SD1, Family.SD2}, None, "fp16"),)),
    p("save_every_n_epochs", INT, None, "Save every N epochs",
      "Also save a checkpoint at the end of every N-th epoch, to pick the best one afterwards.", minimum=1,
      unit="epochs"),
    p("save_every_n_steps", INT, None, "Save every N steps", "Also save a checkpoint every N steps.",
      minimum=1, unit="steps"),
    p("save_n_epoch_ratio", INT, None, "Save N times per run",
      "Save about this many checkpoints spread evenly over the run (instead of every N epochs).", minimum=1),
    p("save_last_n_epochs", INT, None, "Keep the last N epoch checkpoints",
      "Delete older epoch checkpoints, keeping only the newest N.", minimum=1,
      conditions="save_every_n_epochs"),
    p("save_last_n_steps", INT, None, "Keep checkpoints of the last N steps",
      "Delete step checkpoints older than N steps.", minimum=1, conditions="save_every_n_steps"),
    p("save_state", BOOL, False, "Save training state",
      "With each checkpoint also save the optimizer state and step, so a stopped run can be resumed exactly."),
    p("save_state_on_train_end", BOOL, False, "Save the state at the end",
      "Save the training state once when the run finishes, to continue training later."),
    p("save_last_n_epochs_state", INT, None, "Keep the last N epoch states",
      "Delete older epoch states, keeping the newest N.", minimum=1, conditions="save_state"),
    p("save_last_n_steps_state", INT, None, "Keep states of the last N steps",
      "Delete step states older than N steps.", minimum=1, conditions="save_state"),
    p("no_metadata", BOOL, False, "No training metadata",
      "Do not write the training settings into the LoRA file's metadata.", modes=LORA),
    p("training_comment", STR, None, "Comment", "A comment stored in the LoRA file's metadata.", modes=LORA),
    p("save_clip", BOOL, False, "Save CLIP encoders in the checkpoint",
      "Include the CLIP text encoders in the saved SD3 checkpoint.", families={Family.SD3}),
    p("save_t5xxl", BOOL, False, "Save T5-XXL in the checkpoint",
      "Include T5-XXL in the saved SD3 checkpoint (several GB).", families={Family.SD3}),
    p("metadata_title", STR, None, "Title", "The model's title in its metadata (modelspec)."),
    p("metadata_author", STR, None, "Author", "Your name or handle in the model's metadata."),
    p("metadata_description", STR, None, "Description", "A description stored in the model's metadata."),
    p("metadata_license", STR, None, "Licence", "The licence stored in the model's metadata."),
    p("metadata_tags", STR, None, "Tags", "Comma-separated tags stored in the model's metadata."),
    p("metadata_trigger_phrase", STR, None, "Trigger phrase",
      "The words that activate the LoRA, stored in its metadata for tools that read it."),
    p("metadata_usage_hint", STR, None, "Usage hint",
      "How to use the model (weight, sampler, ...), stored in its metadata."),
    p("metadata_thumbnail", FILE, None, "Thumbnail", "An image embedded in the metadata as the model's thumbnail.",
      file_filter="*.png *.jpg *.jpeg *.webp"),
    # --- upload to the Hugging Face Hub (the token comes from the environment: HF_TOKEN) ---------
    p(_HF, STR, None, "Upload to repository",
      "A Hugging Face repository (user/name) to upload the results to. The token is taken from the "
      "HF_TOKEN environment variable or the system keyring, never from the project."),
    p("huggingface_repo_type", CHOICE, None, "Repository type", "The kind of repository: model (the usual) or dataset.",
      choices=("model", "dataset"), conditions=_HF),
    p("huggingface_path_in_repo", STR, None, "Folder in repository", "Where in the repository files go.",
      conditions=_HF),
    p("huggingface_repo_visibility", CHOICE, None, "Visibility",
      "Whether a repository created for the upload is public or private.", choices=("public", "private"),
      conditions=_HF),
    p("save_state_to_huggingface", BOOL, False, "Upload training states",
      "Also upload the saved training states.", conditions=_HF),
    p("resume_from_huggingface", BOOL, False, "Resume from the repository",
      "Read the state to resume from the repository (the Resume field then names repo/path:revision:type)."),
    p("async_upload", BOOL, False, "Upload in the background", "Do not wait for uploads to finish.",
      conditions=_HF),
]
