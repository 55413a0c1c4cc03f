"""Applying a theme to the running QApplication, instantly, and following the system scheme."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from services.themes import FOLLOW_SYSTEM, THEME_IDS, Theme, load_theme

log = logging.getLogger(__name__)

THEME_MENU = [(tid, tid.title()) for tid in THEME_IDS] + [(FOLLOW_SYSTEM, "Follow system")]

_ROLES = {
    "window": QPalette.ColorRole.Window, "window_text": QPalette.ColorRole.WindowText,
    "base": QPalette.ColorRole.Base, "alternate_base": QPalette.ColorRole.AlternateBase,
    "text": QPalette.ColorRole.Text, "button": QPalette.ColorRole.Button,
    "button_text": QPalette.ColorRole.ButtonText, "highlight": QPalette.ColorRole.Highlight,
    "highlighted_text": QPalette.ColorRole.HighlightedText, "tooltip_base": QPalette.ColorRole.ToolTipBase,
    "tooltip_text": QPalette.ColorRole.ToolTipText, "placeholder_text": QPalette.ColorRole.PlaceholderText,
    "link": QPalette.ColorRole.Link,
}


def palette_for(theme: Theme) -> QPalette:
    palette = QPalette()
    for key, role in _ROLES.items():
        palette.setColor(role, QColor(theme.colors[key]))
    disabled = QColor(theme.colors["disabled_text"])
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    palette.setColor(QPalette.ColorRole.Light, QColor(theme.colors["button"]).lighter(130))
    palette.setColor(QPalette.ColorRole.Mid, QColor(theme.colors["border"]))
    palette.setColor(QPalette.ColorRole.Dark, QColor(theme.colors["border"]).darker(130))
    return palette


class ThemeManager(QObject):
    """Owns the current theme; ``apply(id)`` switches at once, without restart."""

    theme_changed = Signal(str)  # the concrete theme id applied (never "system")

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self._choice = "dark"
        self._applied: Theme | None = None
        self._cache: dict[str, Theme] = {}
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._system_scheme_changed)

    @property
    def choice(self) -> str:
        return self._choice

    @property
    def current(self) -> Theme | None:
        return self._applied

    def resolve(self, choice: str) -> str:
        if choice != FOLLOW_SYSTEM:
            return choice if choice in THEME_IDS else "dark"
        scheme = QGuiApplication.styleHints().colorScheme()
        return "light" if scheme == Qt.ColorScheme.Light else "dark"

    def theme(self, theme_id: str) -> Theme:
        if theme_id not in self._cache:
            self._cache[theme_id] = load_theme(theme_id)
        return self._cache[theme_id]

    def apply(self, choice: str) -> str:
        self._choice = choice
        theme = self.theme(self.resolve(choice))
        if self._applied is not None and self._applied.id == theme.id:
            return theme.id
        if self._app.style().name().lower() != theme.style.lower():
            style = QStyleFactory.create(theme.style)
            if style is not None:
                self._app.setStyle(style)
        self._app.setPalette(palette_for(theme))
        self._app.setStyleSheet(theme.stylesheet)
        self._applied = theme
        log.debug("theme %s applied (choice %s)", theme.id, choice)
        self.theme_changed.emit(theme.id)
        return theme.id

    def _system_scheme_changed(self, *_args) -> None:
        if self._choice == FOLLOW_SYSTEM:
            self.apply(FOLLOW_SYSTEM)
