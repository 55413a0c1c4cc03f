"""Dataset > Health report: findings that link to their images, and the bucket histogram."""

from __future__ import annotations

import os

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from services.dataset.buckets import BucketCount, BucketSettings
from services.dataset.health import HealthReport, run_health_report, snapshot
from services.dataset.qt.task import Task

MAX_CHILDREN = 300
SEVERITY_COLOURS = {"error": "#e05252", "warning": "#e0a030", "info": "#5c8fd6"}
_KEYS = Qt.ItemDataRole.UserRole + 1


class BucketChart(QWidget):
    """Horizontal bars: one row per bucket, images (and images × repeats) per bucket."""

    ROW = 20

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.buckets: list[BucketCount] = []
        self.setObjectName("bucket-chart")

    def set_buckets(self, buckets: list[BucketCount]) -> None:
        self.buckets = buckets
        self.setMinimumHeight(max(40, self.ROW * len(buckets) + 8))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, max(40, self.ROW * len(self.buckets) + 8))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        if not self.buckets:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No images to place in buckets.")
            return
        fm = QFontMetrics(self.font())
        label_w = fm.horizontalAdvance("00000×00000 (0.00)") + 8
        count_w = fm.horizontalAdvance("000,000 · ×rep 0,000,000") + 8
        bar_w = max(40, self.width() - label_w - count_w - 8)
        most = max(b.images for b in self.buckets)
        accent = palette.color(QPalette.ColorRole.Highlight)
        for i, b in enumerate(self.buckets):
            y = 4 + i * self.ROW
            painter.setPen(text)
            right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            label = f"{b.bucket[0]}×{b.bucket[1]} ({b.aspect:.2f})"
            painter.drawText(QRectF(0, y, label_w - 6, self.ROW), right, label)
            width = bar_w * b.images / most
            painter.fillRect(QRectF(label_w, y + 3, max(2.0, width), self.ROW - 6), accent)
            painter.drawText(QRectF(label_w + bar_w + 6, y, count_w, self.ROW),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"{b.images:,} · ×rep {b.weighted:,}")


