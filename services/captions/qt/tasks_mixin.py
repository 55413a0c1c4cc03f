"""The caption controller's background work: worker threads and GUI-thread slices, one busy label.

Threads (``TaskThread``) are for work that releases the GIL (reading and writing files, hashing);
pure-Python work over many captions runs in GUI-thread slices (``planner``), see ARCHITECTURE.md,
invariant 1. Both feed the same busy label and progress signal, and ``cancel_all`` stops both.
"""

from __future__ import annotations

from collections.abc import Callable

from services.captions.qt.worker import TaskThread
from services.errors import OperationCancelled

PROGRESS_EVERY = 512  # sliced work reports progress every this many items (a multiple of YIELD_EVERY)


class TasksMixin:
    """Needs: ``planner`` (a SliceRunner), ``_threads``, ``_sliced_labels``, ``_busy_text``,
    ``_save_thread``, ``_closed``, ``session``, and the signals ``progress``, ``busy_changed`` and
    ``state_changed``."""

    def start_task(self, fn, name: str, label: str, on_success: Callable, on_failure: Callable | None = None,
                   priority: TaskThread.Priority = TaskThread.Priority.InheritPriority) -> TaskThread:
        """Start ``fn`` in a worker thread; its result goes to ``on_success`` on the GUI thread."""
        thread = TaskThread(fn, name, self)
        if self._closed:  # the session is ending: nothing new starts (the thread object is inert)
            return thread
        thread.succeeded.connect(on_success)
        thread.failed.connect(on_failure or self._report_failure)
        thread.setProperty("label", label)
        self._threads.add(thread)
        if label:
            self._set_busy(label)
            thread.progressed.connect(self.progress)
        thread.finished.connect(lambda t=thread, has_label=bool(label): self._thread_done(t, has_label))
        thread.start(priority)
        return thread

    def start_sliced(self, steps, label: str, on_success: Callable, on_failure: Callable | None = None, *,
                     total: int = 0) -> None:
        """Run ``steps`` (a generator that yields counts of work done and returns its result) on the
        GUI thread in slices; the result goes to ``on_success``. For pure-Python work over many
        captions (see ``planner``); threads are for work that releases the GIL (files, hashing)."""
        if self._closed:
            return
        if label:
            self._sliced_labels.append(label)
            self._set_busy(label)

        def job():
            try:
                while True:
                    try:
                        done = next(steps)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    if total and done % PROGRESS_EVERY == 0:
                        self.progress.emit(done, total)
                    yield
            except GeneratorExit:  # cancelled (cancel_all)
                self._sliced_done(label)
                raise
            except Exception as exc:
                self._sliced_done(label)
                (on_failure or self._report_failure)(exc)
                return
            self._sliced_done(label)
            on_success(result)

        self.planner.submit(job())

    def _sliced_done(self, label: str) -> None:
        if label and label in self._sliced_labels:
            self._sliced_labels.remove(label)
        self._update_busy()

    def _update_busy(self) -> None:
        labels = [t.property("label") for t in self._threads if t.property("label")] + self._sliced_labels
        self._set_busy(labels[-1] if labels else "")

    def _thread_done(self, thread: TaskThread, had_label: bool) -> None:
        self._threads.discard(thread)
        if thread is self._save_thread:
            self._save_thread = None
        thread.deleteLater()
        if had_label:
            self._update_busy()

    def _set_busy(self, text: str) -> None:
        if text != self._busy_text:
            self._busy_text = text
            self.busy_changed.emit(text)
            self.state_changed.emit()

    def _report_failure(self, exc: BaseException) -> None:
        if isinstance(exc, OperationCancelled):
            self.session.show_status("Cancelled", 3000)
            return
        self.session.report_error(exc)

    def cancel_all(self) -> None:
        self.planner.clear()
        for thread in list(self._threads):
            if thread is not self._save_thread:
                thread.cancel()

