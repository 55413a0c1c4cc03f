"""The subsets of the workspace: folder, images, repeats, images × repeats, regularisation flag."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

COLUMNS = ("Folder", "Images", "Repeats", "Img × rep", "Reg")
_ID = Qt.ItemDataRole.UserRole + 1


class SubsetPanel(QTreeWidget):
    subset_activated = Signal(str)  # subset id: show only this subset
    reg_toggled = Signal(str, bool)  # subset id, is regularisation

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset-subsets")
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QTreeWidget.SelectionMode.SingleSelection)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        for col in (1, 2, 3):
            self.headerItem().setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.itemClicked.connect(self._clicked)
        self.itemChanged.connect(self._changed)
        self._filling = False

    def show_workspace(self, ws) -> None:
        self._filling = True
        self.clear()
        if ws is None:
            self._filling = False
            return
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        several_roots = len(ws.roots) > 1
        for subset in ws.subsets.values():
            rel = Path(subset.name)
            label = subset.name if several_roots else (str(Path(*rel.parts[1:])) if len(rel.parts) > 1 else rel.name)
            row = QTreeWidgetItem([label, f"{subset.image_count:,}", str(subset.repeats),
                                   f"{subset.weighted:,}", ""])
            row.setData(0, _ID, subset.id)
            tip = [subset.name, str(subset.path)]
            if subset.kohya:
                tip.append(f"Kohya folder: {subset.repeats} repeats, class tokens “{subset.class_tokens}”")
                if subset.repeats < 1:
                    tip.append("sd-scripts skips folders with 0 repeats.")
            else:
                tip.append("Not named N_name: trained with 1 repeat unless you set repeats "
                           "(Dataset > Kohya folder tools).")
            row.setToolTip(0, "\n".join(tip))
            for col in (1, 2, 3):
                row.setTextAlignment(col, right)
            row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            row.setCheckState(4, Qt.CheckState.Checked if subset.is_reg else Qt.CheckState.Unchecked)
            row.setToolTip(4, "Regularisation images (class images), counted apart from the training images")
            self.addTopLevelItem(row)
        totals = ws.totals()
        total = QTreeWidgetItem(["Total (training)", f"{totals.train_images:,}", "", f"{totals.weighted:,}", ""])
        font = total.font(0)
        font.setBold(True)
        for col in range(len(COLUMNS)):
            total.setFont(col, font)
        for col in (1, 3):
            total.setTextAlignment(col, right)
        total.setFlags(Qt.ItemFlag.ItemIsEnabled)
        total.setToolTip(0, f"{totals.images:,} images in {totals.subsets} folders; "
                            f"{totals.reg_images:,} regularisation images ({totals.reg_weighted:,} with repeats)")
        self.addTopLevelItem(total)
        self._filling = False
        rows = min(7, self.topLevelItemCount())
        self.setFixedHeight(self.header().sizeHint().height() + rows * max(18, self.sizeHintForRow(0))
                            + 2 * self.frameWidth() + 2)

    def _clicked(self, item: QTreeWidgetItem, column: int) -> None:
        subset_id = item.data(0, _ID)
        if subset_id and column != 4:
            self.subset_activated.emit(subset_id)

    def _changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != 4:
            return
        subset_id = item.data(0, _ID)
        if subset_id:
            self.reg_toggled.emit(subset_id, item.checkState(4) == Qt.CheckState.Checked)
