"""How hardware figures are written for people, the same in the monitor, the dialog and the CLI."""

from __future__ import annotations

GB = 1024 ** 3  # memory sizes are shown in GiB, labelled "GB" as every GPU vendor's tool does
MB = 1024 ** 2
NOT_AVAILABLE = "n/a"


def size(value: int | float | None, digits: int = 1) -> str:
    if value is None:
        return NOT_AVAILABLE
    if abs(value) >= GB:
        return f"{value / GB:.{digits}f} GB"
    if abs(value) >= MB:
        return f"{value / MB:.0f} MB"
    return f"{value / 1024:.0f} KB"


def used_of(used: int | None, total: int | None) -> str:
    if used is None and total is None:
        return NOT_AVAILABLE
    if used is None:
        return f"{size(total)} total"
    if total is None:
        return f"{size(used)} used"
    return f"{used / GB:.1f} / {total / GB:.1f} GB"


def percent(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.0f} %"


def celsius(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.0f} °C"


def watts(value: float | None, limit: float | None = None) -> str:
    if value is None:
        return NOT_AVAILABLE
    return f"{value:.0f} / {limit:.0f} W" if limit else f"{value:.0f} W"


def mhz(value: int | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value} MHz"
