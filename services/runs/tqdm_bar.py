"""tqdm's progress-bar lines taken apart: ``label: 50%|█████     | 2/4 [00:30<00:30, 15.38s/it,
avr_loss=1.05]`` (and the form without a total, ``label: 5it [00:01, 4.50it/s]``)."""

from __future__ import annotations

import re

BAR_NO_TOTAL = re.compile(r"^(?P<label>.*?):?\s*(?P<n>\d+)it\s*\[(?P<elapsed>[\d:]+),\s*(?P<rate>[\d.?]+)"
                           r"(?P<unit>s/it|it/s)(?:,\s*(?P<postfix>.*?))?\]\s*$")


def parse_seconds(text: str) -> float | None:
    if len(text) == 5 and text[2] == ":" and text[:2].isdigit() and text[3:].isdigit():
        return float(int(text[:2]) * 60 + int(text[3:]))
    if not text or "?" in text:
        return None
    total = 0
    for part in text.split(":"):
        if not part.isdigit():
            return None
        total = total * 60 + int(part)
    return float(total)


def parse_rate(value: str, unit: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if unit == "it/s":
        return number
    return 1.0 / number if number > 0 else None


def split_bar(segment: str):
    """``label: 50%|█████     | 2/4 [00:30<00:30, 15.38s/it, avr_loss=1.05]`` taken apart by hand
    (faster than a regular expression, and this runs for every redraw):
    (label, n, total, elapsed_s, remaining_s, items_per_s, postfix text) or None."""
    segment = segment.rstrip()  # tqdm pads a shorter redraw with spaces to erase the longer one
    bar = segment.find("%|")
    if bar < 0 or not segment.endswith("]"):
        return None
    close = segment.find("|", bar + 2)
    bracket = segment.find("[", close)
    if close < 0 or bracket < 0:
        return None
    head = segment[:bar].rstrip()
    i = len(head)
    while i and head[i - 1].isdigit():
        i -= 1
    label = head[:i].strip()
    if label.endswith(":"):
        label = label[:-1].rstrip()
    count, slash, total = segment[close + 1:bracket].strip().partition("/")
    if not slash or not count.isdigit() or not total.isdigit():
        return None
    inside = segment[bracket + 1:-1]
    times, comma, rest = inside.partition(", ")
    elapsed, lt, remaining = times.partition("<")
    if not comma or not lt:
        return None
    rate_text, comma, postfix = rest.partition(", ")
    if rate_text.endswith("it/s"):
        rate = parse_rate(rate_text[:-4], "it/s")
    elif rate_text.endswith("s/it"):
        rate = parse_rate(rate_text[:-4], "s/it")
    else:
        rate = None
    return label, int(count), int(total), parse_seconds(elapsed), parse_seconds(remaining), rate, (postfix or None)


def parse_postfix(text: str | None) -> dict:
    if not text:
        return {}
    out: dict = {}
    for item in text.split(", "):
        key, sep, value = item.partition("=")
        if not sep:
            continue
        key = key.strip()
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value.strip()
    return out
