"""From a WD14 tagger's probabilities to the tags of a caption.

The label file (``selected_tags.csv``: tag_id,name,category,count) names the model's outputs;
category 9 is a rating, 4 a character, 0 (and anything else) a general tag. Names are rewritten
once, when the job starts (replacements, underscores, escaping), so each image costs only the
thresholding, a sort of the tags that passed and a join.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RATING, GENERAL, CHARACTER = 9, 0, 4
_WORD = re.compile(r"[^\W\d_]{2}")  # two letters in a row: a word, not an emoticon such as ^_^ or o_o


class LabelFileError(Exception):
    pass


@dataclass(frozen=True)
class Labels:
    names: tuple[str, ...]
    categories: np.ndarray  # int per output

    def __len__(self) -> int:
        return len(self.names)


def read_labels(path: Path) -> Labels:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LabelFileError(f"{path.name} cannot be read: {exc}") from None
    if not rows or [c.strip().lower() for c in rows[0][:3]] != ["tag_id", "name", "category"]:
        raise LabelFileError(f"{path.name} does not start with the header tag_id,name,category")
    names, categories = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 3:
            raise LabelFileError(f"{path.name} line {number} has fewer than 3 columns")
        try:
            categories.append(int(row[2]))
        except ValueError:
            raise LabelFileError(f"{path.name} line {number}: category {row[2]!r} is not a number") from None
        names.append(row[1])
    if not names:
        raise LabelFileError(f"{path.name} lists no tags")
    return Labels(tuple(names), np.asarray(categories, dtype=np.int32))


def display_name(name: str, *, replace_underscores: bool, escape_parentheses: bool) -> str:
    if replace_underscores and _WORD.search(name):
        name = name.replace("_", " ")
    if escape_parentheses:
        name = name.replace("(", r"\(").replace(")", r"\)")
    return name


class TagPicker:
    """Turns one row of probabilities into the caption's tag list, following the job's options."""

    def __init__(self, labels: Labels, options: dict[str, Any]) -> None:
        self.general_threshold = float(options["general_threshold"])
        self.character_threshold = float(options["character_threshold"])
        self.rating = options["rating"]
        self.character_first = bool(options["character_first"])
        self.max_tags = int(options["max_tags"])
        replacements = {old: new for old, new in options["tag_replacements"]}
        excluded = set(options["exclude_tags"])
        underscores, escape = bool(options["replace_underscores"]), bool(options["escape_parentheses"])

        shown: list[str] = []
        keep = np.ones(len(labels), dtype=bool)
        for i, raw in enumerate(labels.names):
            spaced = display_name(raw, replace_underscores=underscores, escape_parentheses=False)
            name = raw
            for key in (raw, spaced):  # the user may type either spelling
                if key in replacements:
                    name = replacements[key]
                    break
            final = display_name(name, replace_underscores=underscores, escape_parentheses=escape) if name else ""
            if not final or excluded & {raw, spaced, name, final}:
                keep[i] = False
            shown.append(final)
        self.names = shown
        cats = labels.categories
        self.rating_idx = np.flatnonzero(cats == RATING)
        self.character_mask = (cats == CHARACTER) & keep
        self.general_mask = (cats != CHARACTER) & (cats != RATING) & keep
        self.rating_keep = keep

    def pick(self, probs: np.ndarray) -> list[str]:
        general = np.flatnonzero(self.general_mask & (probs >= self.general_threshold))
        character = np.flatnonzero(self.character_mask & (probs >= self.character_threshold))
        general = general[np.argsort(-probs[general], kind="stable")]
        character = character[np.argsort(-probs[character], kind="stable")]
        if self.max_tags:
            both = np.concatenate([general, character])
            chosen = set(both[np.argsort(-probs[both], kind="stable")][: self.max_tags].tolist())
            general = [i for i in general if i in chosen]
            character = [i for i in character if i in chosen]
        if self.character_first:
            order = list(character) + list(general)
        elif len(character):
            order = sorted([*general, *character], key=lambda i: -probs[i])
        else:
            order = list(general)
        tags = [self.names[i] for i in order]
        if self.rating != "drop" and len(self.rating_idx):
            best = int(self.rating_idx[int(np.argmax(probs[self.rating_idx]))])
            if self.rating_keep[best]:
                tags = [self.names[best], *tags] if self.rating == "first" else [*tags, self.names[best]]
        return list(dict.fromkeys(tags))  # two replacements may produce the same tag
