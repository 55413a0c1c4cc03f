"""Throughput and time left of a captioning job, from the counts the worker reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobProgress:
    done: int = 0
    failed: int = 0
    total: int = 0
    elapsed_s: float = 0.0  # since the model was ready
    images_per_s: float = 0.0
    eta_s: float | None = None

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 0.0


def estimate(done: int, failed: int, total: int, elapsed_s: float) -> JobProgress:
    finished = done + failed
    rate = finished / elapsed_s if elapsed_s > 0 and finished else 0.0
    eta = (total - finished) / rate if rate > 0 else None
    return JobProgress(done, failed, total, elapsed_s, rate, eta)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_rate(images_per_s: float) -> str:
    if images_per_s <= 0:
        return "–"
    if images_per_s >= 1:
        return f"{images_per_s:.1f} images/s"
    return f"{1 / images_per_s:.1f} s/image"
