"""Thumbnail sizes of the grid (a module of its own so the dock can use them without the grid)."""

from __future__ import annotations

MIN_BOX, MAX_BOX, BOX_STEP = 64, 384, 16


def clamp_box(box: int) -> int:
    """A thumbnail size within the grid's range, on its 16 px steps."""
    box = max(MIN_BOX, min(MAX_BOX, int(box)))
    return box - box % BOX_STEP
