"""The top of the Training monitor: what runs and how far it is (state, run, steps and epochs with
ETA, speed, loss, phase), the backend's state, the run buttons, and a banner that explains a
failure (or a NaN loss, or an engine gone silent)."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from services.runs import events as ev
from services.runs.monitor_state import MonitorState, format_duration, format_rate

STATE_TEXT = {"idle": "Idle", "running": "Running", "stopping": "Stopping…", "succeeded": "Finished",
              "failed": "Failed", "stopped": "Stopped"}
STATE_ROLE = {"succeeded": "ok", "failed": "error", "stopped": "warning", "stopping": "warning"}
BUTTONS = (("preflight", "Preflight", "Check the run before it costs anything"),
           ("start", "Start", "Check, then start training"),
           ("stop", "Stop", "End the engine and every process it started (within 5 s)"),
           ("resume", "Resume", "Continue the shown run from its last saved state"),
           ("queue", "Add to queue", "Freeze the current project into a run that waits its turn"))


def _set_role(label: QLabel, role: str) -> None:
    if label.property("role") != role:
        label.setProperty("role", role)
        label.style().unpolish(label)
        label.style().polish(label)


def backend_text(runtime) -> tuple[str, str, str]:
    """(short text, tooltip, role) for the backend's state."""
    if runtime.state == "missing":
        return "Backend: not installed", "\n".join(runtime.problems), "error"
    commit = runtime.commit[:8] if runtime.commit else "unknown commit"
    tip = runtime.summary() + ("\n" + "\n".join(runtime.problems) if runtime.problems else "")
    if runtime.state == "version":
        return f"Backend: sd-scripts {commit} (not the pinned {runtime.pinned_commit[:8]})", tip, "warning"
    return f"Backend: sd-scripts {commit}" + (" (pinned)" if runtime.is_pinned else " (accepted)"), tip, "ok"


class StatusPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        header = QHBoxLayout()
        header.setSpacing(6)
        self.state_label = QLabel("Idle")
        self.state_label.setObjectName("run-state")
        font = self.state_label.font()
        font.setBold(True)
        self.state_label.setFont(font)
        self.run_label = QLabel("No run yet")
        self.run_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Shown by the dock in its tab bar's corner, where there is room for it.
        self.backend_label = QLabel("")
        self.backend_label.setObjectName("backend-state")
        self.backend_label.setContentsMargins(8, 0, 4, 0)
        header.addWidget(self.state_label)
        header.addWidget(self.run_label, 1)
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip in BUTTONS:
            button = QPushButton(text)
            button.setObjectName(f"run-{key}")
            button.setToolTip(tip)
            header.addWidget(button)
            self.buttons[key] = button
        layout.addLayout(header)

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.steps_bar = QProgressBar()
        self.steps_bar.setObjectName("steps-progress")
        self.steps_bar.setRange(0, 1)
        self.steps_bar.setValue(0)
        self.steps_bar.setFormat("step –")
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("run-stats")
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setObjectName("epoch-progress")
        self.epoch_bar.setRange(0, 1)
        self.epoch_bar.setValue(0)
        self.epoch_bar.setFormat("epoch –")
        self.epoch_bar.setMaximumHeight(14)
        self.phase_label = QLabel("")
        self.phase_label.setObjectName("run-phase")
        grid.addWidget(self.steps_bar, 0, 0)
        grid.addWidget(self.stats_label, 0, 1)
        grid.addWidget(self.epoch_bar, 1, 0)
        grid.addWidget(self.phase_label, 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        layout.addLayout(grid)

        self.banner = QFrame()
        self.banner.setObjectName("run-banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(8, 4, 8, 4)
        self.banner_label = QLabel("")
        self.banner_label.setObjectName("run-banner-text")
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextFormat(Qt.TextFormat.RichText)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        banner_layout.addWidget(self.banner_label, 1)
        self.banner.setVisible(False)
        layout.addWidget(self.banner)

    def set_backend(self, text: str, tip: str, role: str) -> None:
        self.backend_label.setText(text)
        self.backend_label.setToolTip(tip or text)
        _set_role(self.backend_label, role)

    def show_state(self, s: MonitorState, run_name: str, run_tip: str) -> None:
        self.state_label.setText(STATE_TEXT.get(s.state, s.state))
        _set_role(self.state_label, STATE_ROLE.get(s.state, ""))
        if run_name:
            self.run_label.setText(run_name + (f"  (attempt {s.attempt})" if s.attempt > 1 else ""))
            self.run_label.setToolTip(run_tip)
        total = s.total_steps or 0
        self.steps_bar.setRange(0, max(1, total))
        self.steps_bar.setValue(min(s.step, max(1, total)))
        self.steps_bar.setFormat(f"step {s.step} / {total}" if total else "step –")
        self.epoch_bar.setRange(0, max(1, s.total_epochs or 1))
        self.epoch_bar.setValue(min(s.epoch, s.total_epochs or 1))
        self.epoch_bar.setFormat(f"epoch {s.epoch} / {s.total_epochs}" if s.total_epochs else "epoch –")
        parts = []
        if s.it_per_s:
            parts.append(format_rate(s.it_per_s))
        if s.running and s.remaining_s is not None:
            finish = time.strftime("%H:%M", time.localtime(time.time() + s.remaining_s))
            parts.append(f"ETA {format_duration(s.remaining_s)} (≈{finish})")
        elif s.elapsed_s:
            parts.append(f"took {format_duration(s.elapsed_s)}")
        if s.last_loss is not None:
            parts.append(f"loss {s.last_loss:.4g}")
        if s.lr is not None:
            parts.append(f"lr {s.lr:.2e}")
        self.stats_label.setText("  ·  ".join(parts))
        self.phase_label.setText(phase_text(s))
        self._banner(s)

    def _banner(self, s: MonitorState) -> None:
        diagnosis = s.diagnosis
        if diagnosis is not None:
            role = "warning" if getattr(diagnosis, "severity", "error") == "warning" else "error"
            lines = "<br>".join(html.escape(line) for line in getattr(diagnosis, "lines", [])[-4:])
            text = (f"<b>{html.escape(diagnosis.title)}</b> — {html.escape(diagnosis.message)}"
                    + (f"<br><b>What to do:</b> {html.escape(diagnosis.hint)}" if diagnosis.hint else "")
                    + (f"<br><span style='font-family:monospace'>{lines}</span>" if lines else ""))
        elif s.stalled_s:
            role, text = "warning", (f"<b>The engine has printed nothing for {format_duration(s.stalled_s)}.</b> "
                                     "It may be stuck; Stop ends it and everything it started.")
        elif s.running and s.loss_values and s.loss_values[-1] != s.loss_values[-1]:
            role, text = "warning", "<b>The loss is NaN.</b> Further steps are wasted; consider stopping."
        else:
            self.banner.setVisible(False)
            return
        if self.banner_label.text() != text:
            self.banner_label.setText(text)
        _set_role(self.banner_label, role)
        self.banner.setVisible(True)


def phase_text(s: MonitorState) -> str:
    if s.state == "succeeded":
        return f"Finished: {len(s.checkpoints)} checkpoint(s) saved"
    if s.state == "stopped":
        return f"Stopped at step {s.step}" + (" (resumable)" if s.states_saved else "")
    if s.state == "failed":
        return f"Failed at step {s.step}" if s.step else "Failed before training began"
    if s.stalled_s:
        return f"No output for {format_duration(s.stalled_s)} — the engine may be stuck"
    label = ev.PHASE_LABELS.get(s.phase, s.phase) if s.phase else ""
    if s.phase == ev.CACHING and s.progress_total:
        return f"{(s.progress_label or 'Caching').capitalize()} {s.progress_n}/{s.progress_total}"
    if s.phase == ev.CACHING and s.phase_detail:
        return s.phase_detail.capitalize()
    if s.running and s.progress_label and s.phase in (ev.LOADING, ev.STARTING) and s.progress_total:
        return f"{label}: {s.progress_label} {s.progress_n}/{s.progress_total}"
    return label
