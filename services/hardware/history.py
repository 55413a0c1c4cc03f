"""A short history of one reading, for the monitor's charts: a fixed-size window of (time, value).

A missing value (the driver did not answer) is stored as NaN and drawn as a gap; so is a pause of
the sampling (the dock was hidden), so that the chart never draws a line through time it did not see.
"""

from __future__ import annotations

import math

import numpy as np


class History:
    def __init__(self, seconds: float = 120.0, interval_s: float = 1.0) -> None:
        self.seconds = float(seconds)
        self.interval_s = float(interval_s)
        self.capacity = math.ceil(seconds / interval_s) + 8  # room for gap markers
        self._times = np.full(self.capacity, np.nan)
        self._values = np.full(self.capacity, np.nan)
        self._count = 0
        self.latest: float | None = None  # the last value appended (None when it was missing)

    def __len__(self) -> int:
        return self._count

    def append(self, time: float, value: float | None) -> None:
        if self._count and time - self._times[self._count - 1] > 2.5 * self.interval_s:
            self._push(time - self.interval_s / 2, math.nan)  # a pause: break the line
        self._push(time, math.nan if value is None else float(value))
        self.latest = value
        cutoff = time - self.seconds
        keep = self._times[:self._count] >= cutoff
        if not keep.all():
            kept = int(keep.sum())
            self._times[:kept] = self._times[:self._count][keep]
            self._values[:kept] = self._values[:self._count][keep]
            self._count = kept

    def _push(self, time: float, value: float) -> None:
        if self._count == self.capacity:
            self._times[:-1] = self._times[1:]
            self._values[:-1] = self._values[1:]
            self._count -= 1
        self._times[self._count] = time
        self._values[self._count] = value
        self._count += 1

    def series(self, now: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(seconds before ``now`` as negative numbers, values); ``now`` defaults to the last time."""
        times = self._times[:self._count]
        if not self._count:
            return times.copy(), self._values[:0].copy()
        reference = times[-1] if now is None else now
        return times - reference, self._values[:self._count].copy()

    def maximum(self) -> float | None:
        values = self._values[:self._count]
        finite = values[np.isfinite(values)]
        return float(finite.max()) if finite.size else None
