"""Qt adapters of the training core: the project controller (edits as undo commands, validation
off the GUI thread) and the parameter tree's item model."""
