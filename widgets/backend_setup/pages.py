"""The wizard's first pages: the backend's status, the install plan, an existing installation."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from services.backend.plan import FAMILIES, InstallPlan, WheelSource, assemble_plan
from services.backend.runtime import NOT_INSTALLED, pinned
from services.backend.steps import STEPS
from services.backend.tokenizer_cache import FAMILY_NAMES
from services.errors import LoraStudioError
from widgets.backend_setup.parts import heading, label, separator, set_role

INTRO = ("LoRA Studio trains with kohya-ss/sd-scripts. It runs in its own Python environment with a PyTorch "
         "build chosen for your GPU, kept apart from LoRA Studio itself. The setup installs it in your user "
         "data folder, checks that it works, and can repair it later. You can also use an sd-scripts "
         "installation you already have (for example kohya_ss's).")
TORCH_CHOICES = (("auto", "Automatic (from the hardware)"), ("cpu", "CPU only"), ("cu128", "NVIDIA, CUDA 12.8"),
                 ("cu126", "NVIDIA, CUDA 12.6 (older GPUs and drivers)"), ("cu130", "NVIDIA, CUDA 13.0"),
                 ("rocm", "AMD, ROCm (Linux)"), ("xpu", "Intel Arc (XPU)"))


class StatusPage(QWidget):
    install_requested = Signal()
    verify_requested = Signal()
    repair_requested = Signal()
    update_requested = Signal()
    existing_requested = Signal()
    offer_at_start_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.title = heading("Training backend")
        self.state = label("", "muted", wrap=True)
        self.intro = label(INTRO, "muted", wrap=True)
        layout.addWidget(self.title)
        layout.addWidget(self.state)
        layout.addWidget(self.intro)
        layout.addWidget(separator())
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self.fields: dict[str, object] = {}
        for row, (key, text) in enumerate((("kind", "Kind"), ("python", "Python"), ("engine", "sd-scripts"),
                                           ("tokenizers", "Tokenizer cache"), ("verified", "Last verification"))):
            grid.addWidget(label(text + ":", "muted"), row, 0, Qt.AlignmentFlag.AlignTop)
            value = label("", wrap=True, selectable=True)
            grid.addWidget(value, row, 1)
            self.fields[key] = value
        layout.addLayout(grid)
        self.problems = label("", "error", wrap=True, selectable=True)
        layout.addWidget(self.problems)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        self.install_button = QPushButton("Install…")
        self.verify_button = QPushButton("Verify")
        self.repair_button = QPushButton("Repair")
        self.update_button = QPushButton("Update engine")
        self.existing_button = QPushButton("Use an existing installation…")
        for button, sig in ((self.install_button, self.install_requested), (self.verify_button, self.verify_requested),
                            (self.repair_button, self.repair_requested), (self.update_button, self.update_requested),
                            (self.existing_button, self.existing_requested)):
            button.clicked.connect(sig.emit)
            button.setAutoDefault(False)   # the one that fits the state is made the default, not the focused one
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.offer_at_start = QCheckBox("Open this window at start while no backend is installed")
        self.offer_at_start.toggled.connect(self.offer_at_start_changed.emit)
        layout.addWidget(self.offer_at_start)

    def show_runtime(self, rt, last: dict | None, offer_at_start: bool, first_start: bool = False) -> None:
        """``last``: the last verification report (as saved), or None."""
        verified_ok = bool(last and last.get("ok"))
        headline = {"found": "The training backend is installed.",
                    "version": "The training backend uses another sd-scripts commit than this LoRA Studio pins.",
                    "missing": "No training backend is installed yet."}[rt.state]
        role = {"found": "ok", "version": "warning", "missing": "warning"}[rt.state]
        if rt.state == "missing" and rt.problems and "did not finish" in rt.problems[0]:
            headline = "The installation of the training backend did not finish."
        elif rt.state == "found" and last is not None and not verified_ok:
            headline = "The training backend is installed, but its last verification found problems."
            role = "error"
        elif rt.state == "found" and verified_ok:
            headline = "The training backend is installed and verified."
        self.state.setText(headline)
        set_role(self.state, role)
        last_summary = last.get("summary") if last else None
        self.intro.setVisible(first_start or rt.state == "missing")
        nothing = rt.state == "missing" and bool(rt.problems) and rt.problems[0] == NOT_INSTALLED
        if nothing:
            lock = pinned()
            self.fields["kind"].setText(f"managed by LoRA Studio, to be installed in {rt.root}")
            self.fields["python"].setText("a supported Python found on this computer (3.10 to 3.13)")
            self.fields["engine"].setText(f"kohya-ss/sd-scripts at {lock.short}"
                                          + (f" ({lock.date})" if lock.date else "") + f", from {lock.repository}")
        else:
            self.fields["kind"].setText("managed by LoRA Studio, in " + str(rt.root) if rt.managed
                                        else "an existing installation (LoRA Studio never changes it)")
            self.fields["python"].setText(f"{rt.python_version or '?'} — {rt.python}" if rt.python else "—")
            commit = rt.commit[:8] if rt.commit else "unknown commit"
            pin = "the pinned commit" if rt.is_pinned else ("accepted by you" if rt.commit and rt.commit ==
                                                            rt.accepted_commit else f"pinned: {rt.pinned_commit[:8]}")
            self.fields["engine"].setText(f"{rt.sd_scripts_dir} — {commit} ({pin})")
        self.fields["tokenizers"].setText(str(rt.tokenizer_cache_dir))
        self.fields["verified"].setText(last_summary or "never")
        self.problems.setText("" if nothing else "\n".join(rt.problems))
        self.install_button.setText("Install…" if nothing else "Install again…" if rt.state == "found"
                                    else "Continue installing…" if rt.managed else "Install the managed backend…")
        self.install_button.setDefault(rt.state == "missing")
        self.repair_button.setDefault(rt.state == "found" and last is not None and not verified_ok)
        self.verify_button.setDefault(rt.state == "found" and (last is None or verified_ok))
        self.verify_button.setEnabled(not nothing)
        for button in (self.install_button, self.repair_button, self.verify_button):
            if button.isDefault():
                button.setFocus()
        self.repair_button.setVisible(rt.managed and not nothing)
        self.update_button.setVisible(rt.managed and rt.state == "version")
        self.offer_at_start.setVisible(rt.state == "missing")
        self.offer_at_start.blockSignals(True)
        self.offer_at_start.setChecked(offer_at_start)
        self.offer_at_start.blockSignals(False)


class PlanPage(QWidget):
    back_requested = Signal()
    install_requested = Signal(object)   # InstallPlan
    browse_python_requested = Signal(str)

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self.pythons: list = []
        self.facts = None
        self.plan: InstallPlan | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading("What will be installed"))
        self.detecting = label("Looking for Python interpreters and GPUs…", "muted")
        layout.addWidget(self.detecting)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.hardware = label("", wrap=True, selectable=True)
        form.addRow("Hardware:", self.hardware)
        self.torch_combo = QComboBox()
        for key, text in TORCH_CHOICES:
            self.torch_combo.addItem(text, key)
        torch_box = QWidget()
        torch_column = QVBoxLayout(torch_box)
        torch_column.setContentsMargins(0, 0, 0, 0)
        torch_column.setSpacing(3)
        combo_row = QHBoxLayout()
        combo_row.addWidget(self.torch_combo)
        combo_row.addStretch(1)
        torch_column.addLayout(combo_row)
        self.torch_reason = label("", "muted", wrap=True)
        self.torch_warnings = label("", "warning", wrap=True)
        for wide in (self.torch_reason, self.torch_warnings):
            wide.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
            torch_column.addWidget(wide)
        form.addRow("PyTorch build:", torch_box)
        python_row = QHBoxLayout()
        self.python_combo = QComboBox()
        self.python_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.python_browse = QPushButton("Other…")
        python_row.addWidget(self.python_combo, 1)
        python_row.addWidget(self.python_browse)
        form.addRow("Python:", python_row)
        families = QHBoxLayout()
        self.family_boxes: dict[str, QCheckBox] = {}
        for family in FAMILIES:
            box = QCheckBox(FAMILY_NAMES[family])
            box.setChecked(family in ("sd1", "sdxl"))
            box.setToolTip("Caches the tokenizers sd-scripts needs for this model family (downloaded while online)")
            families.addWidget(box)
            self.family_boxes[family] = box
        families.addStretch(1)
        form.addRow("Model families:", families)
        self.bnb = QCheckBox("Require 8-bit optimizers (bitsandbytes) to work")
        form.addRow("", self.bnb)
        layout.addLayout(form)

        self.advanced = QGroupBox("Choose where everything comes from (advanced)")
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        holder = QVBoxLayout(self.advanced)
        self.advanced_body = QWidget()
        holder.addWidget(self.advanced_body)
        self.advanced_body.hide()
        self.advanced.toggled.connect(self.advanced_body.setVisible)
        adv = QFormLayout(self.advanced_body)
        adv.setContentsMargins(0, 0, 0, 0)
        self.engine_source = QLineEdit()
        self.torch_source = QLineEdit()
        self.packages_source = QLineEdit()
        self.only_local = QCheckBox("Only these folders (no network)")
        for edit, tip in ((self.engine_source, "a git URL, a local repository or an archive; default: upstream"),
                          (self.torch_source, "an index URL or a folder of wheels; default: the build's index"),
                          (self.packages_source, "an index URL or a folder of wheels; default: pip's settings")):
            edit.setPlaceholderText(tip)
        adv.addRow("sd-scripts from:", self.engine_source)
        adv.addRow("torch from:", self.torch_source)
        adv.addRow("Other packages from:", self.packages_source)
        adv.addRow("", self.only_local)
        layout.addWidget(self.advanced)

        layout.addWidget(separator())
        self.steps = label("", wrap=True)
        self.steps.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.steps)
        self.disk = label("", "muted", wrap=True)
        layout.addWidget(self.disk)
        self.error = label("", "error", wrap=True)
        layout.addWidget(self.error)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        back = QPushButton("Back")
        back.clicked.connect(self.back_requested.emit)
        self.install_button = QPushButton("Install")
        self.install_button.setDefault(True)
        self.install_button.clicked.connect(self._install)
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(self.install_button)
        layout.addLayout(buttons)

        for widget in (self.torch_combo, self.python_combo):
            widget.currentIndexChanged.connect(self.replan)
        for box in (*self.family_boxes.values(), self.only_local, self.advanced):
            box.toggled.connect(self.replan)
        for edit in (self.engine_source, self.torch_source, self.packages_source):
            edit.editingFinished.connect(self.replan)
        self.python_browse.clicked.connect(self._browse_python)
        self._bnb_touched = False   # until the user clicks it, the plan's default (on for CUDA and CPU) shows
        self.bnb.clicked.connect(self._bnb_clicked)
        self.set_detecting()

    def _bnb_clicked(self) -> None:
        self._bnb_touched = True
        self.replan()

    def set_detecting(self) -> None:
        self.detecting.show()
        self.install_button.setEnabled(False)

    def set_detected(self, pythons: list, facts) -> None:
        self.detecting.hide()
        self.facts = facts
        self.pythons = []
        self.python_combo.blockSignals(True)
        self.python_combo.clear()
        for candidate in pythons:
            self.add_python(candidate, select=False)
        self.python_combo.blockSignals(False)
        gpus = [g for g in facts.gpus if g.vendor != "apple"] if facts else []
        text = "; ".join(_gpu_text(g) for g in gpus) or "No GPU detected"
        if facts and facts.notes:
            text += " (" + " ".join(facts.notes) + ")"
        self.hardware.setText(text)
        self.replan()

    def add_python(self, candidate, select: bool = True) -> None:
        self.pythons.append(candidate)
        text = f"Python {candidate.version} — {candidate.path}" if candidate.usable else \
            f"{candidate.path} — {candidate.problem}"
        self.python_combo.addItem(text, len(self.pythons) - 1)
        index = self.python_combo.count() - 1
        if not candidate.usable:
            item = self.python_combo.model().item(index)
            item.setEnabled(False)
        elif select:
            self.python_combo.setCurrentIndex(index)

    def _browse_python(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a Python 3.10–3.13 interpreter", str(Path.home()))
        if path:
            self.browse_python_requested.emit(path)

    def _selected_python(self):
        data = self.python_combo.currentData()
        candidate = self.pythons[data] if isinstance(data, int) and data < len(self.pythons) else None
        if candidate is None or not candidate.usable:
            candidate = next((c for c in self.pythons if c.usable), None)
        return candidate

    def replan(self, *_args) -> None:
        self.plan = None
        python = self._selected_python()
        families = tuple(f for f, box in self.family_boxes.items() if box.isChecked())
        advanced = self.advanced.isChecked()
        only_local = advanced and self.only_local.isChecked()
        try:
            if self.facts is None:
                return
            if python is None:
                raise LoraStudioError("No suitable Python (3.10 to 3.13 with venv) was found.",
                                      "Install Python 3.11 (with venv), then choose it with Other….")
            plan = assemble_plan(
                python, self.facts, torch_override=self.torch_combo.currentData(), families=families,
                bitsandbytes=self.bnb.isChecked() if self._bnb_touched else None,
                engine_source=self.engine_source.text().strip() if advanced else "",
                torch_source=WheelSource.from_text(self.torch_source.text(), only_local) if advanced else None,
                packages_source=WheelSource.from_text(self.packages_source.text(), only_local) if advanced else None)
        except LoraStudioError as exc:
            self.error.setText(exc.message + (f"\n{exc.hint}" if exc.hint else ""))
            self.install_button.setEnabled(False)
            return
        self.plan = plan
        self.error.setText("")
        self.bnb.blockSignals(True)
        self.bnb.setChecked(plan.bitsandbytes)
        self.bnb.blockSignals(False)
        self.torch_reason.setText(f"{plan.torch.label}: {plan.torch.reason}.")
        self.torch_warnings.setText("\n".join(plan.torch.warnings))
        self.torch_warnings.setVisible(bool(plan.torch.warnings))
        rows = "".join(f"<li><b>{step.title}</b>: {_escape(step.describe(plan))}</li>" for step in STEPS)
        self.steps.setText(f"<ol style='margin-left: 12px'>{rows}</ol>")
        disk = plan.disk_estimate(self.root)
        self.disk.setText(f"Disk space: {disk.text()}.")
        set_role(self.disk, "muted" if disk.enough else "error")
        if not disk.enough:
            self.error.setText(f"Not enough free space: {disk.needed_gb:.1f} GB are needed.")
        self.install_button.setEnabled(disk.enough)

    def _install(self) -> None:
        if self.plan is not None:
            self.install_requested.emit(self.plan)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _gpu_text(gpu) -> str:
    parts = [gpu.name or f"{gpu.vendor.upper()} GPU {gpu.device_id}".strip()]
    if gpu.memory_bytes:
        parts.append(f"{gpu.memory_bytes / 1024 ** 3:.0f} GB")
    if gpu.driver_version:
        parts.append(f"driver {gpu.driver_version}" + (f" (CUDA {gpu.driver_cuda})" if gpu.driver_cuda else ""))
    if not gpu.has_driver:
        parts.append("no driver loaded")
    return ", ".join(parts)
