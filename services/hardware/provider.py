"""The shape every GPU provider has, and the guard that keeps one provider's failure its own.

A provider is opened once (``open`` returns its status and never raises), lists its GPUs, then
reads them as often as the monitor asks. Each reading call may raise: the monitor catches it,
reports it for that provider alone, and keeps the others running.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from services.hardware.model import GpuInfo, GpuReading, ProviderStatus

log = logging.getLogger(__name__)


@runtime_checkable
class GpuProvider(Protocol):
    name: str
    vendor: str

    def open(self) -> ProviderStatus:
        """Load the library / find the devices. Never raises: an unusable provider says why."""

    def devices(self) -> list[GpuInfo]:
        """The GPUs found by ``open`` (empty when unavailable)."""

    def read(self, watched_pids: frozenset[int]) -> list[GpuReading]:
        """One reading per GPU. ``watched_pids`` are processes whose GPU memory the caller wants
        (the training run); providers that must look processes up one by one only look these up."""

    def close(self) -> None:
        """Release the library. Safe to call twice, and after a failed ``open``."""


def optional(call, *args, default=None, **kwargs):
    """Run one driver query whose answer is optional (not every GPU supports every query): its
    failure becomes ``default`` instead of spoiling the whole reading."""
    try:
        return call(*args, **kwargs)
    except Exception as exc:  # drivers raise their own exception types; any of them means "not here"
        log.debug("%s failed: %s", getattr(call, "__name__", call), exc)
        return default


def safe_open(provider: GpuProvider) -> ProviderStatus:
    """``provider.open()``, with even a provider bug turned into a status instead of an exception."""
    try:
        return provider.open()
    except Exception as exc:
        log.warning("hardware provider %s failed to open: %r", provider.name, exc)
        return ProviderStatus(provider.name, provider.vendor, False, f"failed to start: {exc}")