class HealthDialog(QDialog):
    show_keys = Signal(list)  # select these images in the grid
    report_ready = Signal(object)  # the HealthReport

    def __init__(self, session, ws, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("health-dialog")
        self.setWindowTitle("Dataset health report")
        self.setModal(False)
        self.session, self.ws = session, ws
        self.task: Task | None = None
        self.report: HealthReport | None = None
        ds = session.settings.dataset
        layout = QVBoxLayout(self)

        form_row = QHBoxLayout()
        form = QFormLayout()
        self.resolution_w = self._spin(ds.health_resolution, 256, 8192, 64, "Training resolution (width)")
        self.resolution_h = self._spin(ds.health_resolution, 256, 8192, 64, "Training resolution (height)")
        res = QHBoxLayout()
        res.addWidget(self.resolution_w)
        res.addWidget(QLabel("×"))
        res.addWidget(self.resolution_h)
        res.addStretch(1)
        form.addRow("Resolution", res)
        buckets = QHBoxLayout()
        self.bucket_min = self._spin(ds.bucket_min, 64, 8192, 64, "min_bucket_reso")
        self.bucket_max = self._spin(ds.bucket_max, 256, 16384, 64, "max_bucket_reso")
        self.bucket_step = self._spin(ds.bucket_step, 8, 512, 8, "bucket_reso_steps")
        for label, spin in (("min", self.bucket_min), ("max", self.bucket_max), ("step", self.bucket_step)):
            buckets.addWidget(QLabel(label))
            buckets.addWidget(spin)
        buckets.addStretch(1)
        form.addRow("Buckets", buckets)
        self.no_upscale = QCheckBox("bucket_no_upscale (never enlarge)")
        self.near = self._spin(ds.near_duplicate_distance, 0, 20, 1, "How many of 64 hash bits may differ")
        extra = QHBoxLayout()
        extra.addWidget(self.no_upscale)
        extra.addWidget(QLabel("near-duplicate distance"))
        extra.addWidget(self.near)
        extra.addStretch(1)
        form.addRow("", extra)
        form_row.addLayout(form, 1)
        self.run_button = QPushButton("Run report")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        form_row.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(form_row)

        progress_row = QHBoxLayout()
        self.status = QLabel("")
        self.status.setProperty("role", "muted")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        progress_row.addWidget(self.status, 1)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.findings = QTreeWidget()
        self.findings.setObjectName("health-findings")
        self.findings.setHeaderLabels(["Finding", "What it means"])
        self.findings.setColumnWidth(0, 330)
        self.findings.setWordWrap(True)
        self.findings.setUniformRowHeights(False)
        self.findings.itemClicked.connect(self._clicked)
        self.findings.itemActivated.connect(self._clicked)
        splitter.addWidget(self.findings)
        chart_box = QWidget()
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 4, 0, 0)
        self.chart_title = QLabel("<b>Aspect-ratio buckets</b>")
        chart_layout.addWidget(self.chart_title)
        self.chart = BucketChart()
        scroll = QScrollArea()
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(True)
        chart_layout.addWidget(scroll, 1)
        splitter.addWidget(chart_box)
        splitter.setSizes([380, 240])
        layout.addWidget(splitter, 1)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.close)
        layout.addWidget(box)
        self.resize(820, 720)
        self._set_running(False)
        self.status.setText(f"{len(ws):,} images. Decoding every image takes a while on large datasets; "
                            "you can keep working meanwhile.")

    def _spin(self, value: int, lo: int, hi: int, step: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.setFixedWidth(90)
        return spin

    def settings(self) -> BucketSettings:
        return BucketSettings((self.resolution_w.value(), self.resolution_h.value()), self.bucket_min.value(),
                              self.bucket_max.value(), self.bucket_step.value(), self.no_upscale.isChecked())

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)

    def run(self) -> None:
        settings = self.settings()
        problems = settings.validate()
        if problems:
            self.status.setText(" ".join(problems))
            self.status.setProperty("role", "error")
            self.status.style().polish(self.status)
            return
        ds = self.session.settings.dataset
        ds.health_resolution = settings.resolution[0]
        ds.bucket_min, ds.bucket_max, ds.bucket_step = settings.min_size, settings.max_size, settings.step
        ds.near_duplicate_distance = self.near.value()
        self.session.save_settings()
        items = snapshot(self.ws)
        known = {it.key: it.content_hash for it in self.ws if it.content_hash}
        near = self.near.value()

        def work(report, cancelled):
            return run_health_report(items, settings, near_distance=near, report=report, cancelled=cancelled,
                                     known_hashes=known)

        self.task = Task(work, "dataset-health", self)
        self.task.progress.connect(self._progress)
        self.task.succeeded.connect(self._done)
        self.task.failed.connect(self._failed)
        self.task.cancelled.connect(lambda: (self._set_running(False), self.status.setText("Cancelled.")))
        self._set_running(True)
        self.progress.setRange(0, 0)
        self.status.setText("Starting…")
        self.task.start()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.status.setText(f"{text}: {done:,} of {total:,}" if total else text)

    def _failed(self, error) -> None:
        self._set_running(False)
        self.status.setText("The report failed; see the message.")
        self.session.report_error(error)

    def _done(self, report: HealthReport) -> None:
        self._set_running(False)
        self.report = report
        self.show_report(report)
        self.report_ready.emit(report)

    def show_report(self, report: HealthReport) -> None:
        self.findings.clear()
        if not report.findings:
            ok = QTreeWidgetItem(["No problems found", "Every image decodes, has a caption and fits its bucket."])
            ok.setForeground(0, QColor("#5fb865"))
            self.findings.addTopLevelItem(ok)
        for finding in report.findings:
            top = QTreeWidgetItem([finding.title, finding.detail])
            top.setToolTip(1, finding.detail)
            top.setForeground(0, QColor(SEVERITY_COLOURS[finding.severity]))
            top.setData(0, _KEYS, finding.keys)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            if finding.groups:
                for n, group in enumerate(finding.groups[:MAX_CHILDREN], 1):
                    node = QTreeWidgetItem([f"Group {n}: {len(group)} images",
                                            ", ".join(os.path.basename(k) for k in group[:6])])
                    node.setData(0, _KEYS, group)
                    for key in group:
                        node.addChild(self._image_node(key))
                    top.addChild(node)
            else:
                for key in finding.keys[:MAX_CHILDREN]:
                    top.addChild(self._image_node(key, report.corrupt.get(key, "")))
            if len(finding.groups or finding.keys) > MAX_CHILDREN:
                more = QTreeWidgetItem([f"… and {len(finding.groups or finding.keys) - MAX_CHILDREN:,} more",
                                        "Click the finding to select them all in the grid."])
                more.setData(0, _KEYS, finding.keys)
                top.addChild(more)
            self.findings.addTopLevelItem(top)
        s = report.settings
        mode = "no upscale" if s.no_upscale else "scale to cover, crop the rest"
        self.chart_title.setText(f"<b>Aspect-ratio buckets</b> for {s.resolution[0]}×{s.resolution[1]}, "
                                 f"{s.min_size}–{s.max_size} step {s.step} ({mode}): {len(report.buckets)} buckets "
                                 "(training images; images · images × repeats)")
        self.chart.set_buckets(report.buckets)
        errors = sum(1 for f in report.findings if f.severity == "error")
        self.status.setText(f"{report.images:,} images checked: {len(report.findings)} findings, {errors} errors. "
                            "Click a finding to select its images.")

    def _image_node(self, key: str, reason: str = "") -> QTreeWidgetItem:
        item = self.ws.get(key)
        detail = reason or (f"{item.width}×{item.height}" if item is not None and item.width else "")
        node = QTreeWidgetItem([os.path.basename(key), detail])
        node.setToolTip(0, key)
        node.setData(0, _KEYS, [key])
        return node

    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        keys = item.data(0, _KEYS)
        if keys:
            self.show_keys.emit(list(keys))

    def shutdown(self) -> None:
        if self.task is not None:
            self.task.stop()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
