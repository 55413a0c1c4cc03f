"""The Parameters dock: model picker, profiles, the parameter tree, help, step arithmetic, problems."""
