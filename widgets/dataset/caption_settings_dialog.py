"""Small questions of the Dataset menu: the caption extension and the tag separator."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QWidget

from services.dataset.workspace import TAG_SEPARATORS

EXTENSIONS = [".txt", ".caption", ".cap"]


def ask_caption_extension(parent: QWidget, current: str) -> str | None:
    items = list(dict.fromkeys([current, *EXTENSIONS]))
    text, ok = QInputDialog.getItem(
        parent, "Caption extension",
        "Caption files are named like the image with this extension\n"
        "(choose one or type another, e.g. .tags). The captions are read again.",
        items, 0, True)
    return text.strip() if ok and text.strip() else None


def ask_tag_separator(parent: QWidget, current: str) -> str | None:
    labels = [f"{label}  ({sep!r})" for sep, label in TAG_SEPARATORS.items()]
    seps = list(TAG_SEPARATORS)
    index = seps.index(current) if current in seps else 0
    text, ok = QInputDialog.getItem(parent, "Tag separator", "Tags in a caption are separated by:",
                                    labels, index, False)
    if not ok:
        return None
    return seps[labels.index(text)]
