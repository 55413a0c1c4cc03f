"""Everything known about the backend without running it: for `backend info` and the wizard."""

from __future__ import annotations

import json
import os
from pathlib import Path

from services.backend.plan import load_plan
from services.backend.runtime import STEP_IDS, locate, managed_layout


def _size_gb(folder: Path) -> float | None:
    if not folder.is_dir():
        return None
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total / 1024 ** 3


def step_markers(data_dir: Path | None = None) -> list[dict]:
    layout = managed_layout(data_dir)
    out = []
    for step in STEP_IDS:
        try:
            marker = json.loads(layout.marker(step).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            marker = {}
        out.append({"step": step, "status": marker.get("status", "absent"), "seconds": marker.get("seconds"),
                    "finished_at": marker.get("finished_at"), "details": marker.get("details")})
    return out


def describe(settings=None, *, data_dir: Path | None = None, with_size: bool = True) -> dict:
    """Blocking only for the size of the runtime folder (a directory walk): not on the GUI thread."""
    from services.backend.verify import last_report

    rt = locate(settings, data_dir=data_dir)
    layout = managed_layout(data_dir)
    data: dict = {"summary": rt.summary(), "runtime": rt.as_dict()}
    if rt.managed:
        plan = load_plan(layout)
        data["plan"] = plan.as_dict() if plan else None
        data["steps"] = step_markers(data_dir)
        if with_size:
            data["disk_gb"] = _size_gb(layout.root)
    last = last_report(layout)
    data["last_verification"] = last.get("summary") if last else None
    return data
