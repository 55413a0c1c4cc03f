"""Logging: TensorBoard and Weights & Biases. The wandb key comes from the environment only."""

from __future__ import annotations

from services.training.registry._decl import BOOL, CHOICE, DIR, FILE, STR, declarer
from services.training.registry.spec import Group, when

p = declarer(Group.LOGGING)
_LOG = "log_with"

PARAMETERS = [
    p("log_with", CHOICE, None, "Log to",
      "Where training metrics go: tensorboard (local files), wandb (Weights & Biases; the key is read from "
      "WANDB_API_KEY or the keyring) or all. LoRA Studio's own monitor works without either.",
      choices=("tensorboard", "wandb", "all")),
    p("logging_dir", DIR, None, "Log folder",
      "Where TensorBoard logs go. Empty: the 'logs' folder of the run.", must_exist=False, conditions=_LOG),
    p("log_prefix", STR, None, "Log name prefix", "Put in front of the log folder's name.", conditions=_LOG),
    p("log_tracker_name", STR, None, "Project name", "The tracker's project name (wandb project).",
      conditions=_LOG),
    p("wandb_run_name", STR, None, "Run name", "The name of this run in Weights & Biases.",
      conditions=when(_LOG, "wandb", "all")),
    p("log_tracker_config", FILE, None, "Tracker settings file",
      "A TOML file with extra settings for the tracker (wandb entity, tags, ...).", conditions=_LOG,
      file_filter="*.toml"),
    p("log_config", BOOL, False, "Log the settings", "Also send the training settings to the tracker.",
      conditions=_LOG),
]
