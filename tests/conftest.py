"""Shared test set-up: offscreen Qt, an isolated LoRA Studio home per test, and leak checks.

A QThread still running, a QThreadPool task still busy, or a Python thread started by the test
and still alive when it ends fails the test: a leaked thread is a bug in the code under test.
"""

from __future__ import annotations

import os
import threading
import weakref

import pytest

from tests.support.real_engine import run_lock  # noqa: F401  (the one-real-run-at-a-time lock, a fixture)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.pop("HF_TOKEN", None)

_started_qthreads: weakref.WeakSet = weakref.WeakSet()


def _install_qthread_tracker() -> None:
    try:
        from PySide6.QtCore import QThread
    except ImportError:  # pragma: no cover - Qt is a hard dependency
        return
    if getattr(QThread, "_lora_tracked", False):
        return
    original_start = QThread.start

    def tracked_start(self, *args, **kwargs):
        _started_qthreads.add(self)
        return original_start(self, *args, **kwargs)

    QThread.start = tracked_start
    QThread._lora_tracked = True


_install_qthread_tracker()


@pytest.fixture(autouse=True)
def lora_home(tmp_path_factory, monkeypatch):
    """Every test gets its own config/data/cache/log folders and Hugging Face cache."""
    home = tmp_path_factory.mktemp("lora-home")
    monkeypatch.setenv("LORA_STUDIO_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    return home


@pytest.fixture(autouse=True)
def no_leaked_threads(request):
    before = set(threading.enumerate())
    yield
    problems: list[str] = []
    try:
        from PySide6.QtCore import QCoreApplication, QThreadPool
    except ImportError:  # pragma: no cover
        QCoreApplication = QThreadPool = None
    if QCoreApplication is not None and QCoreApplication.instance() is not None:
        for thread in list(_started_qthreads):
            try:
                running = thread.isRunning()
            except RuntimeError:  # the C++ object is gone: it was cleaned up
                continue
            if running and not thread.wait(2000):
                problems.append(f"QThread {thread!r} ({thread.objectName() or type(thread).__name__}) still running")
        if not QThreadPool.globalInstance().waitForDone(5000):
            problems.append("QThreadPool.globalInstance() still has running tasks")
    for thread in set(threading.enumerate()) - before:
        if isinstance(thread, threading._DummyThread):
            # A QThread that called into Python's threading (a log record, starting a helper
            # thread) is registered as a "dummy" that can never be joined; QThreads are checked above.
            continue
        thread.join(timeout=3)
        if thread.is_alive():
            problems.append(f"Python thread {thread.name!r} still alive")
    if problems:
        pytest.fail("thread leak after test: " + "; ".join(problems))


@pytest.fixture
def app_parts(qapp, lora_home):
    """The real main window (not shown), built as the GUI builds it, with pytest-qt's exception
    capture left in charge. Closed and deleted at the end of the test."""
    from app.application import build

    parts = build(log_level="WARNING", console_log=False, show_crash_dialog=False,
                  open_initial=False, process_hooks=False)
    yield parts
    parts.session.set_project_modified(False)  # no "save changes?" question at teardown
    parts.window.close()
    parts.window.deleteLater()
    qapp.processEvents()
    parts.session.deleteLater()
    qapp.processEvents()
