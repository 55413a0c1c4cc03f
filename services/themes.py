"""Themes as data: a palette TOML per theme plus one shared QSS template (no Qt here).

``resources/themes/<id>.toml`` holds the colours; ``base.qss`` (and an optional ``<id>.qss``
with extras) uses ``{{colour_name}}`` placeholders that are filled from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from services.errors import FileFormatError
from services.paths import resources_dir

THEME_IDS = ("dark", "light", "minimal", "cyberpunk")
FOLLOW_SYSTEM = "system"
REQUIRED_COLOURS = ("window", "window_text", "base", "alternate_base", "text", "button", "button_text",
                    "highlight", "highlighted_text", "tooltip_base", "tooltip_text", "placeholder_text",
                    "link", "disabled_text", "border", "accent", "error", "warning", "ok", "header")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    style: str
    colors: dict[str, str]
    stylesheet: str

    @property
    def is_dark(self) -> bool:
        return relative_luminance(self.colors["window"]) < 0.3


def themes_dir() -> Path:
    return resources_dir() / "themes"


def load_theme(theme_id: str, folder: Path | None = None) -> Theme:
    folder = folder or themes_dir()
    path = folder / f"{theme_id}.toml"
    try:
        data = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
    except (OSError, tomlkit.exceptions.ParseError) as exc:
        raise FileFormatError(f"The theme {theme_id!r} could not be read from {path}.", str(exc)) from exc
    colors = {k: str(v).lower() for k, v in data.get("colors", {}).items()}
    missing = [c for c in REQUIRED_COLOURS if c not in colors]
    bad = [f"{k}={v}" for k, v in colors.items() if not _HEX.match(v)]
    if missing or bad:
        raise FileFormatError(f"The theme file {path} is incomplete.",
                              f"missing colours: {missing}; not #rrggbb: {bad}")
    template = (folder / "base.qss").read_text(encoding="utf-8")
    extra = folder / f"{theme_id}.qss"
    if extra.exists():
        template += "\n" + extra.read_text(encoding="utf-8")
    stylesheet = render_stylesheet(template, colors)
    return Theme(theme_id, str(data.get("name", theme_id.title())), str(data.get("style", "Fusion")),
                 colors, stylesheet)


def render_stylesheet(template: str, colors: dict[str, str]) -> str:
    def substitute(match: re.Match) -> str:
        key = match.group(1)
        if key not in colors:
            raise FileFormatError(f"The stylesheet uses an unknown colour {{{{{key}}}}}.")
        return colors[key]

    return _PLACEHOLDER.sub(substitute, template)


def relative_luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
