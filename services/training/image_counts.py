"""A minimal count of the images sd-scripts will find in a subset folder.

This is a stop-gap for the headless commands until the dataset scanner (services.dataset) is on
main: callers in the app pass counts from the scanner instead (``ValidationContext.image_counts``).
It mirrors sd-scripts: the files directly inside the folder (not sub-folders) whose extension is
.png .jpg .jpeg .webp or .bmp (in lower or upper case).
"""

from __future__ import annotations

import os

ENGINE_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def list_engine_images(folder: str) -> list[str] | None:
    """The image files sd-scripts will train on in ``folder`` (sorted), or None when it cannot be read."""
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e in entries
                     if e.name.endswith(ENGINE_IMAGE_EXTENSIONS + tuple(x.upper() for x in ENGINE_IMAGE_EXTENSIONS))
                     and e.is_file()]
    except OSError:
        return None
    return sorted(os.path.join(folder, n) for n in names)


def count_engine_images(folder: str) -> int | None:
    """How many images sd-scripts will find directly in ``folder``; None when it cannot be read."""
    found = list_engine_images(folder)
    return None if found is None else len(found)
