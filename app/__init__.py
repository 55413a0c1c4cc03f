"""The composition root: QApplication, main window, menus, themes, and the command line."""
