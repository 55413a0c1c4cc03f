"""Small building blocks of the setup wizard's pages (labels styled by the theme's roles)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QWidget

# Outcome -> (glyph, theme role of its label)
GLYPHS = {
    "pending": ("○", "muted"), "running": ("●", "warning"), "done": ("✓", "ok"), "skipped": ("–", "muted"),
    "failed": ("✗", "error"), "cancelled": ("■", "warning"),
    "ok": ("✓", "ok"), "info": ("i", "muted"), "warning": ("!", "warning"), "error": ("✗", "error"),
}


def label(text: str = "", role: str = "", *, wrap: bool = False, selectable: bool = False,
          parent: QWidget | None = None) -> QLabel:
    widget = QLabel(text, parent)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    if selectable:
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return widget


def set_role(widget: QLabel, role: str) -> None:
    """Change a label's theme role and make the stylesheet look at it again."""
    if widget.property("role") == role:
        return
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    widget = label(text, "empty-title", parent=parent)
    widget.setWordWrap(True)
    return widget


def glyph(outcome: str) -> QLabel:
    text, role = GLYPHS.get(outcome, ("?", "muted"))
    widget = label(text, role)
    widget.setFixedWidth(18)
    widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return widget


def set_glyph(widget: QLabel, outcome: str) -> None:
    text, role = GLYPHS.get(outcome, ("?", "muted"))
    widget.setText(text)
    set_role(widget, role)


def separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def seconds_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
