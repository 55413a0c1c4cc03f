"""The training backend's setup wizard: status, plan, install with progress, verification, repair.

``show_backend_setup(session, parent)`` opens it (one per window, non-modal; closing it while a job
runs only hides it, the job goes on and the wizard shows it again when reopened).
"""

from __future__ import annotations


def show_backend_setup(session, parent=None, *, first_start: bool = False):
    from widgets.backend_setup.dialog import BackendSetupDialog

    dialog = parent.findChild(BackendSetupDialog) if parent is not None else None
    if dialog is None:
        dialog = BackendSetupDialog(session, parent, first_start=first_start)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
