"""The parameter tree's item model, generated from the registry: groups, then their parameters.

Columns: the human label (the sd-scripts name in the tooltip), the effective value, and where the
value comes from (default, training profile, memory profile, user). The model never changes a
value itself: an edit goes to the ProjectController as an undo command, and the model refreshes
the rows the controller reports as changed.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap

from services.training.registry import Group, Parameter, ParamType
from services.training.validation.problems import Severity
from services.training.values import Origin

COLUMNS = ("Parameter", "Value", "Origin")
NAME, VALUE, ORIGIN = range(3)
_NO_PARENT = 0xFFFFFFFF  # internalId of group rows; parameter rows carry their group's row


class Role(IntEnum):
    PARAMETER = Qt.ItemDataRole.UserRole + 1   # the Parameter (None on group rows)
    KEY = Qt.ItemDataRole.UserRole + 2
    APPLIES = Qt.ItemDataRole.UserRole + 3     # bool
    WHY_NOT = Qt.ItemDataRole.UserRole + 4     # str or None
    CHANGED = Qt.ItemDataRole.UserRole + 5     # value not from the default
    PROBLEMS = Qt.ItemDataRole.UserRole + 6    # list[Problem]
    SEARCH_TEXT = Qt.ItemDataRole.UserRole + 7
    GROUP = Qt.ItemDataRole.UserRole + 8


def format_value(param: Parameter, value: Any) -> str:
    if value is None:
        return ""
    t = param.type
    if t is ParamType.BOOL:
        return "on" if value else "off"
    if t in (ParamType.FLOAT, ParamType.INT_OR_FLOAT) and isinstance(value, float):
        if value != 0 and (param.scientific or abs(value) < 1e-3 or abs(value) >= 1e6):
            return scientific(value)
        return f"{value:.6g}"
    if t is ParamType.RESOLUTION and isinstance(value, list):
        return "×".join(str(v) for v in value)
    if isinstance(value, list):
        return " ".join(_quote(str(v)) for v in value) if t in (ParamType.KV_LIST, ParamType.STR_LIST,
                                                                 ParamType.FILE_LIST) \
            else ", ".join(format_number(v) for v in value)
    return str(value)


def scientific(value: float) -> str:
    """1e-4, 2.5e-5: the way learning rates are written."""
    mantissa, exponent = f"{value:.4e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def format_number(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return str(value)


def _quote(text: str) -> str:
    return f'"{text}"' if (" " in text or not text) else text


def _dot(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


class ParameterTreeModel(QAbstractItemModel):
    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        reg = controller.registry
        self.groups: list[Group] = [g for g in reg.groups() if reg.in_group(g)]
        self.params: list[list[Parameter]] = [list(reg.in_group(g)) for g in self.groups]
        self._position = {p.key: (gi, pi) for gi, ps in enumerate(self.params) for pi, p in enumerate(ps)}
        self._problems: dict[str, list] = {}
        self._icons: dict[Severity, QIcon] = {}
        self._applies: dict[str, str | None] = {}
        self._recompute_applicability()
        controller.values_changed.connect(self._values_changed)
        controller.selection_changed.connect(self._selection_changed)
        controller.report_ready.connect(self._report_ready)
        controller.project_replaced.connect(lambda _p: self._reset())

    # --- structure ---------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _NO_PARENT) if row < len(self.groups) else QModelIndex()
        if parent.internalId() != _NO_PARENT or parent.column() != 0:
            return QModelIndex()
        group_row = parent.row()
        if row >= len(self.params[group_row]):
            return QModelIndex()
        return self.createIndex(row, column, group_row)

    def parent(self, index: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == _NO_PARENT:
            return QModelIndex()
        return self.createIndex(int(index.internalId()), 0, _NO_PARENT)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self.groups)
        if parent.internalId() == _NO_PARENT and parent.column() == 0:
            return len(self.params[parent.row()])
        return 0

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 3:
            return COLUMNS[section]
        return None

    def parameter(self, index: QModelIndex) -> Parameter | None:
        if not index.isValid() or index.internalId() == _NO_PARENT:
            return None
        return self.params[int(index.internalId())][index.row()]

    def index_of(self, key: str, column: int = NAME) -> QModelIndex:
        position = self._position.get(key)
        if position is None:
            return QModelIndex()
        group_row, row = position
        return self.createIndex(row, column, group_row)

    def group_index(self, group: Group) -> QModelIndex:
        return self.createIndex(self.groups.index(group), 0, _NO_PARENT) if group in self.groups else QModelIndex()

    # --- data --------------------------------------------------------------------------------------
    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        param = self.parameter(index)
        if param is None or index.column() != VALUE or self.controller.resolved is None:
            return flags
        if param.type is ParamType.BOOL:
            return flags | Qt.ItemFlag.ItemIsUserCheckable
        return flags | Qt.ItemFlag.ItemIsEditable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        param = self.parameter(index)
        if param is None:
            return self._group_data(index, role)
        column = index.column()
        resolved = self.controller.resolved
        if role == Role.PARAMETER:
            return param
        if role == Role.KEY:
            return param.key
        if role == Role.APPLIES:
            return self._applies.get(param.key) is None
        if role == Role.WHY_NOT:
            return self._applies.get(param.key)
        if role == Role.CHANGED:
            return resolved is not None and resolved.origin(param.key) is not Origin.DEFAULT
        if role == Role.PROBLEMS:
            return self._problems.get(param.key, [])
        if role == Role.SEARCH_TEXT:
            return f"{param.display_label}\n{param.engine_name}\n{param.key}\n{param.help}".lower()
        if role == Role.GROUP:
            return param.group
        value = resolved[param.key] if resolved is not None else param.default
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return param.display_label
            if column == VALUE:
                return format_value(param, value)
            if column == ORIGIN:
                return self._origin_text(param.key)
        if role == Qt.ItemDataRole.EditRole and column == VALUE:
            return value
        if role == Qt.ItemDataRole.CheckStateRole and column == VALUE and param.type is ParamType.BOOL:
            return Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(param, value)
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            problems = self._problems.get(param.key)
            if problems:
                return self._icon(problems[0].severity)
        if role == Qt.ItemDataRole.ForegroundRole and self._applies.get(param.key) is not None:
            return QBrush(QGuiApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        if role == Qt.ItemDataRole.FontRole and column in (NAME, VALUE) and resolved is not None \
                and resolved.origin(param.key) is Origin.USER:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _group_data(self, index: QModelIndex, role: int) -> Any:
        group = self.groups[index.row()]
        if role == Role.GROUP:
            return group
        if role == Role.SEARCH_TEXT:
            return group.label.lower()
        if index.column() != NAME:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return group.label
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.DecorationRole:
            worst = self._worst_in_group(index.row())
            return self._icon(worst) if worst is not None else None
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        param = self.parameter(index)
        if param is None or index.column() != VALUE or self.controller.resolved is None:
            return False
        if role == Qt.ItemDataRole.CheckStateRole and param.type is ParamType.BOOL:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
            self.controller.set_value(param.key, bool(checked))
            return True
        if role == Qt.ItemDataRole.EditRole:
            self.controller.set_value(param.key, value)
            return True
        return False

    # --- helpers -------------------------------------------------------------------------------------
    def _origin_text(self, key: str) -> str:
        resolved = self.controller.resolved
        if resolved is None:
            return ""
        origin = resolved.origin(key)
        source = resolved.source(key)
        return f"{origin.label} ({source})" if source and origin is not Origin.USER else origin.label

    def _tooltip(self, param: Parameter, value: Any) -> str:
        lines = [f"<b>{param.display_label}</b> <code>{param.engine_name}</code>"]
        if param.help:
            lines.append(param.help)
        facts = []
        if param.minimum is not None or param.maximum is not None:
            low = "" if param.minimum is None else format_number(param.minimum)
            high = "" if param.maximum is None else format_number(param.maximum)
            facts.append(f"range {low} … {high}".strip())
        if param.unit:
            facts.append(f"unit: {param.unit}")
        if facts:
            lines.append("<i>" + "; ".join(facts) + "</i>")
        why = self._applies.get(param.key)
        if why:
            lines.append(f"<i>Not used here: {why}.</i>")
        for problem in self._problems.get(param.key, []):
            lines.append(f"<b>{problem.severity.value.title()}:</b> {problem.message} {problem.hint}")
        return "<br>".join(lines)

    def _icon(self, severity: Severity) -> QIcon:
        if severity not in self._icons:
            colour = {Severity.ERROR: "#e5484d", Severity.WARNING: "#f5a524"}.get(severity, "#3e9cf0")
            self._icons[severity] = _dot(colour)
        return self._icons[severity]

    def _worst_in_group(self, group_row: int) -> Severity | None:
        ranks = [self._problems[p.key][0].severity for p in self.params[group_row] if self._problems.get(p.key)]
        return min(ranks, key=lambda s: s.rank) if ranks else None

    def awaiting_model(self) -> bool:
        """No base model is chosen yet: nothing can be said to apply, so everything is shown greyed
        (an empty tree would hide what there is to set)."""
        return self.controller.resolved is None

    def _recompute_applicability(self) -> None:
        resolved = self.controller.resolved
        if resolved is None:
            self._applies = {p.key: "choose a base model first" for ps in self.params for p in ps}
            return
        selection = resolved.selection()
        self._applies = {p.key: p.why_not(selection, resolved) for ps in self.params for p in ps}

    def _emit_row(self, key: str) -> None:
        left, right = self.index_of(key, NAME), self.index_of(key, ORIGIN)
        if left.isValid():
            self.dataChanged.emit(left, right)

    def _emit_all(self) -> None:
        for group_row, params in enumerate(self.params):
            if params:
                parent = self.createIndex(group_row, 0, _NO_PARENT)
                self.dataChanged.emit(self.index(0, 0, parent), self.index(len(params) - 1, ORIGIN, parent))
        if self.groups:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.groups) - 1, ORIGIN))

    def _values_changed(self, keys: list[str]) -> None:
        before = self._applies
        self._recompute_applicability()
        if not keys or before != self._applies:
            self._emit_all()
            return
        for key in keys:
            self._emit_row(key)

    def _selection_changed(self) -> None:
        self._recompute_applicability()
        self._emit_all()

    def _report_ready(self, report) -> None:
        old = set(self._problems)
        self._problems = {}
        for problem in report.problems:
            key = problem.field
            if key in self._position:
                self._problems.setdefault(key, []).append(problem)
        for key in old | set(self._problems):
            self._emit_row(key)
        if self.groups:
            self.dataChanged.emit(self.index(0, NAME), self.index(len(self.groups) - 1, NAME))

    def _reset(self) -> None:
        self.beginResetModel()
        self._problems = {}
        self._recompute_applicability()
        self.endResetModel()


class ParameterFilter(QSortFilterProxyModel):
    """Search (label, sd-scripts name, help), "changed only", and what applies to the selection."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(False)
        self._text = ""
        self._changed_only = False
        self._show_inapplicable = False

    def set_text(self, text: str) -> None:
        self._change(_text=text.strip().lower())

    def set_changed_only(self, on: bool) -> None:
        self._change(_changed_only=on)

    def set_show_inapplicable(self, on: bool) -> None:
        self._change(_show_inapplicable=on)

    def _change(self, **state) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateRowsFilter is deprecated there
            self.beginFilterChange()
            self.__dict__.update(state)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.__dict__.update(state)
            self.invalidateRowsFilter()

    @property
    def filtering(self) -> bool:
        return bool(self._text) or self._changed_only

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        if model.parameter(index) is None:
            return not self.filtering and self._group_has_visible(index)
        if not self._showing_inapplicable() and not index.data(Role.APPLIES):
            return False
        if self._changed_only and not index.data(Role.CHANGED):
            return False
        if self._text:
            return all(word in index.data(Role.SEARCH_TEXT) for word in self._text.split())
        return True

    def _showing_inapplicable(self) -> bool:
        model = self.sourceModel()
        return self._show_inapplicable or (model is not None and model.awaiting_model())

    def _group_has_visible(self, group_index: QModelIndex) -> bool:
        if self._showing_inapplicable():
            return True
        model = self.sourceModel()
        return any(model.index(r, 0, group_index).data(Role.APPLIES) for r in range(model.rowCount(group_index)))
