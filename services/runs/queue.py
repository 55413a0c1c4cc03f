"""The run queue: frozen run folders waiting their turn, run one after another.

Each entry points at a run folder emitted when it was queued (a snapshot: later edits of the
project do not change it). Entries that have not started can be reordered, removed, renamed or
replaced by a new snapshot; started ones stay as the record of what ran. A failed run does not
stop the queue unless ``stop_on_failure`` is set. The queue lives in ``<runs>/queue.json``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.atomic import atomic_write_text
from services.errors import UserInputError
from services.runs.run_folder import RunFolder

log = logging.getLogger(__name__)

PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED, SKIPPED = (
    "pending", "running", "succeeded", "failed", "stopped", "skipped")
QUEUE_FILE = "queue.json"


@dataclass
class QueueEntry:
    run_dir: str
    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = PENDING
    added_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def run(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def editable(self) -> bool:
        return self.state == PENDING


class RunQueue:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.entries: list[QueueEntry] = []
        self.stop_on_failure = False
        self.load()

    @classmethod
    def in_runs_dir(cls, runs_dir: Path) -> RunQueue:
        return cls(Path(runs_dir) / QUEUE_FILE)

    # --- persistence ---------------------------------------------------------------------------
    def load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("queue file %s unreadable (%s); starting with an empty queue", self.path, exc)
            return
        if not isinstance(raw, dict):
            return
        self.stop_on_failure = bool(raw.get("stop_on_failure", False))
        entries = []
        for item in raw.get("entries") or []:
            if not isinstance(item, dict) or not isinstance(item.get("run_dir"), str):
                continue
            entry = QueueEntry(item["run_dir"], str(item.get("name") or Path(item["run_dir"]).name))
            for key in ("id", "state"):
                if isinstance(item.get(key), str):
                    setattr(entry, key, item[key])
            for key in ("added_at", "started_at", "ended_at"):
                if isinstance(item.get(key), (int, float)):
                    setattr(entry, key, float(item[key]))
            if entry.state == RUNNING:  # the app ended while it ran
                entry.state = STOPPED
            entries.append(entry)
        self.entries = entries

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "stop_on_failure": self.stop_on_failure,
                "entries": [asdict(e) for e in self.entries]}
        atomic_write_text(self.path, json.dumps(data, indent=2) + "\n")

    # --- queries --------------------------------------------------------------------------------
    def get(self, entry_id: str) -> QueueEntry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise UserInputError("That run is no longer in the queue.")

    def pending(self) -> list[QueueEntry]:
        return [e for e in self.entries if e.state == PENDING]

    def next_pending(self) -> QueueEntry | None:
        pending = self.pending()
        return pending[0] if pending else None

    def running(self) -> QueueEntry | None:
        return next((e for e in self.entries if e.state == RUNNING), None)

    # --- edits ----------------------------------------------------------------------------------
    def add(self, run: RunFolder, name: str = "") -> QueueEntry:
        entry = QueueEntry(str(run.path), name or run.name)
        self.entries.append(entry)
        self.save()
        return entry

    def _editable(self, entry_id: str, what: str) -> QueueEntry:
        entry = self.get(entry_id)
        if not entry.editable:
            raise UserInputError(f"“{entry.name}” has already started; it cannot be {what}.",
                                 "Only runs that are still waiting can be changed.")
        return entry

    def remove(self, entry_id: str) -> QueueEntry:
        entry = self._editable(entry_id, "removed")
        self.entries.remove(entry)
        self.save()
        return entry

    def move(self, entry_id: str, index: int) -> None:
        """Move a waiting run to position ``index`` among the waiting runs (0 = next to run)."""
        entry = self._editable(entry_id, "moved")
        pending = self.pending()
        pending.remove(entry)
        index = max(0, min(index, len(pending)))
        pending.insert(index, entry)
        started = [e for e in self.entries if e.state != PENDING]
        self.entries = started + pending
        self.save()

    def rename(self, entry_id: str, name: str) -> None:
        entry = self._editable(entry_id, "renamed")
        if not name.strip():
            raise UserInputError("A queued run needs a name.")
        entry.name = name.strip()
        self.save()

    def replace(self, entry_id: str, run: RunFolder) -> None:
        """Edit a waiting run: its snapshot is replaced by a new one (the old folder is kept)."""
        entry = self._editable(entry_id, "edited")
        entry.run_dir = str(run.path)
        self.save()

    def clear_finished(self) -> int:
        before = len(self.entries)
        self.entries = [e for e in self.entries if e.state in (PENDING, RUNNING)]
        self.save()
        return before - len(self.entries)

    def set_stop_on_failure(self, value: bool) -> None:
        self.stop_on_failure = bool(value)
        self.save()

    # --- progress -------------------------------------------------------------------------------
    def mark_running(self, entry_id: str) -> None:
        entry = self.get(entry_id)
        entry.state = RUNNING
        entry.started_at = time.time()
        self.save()

    def mark_done(self, entry_id: str, state: str) -> None:
        entry = self.get(entry_id)
        entry.state = state if state in (SUCCEEDED, FAILED, STOPPED, SKIPPED) else FAILED
        entry.ended_at = time.time()
        self.save()

    def should_continue_after(self, state: str) -> bool:
        """Whether the queue goes on after a run ended in ``state``."""
        if state == STOPPED:
            return False  # the user stopped it: the queue waits for them
        return not (state == FAILED and self.stop_on_failure)
