"""Every menu action, declared once, as data. The main window builds its menus from this list.

``handler`` names what runs when the action triggers:
  ``window.<method>``           a method of the main window
  ``dock.<dock_id>.<method>``   a method of a dock's widget (the dock is shown first)
  ``session.<method>``          a method of the Session
``shortcut`` is a QKeySequence string or the name of a QKeySequence.StandardKey.
Menus and their order are given by MENUS; an entry's ``menu`` may name a submenu as "File/Recent".
"""

from __future__ import annotations

from dataclasses import dataclass

MENUS = ("File", "Edit", "View", "Dataset", "Caption", "Train", "Theme", "Help")


@dataclass(frozen=True)
class ActionSpec:
    id: str
    menu: str
    text: str
    handler: str
    shortcut: str = ""
    tip: str = ""
    separator_before: bool = False
    checkable: bool = False
    role: str = ""  # QAction.MenuRole name, for macOS


ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("file.open_folder", "File", "&Open folder…", "window.open_folder_dialog", "StandardKey.Open",
               "Open a dataset folder (Kohya subsets are recognised)"),
    ActionSpec("file.add_folder", "File", "&Add folder to workspace…", "window.add_folder_dialog", "Ctrl+Shift+O",
               "Add another folder as a subset of the open workspace"),
    ActionSpec("file.new_project", "File", "&New project", "window.new_project", "StandardKey.New",
               "Start a new training project", separator_before=True),
    ActionSpec("file.open_project", "File", "Open &project…", "window.open_project_dialog", "Ctrl+Alt+O",
               "Open a LoRA Studio project file"),
    ActionSpec("file.save_project", "File", "&Save project", "window.save_project", "StandardKey.Save"),
    ActionSpec("file.save_project_as", "File", "Save project &as…", "window.save_project_as",
               "Ctrl+Shift+S"),
    ActionSpec("file.quit", "File", "&Quit", "window.close", "Ctrl+Q", separator_before=True,
               role="QuitRole"),
    # Edit: undo/redo are created from the QUndoStack by the window (they need its state).
    # View
    ActionSpec("view.reset_layout", "View", "&Reset layout", "window.reset_layout", "",
               "Put every panel back where it was on first start", separator_before=True),
    # --- Dataset (issue 3)
    ActionSpec("dataset.health", "Dataset", "&Health report…", "dock.dataset.health_report", "Ctrl+Shift+H",
               "Corrupt images, missing captions, duplicates, sizes and the aspect-ratio buckets sd-scripts will form"),
    ActionSpec("dataset.problems", "Dataset", "Show images with &problems", "dock.dataset.show_problems", "",
               "Filter the grid to images with a badge (problem:any)"),
    ActionSpec("dataset.folder_tools", "Dataset", "&Kohya folder tools…", "dock.dataset.folder_tools", "",
               "Make an N_name subset from a flat folder, set repeats (with a preview)", separator_before=True),
    ActionSpec("dataset.balance", "Dataset", "&Balance repeats…", "dock.dataset.balance_repeats", "",
               "Set each folder's repeats so images × repeats is about equal"),
    ActionSpec("dataset.caption_extension", "Dataset", "Caption &extension…", "dock.dataset.set_caption_extension",
               "", "Which files hold the captions: .txt, .caption, .cap or another", separator_before=True),
    ActionSpec("dataset.tag_separator", "Dataset", "&Tag separator…", "dock.dataset.set_tag_separator", "",
               "How tags are separated in captions: comma, comma and space, or new line"),
    ActionSpec("dataset.trash", "Dataset", "Move selected images to &trash…", "dock.dataset.trash_selected", "",
               "Send the selected images and their captions to the system trash", separator_before=True),
    ActionSpec("dataset.refresh", "Dataset", "&Refresh", "dock.dataset.refresh", "F5",
               "Read the open folders again"),
    # --- Caption (issue 4) ---
    ActionSpec("caption.batch", "Caption", "&Batch edit…", "dock.captions.open_batch_dialog", "Ctrl+Shift+B",
               "Add, remove, rename, replace, dedupe or sort tags of many captions at once, with a preview"),
    ActionSpec("caption.add_trigger", "Caption", "Add &trigger word…", "dock.captions.add_trigger_word", "",
               "Add a tag at the front of every caption (or of the selection)"),
    ActionSpec("caption.find_replace", "Caption", "&Find and replace…", "dock.captions.find_replace", "Ctrl+H",
               "Find and replace in captions: plain text, regular expression or whole tags"),
    ActionSpec("caption.rename_extension", "Caption", "Rename caption &extension…", "dock.captions.rename_extension",
               "", "Rename every caption file to another extension (.txt, .caption, .cap, …)"),
    ActionSpec("caption.tags_mode", "Caption", "Edit as ta&gs", "dock.captions.show_tags_mode", "Ctrl+Alt+T",
               separator_before=True),
    ActionSpec("caption.text_mode", "Caption", "Edit as te&xt", "dock.captions.show_text_mode", "Ctrl+Alt+X"),
    ActionSpec("caption.save_all", "Caption", "&Save all captions", "dock.captions.save_all", "Ctrl+Alt+S",
               "Save every caption with unsaved edits", separator_before=True),
    ActionSpec("caption.autosave", "Caption", "Save captions &automatically", "dock.captions.toggle_autosave",
               tip="Save each edit at once (on), or only when you choose Save all captions (off)", checkable=True),
    # --- Auto-caption (issue 5)
    ActionSpec("caption.auto", "Caption", "&Auto-caption…", "dock.autocaption.focus", "Ctrl+Shift+A",
               "Tag or caption the dataset with WD14, BLIP or BLIP-2", separator_before=True),
    # --- Train (issue 8)
    ActionSpec("train.preflight", "Train", "&Preflight", "dock.training.preflight", "Ctrl+Shift+P",
               "Check the run before it costs anything: parameters, backend, the engine's own parser, "
               "disk space, video memory"),
    ActionSpec("train.start", "Train", "&Start training", "dock.training.start", "Ctrl+Return",
               "Check, then start training"),
    ActionSpec("train.stop", "Train", "S&top", "dock.training.stop", "Ctrl+.",
               "End the engine and every process it started"),
    ActionSpec("train.resume", "Train", "&Resume", "dock.training.resume", "",
               "Continue the shown run from its last saved state"),
    ActionSpec("train.queue", "Train", "Add to &queue", "dock.training.add_to_queue", "",
               "Freeze the current project into a run that waits its turn", separator_before=True),
    ActionSpec("train.history", "Train", "Run &history…", "dock.training.show_history", "",
               "Every run, reopenable"),
    # --- Backend (issue 10)
    ActionSpec("train.backend_setup", "Train", "Training &backend…", "session.request_backend_setup",
               tip="Install, verify or repair the training engine (sd-scripts), or choose an existing one",
               separator_before=True),
    # Help
    ActionSpec("help.demo", "Help", "Open &demo dataset", "window.open_demo",
               tip="Create a small sample dataset and open it"),
    ActionSpec("help.log_folder", "Help", "Open &log folder", "window.open_log_folder"),
    # --- Hardware (issue 9)
    ActionSpec("help.system_report", "Help", "&System report…", "window.show_system_report",
               tip="This machine, its GPUs and both Python environments, to copy into a bug report"),
    ActionSpec("help.about", "Help", "&About LoRA Studio", "window.show_about", separator_before=True,
               role="AboutRole"),
)
