"""Threads of this area end before the application does, however it ends.

The main window stops them when it closes, but a script (or a test, or a crash path) may quit the
QApplication or let Python exit with the window still open; Qt aborts the process when a QThread
object is destroyed while running. So every such thread is registered here and stopped when the
application is about to quit and, as the last resort, at interpreter exit.
"""

from __future__ import annotations

import atexit
import weakref

from PySide6.QtCore import QCoreApplication

_threads: weakref.WeakSet = weakref.WeakSet()
_hooked_apps: weakref.WeakSet = weakref.WeakSet()


def stop_at_exit(thread) -> None:
    """``thread`` must have a ``stop()`` that ends it and waits."""
    _threads.add(thread)
    app = QCoreApplication.instance()
    if app is not None and app not in _hooked_apps:
        _hooked_apps.add(app)
        app.aboutToQuit.connect(stop_all)


def stop_all() -> None:
    for thread in list(_threads):
        try:
            thread.stop()
        except RuntimeError:  # its C++ object is already gone
            pass


atexit.register(stop_all)
