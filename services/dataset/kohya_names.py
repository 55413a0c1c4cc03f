"""The Kohya folder convention: ``<repeats>_<name>`` makes a subset with a repeat count.

sd-scripts (when given ``--train_data_dir`` without a dataset config) splits a folder name at its
first underscore: the part before must be an integer (the repeats; folders without one, or with
0, are skipped by the trainer), the rest is the subset's *class tokens*, used as the caption of
images that have no caption file. By the kohya_ss convention ``10_ohwx dog`` means instance token
``ohwx`` and class ``dog``; a regularisation folder (``1_dog``) usually lives under a ``reg`` folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^([0-9]+)_(.*)$", re.S)
# Folder names that, anywhere above a subset (inside the opened root), mark regularisation images.
REG_FOLDER_NAMES = frozenset({"reg", "regs", "regularization", "regularisation", "reg_images", "reg_data",
                              "regularization_images", "regularisation_images", "class_images"})


@dataclass(frozen=True)
class KohyaName:
    repeats: int
    class_tokens: str  # everything after the first underscore, as sd-scripts uses it

    @property
    def instance_token(self) -> str:
        """The first word of the class tokens (``ohwx`` in ``10_ohwx dog``), or "" for one word."""
        words = self.class_tokens.split(" ", 1)
        return words[0] if len(words) == 2 else ""

    @property
    def class_word(self) -> str:
        """The class (``dog`` in ``10_ohwx dog``; the whole tokens when there is no instance)."""
        words = self.class_tokens.split(" ", 1)
        return words[1] if len(words) == 2 else self.class_tokens

    @property
    def trained(self) -> bool:
        """sd-scripts skips a folder whose repeat count is below 1."""
        return self.repeats >= 1


def parse_folder_name(name: str) -> KohyaName | None:
    """``"10_ohwx dog"`` -> KohyaName(10, "ohwx dog"); None when the name has no repeat prefix."""
    match = _NAME.match(name)
    if not match:
        return None
    digits = match.group(1)
    if len(digits) > 6:  # a date or an id, not a repeat count anyone means
        return None
    return KohyaName(int(digits), match.group(2))


def format_folder_name(repeats: int, class_tokens: str) -> str:
    """The folder name for ``repeats`` and ``class_tokens`` (the inverse of parse_folder_name)."""
    if repeats < 0:
        raise ValueError("repeats must be >= 0")
    tokens = class_tokens.strip()
    if not tokens or any(c in tokens for c in "/\\\0"):
        raise ValueError(f"{class_tokens!r} is not usable in a folder name")
    return f"{repeats}_{tokens}"


def looks_like_regularisation(parts: tuple[str, ...]) -> bool:
    """Whether any folder name in ``parts`` (the path from the root to the subset) marks reg images."""
    return any(p.lower() in REG_FOLDER_NAMES for p in parts)
